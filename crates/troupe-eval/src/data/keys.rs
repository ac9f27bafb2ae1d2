//! Lookup keys and interpolation keys split into segments, and the values found dug into
//! with them, as Puppet's `SubLookup` does: segments separated by `.`, each trimmed, quoted
//! with `'` or `"` to hold dots, all-digit segments taken as integers; anything else is a
//! syntax error.

use std::sync::OnceLock;
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::Value;

/// One key segment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seg {
    Str(String),
    Int(i64),
}

impl Seg {
    pub(crate) fn text(&self) -> String {
        match self {
            Seg::Str(s) => s.clone(),
            Seg::Int(i) => i.to_string(),
        }
    }
}

fn pieces_re() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r#"\s*"[^"]+"\s*|\s*'[^']+'\s*|[^'".]+"#).expect("valid"))
}

fn int_re() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"^:?[+-]?[0-9]+$").expect("valid"))
}

/// Puppet's `split_key`; `Err(())` for a syntax error (the caller words it).
pub(crate) fn split_key(key: &str) -> Result<Vec<Seg>, ()> {
    if !key.contains(['\'', '"', '.']) {
        return Ok(vec![Seg::Str(key.to_string())]);
    }
    // Ruby's String#split with a capturing group: the text between matches and the matches.
    let mut fields: Vec<&str> = Vec::new();
    let mut pos = 0;
    for m in pieces_re().find_iter(key) {
        fields.push(&key[pos..m.start()]);
        fields.push(m.as_str());
        pos = m.end();
    }
    fields.push(&key[pos..]);
    while fields.last() == Some(&"") {
        fields.pop();
    }
    if fields.is_empty() || !fields.remove(0).is_empty() {
        return Err(());
    }
    let count = fields.len();
    if count == 0 {
        return Err(());
    }
    let segs: Vec<&str> = fields.into_iter().filter(|s| *s != ".").collect();
    if segs.len() * 2 != count + 1 {
        return Err(());
    }
    Ok(segs
        .into_iter()
        .map(|s| {
            let s = s.trim();
            if s.starts_with(['"', '\'']) && s.len() >= 2 {
                Seg::Str(s[1..s.len() - 1].to_string())
            } else if int_re().is_match(s) {
                s.trim_start_matches(':')
                    .parse::<i64>()
                    .map_or_else(|_| Seg::Str(s.to_string()), Seg::Int)
            } else {
                Seg::Str(s.to_string())
            }
        })
        .collect())
}

/// Ruby's class name for a value Puppet cannot dig into.
fn ruby_class(v: &Value) -> &'static str {
    match v {
        Value::Str(_) => "String",
        Value::Int(_) => "Integer",
        Value::Float(_) => "Float",
        Value::Bool(true) => "TrueClass",
        Value::Bool(false) => "FalseClass",
        Value::Array(_) => "Array",
        _ => "Object",
    }
}

/// Puppet's `sub_lookup`: `value` dug into with `segs`; `None` when a segment is not there.
pub(crate) fn sub_lookup(key: &str, segs: &[Seg], value: Value) -> EResult<Option<Value>> {
    let mut v = value;
    for seg in segs {
        if v.is_undef() {
            return Ok(None);
        }
        v = match (&v, seg) {
            (Value::Array(a), Seg::Int(i)) => match usize::try_from(*i).ok().and_then(|i| a.get(i)) {
                Some(x) => x.clone(),
                None => return Ok(None),
            },
            (Value::Hash(h), seg) => {
                let by_int = match seg {
                    Seg::Int(i) => h.get(&Value::Int(*i)),
                    Seg::Str(_) => None,
                };
                match by_int.or_else(|| h.get(&Value::str(seg.text().as_str()))) {
                    Some(x) => x.clone(),
                    None => return Ok(None),
                }
            }
            (other, seg) => {
                return Err(EvalError::plain(format!(
                    "Data Provider type mismatch: Got {} when a hash-like object was expected to access value using '{}' from key '{key}'",
                    ruby_class(other),
                    seg.text()
                )))
            }
        };
    }
    Ok(Some(v))
}
