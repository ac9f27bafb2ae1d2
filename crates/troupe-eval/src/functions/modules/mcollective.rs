//! The mcollective module's Ruby functions, natively.

use crate::functions::host::Host;
use crate::functions::stdlib::err;
use troupe_ruby::object::ruby_class;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::Value;

/// mcollective's: each element's Ruby `to_s`.
pub(crate) fn mco_array_to_string(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args.first() {
        Some(Value::Array(a)) => Ok(Value::array(
            a.iter()
                .map(|v| Value::str(troupe_ruby::object::ruby_to_s(v)))
                .collect(),
        )),
        other => Err(err(format!(
            "Expected an array, but got a {}",
            ruby_class(other.unwrap_or(&Value::Undef))
        ))),
    }
}
