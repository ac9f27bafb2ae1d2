//! Collections: `keys`, `values`, `length`, `empty`, `join`, `flatten`, `sort`, `reverse`,
//! and `unique` (a String's, Array's or Iterable's distinct elements, by the block's answer
//! when given, or a Hash inverted into `[keys] => [distinct values]`).

use crate::functions::args::arity;
use crate::functions::args::iter_pairs;
use crate::functions::host::Host;
use crate::functions::sigs::dispatch;
use indexmap::IndexMap;
use troupe_ruby::object::sort_cmp;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
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

/// `sort`.
pub(crate) fn sort(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    crate::functions::sigs::dispatch(ev, name, super::sigs::SORT, &args, lambda)?;
    let (mut v, is_str) = match &args[0] {
        Value::Array(a) => ((**a).clone(), false),
        Value::Str(s) => (
            s.chars()
                .map(|c| Value::str(c.to_string().as_str()))
                .collect(),
            true,
        ),
        _ => return Err(EvalError::new("'sort' expects an Array or String")),
    };
    if let Some(l) = lambda {
        let mut err = None;
        v.sort_by(|x, y| {
            if err.is_some() {
                return std::cmp::Ordering::Equal;
            }
            match ev.call_lambda(l, &[x.clone(), y.clone()], e) {
                Ok(Value::Int(i)) => i.cmp(&0),
                Ok(_) => std::cmp::Ordering::Equal,
                Err(er) => {
                    err = Some(er);
                    std::cmp::Ordering::Equal
                }
            }
        });
        if let Some(er) = err {
            return Err(er);
        }
    } else {
        ruby_comparable(&v)?;
        v.sort_by(sort_cmp);
    }
    if is_str {
        let mut out = String::new();
        for c in &v {
            if let Value::Str(c) = c {
                out.push_str(c);
            }
        }
        return Ok(Value::str(out.as_str()));
    }
    Ok(Value::array(v))
}

/// Ruby's `Array#sort` without a block fails on values `<=>` cannot order.
fn ruby_comparable(v: &[Value]) -> EResult<()> {
    fn class(v: &Value) -> (&'static str, u8) {
        match v {
            Value::Int(_) => ("Integer", 0),
            Value::Float(_) => ("Float", 0),
            Value::Str(_) => ("String", 1),
            Value::Array(_) => ("Array", 2),
            Value::Hash(_) => ("Hash", 3),
            Value::Undef => ("NilClass", 4),
            Value::Bool(true) => ("TrueClass", 5),
            Value::Bool(false) => ("FalseClass", 6),
            _ => ("Object", 7),
        }
    }
    let Some(first) = v.first() else {
        return Ok(());
    };
    let (c0, k0) = class(first);
    for x in &v[1..] {
        let (c, k) = class(x);
        if k != k0 || k >= 3 {
            return Err(EvalError::new(format!(
                "comparison of {c0} with {c} failed"
            )));
        }
    }
    Ok(())
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

/// The block's answer for `v`, else `v` itself: what two elements are compared by.
fn key(ev: &mut dyn Host, l: Option<&Lambda>, v: &Value, e: &Expr) -> EResult<Value> {
    match l {
        Some(l) => ev.call_lambda(l, std::slice::from_ref(v), e),
        None => Ok(v.clone()),
    }
}

/// The first element of each distinct key, in order (Ruby's `uniq`).
fn uniq(
    ev: &mut dyn Host,
    l: Option<&Lambda>,
    items: impl Iterator<Item = Value>,
    e: &Expr,
) -> EResult<Vec<Value>> {
    let mut seen: IndexMap<Value, Value> = IndexMap::new();
    for v in items {
        let k = key(ev, l, &v, e)?;
        seen.entry(k).or_insert(v);
    }
    Ok(seen.into_values().collect())
}

/// `unique`.
pub(crate) fn unique(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    dispatch(ev, name, super::sigs::UNIQUE, &args, lambda)?;
    match &args[0] {
        Value::Str(s) => {
            let chars = s.chars().map(|c| Value::str(c.to_string().as_str()));
            let out = uniq(ev, lambda, chars, e)?;
            let mut text = String::new();
            for c in &out {
                if let Value::Str(c) = c {
                    text.push_str(c);
                }
            }
            Ok(Value::str(text.as_str()))
        }
        Value::Array(a) => Ok(Value::array(uniq(ev, lambda, a.iter().cloned(), e)?)),
        Value::Hash(h) => {
            let mut groups: IndexMap<Value, (Vec<Value>, Vec<Value>)> = IndexMap::new();
            for (k, v) in h.iter() {
                let g = groups.entry(key(ev, lambda, v, e)?).or_default();
                g.0.push(k.clone());
                if !g.1.contains(v) {
                    g.1.push(v.clone());
                }
            }
            Ok(Value::hash(
                groups
                    .into_values()
                    .map(|(ks, vs)| (Value::array(ks), Value::array(vs)))
                    .collect(),
            ))
        }
        other => {
            let (pairs, is_hash) = iter_pairs(name, other)?;
            troupe_values::limits::reserve_items(pairs.len() as u64, std::mem::size_of::<Value>())?;
            let items = pairs.map(|(k, v)| if is_hash { Value::array(vec![k, v]) } else { v });
            Ok(Value::array(uniq(ev, lambda, items, e)?))
        }
    }
}
