//! Numbers: `abs`, `floor`/`ceiling`/`round`, `min`/`max`, `compare`.

use crate::functions::args::arity;
use crate::functions::host::Host;
use troupe_ruby::object::sort_cmp;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::number::parse_number;
use troupe_values::value::Value;

/// `abs`.
pub(crate) fn abs(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    match args.first() {
        Some(Value::Int(i)) => Ok(Value::Int(i.abs())),
        Some(Value::Float(f)) => Ok(Value::Float(f.abs())),
        Some(Value::Str(s)) => match parse_number(s) {
            Some(Value::Int(i)) => Ok(Value::Int(i.abs())),
            Some(Value::Float(f)) => Ok(Value::Float(f.abs())),
            _ => Err(EvalError::new("'abs' expects a Numeric value")),
        },
        _ => Err(EvalError::new("'abs' expects a Numeric value")),
    }
}

/// `floor`, `ceiling`, `round`.
pub(crate) fn floor(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let f = match args.first() {
        Some(Value::Int(i)) => return Ok(Value::Int(*i)),
        Some(Value::Float(f)) => *f,
        _ => return Err(EvalError::new(format!("'{name}' expects a Numeric value"))),
    };
    let r = match name {
        "floor" => f.floor(),
        "ceiling" => f.ceil(),
        _ => f.round(),
    };
    Ok(Value::Int(r as i64))
}

/// `min`, `max`.
pub(crate) fn min(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let vals = match (args.len(), args.first()) {
        (1, Some(Value::Array(a))) => (**a).clone(),
        _ => args.clone(),
    };
    if vals.is_empty() {
        return Ok(Value::Undef);
    }
    let mut best = vals[0].clone();
    for v in &vals[1..] {
        let o = sort_cmp(v, &best);
        if (name == "min" && o == std::cmp::Ordering::Less)
            || (name == "max" && o == std::cmp::Ordering::Greater)
        {
            best = v.clone();
        }
    }
    Ok(best)
}

/// `compare`.
pub(crate) fn compare(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 2, 3)?;
    Ok(Value::Int(match sort_cmp(&args[0], &args[1]) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    }))
}
