//! Collections: `keys`, `values`, `length`, `empty`, `join`, `flatten`, `unique`, `sort`,
//! `reverse`, `dig`, `get`.

use crate::functions::args::arity;
use crate::functions::args::str_arg;
use crate::functions::host::Host;
use troupe_ruby::object::sort_cmp;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::value::dig_path;
use troupe_values::value::flatten;
use troupe_values::value::Value;

/// `keys`.
pub(crate) fn keys(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    match args.first() {
        Some(Value::Hash(h)) => Ok(Value::array(h.keys().cloned().collect())),
        _ => Err(EvalError::new("'keys' expects a Hash value")),
    }
}

/// `values`.
pub(crate) fn values(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    match args.first() {
        Some(Value::Hash(h)) => Ok(Value::array(h.values().cloned().collect())),
        _ => Err(EvalError::new("'values' expects a Hash value")),
    }
}

/// `length`, `size`.
pub(crate) fn length(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    match args.first() {
        Some(Value::Array(a)) => Ok(Value::Int(a.len() as i64)),
        Some(Value::Hash(h)) => Ok(Value::Int(h.len() as i64)),
        Some(Value::Str(s)) => Ok(Value::Int(s.chars().count() as i64)),
        Some(Value::Binary(b)) => Ok(Value::Int(b.len() as i64)),
        Some(Value::Undef) | None => Ok(Value::Int(0)),
        Some(other) => Err(EvalError::new(format!(
            "'{name}' expects a value of type Collection, String, or Binary, got {}",
            troupe_values::types::infer_for_message(other)
        ))),
    }
}

/// `empty`.
pub(crate) fn empty(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    Ok(Value::Bool(match args.first() {
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Hash(h)) => h.is_empty(),
        Some(Value::Str(s)) => s.is_empty(),
        Some(Value::Binary(b)) => b.is_empty(),
        Some(Value::Sensitive(v)) if matches!(**v, Value::Str(_)) => v.to_display().is_empty(),
        Some(Value::Undef) | None => true,
        Some(Value::Int(_) | Value::Float(_)) => false,
        Some(other) => {
            return Err(EvalError::new(format!(
                "'empty' expects a value of type Collection, String, Binary, or Undef, got {}",
                troupe_values::types::infer_for_message(other)
            )))
        }
    }))
}

/// `join`.
pub(crate) fn join(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 2)?;
    let sep = match args.get(1) {
        Some(Value::Str(s)) => s.to_string(),
        _ => String::new(),
    };
    // Ruby's `Array#join`: nested arrays joined in place, other values by their Ruby `to_s`
    // (undef is empty, a hash its `inspect`).
    fn joined(v: &Value, sep: &str) -> String {
        troupe_values::limits::grow(|| match v {
            Value::Array(a) => a
                .iter()
                .map(|x| joined(x, sep))
                .collect::<Vec<_>>()
                .join(sep),
            other => troupe_ruby::object::ruby_to_s(other),
        })
    }
    match &args[0] {
        Value::Array(_) => Ok(Value::str(joined(&args[0], &sep))),
        other => Err(EvalError::new(format!(
            "'join' parameter 'arg' expects an Array value, got {}",
            troupe_values::types::infer_for_message(other)
        ))),
    }
}

/// `flatten`.
pub(crate) fn flatten_fn(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    Ok(Value::array(flatten(&args)))
}

/// `unique`.
pub(crate) fn unique(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    match args.first() {
        Some(Value::Array(a)) => {
            let mut out: Vec<Value> = Vec::new();
            for x in a.iter() {
                if !out.contains(x) {
                    out.push(x.clone());
                }
            }
            Ok(Value::array(out))
        }
        Some(Value::Str(s)) => {
            let mut seen = Vec::new();
            for c in s.chars() {
                if !seen.contains(&c) {
                    seen.push(c)
                }
            }
            Ok(Value::str(seen.into_iter().collect::<String>()))
        }
        Some(Value::Hash(h)) => Ok(Value::Hash(h.clone())),
        _ => Err(EvalError::new("'unique' expects an Array, Hash or String")),
    }
}

/// `sort`.
pub(crate) fn sort(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    match args.first() {
        Some(Value::Array(a)) => {
            let mut v = (**a).clone();
            if let Some(l) = lambda {
                let mut err = None;
                v.sort_by(|x, y| match ev.call_lambda(l, &[x.clone(), y.clone()], e) {
                    Ok(Value::Int(i)) => i.cmp(&0),
                    Ok(_) => std::cmp::Ordering::Equal,
                    Err(er) => {
                        err = Some(er);
                        std::cmp::Ordering::Equal
                    }
                });
                if let Some(er) = err {
                    return Err(er);
                }
            } else {
                v.sort_by(sort_cmp);
            }
            Ok(Value::array(v))
        }
        Some(Value::Str(s)) => {
            let mut c: Vec<char> = s.chars().collect();
            c.sort();
            Ok(Value::str(c.into_iter().collect::<String>()))
        }
        _ => Err(EvalError::new("'sort' expects an Array or String")),
    }
}

/// `reverse`.
pub(crate) fn reverse(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    match args.first() {
        Some(Value::Array(a)) => Ok(Value::array(a.iter().rev().cloned().collect())),
        Some(Value::Str(s)) => Ok(Value::str(s.chars().rev().collect::<String>())),
        _ => Err(EvalError::new("'reverse' expects an Array or String")),
    }
}

/// `dig`.
pub(crate) fn dig(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let mut cur = args.first().cloned().unwrap_or(Value::Undef);
    for k in &args[1.min(args.len())..] {
        cur = match (&cur, k) {
            (Value::Undef, _) => return Ok(Value::Undef),
            (Value::Array(a), Value::Int(i)) => {
                let i = if *i < 0 { a.len() as i64 + i } else { *i };
                a.get(i as usize).cloned().unwrap_or(Value::Undef)
            }
            (Value::Hash(h), k) => h.get(k).cloned().unwrap_or(Value::Undef),
            _ => {
                return Err(EvalError::new(format!(
                    "The given data does not contain a Collection at {}, got '{}'",
                    k.to_display(),
                    cur.to_display()
                )))
            }
        };
    }
    Ok(cur)
}

/// `get`.
pub(crate) fn get_fn(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 2, 3)?;
    let path = str_arg(name, &args[1], "\'dotted_string\'")?.to_string();
    let v = if path.is_empty() {
        args[0].clone()
    } else {
        dig_path(args[0].clone(), Some(&path))
    };
    Ok(if v.is_undef() {
        args.get(2).cloned().unwrap_or(Value::Undef)
    } else {
        v
    })
}
