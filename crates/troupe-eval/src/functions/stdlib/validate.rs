//! puppetlabs-stdlib's functions: validate.

use crate::functions::stdlib::err;
use crate::functions::stdlib::is_numeric_text;
use crate::functions::stdlib::validate;
use crate::functions::stdlib::validate_numeric;
use crate::lang::eval::Evaluator;
use crate::model::error::EResult;
use crate::model::value::Value;
use crate::ruby::object::ruby_to_f;
use troupe_syntax::ast::{Expr, Lambda};

/// `is_string`.
pub(crate) fn is_string(
    _ev: &mut Evaluator<'_>,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    Ok(Value::Bool(match args.first() {
        Some(Value::Str(s)) => s.parse::<f64>().is_err(),
        _ => false,
    }))
}

/// `is_array`.
pub(crate) fn is_array(
    _ev: &mut Evaluator<'_>,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    Ok(Value::Bool(matches!(args.first(), Some(Value::Array(_)))))
}

/// `is_hash`.
pub(crate) fn is_hash(
    _ev: &mut Evaluator<'_>,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    Ok(Value::Bool(matches!(args.first(), Some(Value::Hash(_)))))
}

/// `is_bool`.
pub(crate) fn is_bool(
    _ev: &mut Evaluator<'_>,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    Ok(Value::Bool(matches!(args.first(), Some(Value::Bool(_)))))
}

/// `deprecation`.
pub(crate) fn deprecation(
    _ev: &mut Evaluator<'_>,
    _name: &str,
    _args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    Ok(Value::Undef)
}

/// `assert_private`.
pub(crate) fn assert_private(
    ev: &mut Evaluator<'_>,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    ev.assert_private(args)
}

/// `validate_legacy`.
pub(crate) fn validate_legacy(
    ev: &mut Evaluator<'_>,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    ev.validate_legacy(args, e)
}

/// `validate_string`, `validate_bool`, `validate_hash`, `validate_array`, `validate_absolute_path`, `validate_re`, `validate_integer`.
pub(crate) fn validate_string(
    _ev: &mut Evaluator<'_>,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    validate(name, args).map(|()| Value::Undef)
}

/// `is_integer`, `is_numeric`, `is_float`.
pub(crate) fn is_integer(
    _ev: &mut Evaluator<'_>,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    if args.len() != 1 {
        return Err(err(format!(
            "{name}(): Wrong number of arguments given {} for 1",
            args.len()
        )));
    }
    let int = |s: &str| {
        let d = s.strip_prefix('-').unwrap_or(s);
        !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) && (d == "0" || !d.starts_with('0'))
    };
    Ok(Value::Bool(match (name, &args[0]) {
        ("is_integer", Value::Int(_)) => true,
        ("is_integer", Value::Str(s)) => int(s),
        ("is_numeric", Value::Int(_) | Value::Float(_)) => true,
        ("is_numeric", Value::Str(s)) => is_numeric_text(s, int),
        ("is_float", Value::Float(_)) => true,
        // Ruby: `value == value.to_f.to_s`.
        ("is_float", Value::Str(s)) => crate::model::value::format_float(ruby_to_f(s)) == **s,
        _ => false,
    }))
}

/// `validate_numeric`.
pub(crate) fn validate_numeric_fn(
    _ev: &mut Evaluator<'_>,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    validate_numeric(args).map(|()| Value::Undef)
}

/// `is_a`.
pub(crate) fn is_a(
    _ev: &mut Evaluator<'_>,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args {
        [v, Value::Type(t)] => Ok(Value::Bool(t.is_instance(v))),
        [_, other] => Err(err(format!(
            "'is_a' parameter 'type' expects a Type value, got {}",
            crate::model::types::infer_for_message(other)
        ))),
        _ => Err(err(format!(
            "'is_a' expects 2 arguments, got {}",
            args.len()
        ))),
    }
}
