//! The type of a value, as Puppet's type calculator infers it: the detailed type (`type($x)`,
//! `infer_set`: tuples and structs), the reduced type (`type($x, 'reduced')`, `infer`: one
//! common element type per collection, sized), its generalization (`type($x, 'generalized')`),
//! and the common type of two types (`common_type`).

use crate::types::{Type, INT_MAX, INT_MIN};
use crate::value::Value;

/// The detailed type of a value (`type($x)`, `type($x, 'detailed')`). Past
/// `limits::MAX_DEPTH` levels it stops at an unparameterized `Array`/`Hash`: types stay shallow
/// enough to walk and drop.
pub fn infer_type(v: &Value) -> Type {
    infer_at(v, crate::limits::MAX_DEPTH, true)
}

/// The reduced type of a value (`type($x, 'reduced')`).
pub fn infer_reduced(v: &Value) -> Type {
    infer_at(v, crate::limits::MAX_DEPTH, false)
}

/// The generalized type of a value (`type($x, 'generalized')`): its reduced type, generalized.
pub fn generalize(v: &Value) -> Type {
    generalize_type(&infer_reduced(v))
}

fn empty_array() -> Type {
    Type::Array(Box::new(Type::Unit), 0, 0)
}

fn empty_hash() -> Type {
    Type::Hash(Box::new(Type::Unit), Box::new(Type::Unit), 0, 0)
}

fn reduce<'a>(types: impl Iterator<Item = Type> + 'a) -> Type {
    types.reduce(common_type).unwrap_or(Type::Undef)
}

/// `detailed` is Puppet's `infer_set`; otherwise its `infer`.
fn infer_at(v: &Value, room: usize, detailed: bool) -> Type {
    if room == 0 {
        match v {
            Value::Array(_) => return Type::Array(Box::new(Type::Any), 0, INT_MAX),
            Value::Hash(_) => {
                return Type::Hash(Box::new(Type::Any), Box::new(Type::Any), 0, INT_MAX)
            }
            _ => {}
        }
    }
    let inner = |x: &Value| infer_at(x, room.saturating_sub(1), detailed);
    let reduced = |x: &Value| infer_at(x, room.saturating_sub(1), false);
    crate::limits::grow(|| match v {
        Value::Object(o) => Type::Obj(o.ty.clone()),
        Value::Int(i) => Type::Integer(*i, *i),
        Value::Float(f) => Type::Float(*f, *f),
        Value::Str(s) => Type::StrValue(s.as_ref().into()),
        Value::Bool(b) => Type::BooleanOf(*b),
        Value::Undef => Type::Undef,
        Value::Default => Type::Default,
        Value::Regex(r) => Type::Regexp(Some(r.clone())),
        Value::Array(a) if a.is_empty() => empty_array(),
        Value::Hash(h) if h.is_empty() => empty_hash(),
        Value::Array(a) => {
            let n = a.len() as i64;
            if detailed {
                // A tuple's own length is its size: no size parameters.
                Type::Tuple(a.iter().map(inner).collect(), 0, INT_MAX)
            } else {
                Type::Array(Box::new(reduce(a.iter().map(inner))), n, n)
            }
        }
        Value::Hash(h) => {
            let n = h.len() as i64;
            if !detailed {
                return Type::Hash(
                    Box::new(reduce(h.keys().map(inner))),
                    Box::new(reduce(h.values().map(inner))),
                    n,
                    n,
                );
            }
            if h.keys()
                .all(|k| matches!(k, Value::Str(s) if !s.is_empty()))
            {
                return Type::Struct(
                    h.iter()
                        .map(|(k, v)| (k.to_display(), false, inner(v)))
                        .collect(),
                );
            }
            let variant = |ts: Vec<Type>| {
                let mut out: Vec<Type> = Vec::new();
                for t in ts {
                    if !out.contains(&t) {
                        out.push(t);
                    }
                }
                if out.len() == 1 {
                    out.pop().unwrap_or(Type::Any)
                } else {
                    Type::Variant(out)
                }
            };
            Type::Hash(
                Box::new(variant(h.keys().map(inner).collect())),
                Box::new(variant(h.values().map(inner).collect())),
                n,
                n,
            )
        }
        Value::Type(t) => Type::Type(Some(Box::new((**t).clone()))),
        // Puppet's Sensitive type keeps only the general type of what it wraps.
        Value::Sensitive(x) => Type::Sensitive(Some(Box::new(generalize_type(&reduced(x))))),
        Value::Deferred(_) => Type::Deferred,
        Value::Timestamp(t) => Type::Timestamp(*t, *t),
        Value::Timespan(t) => Type::Timespan(*t, *t),
        Value::SemVer(_) => Type::SemVer,
        Value::SemVerRange(_) => Type::SemVerRange,
        Value::Binary(_) => Type::Binary,
    })
}

