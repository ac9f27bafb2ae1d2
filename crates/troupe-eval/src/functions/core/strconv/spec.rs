//! One format specification of Puppet's string converter: `%<flags><width>.<prec><format>`,
//! parsed as Puppet's `StringConverter::Format` does, with the container extras (separators
//! and the formats of contained values).

use super::fmap::FormatMap;
use std::rc::Rc;
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::{type_name_of, Map, Value};

/// Puppet's `FMT_PATTERN`; Ruby's `^` and `$` match at line boundaries.
const FMT_PATTERN: &str =
    r"(?m)^%([ \t\r\n\f\x0B\[+#0{<(|-]*)([1-9][0-9]*)?(?:\.([0-9]+))?([a-zA-Z])$";

fn pattern() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(FMT_PATTERN).expect("the format pattern compiles"))
}

/// Whether `s` matches Puppet's `Format` pattern type (`Pattern[FMT_PATTERN]`).
pub fn is_format(s: &str) -> bool {
    pattern().is_match(s)
}

/// The sign flag: ' ', '+' or neither.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Plus {
    Space,
    Sign,
    Ignore,
}

#[derive(Clone, Debug)]
pub struct Fmt {
    /// The format as written; Ruby's `Kernel#format` is handed this text.
    pub orig: String,
    pub conv: char,
    pub alt: bool,
    pub left: bool,
    pub plus: Plus,
    pub delimiters: Option<char>,
    /// The width's digits as written (Puppet keeps a Ruby integer of any size).
    pub width: Option<String>,
    pub prec: Option<String>,
    pub separator: Option<String>,
    pub separator2: Option<String>,
    pub string_formats: Option<Rc<FormatMap>>,
}

fn arg_error(msg: String) -> EvalError {
    EvalError::new(msg)
}

impl Fmt {
    /// `Format.new(fmt)`.
    pub fn parse(fmt: &str) -> EResult<Fmt> {
        let Some(m) = pattern().captures(fmt) else {
            return Err(arg_error(format!(
                "The format '{fmt}' is not a valid format on the form '%<flags><width>.<prec><format>'"
            )));
        };
        let flags: Vec<char> = m.get(1).map_or("", |x| x.as_str()).chars().collect();
        let mut seen: Vec<char> = Vec::with_capacity(flags.len());
        for c in &flags {
            if seen.contains(c) {
                return Err(arg_error(format!(
                    "The same flag can only be used once, got '{fmt}'"
                )));
            }
            seen.push(*c);
        }
        let has = |c: char| flags.contains(&c);
        let mut delimiters = None;
        for d in ['[', '{', '(', '<', '|'] {
            if has(d) {
                if delimiters.is_some() {
                    return Err(arg_error(format!(
                        "Only one of the delimiters [ {{ ( < | can be given in the format flags, got '{fmt}'"
                    )));
                }
                delimiters = Some(d);
            }
        }
        Ok(Fmt {
            orig: fmt.to_string(),
            conv: m
                .get(4)
                .and_then(|x| x.as_str().chars().next())
                .unwrap_or('s'),
            alt: has('#'),
            left: has('-'),
            plus: if has(' ') {
                Plus::Space
            } else if has('+') {
                Plus::Sign
            } else {
                Plus::Ignore
            },
            delimiters,
            width: m.get(2).map(|x| x.as_str().to_string()),
            prec: m.get(3).map(|x| x.as_str().to_string()),
            separator: None,
            separator2: None,
            string_formats: None,
        })
    }

    /// The width as a number (saturating: a width beyond any string's length).
    pub fn width_num(&self) -> Option<u128> {
        self.width
            .as_ref()
            .map(|w| w.parse::<u128>().unwrap_or(u128::MAX))
    }

    /// `Format#merge`: `higher` overrides this format, separators and contained formats
    /// merge.
    pub fn merge(&self, higher: &Fmt) -> Fmt {
        let mut r = higher.clone();
        r.separator = higher.separator.clone().or_else(|| self.separator.clone());
        r.separator2 = higher
            .separator2
            .clone()
            .or_else(|| self.separator2.clone());
        r.string_formats = super::fmap::merge_maps(
            self.string_formats.as_deref(),
            higher.string_formats.as_deref(),
        )
        .map(Rc::new);
        r
    }

    /// The left and right delimiters of a container: the delimiter flag, a space flag
    /// for none, else `default`.
    pub fn delimiter_pair(
        &self,
        default: (&'static str, &'static str),
    ) -> (&'static str, &'static str) {
        match self.delimiters {
            Some('[') => ("[", "]"),
            Some('{') => ("{", "}"),
            Some('(') => ("(", ")"),
            Some('<') => ("<", ">"),
            Some('|') => ("|", "|"),
            _ if self.plus == Plus::Space => ("", ""),
            _ => default,
        }
    }

