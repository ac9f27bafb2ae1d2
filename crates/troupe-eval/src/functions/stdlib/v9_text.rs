//! puppetlabs-stdlib 9's namespaced text functions (`stdlib::batch_escape`,
//! `stdlib::powershell_escape`, `stdlib::start_with`, `stdlib::end_with`, `stdlib::extname`,
//! `stdlib::xml_encode`, `stdlib::sha256`, `stdlib::crc32`, `stdlib::to_ruby`,
//! `stdlib::to_python`), natively, with the results of stdlib 9.7 on Puppet 7.23.

use crate::functions::args::{arity, str_arg};
use crate::functions::host::Host;
use crate::functions::stdlib::err;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::types::infer_for_message;
use troupe_values::value::Value;

/// Ruby's `to_s` of a function's `Any` argument.
fn text(v: &Value) -> String {
    troupe_ruby::object::ruby_to_s(v)
}

/// `stdlib::batch_escape`: a double-quoted cmd.exe word.
pub(crate) fn batch_escape(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 1)?;
    let mut out = String::from("\"");
    for c in text(&args[0]).chars() {
        match c {
            '"' => out.push_str("\"\""),
            '$' | '\\' => {
                out.push('\\');
                out.push(c)
            }
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(Value::str(out))
}

/// `stdlib::powershell_escape`: special characters behind a backtick.
pub(crate) fn powershell_escape(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 1)?;
    let mut out = String::new();
    for c in text(&args[0]).chars() {
        match c {
            ' ' | '\'' | '`' | '|' | '\n' | '$' => {
                out.push('`');
                out.push(c)
            }
            '"' => out.push_str("\\`\""),
            c => out.push(c),
        }
    }
    Ok(Value::str(out))
}

/// `stdlib::start_with` and `stdlib::end_with`: a String against one affix or a list.
pub(crate) fn start_with(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 2, 2)?;
    let s = str_arg(name, &args[0], "'test_string'")?;
    let affixes: Vec<String> = match &args[1] {
        Value::Str(a) if !a.is_empty() => vec![a.to_string()],
        Value::Array(a)
            if !a.is_empty()
                && a.iter()
                    .all(|x| matches!(x, Value::Str(s) if !s.is_empty())) =>
        {
            a.iter().map(|x| x.to_display()).collect()
        }
        other => {
            let what = if name.ends_with("start_with") {
                "prefixes"
            } else {
                "suffixes"
            };
            return Err(err(format!(
                "'{name}' parameter '{what}' expects a value of type String or Array, got {}",
                infer_for_message(other)
            )));
        }
    };
    let start = name.ends_with("start_with");
    Ok(Value::Bool(affixes.iter().any(|a| {
        if start {
            s.starts_with(a.as_str())
        } else {
            s.ends_with(a.as_str())
        }
    })))
}

/// Ruby's `File.extname`: the last `.suffix` of the base name, none for a leading dot
/// (`.bashrc`), and `.` for a trailing one on Puppet 7's Ruby.
pub(crate) fn ruby_extname(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    let base = trimmed.rsplit('/').next().unwrap_or("");
    let stem = base.trim_start_matches('.');
    match stem.rfind('.') {
        Some(i) => stem[i..].to_string(),
        None => String::new(),
    }
}

/// `stdlib::extname`.
pub(crate) fn extname(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 1)?;
    let s = str_arg(name, &args[0], "'filename'")?;
    Ok(Value::str(ruby_extname(s)))
}

/// `stdlib::xml_encode`: Ruby's `encode(xml: :text)` or `encode(xml: :attr)`.
pub(crate) fn xml_encode(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 2)?;
    let s = str_arg(name, &args[0], "'str'")?;
    let attr = match args.get(1) {
        None => false,
        Some(Value::Str(t)) if &**t == "text" => false,
        Some(Value::Str(t)) if &**t == "attr" => true,
        Some(other) => {
            return Err(err(format!(
                "'{name}' parameter 'type' expects a match for Enum['attr', 'text'], got {}",
                match other {
                    Value::Str(s) => troupe_values::value::puppet_quote(s),
                    o => infer_for_message(o),
                }
            )))
        }
    };
    let mut out = String::new();
    if attr {
        out.push('"');
    }
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    if attr {
        out.push('"');
    }
    Ok(Value::str(out))
}

