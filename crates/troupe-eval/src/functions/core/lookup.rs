//! Hiera: `lookup` and the legacy `hiera*` functions.

use crate::functions::host::Host;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::Value;

/// `lookup`.
pub(crate) fn lookup(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    crate::functions::lookup::lookup_function(ev, &args, lambda, e)
}

/// `hiera`, `hiera_array`, `hiera_hash`, `hiera_include`.
pub(crate) fn hiera(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    crate::functions::hiera_fn::hiera_family(ev, name, args, lambda, e)
}
