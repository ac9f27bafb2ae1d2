//! Parts of Puppet's assignability (`T1 <= T2`) that need more than one line: tuples,
//! structs, the `Data`/`RichData` aliases, `Iterable`, and the other side being `Optional`
//! or `NotUndef`.

use crate::types::{Type, INT_MAX};

/// The size range of a tuple: its own, or exactly its number of types when it has none.
pub(crate) fn tuple_size(ts: &[Type], min: i64, max: i64) -> (i64, i64) {
    if min == 0 && max == INT_MAX {
        if ts.is_empty() {
            (0, INT_MAX)
        } else {
            (ts.len() as i64, ts.len() as i64)
        }
    } else {
        (min, max)
    }
}

/// The type of element `i` of a tuple (the last type repeats).
fn tuple_at(ts: &[Type], i: usize) -> Option<&Type> {
    ts.get(i).or(ts.last())
}

/// `Tuple[...] <= ...`: `other` is an array type or a tuple.
pub(crate) fn tuple_from(ts: &[Type], a: i64, b: i64, other: &Type) -> Option<bool> {
    let (min, max) = tuple_size(ts, a, b);
    Some(match other {
        Type::Tuple(os, c, d) => {
            let (omin, omax) = tuple_size(os, *c, *d);
            if omin < min || omax > max {
                return Some(false);
            }
            if ts.is_empty() {
                return Some(true);
            }
            let n = os.len().max(ts.len());
            (0..n).all(|i| match (tuple_at(ts, i), tuple_at(os, i)) {
                (Some(t), Some(o)) => t.is_assignable(o),
                _ => true,
            })
        }
        Type::Array(e, c, d) => {
            if *c < min || *d > max {
                return Some(false);
            }
            ts.iter().all(|t| t.is_assignable(e))
        }
        _ => return None,
    })
}

/// `Struct[...] <= ...`: `other` is a struct or a hash type.
pub(crate) fn struct_from(ms: &[(String, bool, Type)], other: &Type) -> Option<bool> {
    if ms.is_empty() {
        return Some(matches!(other, Type::Struct(_)));
    }
    Some(match other {
        Type::Struct(os) => {
            // Every member of the other struct must be known here, and every member here be
            // present there (unless it may be missing) with an assignable type.
            os.iter().all(|(k, _, _)| ms.iter().any(|(m, _, _)| m == k))
                && ms
                    .iter()
                    .all(|(k, opt, t)| match os.iter().find(|(o, _, _)| o == k) {
                        Some((_, oopt, ot)) => (*opt || !oopt) && t.is_assignable(ot),
                        None => *opt,
                    })
        }
        Type::Hash(k, v, min, _) => {
            if *min == 0 && matches!(**k, Type::Unit) {
                return Some(true);
            }
            let required = ms.iter().filter(|(_, opt, _)| !opt).count() as i64;
            let keys = Type::Enum(ms.iter().map(|(k, _, _)| k.clone()).collect(), false);
            *min >= required
                && keys.is_assignable(k)
                && ms.iter().all(|(_, _, t)| t.is_assignable(v))
        }
        _ => return None,
    })
}

/// Puppet's `Data`: `Variant[ScalarData, Undef, Hash[String, Data], Array[Data]]`.
pub(crate) fn data_from(o: &Type) -> bool {
    crate::limits::grow(|| match o.resolved() {
        Type::Undef | Type::Data => true,
        Type::Array(e, ..) => data_from(e),
        Type::Tuple(ts, ..) => ts.iter().all(data_from),
        Type::Hash(k, v, ..) => Type::String(0, INT_MAX).is_assignable(k) && data_from(v),
        Type::Struct(ms) => ms.iter().all(|(_, _, t)| data_from(t)),
        o => Type::ScalarData.is_assignable(o),
    })
}

/// Puppet's `RichData`: scalars, `Undef`, `Default`, `SemVerRange`, `Binary`, `Sensitive`,
/// `Type`, `URI`, `Object`, and arrays and hashes (keys `String` or `Numeric`) of those.
pub(crate) fn rich_data_from(o: &Type) -> bool {
    crate::limits::grow(|| match o.resolved() {
        Type::Undef
        | Type::Default
        | Type::Data
        | Type::RichData
        | Type::SemVerRange
        | Type::Binary
        | Type::Uri
        | Type::Object
        | Type::Type(_)
        | Type::Sensitive(_) => true,
        Type::Array(e, ..) => rich_data_from(e),
        Type::Tuple(ts, ..) => ts.iter().all(rich_data_from),
        Type::Hash(k, v, ..) => {
            Type::Variant(vec![Type::String(0, INT_MAX), Type::Numeric]).is_assignable(k)
                && rich_data_from(v)
        }
        Type::Struct(ms) => ms.iter().all(|(_, _, t)| rich_data_from(t)),
        o => Type::Scalar.is_assignable(o),
    })
}

/// Types whose instances can be iterated (`Iterable` accepts them).
pub(crate) fn iterable_from(o: &Type) -> bool {
    match o.resolved() {
        Type::Array(..)
        | Type::Hash(..)
        | Type::Tuple(..)
        | Type::Struct(_)
        | Type::Collection(..)
        | Type::String(..)
        | Type::StrValue(_)
        | Type::Enum(..)
        | Type::Integer(..)
        | Type::Iterable
        | Type::Iterator => true,
        Type::RuntimeOf(r, Some(n)) => r == "ruby" && n == "Puppet::Pops::Types::Iterator",
        Type::Type(Some(t)) => match t.resolved() {
            Type::Integer(a, b) => *a != crate::types::INT_MIN && *b != INT_MAX,
            Type::Enum(vs, _) => !vs.is_empty(),
            _ => false,
        },
        _ => false,
    }
}

thread_local! {
    static LATE: std::cell::RefCell<Vec<(usize, usize)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f`, one step into a recursive alias (`key`: the alias and what it is compared
/// with). When the same step is already under way, the comparison has come round in a
/// circle and answers `again` (two recursive aliases that agree all round agree).
pub(crate) fn late<R>(key: (usize, usize), again: R, f: impl FnOnce() -> R) -> R {
    let busy = LATE.with(|l| {
        let l = l.borrow();
        l.len() >= 200 || l.contains(&key)
    });
    if busy {
        return again;
    }
    LATE.with(|l| l.borrow_mut().push(key));
    let r = f();
    LATE.with(|l| l.borrow_mut().pop());
    r
}
