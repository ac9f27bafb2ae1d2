//! Parameter checks: whether an argument is acceptable for a declared parameter type.
//!
//! Puppet checks parameters by assignability of the argument's inferred type, where a bare
//! `Optional` is `Optional[Any]` (it accepts any value), while `=~` and `assert_type` ask
//! `instance?`, where a bare `Optional` holds only undef. Everything else agrees, so a
//! parameter type is checked as an instance check with its bare `Optional`s widened.

use crate::types::Type;
use crate::value::Value;

impl Type {
    /// Does a parameter declared with this type accept `v`?
    pub fn accepts(&self, v: &Value) -> bool {
        if has_bare_optional(self) {
            widen(self).is_instance(v)
        } else {
            self.is_instance(v)
        }
    }
}

fn has_bare_optional(t: &Type) -> bool {
    crate::limits::grow(|| match t {
        Type::Optional(None) => true,
        Type::Optional(Some(x))
        | Type::NotUndef(Some(x))
        | Type::Array(x, ..)
        | Type::Sensitive(Some(x)) => has_bare_optional(x),
        Type::Hash(k, x, ..) => has_bare_optional(k) || has_bare_optional(x),
        Type::Tuple(ts, ..) | Type::Variant(ts) => ts.iter().any(has_bare_optional),
        Type::Struct(ms) => ms.iter().any(|(_, _, x)| has_bare_optional(x)),
        _ => false,
    })
}

fn widen(t: &Type) -> Type {
    let b = |x: &Type| Box::new(widen(x));
    crate::limits::grow(|| match t {
        Type::Optional(None) => Type::Optional(Some(Box::new(Type::Any))),
        Type::Optional(Some(x)) => Type::Optional(Some(b(x))),
        Type::NotUndef(Some(x)) => Type::NotUndef(Some(b(x))),
        Type::Sensitive(Some(x)) => Type::Sensitive(Some(b(x))),
        Type::Array(x, a, z) => Type::Array(b(x), *a, *z),
        Type::Hash(k, x, a, z) => Type::Hash(b(k), b(x), *a, *z),
        Type::Tuple(ts, a, z) => Type::Tuple(ts.iter().map(widen).collect(), *a, *z),
        Type::Variant(ts) => Type::Variant(ts.iter().map(widen).collect()),
        Type::Struct(ms) => Type::Struct(
            ms.iter()
                .map(|(k, o, x)| (k.clone(), *o, widen(x)))
                .collect(),
        ),
        other => other.clone(),
    })
}
