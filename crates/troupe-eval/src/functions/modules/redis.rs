//! The redis module's Ruby functions, natively.

use crate::functions::host::Host;
use crate::functions::stdlib::err;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::Value;

/// redis: a variable's value, or '' when it is unknown.
pub(crate) fn getvar_emptystring(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    if args.len() != 1 {
        return Err(err(format!(
            "getvar_emptystring(): wrong number of arguments ({}; must be 1)",
            args.len()
        )));
    }
    let n = args[0].to_display();
    Ok(match ev.lookup_var(n.trim_start_matches("::")) {
        Ok(v) if !v.is_undef() => v,
        _ => Value::str(""),
    })
}
