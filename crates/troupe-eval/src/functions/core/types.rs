//! Types and conversion: `assert_type`, `type`, `unwrap`, `convert_to`, `new`.

use crate::functions::args::arity;
use crate::functions::host::Host;
use std::rc::Rc;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::infer::generalize;
use troupe_values::infer::infer_reduced;
use troupe_values::infer::infer_type;
use troupe_values::value::Value;

/// `assert_type`.
pub(crate) fn assert_type(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 2, 2)?;
    let t = match &args[0] {
        Value::Type(t) => t.clone(),
        Value::Str(s) => Rc::new(ev.parse_type(s)?),
        other => {
            let got = troupe_values::types::infer_for_message(other);
            return Err(EvalError::new(format!(
                "The function 'assert_type' was called with arguments it does not accept. It expects one of:\n  (Type type, Any value, Callable[Type, Type] block?)\n    rejected: parameter 'type' expects a Type value, got {got}\n  (String type_string, Any value, Callable[Type, Type] block?)\n    rejected: parameter 'type_string' expects a String value, got {got}"
            )));
        }
    };
    if t.is_instance(&args[1]) {
        Ok(args[1].clone())
    } else if let Some(l) = lambda {
        let actual = Value::ty(infer_type(&args[1]));
        ev.call_lambda(l, &[Value::Type(t.clone()), actual], e)
    } else {
        Err(EvalError::new(troupe_values::describe::mismatch(
            "assert_type():",
            &t,
            &args[1],
        )))
    }
}

/// `type`.
pub(crate) fn type_fn(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let known = matches!(args.get(1), None | Some(Value::Str(_)))
        && args.get(1).is_none_or(|m| {
            matches!(m, Value::Str(s) if matches!(&**s, "detailed" | "reduced" | "generalized"))
        });
    if args.len() != 1 && args.len() != 2 || !known || lambda.is_some() {
        crate::functions::sigs::dispatch(ev, name, super::sigs::TYPE, &args, lambda)?;
    }
    Ok(Value::ty(match args.get(1) {
        Some(Value::Str(s)) if &**s == "generalized" => generalize(&args[0]),
        Some(Value::Str(s)) if &**s == "reduced" => infer_reduced(&args[0]),
        _ => infer_type(&args[0]),
    }))
}

/// `unwrap`.
pub(crate) fn unwrap(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 1)?;
    let v = match &args[0] {
        Value::Sensitive(v) => (**v).clone(),
        v => v.clone(),
    };
    // With a block, the block's answer for the unwrapped value.
    match lambda {
        Some(l) => ev.call_lambda(l, &[v], e),
        None => Ok(v),
    }
}

/// `convert_to`.
pub(crate) fn convert_to(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 2, usize::MAX)?;
    let t = match &args[1] {
        Value::Type(t) => t.clone(),
        _ => return Err(EvalError::new("'convert_to' expects a Type")),
    };
    let mut a = vec![args[0].clone()];
    a.extend(args[2..].iter().cloned());
    let v = crate::functions::core::new::call_type_new(ev, &t, a)?;
    match lambda {
        // With a block, the block gets the converted value and its result is returned.
        Some(l) => ev.call_lambda(l, &[v], e),
        None => Ok(v),
    }
}

/// `new`: the converted value, given to the block when there is one (not when the value
/// already was an instance of the type).
pub(crate) fn new_fn(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, usize::MAX)?;
    let t = match &args[0] {
        Value::Type(t) => t.clone(),
        _ => return Err(EvalError::new("'new' expects a Type")),
    };
    let already = args.len() == 2 && t.is_instance(&args[1]);
    let r = crate::functions::core::new::call_type_new(ev, &t, args[1..].to_vec())?;
    match lambda {
        Some(l) if !already => ev.call_lambda(l, &[r], e),
        _ => Ok(r),
    }
}
