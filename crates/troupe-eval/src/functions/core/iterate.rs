//! Iteration: `each`, `map`, `filter`, `reduce`, `with`, `then`, `lest`, `step`, `slice`,
//! `index`, `tree_each`, `call`.

use crate::functions::args::arity;
use crate::functions::args::block_arity;
use crate::functions::args::iter_pairs;
use crate::functions::args::need_lambda;
use crate::functions::args::str_arg;
use crate::functions::host::Host;
use crate::functions::sigs::dispatch;
use indexmap::IndexMap;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::error::Flow;
use troupe_values::value::Value;

/// A lambda's arguments for one entry: key and value when it takes two, else the entry (a
/// hash's as a `[key, value]` pair).
fn lambda_args(l: &Lambda, k: &Value, v: &Value, is_hash: bool) -> Vec<Value> {
    if l.params.len() >= 2 || l.params.first().is_some_and(|p| p.captures_rest) {
        vec![k.clone(), v.clone()]
    } else if is_hash {
        vec![Value::array(vec![k.clone(), v.clone()])]
    } else {
        vec![v.clone()]
    }
}

/// One lambda call of an iteration: `None` when the lambda said `break`.
fn iteration(ev: &mut dyn Host, l: &Lambda, args: &[Value], e: &Expr) -> EResult<Option<Value>> {
    match ev.call_lambda(l, args, e) {
        Err(EvalError {
            flow: Some(Flow::Break),
            ..
        }) => Ok(None),
        r => r.map(Some),
    }
}

/// The most values `each`/`reverse_each` without a block collect.
const ITERATOR_LIMIT: usize = 1_000_000;

/// `each`, `reverse_each`.
pub(crate) fn each(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    if name == "reverse_each" {
        dispatch(ev, name, super::sigs::REVERSE_EACH, &args, lambda)?;
    } else {
        arity(name, &args, 1, 1)?;
    }
    let Some(l) = lambda else {
        // Without a block Puppet returns an Iterator; its values, in order, serve the same
        // chained calls (`$a.reverse_each.capitalize`).
        let (pairs, is_hash) = iter_pairs(name, &args[0])?;
        let item = |(k, v): (Value, Value)| if is_hash { Value::array(vec![k, v]) } else { v };
        let mut vals: Vec<Value> = pairs.take(ITERATOR_LIMIT + 1).map(item).collect();
        if vals.len() > ITERATOR_LIMIT {
            return Err(EvalError::new(format!(
                "'{name}' without a block: more than {ITERATOR_LIMIT} values"
            )));
        }
        if name == "reverse_each" {
            vals.reverse();
        }
        return Ok(Value::array(vals));
    };
    let (pairs, is_hash) = iter_pairs(name, &args[0])?;
    let pairs: Box<dyn Iterator<Item = (Value, Value)>> = if name == "reverse_each" {
        Box::new(pairs.rev())
    } else {
        Box::new(pairs)
    };
    for (k, v) in pairs {
        let a = lambda_args(l, &k, &v, is_hash);
        if iteration(ev, l, &a, e)?.is_none() {
            break;
        }
    }
    // `reverse_each` with a block answers nothing.
    if name == "reverse_each" {
        return Ok(Value::Undef);
    }
    Ok(args[0].clone())
}

