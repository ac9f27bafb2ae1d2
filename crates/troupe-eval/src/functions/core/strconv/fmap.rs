//! Type-to-format maps: the defaults, the user's map validated into formats, merging (the
//! higher map overrides, more general keys drop more specific lower ones) and Puppet's
//! ordering of keys from the most specific type to the most general.

use super::spec::Fmt;
use std::cmp::Ordering;
use std::rc::Rc;
use troupe_ruby::object::ruby_class;
use troupe_values::error::{EResult, EvalError};
use troupe_values::types::Type;
use troupe_values::value::Value;

/// Type => format associations, most specific type first.
pub type FormatMap = Vec<(Type, Rc<Fmt>)>;

fn named(n: &str) -> Type {
    Type::from_name(n).unwrap_or(Type::Any)
}

fn plain(f: &str) -> Rc<Fmt> {
    Rc::new(Fmt::parse(f).expect("a built-in format parses"))
}

/// Formats of values inside a container: everything quoted (`%p`).
pub fn default_container_formats() -> Rc<FormatMap> {
    Rc::new(vec![(Type::Any, plain("%p"))])
}

fn container_default(f: &str, sep2: &str) -> Rc<Fmt> {
    let mut c = Fmt::parse(f).expect("a built-in format parses");
    c.separator = Some(", ".into());
    c.separator2 = Some(sep2.into());
    c.string_formats = Some(default_container_formats());
    Rc::new(c)
}

/// `DEFAULT_ARRAY_FORMAT`.
pub fn default_array_format() -> Rc<Fmt> {
    container_default("%a", ", ")
}

/// `DEFAULT_HASH_FORMAT`.
pub fn default_hash_format() -> Rc<Fmt> {
    container_default("%h", " => ")
}

/// `DEFAULT_STRING_FORMATS`, in Puppet's order.
pub fn default_string_formats() -> FormatMap {
    vec![
        (named("Object"), plain("%p")),
        (named("Float"), plain("%f")),
        (named("Numeric"), plain("%d")),
        (named("Array"), default_array_format()),
        (named("Hash"), default_hash_format()),
        (named("Binary"), plain("%B")),
        (Type::Any, plain("%s")),
    ]
}

/// `validate_input`: a hash of type => format (or container format hash).
pub fn validate_input(fmt: &Value) -> EResult<FormatMap> {
    let Value::Hash(h) = fmt else {
        return Err(EvalError::new(format!(
            "expected a hash with type to format mappings, got instance of '{}'",
            ruby_class(fmt)
        )));
    };
    let mut out: FormatMap = Vec::with_capacity(h.len());
    for (k, v) in h.iter() {
        let Value::Type(t) = k else {
            return Err(EvalError::new(format!(
                "top level keys in the format hash must be data types, got instance of '{}'",
                ruby_class(k)
            )));
        };
        let f = match v {
            Value::Hash(_) => validate_container_input(v)?,
            Value::Str(s) => Fmt::parse(s)?,
            Value::Undef => Fmt::parse("")?,
            other => Fmt::parse(&other.to_display())?,
        };
        // A key given twice (equal types) keeps its last format, in its first place.
        match out.iter_mut().find(|(kt, _)| kt == t.as_ref()) {
            Some(slot) => slot.1 = Rc::new(f),
            None => out.push(((**t).clone(), Rc::new(f))),
        }
    }
    Ok(out)
}

const FMT_KEYS: [&str; 4] = ["separator", "separator2", "format", "string_formats"];

fn str_of(v: Option<&Value>) -> Option<String> {
    match v {
        None | Some(Value::Undef) => None,
        Some(Value::Str(s)) => Some(s.to_string()),
        Some(other) => Some(other.to_display()),
    }
}

/// `validate_container_input`: `{ format, separator, separator2, string_formats }`.
fn validate_container_input(fmt: &Value) -> EResult<Fmt> {
    let Value::Hash(h) = fmt else {
        return Fmt::parse("");
    };
    let bad = h
        .keys()
        .any(|k| !matches!(k, Value::Str(s) if FMT_KEYS.contains(&s.as_ref())));
    if bad {
        return Err(EvalError::new(format!(
            "only 'separator', 'separator2', 'format', 'string_formats' are allowed in a container format, got {}",
            troupe_ruby::object::inspect(fmt)
        )));
    }
    let get = |k: &str| h.get(&Value::str(k));
    let mut f = Fmt::parse(&str_of(get("format")).unwrap_or_default())?;
    f.separator = str_of(get("separator"));
    f.separator2 = str_of(get("separator2"));
    f.string_formats = match get("string_formats") {
        None | Some(Value::Undef) => None,
        Some(sf) => Some(Rc::new(validate_input(sf)?)),
    };
    Ok(f)
}

