//! Puppet's string converter (`String($x, $format)`, `String.new`): a value turned into a
//! string under a format (`'%#x'`) or a map of type => format, as
//! `Puppet::Pops::Types::StringConverter` does it.

mod containers;
mod fmap;
mod quote;
mod scalars;
mod spec;

use fmap::{default_string_formats, get_format, merge_maps, validate_input, FormatMap};
use spec::Fmt;
use std::rc::Rc;
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::Value;

/// What Ruby's `strip` and `rstrip` remove: ASCII whitespace and NUL.
pub(crate) const RUBY_SPACE: [char; 7] = ['\0', ' ', '\t', '\n', '\x0B', '\x0C', '\r'];

/// Where a contained value sits in an indented layout.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Indentation {
    level: usize,
    first: bool,
    is_indenting: bool,
}

impl Indentation {
    const DEFAULT: Indentation = Indentation {
        level: 0,
        first: true,
        is_indenting: false,
    };
    fn subsequent(self) -> Indentation {
        Indentation {
            first: false,
            ..self
        }
    }
    fn indenting(self, flag: bool) -> Indentation {
        Indentation {
            is_indenting: flag,
            ..self
        }
    }
    fn increase(self, flag: bool) -> Indentation {
        Indentation {
            level: self.level + 1,
            first: true,
            is_indenting: flag,
        }
    }
    fn breaks(self) -> bool {
        self.is_indenting && self.level > 0 && !self.first
    }
    fn padding(self) -> String {
        " ".repeat(2 * self.level)
    }
}

/// The format map a `String()` call asks for: the defaults, merged with a map given as a
/// hash, or with one format for the value's own type.
fn format_map(v: &Value, formats: Option<&Value>) -> EResult<FormatMap> {
    let given: FormatMap = match formats {
        None | Some(Value::Default) => return Ok(default_string_formats()),
        Some(Value::Str(s)) => {
            let mut f = Fmt::parse(s)?;
            let key = match v {
                Value::Array(_) => troupe_values::types::Type::from_name("Array"),
                Value::Hash(_) => troupe_values::types::Type::from_name("Hash"),
                _ => None,
            };
            let key = match key {
                Some(k) => k,
                None => troupe_values::infer::infer_type(v),
            };
            if matches!(v, Value::Array(_) | Value::Hash(_)) {
                // A container format without separators or element formats.
                f.separator = None;
            }
            vec![(key, Rc::new(f))]
        }
        Some(h @ Value::Hash(_)) => validate_input(h)?,
        Some(other) => {
            return Err(EvalError::new(format!(
                "string conversion expects a Default value or a Hash of type to format mappings, got a '{}'",
                troupe_values::value::type_name_of(other)
            )))
        }
    };
    Ok(merge_maps(Some(&default_string_formats()), Some(&given)).unwrap_or_default())
}

/// `StringConverter.convert(value, formats)`.
pub fn convert(v: &Value, formats: Option<&Value>) -> EResult<String> {
    let map = Rc::new(format_map(v, formats)?);
    convert_with(v, &map, Indentation::DEFAULT)
}

/// One value under a format map (`_convert`).
pub(crate) fn convert_with(v: &Value, map: &Rc<FormatMap>, ind: Indentation) -> EResult<String> {
    troupe_values::limits::grow_if(v.is_container(), || match v {
        Value::Array(a) => containers::array(v, a, map, ind),
        Value::Hash(h) => containers::hash(v, h, map, ind),
        _ => {
            let f = get_format(v, map);
            match v {
                Value::Undef => scalars::undef(&f),
                Value::Default => scalars::default(&f),
                Value::Bool(b) => scalars::boolean(&f, *b),
                Value::Int(i) => scalars::integer(&f, *i),
                Value::Float(x) => scalars::float(&f, *x),
                Value::Str(s) => scalars::string(&f, s),
                Value::Regex(r) => scalars::regexp(&f, &r.source),
                Value::Type(_) => scalars::type_value(&f, v.to_display()),
                Value::Binary(b) => quote::binary(&f, b),
                other => scalars::other(&f, other),
            }
        }
    })
}

/// `String.new(value, formats)`.
pub fn string_new(args: &[Value]) -> EResult<Value> {
    spec::check_args(args)?;
    convert(args.first().unwrap_or(&Value::Undef), args.get(1)).map(Value::str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(v: Value, f: &str) -> String {
        convert(&v, Some(&Value::str(f))).unwrap_or_else(|e| format!("error: {}", e.msg))
    }

    #[test]
    fn converts_scalars_as_puppet_does() {
        assert_eq!(conv(Value::Int(27), "%#x"), "0x1b");
        assert_eq!(conv(Value::Float(21.0), "%.4a"), "0x1.5000p+4");
        assert_eq!(conv(Value::Undef, "%#-10u"), "undefined ");
        assert_eq!(conv(Value::Bool(true), "%#B"), "0B1");
        assert_eq!(conv(Value::str("good::day"), "%#4.2c"), "  'G");
        assert_eq!(
            conv(Value::Binary(b"j\x9b".as_slice().into()), "%#s"),
            "\"j\\x9B\""
        );
    }

    #[test]
    fn indents_nested_arrays() {
        let inner = Value::Array(Rc::new(vec![Value::Int(7), Value::Int(8)]));
        let v = Value::Array(Rc::new(vec![Value::Int(6), inner, Value::Int(9)]));
        assert_eq!(conv(v, "%#a"), "[6,\n  [7, 8],\n  9]");
    }

    #[test]
    fn rejects_what_puppet_rejects() {
        assert!(conv(Value::Int(1), "%dv").starts_with("error: The format '%dv'"));
        assert!(conv(Value::Int(1), "%k").contains("expected one of the characters"));
        assert!(string_new(&[Value::Int(1), Value::str("")]).is_err());
        assert!(string_new(&[]).is_err());
    }
}
