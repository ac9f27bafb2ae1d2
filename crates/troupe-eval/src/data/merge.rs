//! Hiera's merge strategies (`first`, `unique`, `hash`, `deep`) with the deep merge options
//! (`knockout_prefix`, `sort_merged_arrays`, `merge_hash_arrays`), as Puppet merges the values
//! found at each level, highest priority first.

use troupe_values::error::{EResult, EvalError};
use troupe_values::value::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    First,
    Unique,
    Hash,
    Deep,
    /// `reverse_deep`: a deep merge where lower levels win.
    ReverseDeep,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Strategy {
    pub kind: Kind,
    knockout: Option<String>,
    sort: bool,
    hash_arrays: bool,
    /// The gem's `unpack_arrays`: arrays joined and split again on this string first.
    unpack: Option<String>,
}

impl Strategy {
    pub fn first() -> Strategy {
        Strategy::of(Kind::First)
    }

    fn of(kind: Kind) -> Strategy {
        Strategy {
            kind,
            knockout: None,
            sort: false,
            hash_arrays: false,
            unpack: None,
        }
    }

    /// A `merge` value: a strategy name or a hash with `strategy` and options; undef is `first`.
    pub fn parse(v: &Value) -> EResult<Strategy> {
        let (name, opts) = match v {
            Value::Undef => return Ok(Strategy::first()),
            Value::Hash(h) => match h.get(&Value::str("strategy")) {
                Some(Value::Str(s)) => (s.to_string(), Some(h)),
                _ => return Err(EvalError::plain(
                    "The hash given as 'merge' must contain the name of a strategy in string form for the key 'strategy'",
                )),
            },
            other => (other.to_display(), None),
        };
        let kind = match name.as_str() {
            "first" | "default" => Kind::First,
            "unique" => Kind::Unique,
            "hash" => Kind::Hash,
            "deep" | "unconstrained_deep" => Kind::Deep,
            "reverse_deep" => Kind::ReverseDeep,
            _ => {
                return Err(EvalError::plain(format!(
                    "Unknown merge strategy: '{name}'"
                )))
            }
        };
        let mut s = Strategy::of(kind);
        if let Some(h) = opts {
            for (k, v) in h.iter() {
                match (k.to_display().as_str(), v) {
                    ("strategy", _) | ("merge_debug", _) => {}
                    ("knockout_prefix", Value::Str(p)) => s.knockout = Some(p.to_string()),
                    ("sort_merged_arrays", Value::Bool(b)) => s.sort = *b,
                    ("merge_hash_arrays", Value::Bool(b)) => s.hash_arrays = *b,
                    ("unpack_arrays", Value::Str(c)) if !c.is_empty() => {
                        s.unpack = Some(c.to_string())
                    }
                    _ => {}
                }
            }
        }
        Ok(s)
    }

    /// Merges the values found, highest priority first; `None` when nothing was found.
    pub fn merge(&self, found: Vec<Value>) -> EResult<Option<Value>> {
        let mut it = found.into_iter();
        let Some(first) = it.next() else {
            return Ok(None);
        };
        let rest: Vec<Value> = it.collect();
        if rest.is_empty() {
            // A single value is not merged, but `unique` still drops duplicates.
            return Ok(Some(match (&self.kind, &first) {
                (Kind::Unique, Value::Array(a)) => Value::array(uniq(a.iter().cloned())),
                _ => first,
            }));
        }
        let mut memo = match self.kind {
            Kind::First => return Ok(Some(first)),
            // The first value is made an array before anything is checked.
            Kind::Unique => Value::array(flat(&first)),
            Kind::Hash => {
                check_hash("first", &first)?;
                first
            }
            Kind::Deep | Kind::ReverseDeep => first,
        };
        for v in rest {
            memo = match self.kind {
                Kind::Unique => {
                    self.check_unique("second", &v)?;
                    let mut all = flat(&memo);
                    all.extend(flat(&v));
                    Value::array(uniq(all.into_iter()))
                }
                Kind::Hash => {
                    check_hash("second", &v)?;
                    match (&memo, &v) {
                        (Value::Hash(high), Value::Hash(low)) => {
                            let mut out = (**low).clone();
                            for (k, x) in high.iter() {
                                out.insert(k.clone(), x.clone());
                            }
                            Value::hash(out)
                        }
                        _ => memo,
                    }
                }
                Kind::ReverseDeep => self.deep(v, memo),
                _ => self.deep(memo, v),
            };
        }
        Ok(Some(memo))
    }

    fn check_unique(&self, which: &str, v: &Value) -> EResult<()> {
        let ok = match v {
            Value::Hash(_) => false,
            Value::Array(a) => a.iter().all(is_data),
            _ => true,
        };
        if ok {
            return Ok(());
        }
        Err(EvalError::plain(format!(
            "The {which} element of the merge has wrong type, expects a value of type Scalar or Array, got {}",
            shape(v)
        )))
    }

    /// The deep_merge gem's `deep_merge!(source, dest)`: `src` is the higher priority value.
    pub fn deep(&self, src: Value, dest: Value) -> Value {
        troupe_values::limits::grow(|| self.deep_inner(src, dest))
    }