fn lookup<'a>(m: &'a FormatMap, t: &Type) -> Option<&'a Rc<Fmt>> {
    m.iter().find(|(k, _)| k == t).map(|(_, f)| f)
}

/// `Format.merge_string_formats`: `higher` wins; a lower key that a different, more
/// general higher key covers is dropped.
pub fn merge_maps(lower: Option<&FormatMap>, higher: Option<&FormatMap>) -> Option<FormatMap> {
    let (lower, higher) = match (lower, higher) {
        (Some(l), Some(h)) => (l, h),
        (l, h) => return l.or(h).cloned(),
    };
    let kept: Vec<&(Type, Rc<Fmt>)> = lower
        .iter()
        .filter(|(lk, _)| {
            !higher
                .iter()
                .any(|(hk, _)| hk != lk && hk.is_assignable(lk))
        })
        .collect();
    let mut keys: Vec<&Type> = Vec::new();
    for k in kept
        .iter()
        .map(|(k, _)| k)
        .chain(higher.iter().map(|(k, _)| k))
    {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let merged: FormatMap = keys
        .into_iter()
        .filter_map(|k| {
            let l = kept.iter().find(|(lk, _)| lk == k).map(|(_, f)| f);
            let f = match (l, lookup(higher, k)) {
                (Some(l), Some(h)) => Rc::new(l.merge(h)),
                (Some(l), None) => l.clone(),
                (None, h) => h?.clone(),
            };
            Some((k.clone(), f))
        })
        .collect();
    Some(sort_formats(merged))
}

/// `type_rank`: lower is more specific, 0 when it does not matter.
fn type_rank(t: &Type) -> u8 {
    match t.resolved() {
        Type::Struct(_) => 1,
        Type::Hash(..) => 2,
        Type::Tuple(..) => 3,
        Type::Array(..) => 4,
        Type::Pattern(_) => 10,
        Type::Enum(..) => 11,
        Type::String(..) | Type::StrValue(_) => 12,
        _ => 0,
    }
}

fn compare(a: &Type, b: &Type) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let ab = b.is_assignable(a);
    let ba = a.is_assignable(b);
    match (ab, ba) {
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => {
            let (ra, rb) = (type_rank(a), type_rank(b));
            if ra == 0 || rb == 0 {
                a.to_string().cmp(&b.to_string())
            } else {
                ra.cmp(&rb)
            }
        }
    }
}

/// `sort_formats`: most specific types first. Puppet's comparison is not a total order
/// (unrelated types compare by rank or by name), so the result depends on the algorithm:
/// Ruby sorts with glibc's `qsort_r`, a top-down merge sort that takes from the left run
/// on ties. That merge sort, with the same comparison, gives Puppet's order.
pub fn sort_formats(m: FormatMap) -> FormatMap {
    let mut items: Vec<Option<(Type, Rc<Fmt>)>> = m.into_iter().map(Some).collect();
    let idx: Vec<usize> = (0..items.len()).collect();
    let sorted = merge_sort(&idx, &|a, b| {
        let (ta, tb) = (
            &items[a].as_ref().map(|x| &x.0),
            &items[b].as_ref().map(|x| &x.0),
        );
        match (ta, tb) {
            (Some(ta), Some(tb)) => compare(ta, tb),
            _ => Ordering::Equal,
        }
    });
    sorted.into_iter().filter_map(|i| items[i].take()).collect()
}

/// glibc's `msort_with_tmp`: halves (the first one the smaller), each sorted, merged taking
/// from the first while it compares not greater.
fn merge_sort(xs: &[usize], cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    if xs.len() <= 1 {
        return xs.to_vec();
    }
    let n1 = xs.len() / 2;
    let left = merge_sort(&xs[..n1], cmp);
    let right = merge_sort(&xs[n1..], cmp);
    let mut out = Vec::with_capacity(xs.len());
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        if cmp(left[i], right[j]) != Ordering::Greater {
            out.push(left[i]);
            i += 1;
        } else {
            out.push(right[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&left[i..]);
    out.extend_from_slice(&right[j..]);
    out
}

/// `get_format`: the first format whose type the value is an instance of, else `%s`.
pub fn get_format(v: &Value, m: &FormatMap) -> Rc<Fmt> {
    m.iter()
        .find(|(k, _)| k.is_instance(v))
        .map(|(_, f)| f.clone())
        .unwrap_or_else(|| plain("%s"))
}
