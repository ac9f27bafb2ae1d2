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

/// Whether Ruby's `to_s` of a value looks like a number to `min`/`max` (they then compare
/// `to_f`, with a deprecation warning).
fn numberish(s: &str) -> bool {
    let t = s.strip_prefix('-').unwrap_or(s);
    let (int, rest) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    if int.is_empty() {
        return false;
    }
    match rest.chars().next() {
        None => true,
        Some('.' | '_' | 'e' | 'E') => {
            let tail = &rest[1..];
            !tail.is_empty() && tail.chars().all(|c| c.is_ascii_digit())
        }
        _ => false,
    }
}
fn ruby_to_f(s: &str) -> f64 {
    s.replace('_', "").parse::<f64>().unwrap_or(0.0)
}
/// Ruby's `to_s` as `min`/`max` compare values of mixed types.
fn min_max_text(v: &Value) -> String {
    match v {
        Value::Regex(r) => format!("(?-mix:{})", r.source),
        other => troupe_ruby::object::ruby_to_s(other),
    }
}
/// `min`/`max` without a block: numbers as numbers, strings (numbers among them) as
/// strings, anything else by its text.
fn min_max_cmp(a: &Value, b: &Value, all_num: bool, all_str: bool) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    if all_num {
        return sort_cmp(a, b);
    }
    let (x, y) = if all_str {
        (a.to_display(), b.to_display())
    } else {
        (min_max_text(a), min_max_text(b))
    };
    if numberish(&x) && numberish(&y) {
        ruby_to_f(&x)
            .partial_cmp(&ruby_to_f(&y))
            .unwrap_or(Ordering::Equal)
    } else {
        x.cmp(&y)
    }
}

/// `min`, `max`.
pub(crate) fn min(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    let vals = match (args.len(), args.first()) {
        (1, Some(Value::Array(a))) => (**a).clone(),
        _ => args.clone(),
    };
    if vals.is_empty() {
        return Err(EvalError::new(format!(
            "{name}(): Wrong number of arguments need at least one"
        )));
    }
    let all_num = vals
        .iter()
        .all(|v| matches!(v, Value::Int(_) | Value::Float(_)));
    let all_str = vals.iter().all(|v| matches!(v, Value::Str(_)));
    let want = if name == "min" {
        std::cmp::Ordering::Less
    } else {
        std::cmp::Ordering::Greater
    };
    let mut best = vals[0].clone();
    for v in &vals[1..] {
        let o = match lambda {
            Some(l) => match ev.call_lambda(l, &[v.clone(), best.clone()], e)? {
                Value::Int(i) => i.cmp(&0),
                Value::Float(f) => f.partial_cmp(&0.0).unwrap_or(std::cmp::Ordering::Equal),
                _ => std::cmp::Ordering::Equal,
            },
            None => min_max_cmp(v, &best, all_num, all_str),
        };
        if o == want {
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
