//! Type mismatch messages worded as Puppet's TypeMismatchDescriber words them.

use crate::describe_names::{
    actual_short, alias_expanded, hash_set_text, merged_enums, string_keys,
};
use crate::types::{article, Type};
use crate::value::{puppet_quote, Value};

fn short_name(t: &Type) -> String {
    crate::limits::grow(|| match t {
        Type::Optional(Some(i)) => format!("Optional[{}]", short_name(i)),
        Type::NotUndef(Some(i)) if !matches!(**i, Type::Any) => {
            format!("NotUndef[{}]", short_name(i))
        }
        Type::Alias(n, _) => n.clone(),
        other => {
            let s = other.to_string();
            match s.find('[') {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    })
}

fn same_class(e: &Type, v: &Value) -> bool {
    matches!(
        (e.resolved(), v),
        (Type::Integer(..), Value::Int(_))
            | (Type::Float(..), Value::Float(_))
            | (Type::String(..), Value::Str(_))
            | (Type::Array(..), Value::Array(_))
            | (Type::Hash(..), Value::Hash(_))
            | (Type::Type(_), Value::Type(_))
    )
}

fn actual_detailed(v: &Value) -> String {
    match v {
        Value::Int(i) => format!("Integer[{i}, {i}]"),
        Value::Float(f) => {
            let s = crate::value::format_float(*f);
            format!("Float[{s}, {s}]")
        }
        other => crate::types::infer_for_message(other),
    }
}

/// `<what> expects ..., got ...` for a value that is not an instance of `t`.
pub fn mismatch(what: &str, t: &Type, v: &Value) -> String {
    crate::limits::grow(|| {
        // A recursive alias's reference to itself is described as the alias.
        if let Type::Late(n, w) = t {
            if let Some(r) = w.upgrade() {
                return mismatch(what, &Type::Alias(n.clone(), r), v);
            }
        }
        // Puppet words the message for the expected type as it normalizes it.
        let t = &crate::normalize::normalize(t);
        let (inner, optional) = match t.resolved() {
            Type::Optional(Some(i)) => (i.resolved().clone(), true),
            other => (other.clone(), false),
        };
        let inner = merged_enums(&inner).unwrap_or(inner);
        if optional && matches!(v, Value::Undef) {
            return format!("{what} expects a value of type {t}, got Undef");
        }
        let all_matches = |ts: &[Type]| {
            !ts.is_empty()
                && ts
                    .iter()
                    .all(|t| matches!(t, Type::Enum(..) | Type::Pattern(_)))
        };
        match (&inner, v) {
            // Puppet describes any mismatch of an Enum or Pattern (or a Variant of only those)
            // as a failed match.
            (Type::Variant(ts), v) if all_matches(ts) => {
                let pfx = if optional { "an undef value or " } else { "" };
                let got = match v {
                    Value::Str(s) => puppet_quote(s),
                    other => crate::types::infer_for_message(other),
                };
                return format!("{what} expects {pfx}a match for {inner}, got {got}");
            }
            (Type::Enum(..) | Type::Pattern(_), v) => {
                let pfx = if optional { "an undef value or " } else { "" };
                let got = match v {
                    Value::Str(s) => puppet_quote(s),
                    other => actual_short(other),
                };
                let exp = match t {
                    Type::Alias(..) if !optional => alias_expanded(t),
                    _ => inner.to_string(),
                };
                return format!("{what} expects {pfx}a match for {exp}, got {got}");
            }
            (Type::Array(e, min, max), Value::Array(xs)) => {
                let n = xs.len() as i64;
                if n < *min || n > *max {
                    return format!("{what} expects size to be {}, got {n}", range_s(*min, *max));
                }
                for (i, x) in xs.iter().enumerate() {
                    if !e.is_instance(x) {
                        return mismatch(&format!("{what} index {i}"), e, x);
                    }
                }
            }
            (Type::Tuple(ts, min, max), Value::Array(xs)) => {
                let n = xs.len() as i64;
                if (*min, *max) != (0, crate::types::INT_MAX) && (n < *min || n > *max) {
                    return format!("{what} expects size to be {}, got {n}", range_s(*min, *max));
                }
                for (i, x) in xs.iter().enumerate() {
                    if let Some(e) = ts.get(i).or(ts.last()) {
                        if !e.is_instance(x) {
                            return mismatch(&format!("{what} index {i}"), e, x);
                        }
                    }
                }
            }
            (Type::Hash(k, e, min, max), Value::Hash(h)) => {
                let n = h.len() as i64;
                if n < *min || n > *max {
                    return format!("{what} expects size to be {}, got {n}", range_s(*min, *max));
                }
                // Keys that are not all strings: Puppet infers a Hash (not a Struct) and
                // reports the whole hash.
                if n > 0
                    && !string_keys(v)
                    && h.iter()
                        .any(|(kk, x)| !k.is_instance(kk) || !e.is_instance(x))
                {
                    let exp = alias_expanded(t);
                    return format!(
                        "{what} expects {} {exp} value, got {}",
                        article(&exp),
                        hash_set_text(v)
                    );
                }
                for (kk, x) in h.iter() {
                    if !k.is_instance(kk) {
                        return mismatch(&format!("{what} key '{}'", kk.to_display()), k, kk);
                    }
                    if !e.is_instance(x) {
                        return mismatch(&format!("{what} entry '{}'", kk.to_display()), e, x);
                    }
                }
            }
            (Type::Struct(ms), Value::Hash(h)) if h.is_empty() || !string_keys(v) => {
                // Puppet infers a Hash here: its size is checked against the required and
                // the total number of members, then the whole hash is reported.
                let need = ms
                    .iter()
                    .filter(|(_, opt, e)| !*opt && !e.is_instance(&Value::Undef))
                    .count() as i64;
                let n = h.len() as i64;
                if n < need || n > ms.len() as i64 {
                    return format!(
                        "{what} expects size to be {}, got {n}",
                        range_s(need, ms.len() as i64)
                    );
                }
            }
            (Type::Struct(ms), Value::Hash(h)) => {
                // Every problem is reported: the members in declared order, then the
                // keys the struct does not know; several are listed one a line.
                let mut errs: Vec<String> = Vec::new();
                for (k, opt, e) in ms {
                    match h.get(&Value::str(k.as_str())) {
                        Some(x) => {
                            if !e.is_instance(x) {
                                errs.push(mismatch(&format!("{what} entry '{k}'"), e, x));
                            }
                        }
                        None => {
                            if !*opt && !e.is_instance(&Value::Undef) {
                                errs.push(format!("{what} expects a value for key '{k}'"));
                            }
                        }
                    }
                }
                for (kk, _) in h.iter() {
                    let known = matches!(kk, Value::Str(s) if ms.iter().any(|(m, _, _)| m == &**s));
                    if !known {
                        errs.push(format!("{what} unrecognized key '{}'", kk.to_display()));
                    }
                }
                match errs.len() {
                    0 => {}
                    1 => return errs.remove(0),
                    _ => {
                        let lines: Vec<String> = errs.iter().map(|e| format!(" {e}")).collect();
                        return lines.join("\n ");
                    }
                }
            }
            _ => {}
        }
        let types: Vec<Type> = match &inner {
            Type::Variant(ts) => ts.clone(),
            other => vec![other.clone()],
        };
        let detailed = types.iter().any(|e| same_class(e, v)) || matches!(t, Type::Alias(..));
        let (mut names, actual): (Vec<String>, String) = if detailed {
            (
                match t {
                    Type::Alias(_, r)
                        if !matches!(r.resolved(), Type::Variant(_) | Type::Optional(_)) =>
                    {
                        vec![alias_expanded(t)]
                    }
                    // A Variant alias whose members all fail alike is reported as the alias,
                    // its references to itself dropped.
                    Type::Alias(n, r) if alias_fails_alike(n, r, v).is_some() => {
                        vec![format!(
                            "{n} = {}",
                            alias_fails_alike(n, r, v).unwrap_or_default()
                        )]
                    }
                    _ => types.iter().map(|t| t.to_string()).collect(),
                },
                match v {
                    Value::Int(_) | Value::Float(_) => actual_detailed(v),
                    other => crate::types::infer_for_message(other),
                },
            )
        } else {
            let mut n: Vec<String> = Vec::new();
            for t in &types {
                let s = short_name(t);
                if !n.contains(&s) {
                    n.push(s);
                }
            }
            (n, actual_short(v))
        };
        if optional {
            names.insert(0, "Undef".into());
        }
        let multi = names.len() > 1;
        let e = match names.len() {
            1 => names[0].clone(),
            2 => format!("{} or {}", names[0], names[1]),
            _ => format!(
                "{}, or {}",
                names[..names.len() - 1].join(", "),
                names[names.len() - 1]
            ),
        };
        if multi {
            format!("{what} expects a value of type {e}, got {actual}")
        } else {
            format!("{what} expects {} {e} value, got {actual}", article(&e))
        }
    })
}

fn range_s(min: i64, max: i64) -> String {
    if min == max {
        min.to_string()
    } else if max == i64::MAX {
        format!("at least {min}")
    } else {
        format!("between {min} and {max}")
    }
}

/// The expanded text of a Variant alias when every member mismatches `v` at the top (no
/// member is a collection of `v`'s kind, whose mismatch would be described inside it).
fn alias_fails_alike(name: &str, r: &Type, v: &Value) -> Option<String> {
    let Type::Variant(ts) = r.resolved() else {
        return None;
    };
    let real: Vec<Type> = ts
        .iter()
        .filter(|t| !matches!(t, Type::Late(n, _) if n == name))
        .cloned()
        .collect();
    let nested = real.iter().any(|t| {
        matches!(
            (t.resolved(), v),
            (Type::Array(..) | Type::Tuple(..), Value::Array(_))
                | (Type::Hash(..) | Type::Struct(_), Value::Hash(_))
        )
    });
    if nested || real.is_empty() {
        return None;
    }
    let t = if real.len() == 1 {
        real[0].clone()
    } else {
        Type::Variant(real)
    };
    Some(crate::normalize::normalize(&t).to_string())
}