/// Puppet's `generalize`: ranges, sizes and values dropped, element types generalized.
pub fn generalize_type(t: &Type) -> Type {
    let g = |x: &Type| Box::new(generalize_type(x));
    crate::limits::grow(|| match t {
        Type::Integer(..) => Type::Integer(INT_MIN, INT_MAX),
        Type::Timespan(..) => Type::Timespan(INT_MIN, INT_MAX),
        Type::Timestamp(..) => Type::Timestamp(INT_MIN, INT_MAX),
        Type::Float(..) => Type::Float(f64::NEG_INFINITY, f64::INFINITY),
        Type::String(..) | Type::StrValue(_) => Type::String(0, INT_MAX),
        Type::BooleanOf(_) => Type::Boolean,
        Type::Enum(vs, _) => {
            let sizes = vs.iter().map(|v| v.chars().count() as i64);
            match (sizes.clone().min(), sizes.max()) {
                (Some(a), Some(b)) => Type::String(a, b),
                _ => Type::String(0, INT_MAX),
            }
        }
        Type::Array(e, ..) if matches!(**e, Type::Any) => {
            Type::Array(Box::new(Type::Any), 0, INT_MAX)
        }
        Type::Array(e, ..) => Type::Array(g(e), 0, INT_MAX),
        Type::Hash(_, _, 0, 0) => t.clone(),
        Type::Hash(k, v, ..) => Type::Hash(g(k), g(v), 0, INT_MAX),
        Type::Tuple(ts, a, b) => Type::Tuple(ts.iter().map(generalize_type).collect(), *a, *b),
        Type::Struct(ms) => Type::Struct(
            ms.iter()
                .map(|(k, o, t)| (k.clone(), *o, generalize_type(t)))
                .collect(),
        ),
        Type::Variant(ts) => {
            let mut out: Vec<Type> = Vec::new();
            for t in ts.iter().map(generalize_type) {
                if !out.contains(&t) {
                    out.push(t);
                }
            }
            if out.len() == 1 {
                out.pop().unwrap_or(Type::Any)
            } else {
                Type::Variant(out)
            }
        }
        Type::Type(Some(x)) => Type::Type(Some(g(x))),
        Type::Optional(Some(x)) => Type::Optional(Some(g(x))),
        Type::NotUndef(Some(x)) => Type::NotUndef(Some(g(x))),
        Type::Sensitive(Some(x)) => Type::Sensitive(Some(g(x))),
        other => other.clone(),
    })
}

fn is_scalar_data(t: &Type) -> bool {
    Type::ScalarData.is_assignable(t)
}

fn is_scalar(t: &Type) -> bool {
    is_scalar_data(t)
        || matches!(
            t.resolved(),
            Type::Regexp(_)
                | Type::Scalar
                | Type::Timespan(..)
                | Type::Timestamp(..)
                | Type::SemVer
        )
}

/// The narrowest common type of two types, as Puppet's `TypeCalculator#common_type`.
pub fn common_type(a: Type, b: Type) -> Type {
    crate::limits::grow(|| common(a, b))
}

