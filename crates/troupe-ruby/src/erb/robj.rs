//! Ruby objects that have no Puppet value of their own (the `scope`, a constant such as
//! `IPAddr` or `File`, an `IPAddr`, an Integer too big for 64 bits), carried through the
//! interpreter as a one-entry Hash whose key no template can write, and Ruby's `to_s` and
//! `inspect` over them. They never reach Puppet: the interpreter prints them itself.

use crate::object::inspect as value_inspect;
use crate::object::ruby_to_s as value_to_s;
use troupe_values::value::{Map, Value};

/// The key marking an object (starts with NUL: no Ruby string a template writes is this).
const KEY: &str = "\u{0}ruby-object";

/// An object of `class` with its fields.
pub(super) fn obj(class: &str, fields: Vec<Value>) -> Value {
    let mut items = vec![Value::str(class)];
    items.extend(fields);
    let mut m = Map::default();
    m.insert(Value::str(KEY), Value::array(items));
    Value::hash(m)
}

/// The class and fields of an object made by [`obj`].
pub(super) fn as_obj(v: &Value) -> Option<(&str, &[Value])> {
    let Value::Hash(h) = v else { return None };
    if h.len() != 1 {
        return None;
    }
    let Some(Value::Array(items)) = h.get(&Value::str(KEY)) else {
        return None;
    };
    match items.first() {
        Some(Value::Str(c)) => Some((c, &items[1..])),
        _ => None,
    }
}

/// The constant named `name` (`IPAddr`, `File`, `JSON`, `String`, ...).
pub(super) fn constant(name: &str) -> Value {
    obj("Module", vec![Value::str(name)])
}

/// The name of the constant `v` stands for, if it is one.
pub(super) fn const_name(v: &Value) -> Option<&str> {
    match as_obj(v) {
        Some(("Module", [Value::Str(n)])) => Some(n),
        _ => None,
    }
}

/// The Symbol `:name`.
pub(super) fn symbol(name: &str) -> Value {
    obj("Symbol", vec![Value::str(name)])
}

/// The name of the Symbol `v`, if it is one.
pub(super) fn symbol_name(v: &Value) -> Option<&str> {
    match as_obj(v) {
        Some(("Symbol", [Value::Str(n)])) => Some(n),
        _ => None,
    }
}

/// Puppet's `scope` object as the template sees it.
pub(super) fn scope() -> Value {
    obj("Puppet::Parser::Scope", vec![])
}

pub(super) fn is_scope(v: &Value) -> bool {
    matches!(as_obj(v), Some(("Puppet::Parser::Scope", _)))
}

/// Ruby's class name of any value the interpreter holds.
pub(super) fn class_of(v: &Value) -> String {
    match as_obj(v) {
        Some(("Module", _)) => "Class".into(),
        Some(("BigInt", _)) => "Integer".into(),
        Some((c, _)) => c.to_string(),
        None => crate::object::ruby_class(v).to_string(),
    }
}

/// Ruby's `to_s`.
pub(super) fn to_s(v: &Value) -> String {
    match as_obj(v) {
        Some(("Module", [Value::Str(n)])) => n.to_string(),
        Some(("BigInt", [Value::Str(d)])) => d.to_string(),
        Some(("Symbol", [Value::Str(n)])) => n.to_string(),
        Some(("IPAddr", f)) => super::ipaddr::ip_to_s(f),
        Some(("Puppet::Parser::Scope", _)) => "Scope()".into(),
        Some((c, _)) => format!("#<{c}>"),
        None => match v {
            Value::Array(_) | Value::Hash(_) => inspect(v),
            _ => value_to_s(v),
        },
    }
}

/// Ruby's `inspect`.
pub(super) fn inspect(v: &Value) -> String {
    troupe_values::limits::grow(|| match as_obj(v) {
        Some(("IPAddr", f)) => super::ipaddr::ip_inspect(f),
        Some(("Symbol", [Value::Str(n)])) => {
            let plain = n
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '@')
                && n.chars()
                    .skip(1)
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '?' || c == '!');
            if plain || matches!(&**n, "+" | "-" | "*" | "/" | "<=>" | "==" | "<<" | "[]") {
                format!(":{n}")
            } else {
                format!(":{}", str_inspect(n))
            }
        }
        Some(_) => to_s(v),
        None => match v {
            Value::Array(a) => {
                format!("[{}]", a.iter().map(inspect).collect::<Vec<_>>().join(", "))
            }
            Value::Hash(h) => format!(
                "{{{}}}",
                h.iter()
                    .map(|(k, v)| format!("{}=>{}", inspect(k), inspect(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Value::Str(s) => str_inspect(s),
            Value::Float(_) => value_to_s(v),
            Value::Regex(re) => {
                let (flags, src) = match re.source.strip_prefix("(?") {
                    Some(rest) if re.source.starts_with("(?m") => {
                        rest.split_once(')').unwrap_or(("", rest))
                    }
                    _ => ("", re.source.as_str()),
                };
                let f: String = flags
                    .chars()
                    .filter_map(|c| match c {
                        's' => Some('m'),
                        'i' => Some('i'),
                        'x' => Some('x'),
                        _ => None,
                    })
                    .collect();
                let f = ["m", "i", "x"]
                    .iter()
                    .filter(|x| f.contains(**x))
                    .copied()
                    .collect::<String>();
                format!("/{src}/{f}")
            }
            _ => value_inspect(v),
        },
    })
}

/// Ruby's `String#inspect` of UTF-8 text.
pub(super) fn str_inspect(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '#' if matches!(it.peek(), Some('{' | '$' | '@')) => out.push_str("\\#"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
