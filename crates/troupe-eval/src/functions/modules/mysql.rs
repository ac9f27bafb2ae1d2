//! The mysql module's Ruby functions, natively.

use crate::functions::host::Host;
use crate::functions::stdlib::err;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::Value;

/// mysql: the MySQL 4.1+ password hash.
pub(crate) fn mysql_password(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    let pw = match args.first() {
        Some(Value::Str(s)) => s.to_string(),
        Some(Value::Sensitive(v)) => v.to_display(),
        other => {
            return Err(err(format!(
                "'mysql::password' parameter 'password' expects a String value, got {}",
                troupe_values::types::infer_for_message(other.unwrap_or(&Value::Undef))
            )))
        }
    };
    let already = pw.len() >= 41 && {
        let tail = &pw[pw.len() - 41..];
        tail.starts_with('*')
            && tail[1..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    };
    Ok(Value::str(if pw.is_empty() {
        String::new()
    } else if already {
        pw
    } else {
        use sha1::Digest;
        let inner = sha1::Sha1::digest(pw.as_bytes());
        format!(
            "*{}",
            crate::functions::digest::hex("sha1", &inner).to_uppercase()
        )
    }))
}