/// The text a digest function hashes: a Sensitive's content, a Binary's bytes, else `to_s`.
fn digest_input(v: &Value) -> Vec<u8> {
    match v {
        Value::Sensitive(x) => digest_input(x),
        Value::Binary(b) => b.to_vec(),
        other => text(other).into_bytes(),
    }
}

/// `stdlib::sha256`.
pub(crate) fn sha256(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 1)?;
    Ok(Value::str(crate::functions::digest::hex(
        "sha256",
        &digest_input(&args[0]),
    )))
}

/// Zlib's CRC-32 (the IEEE polynomial, reflected).
pub(crate) fn crc32_of(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `stdlib::crc32`: lowercase hex without leading zeros (Ruby's `to_s(16)`).
pub(crate) fn crc32(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 1)?;
    Ok(Value::str(format!(
        "{:x}",
        crc32_of(&digest_input(&args[0]))
    )))
}

/// Ruby's `String#inspect` for a UTF-8 string.
pub(crate) fn ruby_inspect_str(s: &str) -> String {
    let mut out = String::from("\"");
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{0c}' => out.push_str("\\f"),
            '\u{0b}' => out.push_str("\\v"),
            '\u{08}' => out.push_str("\\b"),
            '\u{07}' => out.push_str("\\a"),
            '\u{1b}' => out.push_str("\\e"),
            '#' if matches!(chars.peek(), Some('{' | '$' | '@')) => out.push_str("\\#"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `stdlib::to_ruby` and `stdlib::to_python`: the value as a literal of that language.
pub(crate) fn to_ruby(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 1)?;
    let python = name.ends_with("to_python");
    literal(&args[0], python).map(Value::str)
}

fn literal(v: &Value, python: bool) -> EResult<String> {
    troupe_values::limits::grow(|| {
        Ok(match v {
            Value::Undef => if python { "None" } else { "nil" }.into(),
            Value::Bool(b) => match (python, b) {
                (true, true) => "True".into(),
                (true, false) => "False".into(),
                (false, b) => b.to_string(),
            },
            Value::Int(i) => i.to_string(),
            Value::Float(f) => troupe_values::value::format_float(*f),
            Value::Str(s) => ruby_inspect_str(s),
            Value::Array(a) => {
                let items: EResult<Vec<String>> = a.iter().map(|x| literal(x, python)).collect();
                format!("[{}]", items?.join(", "))
            }
            Value::Hash(h) => {
                let sep = if python { ": " } else { " => " };
                let mut items = Vec::new();
                for (k, x) in h.iter() {
                    items.push(format!(
                        "{}{sep}{}",
                        literal(k, python)?,
                        literal(x, python)?
                    ));
                }
                format!("{{{}}}", items.join(", "))
            }
            other => {
                return Err(err(format!(
                    "stdlib::to_{}: a {} value has no literal here",
                    if python { "python" } else { "ruby" },
                    infer_for_message(other)
                )))
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values are stdlib 9.7's on Puppet 7.23 (Ruby 3.1).
    #[test]
    fn digests_and_names() {
        assert_eq!(format!("{:x}", crc32_of(b"hello")), "3610a686");
        assert_eq!(format!("{:x}", crc32_of(b"")), "0");
        assert_eq!(format!("{:x}", crc32_of(b"secret")), "5ca2e8e5");
        assert_eq!(ruby_extname("/a/b.tar.gz"), ".gz");
        assert_eq!(ruby_extname(".bashrc"), "");
        assert_eq!(ruby_extname("a."), ".");
        assert_eq!(ruby_extname("noext"), "");
        assert_eq!(
            ruby_inspect_str("say \"hi\" #{x}\n"),
            "\"say \\\"hi\\\" \\#{x}\\n\""
        );
    }

    #[test]
    fn literals() {
        let v = Value::array(vec![
            Value::Int(1),
            Value::Float(2.5),
            Value::Bool(true),
            Value::Undef,
            Value::str("x'y"),
        ]);
        assert_eq!(
            literal(&v, false).ok().as_deref(),
            Some("[1, 2.5, true, nil, \"x'y\"]")
        );
        assert_eq!(
            literal(&v, true).ok().as_deref(),
            Some("[1, 2.5, True, None, \"x'y\"]")
        );
    }
}
