//! Puppet's `normalize` of a type, as the type mismatch describer applies it to the expected
//! type before it words a message: variants flattened, overlapping or adjacent Integer ranges
//! and overlapping Float ranges merged, Enums and Patterns joined, Undef folded into Optional,
//! NotUndef/Optional wrappers compacted. Aliases are left as they are (Puppet normalizes an
//! alias's type once, when it resolves it).

use crate::types::Type;

/// The normalized form of `t` (equal to `t` when nothing simplifies).
pub fn normalize(t: &Type) -> Type {
    crate::limits::grow(|| match t {
        Type::Variant(ts) if !ts.is_empty() => variant(ts),
        Type::Optional(Some(i)) => optional(normalize(i)),
        Type::NotUndef(Some(i)) => not_undef(normalize(i)),
        Type::Array(e, min, max) => Type::Array(Box::new(normalize(e)), *min, *max),
        Type::Hash(k, v, min, max) => {
            Type::Hash(Box::new(normalize(k)), Box::new(normalize(v)), *min, *max)
        }
        Type::Tuple(ts, min, max) => Type::Tuple(ts.iter().map(normalize).collect(), *min, *max),
        Type::Struct(ms) => Type::Struct(
            ms.iter()
                .map(|(k, opt, e)| (k.clone(), *opt, normalize(e)))
                .collect(),
        ),
        Type::Type(Some(i)) => Type::Type(Some(Box::new(normalize(i)))),
        Type::Sensitive(Some(i)) => Type::Sensitive(Some(Box::new(normalize(i)))),
        // Puppet's Collection normalizes to the unsized Collection.
        Type::Collection(..) => Type::Collection(0, i64::MAX),
        other => other.clone(),
    })
}

fn accepts_undef(t: &Type) -> bool {
    t.is_assignable(&Type::Undef)
}

/// `Optional[inner]` with `inner` already normalized.
fn optional(inner: Type) -> Type {
    match inner {
        Type::NotUndef(None) => Type::Optional(None),
        Type::NotUndef(Some(x)) => optional(normalize(&x)),
        i if accepts_undef(&i) => i,
        i => Type::Optional(Some(Box::new(i))),
    }
}

/// `NotUndef[inner]` with `inner` already normalized.
fn not_undef(inner: Type) -> Type {
    match inner {
        Type::Optional(None) => Type::NotUndef(None),
        Type::Optional(Some(x)) => not_undef(normalize(&x)),
        i if !accepts_undef(&i) => i,
        i => Type::NotUndef(Some(Box::new(i))),
    }
}