    /// The text with every `from` character replaced by `to` (Ruby's `tr`/`gsub` on the
    /// original format).
    pub fn orig_with(&self, from: char, to: char) -> String {
        self.orig.replace(from, &to.to_string())
    }
}

/// `FormatError`: a format letter the value's type does not accept.
pub fn format_error(type_name: &str, actual: char, expected: &str) -> EvalError {
    EvalError::new(format!(
        "Illegal format '{actual}' specified for value of {type_name} type - expected one of the characters '{expected}'"
    ))
}

// The signature of Puppet's `new_string` function: one value, then optionally `Default`,
// a non-empty format string or a type => format map whose formats match the format
// pattern; anything else is rejected with the text Puppet's dispatcher gives.

/// `Format = Pattern[...]` as Puppet prints it.
const FORMAT: &str =
    r"Format = Pattern[/^%([\s\[+#0{<(|-]*)([1-9][0-9]*)?(?:\.([0-9]+))?([a-zA-Z])$/]";

/// The `Formats` parameter type as Puppet prints it.
fn formats_type() -> String {
    format!(
        "Formats = Variant[Default, String[1], TypeMap = Hash[Type, Variant[{FORMAT}, \
         ContainerFormat = Struct[{{Optional['format'] => {FORMAT}, Optional['separator'] => String, \
         Optional['separator2'] => String, Optional['string_formats'] => Hash[Type, {FORMAT}]}}]]]]"
    )
}

fn is_format_value(v: &Value) -> bool {
    matches!(v, Value::Str(s) if is_format(s))
}

/// `Hash[Type, Format]`.
fn is_format_map(h: &Map) -> bool {
    h.iter()
        .all(|(k, v)| matches!(k, Value::Type(_)) && is_format_value(v))
}

/// `ContainerFormat`.
fn is_container_format(h: &Map) -> bool {
    h.iter().all(|(k, v)| match k {
        Value::Str(k) => match k.as_ref() {
            "format" => is_format_value(v),
            "separator" | "separator2" => matches!(v, Value::Str(_)),
            "string_formats" => matches!(v, Value::Hash(m) if is_format_map(m)),
            _ => false,
        },
        _ => false,
    })
}

/// `TypeMap`.
fn is_type_map(h: &Map) -> bool {
    h.iter().all(|(k, v)| {
        matches!(k, Value::Type(_))
            && match v {
                Value::Hash(c) => is_container_format(c),
                other => is_format_value(other),
            }
    })
}

fn got(v: &Value) -> &'static str {
    match v {
        Value::Array(a) if !a.is_empty() => "Tuple",
        Value::Hash(h) if !h.is_empty() && h.keys().all(|k| matches!(k, Value::Str(_))) => "Struct",
        other => type_name_of(other),
    }
}

/// Checks the arguments of `String.new` / `String(...)` as Puppet's dispatcher does.
pub fn check_args(args: &[Value]) -> EResult<()> {
    if args.is_empty() || args.len() > 2 {
        let n = if args.is_empty() {
            "none".to_string()
        } else {
            args.len().to_string()
        };
        return Err(EvalError::new(format!(
            "'new_string' expects between 1 and 2 arguments, got {n}"
        )));
    }
    let Some(f) = args.get(1) else {
        return Ok(());
    };
    let ok = match f {
        Value::Default => true,
        Value::Str(s) => !s.is_empty(),
        Value::Hash(h) => is_type_map(h),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let formats = formats_type();
    if let (Value::Hash(h), "Struct") = (f, got(f)) {
        // A hash of string keys: Puppet lists what each variant rejected.
        let key = h.keys().next().map(|k| k.to_display()).unwrap_or_default();
        let reject = "\n  rejected: parameter 'string_formats'";
        return Err(EvalError::new(format!(
            "'new_string' expects (Convertible = Any from, {formats} string_formats?)\
             {reject} variant 0 expects a Default value, got Struct\
             {reject} variant 1 expects a String value, got Struct\
             {reject} variant 2 key of entry '{key}' expects a Type value, got String"
        )));
    }
    Err(EvalError::new(format!(
        "'new_string' parameter 'string_formats' expects a {formats} value, got {}",
        got(f)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flags_width_and_precision() {
        let f = Fmt::parse("%-#+08.3d").expect("valid");
        assert!(f.left && f.alt);
        assert_eq!(f.plus, Plus::Sign);
        assert_eq!(f.width.as_deref(), Some("8"));
        assert_eq!(f.prec.as_deref(), Some("3"));
        assert_eq!(f.conv, 'd');
    }

    #[test]
    fn rejects_bad_formats() {
        assert!(Fmt::parse("%dv").is_err());
        assert!(Fmt::parse("%[[a").is_err());
        assert!(Fmt::parse("%[{a").is_err());
        assert_eq!(
            Fmt::parse("%{a").map(|f| f.delimiters).ok(),
            Some(Some('{'))
        );
    }
}
