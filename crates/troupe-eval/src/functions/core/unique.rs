//! `unique`: a String's, Array's or Iterable's distinct elements (by the block's answer when
//! given), or a Hash inverted into `[keys] => [distinct values]`.

use crate::functions::args::iter_pairs;
use crate::functions::host::Host;
use crate::functions::sigs::dispatch;
use indexmap::IndexMap;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::Value;

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