/// `map`, `filter`, `any`, `all`, `find`, `partition`, `group_by`.
pub(crate) fn map(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    if matches!(name, "partition" | "group_by") {
        dispatch(ev, name, super::sigs::COLLECTION_12, &args, lambda)?;
    }
    arity(name, &args, 1, 1)?;
    let l = need_lambda(name, lambda)?;
    let (pairs, is_hash) = iter_pairs(name, &args[0])?;
    let mut mapped = Vec::new();
    let mut kept: Vec<(Value, Value)> = Vec::new();
    let mut rejected: Vec<(Value, Value)> = Vec::new();
    let mut groups: IndexMap<Value, Vec<Value>> = IndexMap::new();
    for (k, v) in pairs {
        let a = lambda_args(l, &k, &v, is_hash);
        let r = match iteration(ev, l, &a, e)? {
            None => break,
            Some(r) => r,
        };
        match name {
            "map" => mapped.push(r),
            "filter" | "partition" => {
                if r.truthy() {
                    kept.push((k, v))
                } else {
                    rejected.push((k, v))
                }
            }
            "any" => {
                if r.truthy() {
                    return Ok(Value::Bool(true));
                }
            }
            "all" => {
                if !r.truthy() {
                    return Ok(Value::Bool(false));
                }
            }
            "find" => {
                if r.truthy() {
                    return Ok(if is_hash { Value::array(vec![k, v]) } else { v });
                }
            }
            _ => {
                let item = if is_hash { Value::array(vec![k, v]) } else { v };
                groups.entry(r).or_default().push(item);
            }
        }
    }
    let pack = |xs: Vec<(Value, Value)>| -> Value {
        if is_hash {
            Value::hash(xs.into_iter().collect())
        } else {
            Value::array(xs.into_iter().map(|(_, v)| v).collect())
        }
    };
    Ok(match name {
        "map" => Value::array(mapped),
        "filter" => pack(kept),
        // `partition` answers arrays, a hash's entries as `[key, value]` pairs.
        "partition" => {
            let items = |xs: Vec<(Value, Value)>| -> Value {
                Value::array(
                    xs.into_iter()
                        .map(|(k, v)| if is_hash { Value::array(vec![k, v]) } else { v })
                        .collect(),
                )
            };
            Value::array(vec![items(kept), items(rejected)])
        }
        "any" => Value::Bool(false),
        "all" => Value::Bool(true),
        "find" => Value::Undef,
        _ => Value::hash(
            groups
                .into_iter()
                .map(|(k, v)| (k, Value::array(v)))
                .collect(),
        ),
    })
}

/// `reduce`.
pub(crate) fn reduce(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 2)?;
    let l = need_lambda(name, lambda)?;
    let (pairs, is_hash) = iter_pairs(name, &args[0])?;
    let mut items = pairs.map(|(k, v)| if is_hash { Value::array(vec![k, v]) } else { v });
    let mut acc = if args.len() == 2 {
        args[1].clone()
    } else {
        match items.next() {
            Some(first) => first,
            None => return Ok(Value::Undef),
        }
    };
    for it in items {
        acc = match iteration(ev, l, &[acc.clone(), it], e)? {
            None => break,
            Some(r) => r,
        };
    }
    Ok(acc)
}

/// `with`.
pub(crate) fn with(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    let l = need_lambda(name, lambda)?;
    ev.call_lambda(l, &args, e)
}

/// `then`.
pub(crate) fn then(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 1)?;
    let l = need_lambda(name, lambda)?;
    block_arity(name, l, 1)?;
    if args[0].is_undef() {
        Ok(Value::Undef)
    } else {
        ev.call_lambda(l, &args, e)
    }
}

/// `lest`.
pub(crate) fn lest(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 1)?;
    let l = need_lambda(name, lambda)?;
    block_arity(name, l, 0)?;
    if args[0].is_undef() {
        ev.call_lambda(l, &[], e)
    } else {
        Ok(args[0].clone())
    }
}

/// `step`.
pub(crate) fn step(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    dispatch(ev, name, super::sigs::STEP, &args, lambda)?;
    let (pairs, is_hash) = iter_pairs(name, &args[0])?;
    let n = match args[1] {
        Value::Int(n) if n > 0 => n as usize,
        _ => {
            return Err(EvalError::new(
                "'step' parameter 'step' expects an Integer[1] value",
            ))
        }
    };
    let vals = pairs
        .step_by(n)
        .map(|(k, v)| if is_hash { Value::array(vec![k, v]) } else { v });
    match lambda {
        Some(l) => {
            for v in vals {
                ev.call_lambda(l, std::slice::from_ref(&v), e)?;
            }
            Ok(Value::Undef)
        }
        None => {
            troupe_values::limits::reserve_items(
                vals.size_hint().0 as u64,
                std::mem::size_of::<Value>(),
            )?;
            Ok(Value::array(vals.collect()))
        }
    }
}

/// `slice`.
pub(crate) fn slice(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 2, 2)?;
    let (pairs, is_hash) = iter_pairs(name, &args[0])?;
    let n = match args[1] {
        Value::Int(n) if n > 0 => n as usize,
        _ => return Err(EvalError::new("'slice' expects a positive slice size")),
    };
    troupe_values::limits::reserve_items(pairs.len() as u64, 2 * std::mem::size_of::<Value>())?;
    let items: Vec<Value> = pairs
        .map(|(k, v)| if is_hash { Value::array(vec![k, v]) } else { v })
        .collect();
    let chunks: Vec<Value> = items.chunks(n).map(|c| Value::array(c.to_vec())).collect();
    match lambda {
        Some(l) => {
            for c in &chunks {
                let a = if l.params.len() > 1 {
                    match c {
                        Value::Array(x) => (**x).clone(),
                        _ => vec![],
                    }
                } else {
                    vec![c.clone()]
                };
                ev.call_lambda(l, &a, e)?;
            }
            Ok(args[0].clone())
        }
        None => Ok(Value::array(chunks)),
    }
}

