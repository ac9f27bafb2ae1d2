//! The type of a value: `type_of` (`infer_type`), its generalization, and the common type of
//! two types (what `type()` and mismatch messages show).

use crate::types::Type;
use crate::value::Value;

/// The most specific type of a value (`type($x)`).
/// The type Puppet infers for a value. Past `limits::MAX_DEPTH` levels the inferred type
/// stops at an unparameterized `Array`/`Hash`: types stay shallow enough to walk and drop.
pub fn infer_type(v: &Value) -> Type {
    infer_at(v, crate::limits::MAX_DEPTH)
}

pub fn infer_at(v: &Value, room: usize) -> Type {
    if room == 0 {
        match v {
            Value::Array(_) => return Type::Array(Box::new(Type::Any), 0, i64::MAX),
            Value::Hash(_) => {
                return Type::Hash(Box::new(Type::Any), Box::new(Type::Any), 0, i64::MAX)
            }
            _ => {}
        }
    }
    let infer_type = |x: &Value| infer_at(x, room.saturating_sub(1));
    crate::limits::grow(|| match v {
        Value::Int(i) => Type::Integer(*i, *i),
        Value::Float(f) => Type::Float(*f, *f),
        Value::Str(s) => Type::Enum(vec![s.to_string()], false),
        Value::Bool(_) => Type::Boolean,
        Value::Undef => Type::Undef,
        Value::Default => Type::Default,
        Value::Regex(r) => Type::Regexp(Some(r.clone())),
        Value::Array(a) => {
            let n = a.len() as i64;
            Type::Tuple(a.iter().map(infer_type).collect(), n, n)
        }
        Value::Hash(h) => Type::Struct(
            h.iter()
                .map(|(k, v)| (k.to_display(), false, infer_type(v)))
                .collect(),
        ),
        Value::Type(t) => Type::Type(Some(Box::new((**t).clone()))),
        Value::Sensitive(_) => Type::Sensitive(None),
        Value::Deferred(_) => Type::Deferred,
        Value::Timestamp(_) => Type::Timestamp,
        Value::Timespan(_) => Type::Timespan,
        Value::SemVer(_) => Type::SemVer,
        Value::SemVerRange(_) => Type::SemVerRange,
        Value::Binary(_) => Type::Binary,
    })
}

pub fn generalize(v: &Value) -> Type {
    generalize_at(v, crate::limits::MAX_DEPTH)
}

pub fn generalize_at(v: &Value, room: usize) -> Type {
    if room == 0 {
        return infer_at(v, 0);
    }
    let generalize = |x: &Value| generalize_at(x, room - 1);
    crate::limits::grow(|| match v {
        Value::Int(_) => Type::Integer(i64::MIN, i64::MAX),
        Value::Float(_) => Type::Float(f64::NEG_INFINITY, f64::INFINITY),
        Value::Str(_) => Type::String(0, i64::MAX),
        Value::Array(a) => {
            let mut e: Option<Type> = None;
            for x in a.iter() {
                let g = generalize(x);
                e = Some(match e {
                    None => g,
                    Some(p) => common_type(p, g),
                });
            }
            Type::Array(Box::new(e.unwrap_or(Type::Any)), 0, i64::MAX)
        }
        Value::Hash(h) => {
            let mut vt: Option<Type> = None;
            for x in h.values() {
                let g = generalize(x);
                vt = Some(match vt {
                    None => g,
                    Some(p) => common_type(p, g),
                });
            }
            Type::Hash(
                Box::new(Type::String(0, i64::MAX)),
                Box::new(vt.unwrap_or(Type::Any)),
                0,
                i64::MAX,
            )
        }
        other => infer_type(other),
    })
}

/// The narrowest common generalization of two types, as Puppet's `common_type`.
pub fn common_type(a: Type, b: Type) -> Type {
    if a == b {
        return a;
    }
    let numeric = |t: &Type| matches!(t, Type::Integer(..) | Type::Float(..) | Type::Numeric);
    let scalar_data = |t: &Type| {
        numeric(t)
            || matches!(
                t,
                Type::String(..) | Type::Boolean | Type::ScalarData | Type::Enum(..)
            )
    };
    if numeric(&a) && numeric(&b) {
        Type::Numeric
    } else if scalar_data(&a) && scalar_data(&b) {
        Type::ScalarData
    } else {
        Type::Any
    }
}
