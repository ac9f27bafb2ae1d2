//! The datacat module's Ruby functions, natively.

use crate::functions::host::Host;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::Value;

/// `template_body`.
pub(crate) fn template_body(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    crate::functions::templates::template_body_function(ev, args)
}
