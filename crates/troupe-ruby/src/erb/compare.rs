//! Ruby's `==` and `<=>` over the values templates hold: numbers compare across Integer and
//! Float, Strings by bytes, Arrays item by item; anything else is not comparable (`sort`
//! then fails as Ruby does instead of guessing an order).

use std::cmp::Ordering;
use troupe_values::value::Value;

pub(super) use crate::object::ruby_eq;

/// Ruby's `<=>`, None where Ruby's is nil.
pub(super) fn ruby_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            troupe_values::number::as_f64(a).partial_cmp(&troupe_values::number::as_f64(b))
        }
        (Value::Str(x), Value::Str(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y.iter()) {
                match ruby_cmp(p, q)? {
                    Ordering::Equal => {}
                    o => return Some(o),
                }
            }
            Some(x.len().cmp(&y.len()))
        }
        (Value::Bool(x), Value::Bool(y)) if x == y => Some(Ordering::Equal),
        (Value::Undef, Value::Undef) => Some(Ordering::Equal),
        _ if super::robj::symbol_name(a).is_some() && super::robj::symbol_name(b).is_some() => {
            Some(super::robj::symbol_name(a).cmp(&super::robj::symbol_name(b)))
        }
        _ => None,
    }
}