/// Puppet's `PVariantType.maybe_create`: nested variants flattened, duplicates dropped, one
/// type stands for itself.
fn maybe_create(types: Vec<Type>) -> Type {
    let mut out: Vec<Type> = Vec::new();
    for t in flatten(types) {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() == 1 {
        out.remove(0)
    } else {
        Type::Variant(out)
    }
}

fn flatten(types: Vec<Type>) -> Vec<Type> {
    let mut out = Vec::with_capacity(types.len());
    for t in types {
        match t {
            Type::Variant(inner) => out.extend(inner),
            other => out.push(other),
        }
    }
    out
}

fn variant(ts: &[Type]) -> Type {
    let types: Vec<Type> = ts.iter().map(normalize).collect();
    let modified = types.as_slice() != ts;
    if types.len() == 1 {
        return types.into_iter().next().unwrap_or(Type::Any);
    }
    if types
        .iter()
        .any(|t| matches!(t, Type::Undef | Type::Optional(_)))
    {
        let rest: Vec<Type> = types
            .into_iter()
            .filter(|t| !matches!(t, Type::Undef))
            .map(|t| match t {
                Type::Optional(Some(i)) => *i,
                Type::Optional(None) => Type::Any,
                other => other,
            })
            .collect();
        let inner = if rest.is_empty() {
            Type::Variant(vec![])
        } else {
            maybe_create(rest)
        };
        return optional(normalize(&inner));
    }
    let mut types = flatten(types);
    let before = types.len();
    types = swap_not_undefs(types);
    types = merge_enums(types);
    types = merge_patterns(types);
    types = merge_numbers(types, true);
    types = merge_numbers(types, false);
    if types.len() == 1 {
        types.remove(0)
    } else if modified || types.len() != before {
        maybe_create(types)
    } else {
        Type::Variant(ts.to_vec())
    }
}

fn swap_not_undefs(types: Vec<Type>) -> Vec<Type> {
    let (nus, mut others): (Vec<Type>, Vec<Type>) = types
        .into_iter()
        .partition(|t| matches!(t, Type::NotUndef(_)));
    if nus.len() > 1 {
        let inner: Vec<Type> = nus
            .into_iter()
            .map(|t| match t {
                Type::NotUndef(Some(i)) => *i,
                _ => Type::Any,
            })
            .collect();
        others.push(Type::NotUndef(Some(Box::new(normalize(&maybe_create(
            inner,
        ))))));
        others
    } else {
        others.extend(nus);
        others
    }
}

fn push_unique(values: &mut Vec<String>, v: String) {
    if !values.contains(&v) {
        values.push(v);
    }
}

fn merge_enums(types: Vec<Type>) -> Vec<Type> {
    let sensitive = |t: &Type| {
        matches!(t, Type::Enum(vs, false) if !vs.is_empty()) || matches!(t, Type::StrValue(_))
    };
    let (enums, mut others): (Vec<Type>, Vec<Type>) = types.into_iter().partition(sensitive);
    let types = if enums.len() > 1 {
        let mut values = Vec::new();
        for t in enums {
            match t {
                Type::Enum(vs, _) => vs.into_iter().for_each(|v| push_unique(&mut values, v)),
                Type::StrValue(s) => push_unique(&mut values, s.to_string()),
                _ => {}
            }
        }
        others.push(Type::Enum(values, false));
        others
    } else {
        others.extend(enums);
        others
    };
    let insensitive = |t: &Type| matches!(t, Type::Enum(vs, true) if !vs.is_empty());
    let (enums, mut others): (Vec<Type>, Vec<Type>) = types.into_iter().partition(insensitive);
    if enums.len() > 1 {
        let mut values = Vec::new();
        for t in enums {
            if let Type::Enum(vs, _) = t {
                vs.into_iter()
                    .for_each(|v| push_unique(&mut values, v.to_lowercase()));
            }
        }
        others.push(Type::Enum(values, true));
        others
    } else {
        others.extend(enums);
        others
    }
}

fn merge_patterns(types: Vec<Type>) -> Vec<Type> {
    let (pats, mut others): (Vec<Type>, Vec<Type>) = types
        .into_iter()
        .partition(|t| matches!(t, Type::Pattern(_)));
    if pats.len() > 1 {
        let mut all = Vec::new();
        for t in pats {
            if let Type::Pattern(ps) = t {
                for p in ps {
                    if !all
                        .iter()
                        .any(|q: &std::rc::Rc<crate::value::Regexp>| q.source == p.source)
                    {
                        all.push(p);
                    }
                }
            }
        }
        others.push(Type::Pattern(all));
        others
    } else {
        others.extend(pats);
        others
    }
}

/// Integer ranges merge when they overlap or touch, Float ranges when they overlap; the
/// merged ranges come first, as Puppet orders them.
fn merge_numbers(types: Vec<Type>, integers: bool) -> Vec<Type> {
    let is = |t: &Type| {
        if integers {
            matches!(t, Type::Integer(..))
        } else {
            matches!(t, Type::Float(..))
        }
    };
    let (mut ranges, others): (Vec<Type>, Vec<Type>) = types.into_iter().partition(is);
    if ranges.len() < 2 {
        ranges.extend(others);
        return ranges;
    }
    let mut result = Vec::new();
    while let Some(x) = ranges.pop() {
        let mut unmerged = Vec::new();
        let mut memo = x;
        for y in ranges {
            match merge(&memo, &y) {
                Some(m) => memo = m,
                None => unmerged.push(y),
            }
        }
        result.push(memo);
        ranges = unmerged;
    }
    result.extend(others);
    result
}

fn merge(a: &Type, b: &Type) -> Option<Type> {
    match (a, b) {
        (Type::Integer(af, at), Type::Integer(bf, bt)) => {
            let intersect = !(at < bf || bt < af);
            let adjacent = at.checked_add(1) == Some(*bf) || bt.checked_add(1) == Some(*af);
            (intersect || adjacent).then(|| Type::Integer(*af.min(bf), *at.max(bt)))
        }
        (Type::Float(af, at), Type::Float(bf, bt)) => {
            let intersect = !(at < bf || bt < af);
            intersect.then(|| Type::Float(af.min(*bf), at.max(*bt)))
        }
        _ => None,
    }
}
