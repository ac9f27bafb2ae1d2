//! Quoting as the string converter does it: Puppet source quotes (`'a'` or, with control
//! characters, `"a\n"`), Ruby's `inspect` of a binary string, and a regexp between slashes;
//! and binary values under a format: the bytes as text (`%s`), Base64 in its three forms
//! (`%b` with line breaks, `%B` strict, `%u` URL-safe), `Binary("...")` (`%p`) and the
//! type's name (`%t`, `%T`); the alternate flag quotes as Ruby's `inspect`.

use super::scalars::kformat;
use super::spec::{format_error, Fmt};
use std::fmt::Write;
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::{base64_encode, Value};

/// `puppet_quote`: single quotes unless a control character forces double quotes (or
/// `double` asks for them). A backslash escapes the character after it; a trailing one is
/// kept.
pub fn puppet_quote(s: &str, double: bool) -> String {
    if double || s.chars().any(|c| (c as u32) < 0x20) {
        return puppet_double_quote(s);
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            out.push('\\');
            out.push(c);
            escaped = false;
        } else if c == '\'' {
            out.push_str("\\'");
        } else if c == '\\' {
            escaped = true;
        } else {
            out.push(c);
        }
    }
    if escaped {
        out.push('\\');
    }
    out.push('\'');
    out
}

/// `puppet_double_quote`.
pub fn puppet_double_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("\\$"),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{{{:X}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Ruby's `String#inspect` of a binary (ASCII-8BIT) string.
pub fn inspect_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 2);
    out.push('"');
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'#' if matches!(b.get(i + 1), Some(b'{' | b'$' | b'@')) => out.push_str("\\#"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x0c => out.push_str("\\f"),
            0x0b => out.push_str("\\v"),
            0x08 => out.push_str("\\b"),
            0x07 => out.push_str("\\a"),
            0x1b => out.push_str("\\e"),
            0x20..=0x7e => out.push(c as char),
            _ => {
                let _ = write!(out, "\\x{c:02X}");
            }
        }
    }
    out.push('"');
    out
}

/// Ruby's `Regexp#inspect` (options are never set on Puppet's regexps): the source between
/// slashes, a slash not already escaped escaped, other non-printing characters as `\x..`.
pub fn regexp_inspect(source: &str) -> String {
    let mut out = String::with_capacity(source.len() + 2);
    out.push('/');
    let mut chars = source.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '/' => out.push_str("\\/"),
            c if c.is_control() && !c.is_whitespace() => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('/');
    out
}

/// The first byte that is not ASCII, as Ruby names it when a binary string cannot be
/// transcoded: `"\x9B" from ASCII-8BIT to UTF-8`.
pub fn not_utf8_error(b: &[u8]) -> String {
    let c = b.iter().find(|c| **c >= 0x80).copied().unwrap_or(0);
    format!("\"\\x{c:02X}\" from ASCII-8BIT to UTF-8")
}

/// Ruby's `Base64.encode64`: lines of 60 characters, each ending in a newline.
fn relaxed(b: &[u8]) -> String {
    let flat = base64_encode(b, false);
    let mut out = String::with_capacity(flat.len() + flat.len() / 60 + 1);
    for chunk in flat.as_bytes().chunks(60) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

/// `text` under `f` with its letter read as `%s`, or as `%p` (Ruby's `inspect` of a
/// binary string) when the alternate flag is given.
fn as_text(f: &Fmt, text: &[u8]) -> EResult<String> {
    let fmt = f.orig_with(f.conv, 's');
    if f.alt {
        kformat(&fmt, Value::str(inspect_bytes(text)))
    } else {
        let s = std::str::from_utf8(text).map_err(|_| EvalError::new(not_utf8_error(text)))?;
        kformat(&fmt, Value::str(s))
    }
}

pub fn binary(f: &Fmt, b: &[u8]) -> EResult<String> {
    match f.conv {
        's' => as_text(f, b),
        'p' => {
            let inner = kformat(&f.orig_with('p', 's'), Value::str(base64_encode(b, false)))?;
            Ok(format!("Binary(\"{inner}\")"))
        }
        'b' => as_text(f, relaxed(b).as_bytes()),
        'B' => as_text(f, base64_encode(b, false).as_bytes()),
        'u' => as_text(f, base64_encode(b, true).as_bytes()),
        't' => as_text(f, b"Binary"),
        'T' => as_text(f, b"BINARY"),
        c => Err(format_error("Binary", c, "bButTsp")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_as_puppet_does() {
        assert_eq!(puppet_quote("it's", false), "'it\\'s'");
        assert_eq!(puppet_quote("ends in \\", false), "'ends in \\'");
        assert_eq!(puppet_quote("a\\'b", false), "'a\\'b'");
        assert_eq!(puppet_quote("tab\t$", false), "\"tab\\t\\$\"");
        assert_eq!(puppet_quote("bell\u{7}", false), "\"bell\\u{7}\"");
    }

    #[test]
    fn inspects_bytes_as_ruby_does() {
        assert_eq!(inspect_bytes(b"j\x9b"), "\"j\\x9B\"");
        assert_eq!(inspect_bytes(b"#{x}\""), "\"\\#{x}\\\"\"");
    }
}
