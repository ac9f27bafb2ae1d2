//! The datacat module's Ruby functions, natively.

use crate::lang::eval::Evaluator;
use crate::model::error::EResult;
use crate::model::value::Value;
use troupe_syntax::ast::{Expr, Lambda};

/// `template_body`.
pub(crate) fn template_body(
    ev: &mut Evaluator<'_>,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    crate::functions::templates::template_body_function(ev, args)
}