/// `index`.
pub(crate) fn index(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 2)?;
    // A string searched for a string: the substring's character offset (Ruby's `String#index`).
    if let (None, Value::Str(s), Some(Value::Str(m))) = (lambda, &args[0], args.get(1)) {
        return Ok(s.find(&**m).map_or(Value::Undef, |at| {
            Value::Int(s[..at].chars().count() as i64)
        }));
    }
    // A string searched for a regexp: the first match's character offset.
    if let (None, Value::Str(s), Some(Value::Regex(r))) = (lambda, &args[0], args.get(1)) {
        let plain = r.needs_plain(name).map_err(EvalError::new)?;
        return Ok(plain.find(s).map_or(Value::Undef, |m| {
            Value::Int(s[..m.start()].chars().count() as i64)
        }));
    }
    let (pairs, is_hash) = iter_pairs(name, &args[0])?;
    for (k, v) in pairs {
        let hit = match (lambda, args.get(1)) {
            // A hash's one-parameter block gets the value.
            (Some(l), _) if is_hash && l.params.len() == 1 && !l.params[0].captures_rest => {
                ev.call_lambda(l, std::slice::from_ref(&v), e)?.truthy()
            }
            (Some(l), _) => {
                let a = lambda_args(l, &k, &v, is_hash);
                ev.call_lambda(l, &a, e)?.truthy()
            }
            (None, Some(x)) => v.puppet_eq(x),
            _ => false,
        };
        if hit {
            return Ok(k);
        }
    }
    Ok(Value::Undef)
}

/// `call`.
pub(crate) fn call(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, usize::MAX)?;
    if let Value::Deferred(d) = &args[0] {
        return call_deferred(ev, d, e);
    }
    let f = str_arg(name, &args[0], 1)?.to_string();
    ev.call_by_name(&f, args[1..].to_vec(), lambda, e)
        .map_err(|err| {
            if err.msg == format!("Unknown function: '{f}'.") {
                EvalError::new(format!("Unknown function '{f}'"))
            } else {
                err
            }
        })
}

/// Calls a `Deferred` now: its arguments' own Deferred values (also inside arrays,
/// hashes and Sensitive) are called first; a name starting with `$` reads that variable
/// and digs into it with the arguments.
fn call_deferred(ev: &mut dyn Host, d: &(String, Vec<Value>), e: &Expr) -> EResult<Value> {
    let mut args = Vec::with_capacity(d.1.len());
    for a in &d.1 {
        args.push(resolve_deferred(ev, a, e)?);
    }
    match d.0.strip_prefix('$') {
        Some(var) => {
            let mut v = ev.lookup_var(var)?;
            for k in &args {
                v = match (&v, k) {
                    (Value::Array(a), Value::Int(i)) => {
                        let i = if *i < 0 { *i + a.len() as i64 } else { *i };
                        usize::try_from(i)
                            .ok()
                            .and_then(|i| a.get(i))
                            .cloned()
                            .unwrap_or(Value::Undef)
                    }
                    (Value::Hash(h), k) => h.get(k).cloned().unwrap_or(Value::Undef),
                    _ => Value::Undef,
                };
            }
            Ok(v)
        }
        None => ev.call_by_name(&d.0, args, None, e),
    }
}

fn resolve_deferred(ev: &mut dyn Host, v: &Value, e: &Expr) -> EResult<Value> {
    troupe_values::limits::grow(|| {
        Ok(match v {
            Value::Deferred(d) => call_deferred(ev, d, e)?,
            Value::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                for x in a.iter() {
                    out.push(resolve_deferred(ev, x, e)?);
                }
                Value::array(out)
            }
            Value::Hash(h) => {
                let mut out = troupe_values::value::Map::default();
                for (k, x) in h.iter() {
                    out.insert(k.clone(), resolve_deferred(ev, x, e)?);
                }
                Value::hash(out)
            }
            Value::Sensitive(x) => Value::Sensitive(std::rc::Rc::new(resolve_deferred(ev, x, e)?)),
            other => other.clone(),
        })
    })
}
