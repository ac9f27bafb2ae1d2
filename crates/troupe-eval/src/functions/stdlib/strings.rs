//! puppetlabs-stdlib's functions: strings.

use crate::functions::host::Host;
use crate::functions::stdlib::err;
use troupe_ruby::object::inspect;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::Value;

/// `dirname`, `basename`.
pub(crate) fn dirname(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args.first() {
        Some(Value::Str(s)) => {
            let p = std::path::Path::new(&**s);
            Ok(Value::str(if name == "dirname" {
                match p.parent() {
                    Some(d) if d.as_os_str().is_empty() => ".".to_string(),
                    Some(d) => d.display().to_string(),
                    None => s.to_string(),
                }
            } else {
                let mut b = p
                    .file_name()
                    .map(|f| f.to_string_lossy().to_string())
                    .unwrap_or_default();
                if let Some(Value::Str(ext)) = args.get(1) {
                    if let Some(x) = b.strip_suffix(&**ext) {
                        b = x.to_string();
                    }
                }
                b
            }))
        }
        _ => Err(err(format!("{name}(): Requires string as argument"))),
    }
}

/// `uriescape`.
pub(crate) fn uriescape(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args.first() {
        None => Err(err(
            "uriescape(): Wrong number of arguments given (0 for 1)",
        )),
        Some(Value::Str(s)) => Ok(Value::str(uri_escape(s))),
        Some(Value::Array(a)) => Ok(Value::array(
            a.iter()
                .map(|v| match v {
                    Value::Str(s) => Value::str(uri_escape(s)),
                    other => other.clone(),
                })
                .collect(),
        )),
        Some(_) => Err(err(
            "uriescape(): Requires either array or string to work with",
        )),
    }
}

/// `shell_escape`.
pub(crate) fn shell_escape_fn(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args {
        [v] => Ok(Value::str(shell_escape(&troupe_ruby::object::ruby_to_s(v)))),
        _ => Err(err(format!(
            "'shell_escape' expects 1 argument, got {}",
            args.len()
        ))),
    }
}

/// `shell_join`.
pub(crate) fn shell_join(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args {
        [Value::Array(a)] => Ok(Value::str(
            a.iter()
                .map(|v| shell_escape(&troupe_ruby::object::ruby_to_s(v)))
                .collect::<Vec<_>>()
                .join(" "),
        )),
        [other] => Err(err(format!(
            "First argument is not an Array: {}",
            inspect(other)
        ))),
        _ => Err(err(format!(
            "shell_join(): Wrong number of arguments given ({} for 1)",
            args.len()
        ))),
    }
}
/// `URI::DEFAULT_PARSER.escape`: everything but RFC 2396's unreserved and reserved characters
/// as `%XX`.
fn uri_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || "-_.!~*'();/?:@&=+$,[]".contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}
/// Ruby's `Shellwords.escape`.
fn shell_escape(s: &str) -> String {
    if s.is_empty() {
        return "''".into();
    }
    let mut out = String::new();
    for c in s.chars() {
        if c == '\n' {
            out.push_str("'\n'");
        } else if c.is_ascii_alphanumeric() || "_-.,:+/@".contains(c) {
            out.push(c);
        } else {
            out.push('\\');
            out.push(c);
        }
    }
    out
}
