//! Logging (`notice` and its levels), `fail`, and the control-flow functions `break`, `next`,
//! `return`.

use crate::functions::host::Host;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::error::Flow;
use troupe_values::value::Value;

/// `fail`.
pub(crate) fn fail(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let msg: Vec<String> = args.iter().map(|a| a.to_display()).collect();
    Err(EvalError::new(msg.join(" ")))
}

/// `notice`, `info`, `warning`, `err`, `debug`, `alert`, `crit`, `emerg`.
pub(crate) fn notice(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    Ok(ev.log(name, &args))
}

/// `break`.
pub(crate) fn break_fn(
    _ev: &mut dyn Host,
    _name: &str,
    _args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    Err(EvalError::flow(Flow::Break))
}

/// `next`.
pub(crate) fn next(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    Err(EvalError::flow(Flow::Next(
        args.first().cloned().unwrap_or(Value::Undef),
    )))
}

/// `return`.
pub(crate) fn return_fn(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    Err(EvalError::flow(Flow::Return(
        args.first().cloned().unwrap_or(Value::Undef),
    )))
}

/// `annotate`.
pub(crate) fn annotate(
    _ev: &mut dyn Host,
    _name: &str,
    _args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    Err(EvalError::new(
        "'annotate' needs Pcore Annotation and Object types, which troupe does not support",
    ))
}
