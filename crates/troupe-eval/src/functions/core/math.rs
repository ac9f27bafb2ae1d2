//! Numbers: `abs`, `floor`/`ceiling`/`round`, `min`/`max`, `compare`.

use crate::functions::args::arity;
use crate::functions::host::Host;
use troupe_ruby::object::sort_cmp;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::value::Value;

/// `abs`: a Numeric, or (deprecated) a String holding a decimal integer or float.
pub(crate) fn abs(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity("abs", &args, 1, 1)?;
    match &args[0] {
        Value::Int(i) => Ok(Value::Int(i.saturating_abs())),
        Value::Float(f) => Ok(Value::Float(f.abs())),
        Value::Str(s) => {
            let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            let body = s.strip_prefix('-').unwrap_or(s);
            match body.split_once('.') {
                Some((i, f)) if digits(i) && digits(f) => {
                    Ok(Value::Float(body.parse::<f64>().unwrap_or(0.0)))
                }
                None if digits(body) => body
                    .parse::<i64>()
                    .map(Value::Int)
                    .map_err(|_| EvalError::new("abs(): integer out of range")),
                _ => Err(EvalError::new(
                    "abs(): Requires float or integer to work with - was given non decimal string",
                )),
            }
        }
        other => Err(numeric_or_string("abs", other)),
    }
}

fn numeric_or_string(name: &str, v: &Value) -> EvalError {
    EvalError::new(format!(
        "'{name}' parameter 'val' expects a value of type Numeric or String, got {}",
        crate::functions::args::variant_got(v)
    ))
}

/// Ruby's `Float(text)`: decimal (digits may be separated by single underscores, an
/// exponent is allowed), or hexadecimal with `0x`; surrounding whitespace is ignored.
fn ruby_float(text: &str) -> Option<f64> {
    let t = text.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let v = if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        if hex.is_empty() || hex.starts_with('_') || hex.ends_with('_') || hex.contains("__") {
            return None;
        }
        i64::from_str_radix(&hex.replace('_', ""), 16).ok()? as f64
    } else {
        let ok = !body.is_empty()
            && body
                .bytes()
                .all(|b| b.is_ascii_digit() || b"._eE+-".contains(&b))
            && body.as_bytes()[0].is_ascii_digit()
            && body.as_bytes()[body.len() - 1].is_ascii_digit()
            && !body.contains("__")
            && !body.contains("._")
            && !body.contains("_.");
        if !ok {
            return None;
        }
        body.replace('_', "").parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// `floor`, `ceiling`, `round`.
pub(crate) fn floor(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 1)?;
    let f = match &args[0] {
        Value::Int(i) => return Ok(Value::Int(*i)),
        Value::Float(f) => *f,
        Value::Str(s) if name != "round" => ruby_float(s).ok_or_else(|| {
            EvalError::new(format!(
                "{name}(): cannot convert given value to a floating point value."
            ))
        })?,
        other if name != "round" => return Err(numeric_or_string(name, other)),
        _ => {
            crate::functions::sigs::dispatch(ev, name, super::sigs::ROUND, &args, None)?;
            return Err(EvalError::new("'round' expects a Numeric value"));
        }
    };
    let r = match name {
        "floor" => f.floor(),
        "ceiling" => f.ceil(),
        _ if f > 0.0 => (f + 0.5).trunc(),
        _ => (f - 0.5).trunc(),
    };
    if !r.is_finite() || r.abs() >= 9.2e18 {
        return Err(EvalError::new(format!("{name}(): value out of range")));
    }
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

/// `compare`: Numeric, String (case-insensitive unless the third argument is false),
/// Semver, and Timespan/Timestamp (also against a Numeric, in seconds).
pub(crate) fn compare(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    use std::cmp::Ordering;
    arity("compare", &args, 2, usize::MAX)?;
    let (a, b) = (&args[0], &args[1]);
    let secs = |v: &Value| match v {
        Value::Int(i) => Some(*i as f64 * 1e9),
        Value::Float(f) => Some(f * 1e9),
        _ => None,
    };
    let num = |v: &Value| match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    };
    let ord = match (a, b) {
        _ if args.len() > 2 => None,
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        _ if num(a).is_some() && num(b).is_some() => num(a).partial_cmp(&num(b)),
        (Value::SemVer(x), Value::SemVer(y)) => Some(x.precedence(y)),
        (Value::Timespan(x), Value::Timespan(y)) | (Value::Timestamp(x), Value::Timestamp(y)) => {
            Some(x.cmp(y))
        }
        (Value::Timespan(x) | Value::Timestamp(x), n) if secs(n).is_some() => {
            (*x as f64).partial_cmp(&secs(n).unwrap_or(0.0))
        }
        (n, Value::Timespan(y) | Value::Timestamp(y)) if secs(n).is_some() => {
            secs(n).unwrap_or(0.0).partial_cmp(&(*y as f64))
        }
        _ => None,
    };
    let ord = match (ord, a, b, args.get(2)) {
        (Some(o), ..) => o,
        (None, Value::Str(x), Value::Str(y), None | Some(Value::Bool(true))) if args.len() <= 3 => {
            x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase())
        }
        (None, Value::Str(x), Value::Str(y), Some(Value::Bool(false))) if args.len() == 3 => {
            x.as_bytes().cmp(y.as_bytes())
        }
        _ => return Err(compare_mismatch(&args)),
    };
    Ok(Value::Int(match ord {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }))
}

/// Why `compare` refused its arguments, as Puppet words it.
fn compare_mismatch(args: &[Value]) -> EvalError {
    let comparable = |v: &Value| {
        matches!(
            v,
            Value::Int(_)
                | Value::Float(_)
                | Value::Str(_)
                | Value::SemVer(_)
                | Value::Timespan(_)
                | Value::Timestamp(_)
        )
    };
    let (a, b) = (&args[0], &args[1]);
    let msg = if !comparable(a) || !comparable(b) {
        format!(
            "compare(): Non comparable type. Only values of the types Numeric, String, Semver, Timestamp and Timestamp can be compared. Got {} and {}",
            troupe_values::label::label(a),
            troupe_values::label::label(b)
        )
    } else if args.len() > 2 && !(matches!(a, Value::Str(_)) && matches!(b, Value::Str(_))) {
        "compare(): The third argument (ignore case) can only be used when comparing strings".into()
    } else if args.len() > 3 {
        format!("compare(): Accepts at most 3 arguments, got {}", args.len())
    } else if args.len() == 3 && !matches!(args[2], Value::Bool(_)) {
        format!(
            "compare(): The third argument (ignore case) must be a Boolean. Got {}",
            troupe_values::label::label(&args[2])
        )
    } else {
        format!(
            "compare(): Can only compare values of the same type (or for Timestamp/Timespan also against Numeric). Got {} and {}",
            troupe_values::label::label(a),
            troupe_values::label::label(b)
        )
    };
    EvalError::new(format!("'compare' {msg}"))
}
