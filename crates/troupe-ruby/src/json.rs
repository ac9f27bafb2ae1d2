//! Data written out as Ruby writes it: Ruby's `json` generator (`to_json`,
//! `JSON.pretty_generate`) for stdlib's `to_json`/`to_json_pretty` and ERB's `#to_json`.
//! Puppet values reach those Ruby methods as Ruby objects; the ones with no JSON form of their
//! own (types, Sensitive, default, versions, time values) are written as their `to_s`.

use crate::object::ruby_to_s;
use troupe_values::value::{format_float, Value};

/// The layout options of Ruby's `JSON::State` (`generate` leaves them all empty).
#[derive(Clone, Debug, Default)]
pub struct JsonLayout {
    pub indent: String,
    pub space: String,
    pub space_before: String,
    pub object_nl: String,
    pub array_nl: String,
}

impl JsonLayout {
    /// `JSON.pretty_generate`'s defaults.
    pub fn pretty() -> JsonLayout {
        JsonLayout {
            indent: "  ".into(),
            space: " ".into(),
            space_before: String::new(),
            object_nl: "\n".into(),
            array_nl: "\n".into(),
        }
    }
}

/// Ruby's JSON generator. Fails as Ruby does on NaN and Infinity (`allow_nan` is false).
pub fn ruby_json(v: &Value, layout: &JsonLayout) -> Result<String, String> {
    let mut out = String::new();
    json_value(v, layout, 0, &mut out)?;
    Ok(out)
}

fn json_value(v: &Value, l: &JsonLayout, depth: usize, out: &mut String) -> Result<(), String> {
    troupe_values::limits::grow(|| {
        match v {
            Value::Undef => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => out.push_str(&n.to_string()),
            Value::Float(f) => {
                if !f.is_finite() {
                    return Err(format!("{} not allowed in JSON", format_float(*f)));
                }
                out.push_str(&format_float(*f))
            }
            Value::Str(s) => json_string(s, out),
            Value::Array(a) => {
                let depth = depth + 1;
                out.push('[');
                out.push_str(&l.array_nl);
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                        out.push_str(&l.array_nl);
                    }
                    push_indent(l, depth, out);
                    json_value(x, l, depth, out)?;
                }
                out.push_str(&l.array_nl);
                push_indent(l, depth - 1, out);
                out.push(']');
            }
            Value::Hash(h) => {
                let depth = depth + 1;
                out.push('{');
                for (i, (k, x)) in h.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&l.object_nl);
                    push_indent(l, depth, out);
                    json_string(&ruby_to_s(k), out);
                    out.push_str(&l.space_before);
                    out.push(':');
                    out.push_str(&l.space);
                    json_value(x, l, depth, out)?;
                }
                out.push_str(&l.object_nl);
                push_indent(l, depth - 1, out);
                out.push('}');
            }
            other => json_string(&ruby_to_s(other), out),
        }
        Ok(())
    })
}

fn push_indent(l: &JsonLayout, depth: usize, out: &mut String) {
    if !l.indent.is_empty() {
        for _ in 0..depth {
            out.push_str(&l.indent);
        }
    }
}

/// A JSON string as Ruby's generator writes it: `"` and `\` escaped, control characters as
/// `\b \f \n \r \t` or `\u00xx`, everything else (`/`, non-ASCII) as is.
pub fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use troupe_values::value::Map;

    fn h(pairs: Vec<(&str, Value)>) -> Value {
        let mut m = Map::default();
        for (k, v) in pairs {
            m.insert(Value::str(k), v);
        }
        Value::hash(m)
    }

    #[test]
    fn compact_as_ruby() {
        // Expected texts are Ruby 3.1's `JSON.generate`.
        let v = h(vec![
            ("a", Value::str("x\u{1f}\u{7}\t\"\\/é")),
            ("f", Value::Float(1.0e20)),
            ("g", Value::Float(1.5)),
            ("n", Value::Undef),
            ("e", Value::array(vec![])),
            ("h", h(vec![])),
        ]);
        assert_eq!(
            ruby_json(&v, &JsonLayout::default()).expect("json"),
            r#"{"a":"x\u001f\u0007\t\"\\/é","f":1.0e+20,"g":1.5,"n":null,"e":[],"h":{}}"#
        );
        assert!(ruby_json(&Value::Float(f64::NAN), &JsonLayout::default()).is_err());
    }

    #[test]
    fn pretty_as_ruby() {
        let v = h(vec![
            (
                "a",
                Value::array(vec![Value::Int(1), h(vec![("b", Value::array(vec![]))])]),
            ),
            ("c", h(vec![])),
        ]);
        assert_eq!(
            ruby_json(&v, &JsonLayout::pretty()).expect("json"),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": [\n\n      ]\n    }\n  ],\n  \"c\": {\n  }\n}"
        );
        assert_eq!(
            ruby_json(&Value::array(vec![]), &JsonLayout::pretty()).expect("json"),
            "[\n\n]"
        );
    }
}