fn common(a: Type, b: Type) -> Type {
    match (&a, &b) {
        (Type::Undef, _) | (Type::Unit, _) => return b,
        (_, Type::Undef) | (_, Type::Unit) => return a,
        _ => {}
    }
    if a.is_assignable(&b) {
        return a;
    }
    if b.is_assignable(&a) {
        return b;
    }
    match (&a, &b) {
        (Type::Array(x, ..), Type::Array(y, ..)) => {
            return Type::Array(
                Box::new(common_type((**x).clone(), (**y).clone())),
                0,
                INT_MAX,
            )
        }
        (Type::Hash(k1, v1, ..), Type::Hash(k2, v2, ..)) => {
            return Type::Hash(
                Box::new(common_type((**k1).clone(), (**k2).clone())),
                Box::new(common_type((**v1).clone(), (**v2).clone())),
                0,
                INT_MAX,
            )
        }
        (Type::Class(_), Type::Class(_)) => return Type::Class(None),
        (Type::Resource(x, _), Type::Resource(y, _)) => {
            return if x == y {
                Type::Resource(x.clone(), None)
            } else {
                Type::Resource(None, None)
            }
        }
        (Type::Integer(a1, b1), Type::Integer(a2, b2)) => {
            return Type::Integer(*a1.min(a2), *b1.max(b2))
        }
        (Type::Float(a1, b1), Type::Float(a2, b2)) => return Type::Float(a1.min(*a2), b1.max(*b2)),
        // Two different strings make an Type::Enum of both; sized strings, the common size.
        (Type::StrValue(x), Type::StrValue(y)) => {
            return Type::Enum(vec![x.to_string(), y.to_string()], false)
        }
        (Type::StrValue(x), Type::Enum(vs, _)) | (Type::Enum(vs, _), Type::StrValue(x)) => {
            let mut vs = vs.clone();
            if !vs.iter().any(|v| **v == **x) {
                vs.push(x.to_string());
            }
            return Type::Enum(vs, false);
        }
        (Type::String(a1, b1), Type::String(a2, b2)) => {
            let full = |a: &i64, b: &i64| *a == 0 && *b == INT_MAX;
            return if full(a1, b1) || full(a2, b2) {
                Type::String(0, INT_MAX)
            } else {
                Type::String(*a1.min(a2), *b1.max(b2))
            };
        }
        (Type::String(..), Type::StrValue(_) | Type::Enum(..))
        | (Type::StrValue(_) | Type::Enum(..), Type::String(..)) => {
            return Type::String(0, INT_MAX)
        }
        (Type::Pattern(x), Type::Pattern(y)) => {
            let mut ps = x.clone();
            for p in y {
                if !ps.iter().any(|q| q.source == p.source) {
                    ps.push(p.clone());
                }
            }
            return Type::Pattern(ps);
        }
        (Type::Enum(x, _), Type::Enum(y, _)) => {
            let mut vs = x.clone();
            for v in y {
                if !vs.contains(v) {
                    vs.push(v.clone());
                }
            }
            return Type::Enum(vs, false);
        }
        (Type::Variant(x), Type::Variant(y)) => {
            let mut ts = x.clone();
            for t in y {
                if !ts.contains(t) {
                    ts.push(t.clone());
                }
            }
            return Type::Variant(ts);
        }
        (Type::Regexp(_), Type::Regexp(_)) => return Type::Regexp(None),
        (Type::Callable | Type::CallableOf(_), Type::Callable | Type::CallableOf(_)) => {
            return Type::Callable
        }
        _ => {}
    }
    if Type::Numeric.is_assignable(&a) && Type::Numeric.is_assignable(&b) {
        return Type::Numeric;
    }
    if is_scalar_data(&a) && is_scalar_data(&b) {
        return Type::ScalarData;
    }
    if is_scalar(&a) && is_scalar(&b) {
        return Type::Scalar;
    }
    if Type::Data.is_assignable(&a) && Type::Data.is_assignable(&b) {
        return Type::Data;
    }
    if let (Type::Type(Some(x)), Type::Type(Some(y))) = (&a, &b) {
        return Type::Type(Some(Box::new(common_type((**x).clone(), (**y).clone()))));
    }
    if Type::RichData.is_assignable(&a) && Type::RichData.is_assignable(&b) {
        return Type::RichData;
    }
    Type::Any
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::str(x)
    }

    fn h(kv: Vec<(Value, Value)>) -> Value {
        Value::hash(kv.into_iter().collect())
    }

    // Expected texts are Puppet 7.23's, from `type($x, ...)` compiled by Ruby Puppet.
    #[test]
    fn strings_and_booleans() {
        assert_eq!(infer_type(&s("ab")).to_string(), "String");
        assert_eq!(infer_type(&Value::Bool(true)).to_string(), "Boolean[true]");
        assert_eq!(generalize(&Value::Bool(false)).to_string(), "Boolean");
        let a = Value::array(vec![s("ab"), s("cd")]);
        assert_eq!(infer_type(&a).to_string(), "Tuple[String, String]");
        assert_eq!(
            infer_reduced(&a).to_string(),
            "Array[Enum['ab', 'cd'], 2, 2]"
        );
        assert_eq!(generalize(&a).to_string(), "Array[String[2, 2]]");
        let b = Value::array(vec![Value::Bool(true), Value::Bool(false)]);
        assert_eq!(infer_reduced(&b).to_string(), "Array[ScalarData, 2, 2]");
    }

    #[test]
    fn empty_and_mixed_collections() {
        let e = Value::array(vec![]);
        assert_eq!(infer_type(&e).to_string(), "Array[0, 0]");
        assert_eq!(generalize(&e).to_string(), "Array[Unit]");
        let eh = h(vec![]);
        assert_eq!(generalize(&eh).to_string(), "Hash[0, 0]");
        let u = Value::array(vec![Value::Undef, Value::Int(1)]);
        assert_eq!(infer_reduced(&u).to_string(), "Array[Integer[1, 1], 2, 2]");
        let n = Value::array(vec![
            Value::array(vec![s("a")]),
            h(vec![(s("k"), Value::Int(1))]),
        ]);
        assert_eq!(generalize(&n).to_string(), "Array[Data]");
        let hi = h(vec![(Value::Int(1), s("a"))]);
        assert_eq!(
            infer_type(&hi).to_string(),
            "Hash[Integer[1, 1], String, 1, 1]"
        );
        assert_eq!(generalize(&hi).to_string(), "Hash[Integer, String]");
    }
}