    fn deep_inner(&self, src: Value, dest: Value) -> Value {
        if src.is_undef() {
            return dest;
        }
        if matches!(dest, Value::Undef | Value::Bool(false)) {
            return src;
        }
        match &src {
            Value::Hash(sh) => {
                let Value::Hash(dh) = &dest else {
                    return if sh.is_empty() { dest } else { src.clone() };
                };
                let mut out = (**dh).clone();
                for (k, sv) in sh.iter() {
                    let merged = match out.get(k) {
                        Some(dv) if !matches!(dv, Value::Undef | Value::Bool(false)) => {
                            self.deep(sv.clone(), dv.clone())
                        }
                        _ => self.deep(sv.clone(), sv.clone()),
                    };
                    out.insert(k.clone(), merged);
                }
                Value::hash(out)
            }
            Value::Array(sa) => {
                let mut source: Vec<Value> = (**sa).clone();
                let mut dest = dest;
                if let Some(c) = &self.unpack {
                    let unpack = |items: &[Value]| -> Vec<Value> {
                        let joined: Vec<String> = items.iter().map(Value::to_display).collect();
                        let joined = joined.join(c);
                        // Ruby's split drops trailing empty fields.
                        let mut parts: Vec<&str> = joined.split(c.as_str()).collect();
                        while parts.last() == Some(&"") {
                            parts.pop();
                        }
                        parts.into_iter().map(Value::str).collect()
                    };
                    source = unpack(&source);
                    if let Value::Array(da) = &dest {
                        dest = Value::array(unpack(da));
                    }
                }
                if let Some(p) = &self.knockout {
                    if let Some(i) = source.iter().position(|x| x.as_str() == Some(p.as_str())) {
                        source.remove(i);
                        dest = match dest {
                            Value::Array(_) => Value::array(vec![]),
                            Value::Hash(_) => Value::hash(Map::default()),
                            Value::Str(_) => Value::str(""),
                            _ => Value::Undef,
                        };
                    }
                }
                let Value::Array(da) = &dest else {
                    return self.overwrite(Value::array(source), dest);
                };
                let mut dest: Vec<Value> = (**da).clone();
                if let Some(p) = &self.knockout {
                    source.retain(
                        |x| match x.as_str().and_then(|s| s.strip_prefix(p.as_str())) {
                            Some(item) => {
                                dest.retain(|d| d.as_str() != Some(item) && d != x);
                                false
                            }
                            None => true,
                        },
                    );
                }
                let all_hashes = |v: &[Value]| v.iter().all(|x| matches!(x, Value::Hash(_)));
                let mut out = if self.hash_arrays && all_hashes(&source) && all_hashes(&dest) {
                    let mut list: Vec<Value> = dest
                        .iter()
                        .enumerate()
                        .map(|(i, d)| {
                            let s = source
                                .get(i)
                                .cloned()
                                .unwrap_or_else(|| Value::hash(Map::default()));
                            self.deep(s, d.clone())
                        })
                        .collect();
                    list.extend(source.iter().skip(dest.len()).cloned());
                    list
                } else {
                    uniq(dest.into_iter().chain(source))
                };
                if self.sort {
                    out.sort_by(order);
                }
                Value::array(out)
            }
            _ => self.overwrite(src, dest),
        }
    }

    /// The gem's `overwrite_unmergeables`: the higher value replaces the lower one, except that
    /// a knocked out string empties it.
    fn overwrite(&self, src: Value, _dest: Value) -> Value {
        let Some(p) = &self.knockout else {
            return src;
        };
        match &src {
            Value::Str(s) if s.starts_with(p.as_str()) => Value::str(""),
            Value::Array(a) => Value::array(
                a.iter()
                    .filter(|x| !x.as_str().is_some_and(|s| s.starts_with(p.as_str())))
                    .cloned()
                    .collect(),
            ),
            _ => src,
        }
    }
}

fn check_hash(which: &str, v: &Value) -> EResult<()> {
    let ok = match v {
        Value::Hash(h) => h
            .iter()
            .all(|(k, x)| matches!(k, Value::Str(_)) && is_data(x)),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(EvalError::plain(format!(
        "The {which} element of the merge has wrong type, expects a Hash value, got {}",
        shape(v)
    )))
}

fn flat(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(_) => troupe_values::value::flatten(std::slice::from_ref(v)),
        other => vec![other.clone()],
    }
}

fn uniq(items: impl Iterator<Item = Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for x in items {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

fn is_data(v: &Value) -> bool {
    troupe_values::types::Type::Data.is_instance(v)
}

/// Ruby's `sort!` order for the scalars Hiera data holds.
fn order(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => x.cmp(y),
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal),
        (Value::Int(x), Value::Float(y)) => (*x as f64)
            .partial_cmp(y)
            .unwrap_or(std::cmp::Ordering::Equal),
        (Value::Float(x), Value::Int(y)) => x
            .partial_cmp(&(*y as f64))
            .unwrap_or(std::cmp::Ordering::Equal),
        _ => std::cmp::Ordering::Equal,
    }
}

/// How Puppet names a found value in a merge type error: literal hashes and arrays are
/// `Struct` and `Tuple`.
fn shape(v: &Value) -> String {
    match v {
        Value::Hash(_) => "Struct".into(),
        Value::Array(_) => "Tuple".into(),
        other => troupe_values::types::infer_for_message(other),
    }
}
