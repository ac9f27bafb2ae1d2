//! `Init[T, args...]`: the values (and types) from which `T.new` can make an instance. Puppet
//! derives them from the dispatch signatures of `T`'s `new` function; the common types'
//! first parameters are written out here.

use crate::types::Type;
use crate::value::{Regexp, Value};
use std::rc::Rc;

const SIGN: &str = r"[+-]?\s*";
const HEX: &str = r"(?:0[xX][0-9A-Fa-f]+)";
const OCT: &str = r"(?:0[0-7]+)";
const BIN: &str = r"(?:0[bB][01]+)";
const DEC: &str = r"(?:0|[1-9]\d*)";

fn pattern(src: String) -> Type {
    match Regexp::new(&src) {
        Ok(r) => Type::Pattern(vec![Rc::new(r)]),
        Err(_) => Type::Variant(vec![]),
    }
}

/// What `T.new` accepts as its one value beside instances of `T` (None: nothing known).
pub fn source_type(t: &Type) -> Option<Type> {
    let numbers = |p: Type| {
        Type::Variant(vec![
            Type::Integer(i64::MIN, i64::MAX),
            Type::Float(f64::NEG_INFINITY, f64::INFINITY),
            Type::Boolean,
            p,
            Type::Timespan(i64::MIN, i64::MAX),
            Type::Timestamp(i64::MIN, i64::MAX),
        ])
    };
    Some(match t.resolved() {
        Type::Integer(..) => numbers(pattern(format!(r"\A{SIGN}(?:\d+|{HEX}|{BIN})\z"))),
        Type::Float(..) | Type::Numeric => numbers(pattern(format!(
            r"\A{SIGN}(?:{DEC}(?:\.\d+)?(?:[eE]-?\d+)?|{HEX}|{OCT}|{BIN})\z"
        ))),
        Type::Boolean | Type::BooleanOf(_) => Type::Variant(vec![
            Type::Integer(i64::MIN, i64::MAX),
            Type::Float(f64::NEG_INFINITY, f64::INFINITY),
            Type::Boolean,
            Type::Enum(
                ["false", "true", "yes", "no", "y", "n"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                true,
            ),
        ]),
        Type::String(..) => Type::Any,
        _ => return None,
    })
}

/// Is `v` an instance of `Init[t]`?
pub fn is_instance(t: &Type, v: &Value) -> bool {
    if t.is_instance(v) {
        return true;
    }
    match (t.resolved(), v) {
        (Type::SemVer, Value::Str(s)) => crate::semver::SemVer::parse(s).is_ok(),
        (Type::SemVerRange, Value::Str(s)) => crate::semver::SemVerRange::parse(s).is_ok(),
        _ => match source_type(t) {
            Some(s) => s.is_instance(v),
            // Types whose conversions are not written out accept what they did before:
            // any rich data value.
            None => !matches!(v, Value::Undef),
        },
    }
}

/// Is every instance of `o` an instance of `Init[t]`?
pub fn is_assignable(t: &Type, o: &Type) -> bool {
    if let Type::InitOf(ot, _) = o.resolved() {
        return t.is_assignable(ot);
    }
    if matches!(o.resolved(), Type::Init) {
        return false;
    }
    t.is_assignable(o) || source_type(t).is_some_and(|s| s.is_assignable(o))
}

/// Types whose values `new` cannot make (Puppet: "Creation of new instance of type ... is
/// not supported").
pub fn not_creatable(t: &Type) -> bool {
    matches!(
        t.resolved(),
        Type::Any
            | Type::Scalar
            | Type::ScalarData
            | Type::Data
            | Type::RichData
            | Type::Collection(..)
            | Type::CatalogEntry
            | Type::Undef
            | Type::Default
            | Type::Init
            | Type::InitOf(..)
            | Type::Optional(_)
            | Type::NotUndef(_)
            | Type::Variant(_)
    )
}
