//! The names Puppet's TypeMismatchDescriber gives to the two sides of a mismatch: the actual
//! value's inferred type (`infer_set`: a non-empty array is a Tuple, a hash with String keys a
//! Struct, a Sensitive shows its content's type), and the expected type with its aliases
//! expanded (`Ports = Hash[Port = Integer[1, 65535], String]`), normalized first as Puppet
//! normalizes a Variant of Enums into one Enum.

use crate::types::{infer_for_message, Type};
use crate::value::{format_float, Value};
use std::rc::Rc;

/// The short name of a value's inferred type after "got" (Puppet's `short_name` of
/// `infer_set(value)`).
pub fn actual_short(v: &Value) -> String {
    match v {
        Value::Array(a) if !a.is_empty() => "Tuple".into(),
        Value::Hash(h) if !h.is_empty() && string_keys(v) => "Struct".into(),
        Value::Sensitive(x) => format!("Sensitive[{}]", infer_for_message(x)),
        other => infer_for_message(other),
    }
}

/// Whether a hash's keys are all non-empty strings (Puppet then infers a Struct).
pub fn string_keys(v: &Value) -> bool {
    matches!(v, Value::Hash(h) if h.iter().all(|(k, _)| matches!(k, Value::Str(s) if !s.is_empty())))
}

/// The detailed text of one value's `infer_set` type, as a Hash mismatch prints its keys and
/// values (`Integer[80, 80]`, `String`).
fn set_text(v: &Value) -> String {
    match v {
        Value::Int(i) => format!("Integer[{i}, {i}]"),
        Value::Float(f) => {
            let s = format_float(*f);
            format!("Float[{s}, {s}]")
        }
        other => infer_for_message(other),
    }
}

/// `Hash[K, V]` of a hash whose keys are not all strings: the distinct key and value types,
/// a Variant when there are several.
pub fn hash_set_text(v: &Value) -> String {
    let Value::Hash(h) = v else {
        return infer_for_message(v);
    };
    let join = |items: Vec<String>| {
        let mut out: Vec<String> = Vec::new();
        for s in items {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        if out.len() == 1 {
            out.remove(0)
        } else {
            format!("Variant[{}]", out.join(", "))
        }
    };
    let keys = join(h.iter().map(|(k, _)| set_text(k)).collect());
    let vals = join(h.iter().map(|(_, x)| set_text(x)).collect());
    format!("Hash[{keys}, {vals}]")
}

/// A Variant whose members are all case-sensitive Enums, as Puppet normalizes it: one Enum of
/// every value, sorted.
pub fn merged_enums(t: &Type) -> Option<Type> {
    let Type::Variant(ts) = t.resolved() else {
        return None;
    };
    let mut all: Vec<String> = Vec::new();
    for m in ts {
        match m.resolved() {
            Type::Enum(vs, false) if !vs.is_empty() => all.extend(vs.iter().cloned()),
            _ => return None,
        }
    }
    if ts.is_empty() {
        return None;
    }
    all.sort();
    all.dedup();
    Some(Type::Enum(all, false))
}

/// The expected type's text with every alias shown as `Name = definition` the first time it is
/// met (a recursive alias is named only), as Puppet's `to_alias_expanded_s`.
pub fn alias_expanded(t: &Type) -> String {
    expand(t, &mut Vec::new()).to_string()
}

fn expand(t: &Type, seen: &mut Vec<String>) -> Type {
    let b = |x: &Type, seen: &mut Vec<String>| Box::new(expand(x, seen));
    crate::limits::grow(|| match t {
        Type::Alias(n, r) if !seen.contains(n) => {
            seen.push(n.clone());
            let body = match merged_enums(r) {
                Some(e) => e,
                None => expand(r, seen),
            };
            seen.pop();
            Type::Alias(format!("{n} = {body}"), Rc::new(body))
        }
        Type::Array(e, a, z) => Type::Array(b(e, seen), *a, *z),
        Type::Hash(k, v, a, z) => Type::Hash(b(k, seen), b(v, seen), *a, *z),
        Type::Tuple(ts, a, z) => Type::Tuple(ts.iter().map(|x| expand(x, seen)).collect(), *a, *z),
        Type::Struct(ms) => Type::Struct(
            ms.iter()
                .map(|(k, o, x)| (k.clone(), *o, expand(x, seen)))
                .collect(),
        ),
        Type::Optional(Some(x)) => Type::Optional(Some(b(x, seen))),
        Type::NotUndef(Some(x)) => Type::NotUndef(Some(b(x, seen))),
        Type::Type(Some(x)) => Type::Type(Some(b(x, seen))),
        Type::Variant(ts) => Type::Variant(ts.iter().map(|x| expand(x, seen)).collect()),
        other => other.clone(),
    })
}
