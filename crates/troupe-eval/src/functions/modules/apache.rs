//! The apache module's Ruby functions, natively.

use crate::functions::host::Host;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::Value;

/// apache: Apache's On/Off from a boolean.
pub(crate) fn apache_bool2httpd(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    let v = args.first().cloned().unwrap_or(Value::Undef);
    let s = v.to_display().to_lowercase();
    Ok(Value::str(match &v {
        Value::Undef | Value::Bool(false) => "Off".to_string(),
        Value::Bool(true) => "On".to_string(),
        Value::Str(_) if s.contains("false") => "Off".to_string(),
        Value::Str(_) if s.contains("true") => "On".to_string(),
        Value::Str(x) => x.to_string(),
        other => other.to_display(),
    }))
}
