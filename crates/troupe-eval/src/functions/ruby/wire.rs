//! Puppet values to and from the rich data JSON the Ruby helper speaks: plain JSON where it
//! can be, `{"__ptype": ..., "__pvalue": ...}` for the rest; types travel as their source
//! text (`{"__ptype":"Type","__pvalue":"Optional[String[1]]"}`), which each side parses.

use crate::functions::host::Host;
use serde_json::{json, Map as JMap, Value as J};
use std::rc::Rc;
use troupe_values::error::{EResult, EvalError};
use troupe_values::semver::{SemVer, SemVerRange};
use troupe_values::value::{Map, Regexp, Value};

/// A value as the helper decodes it.
pub(crate) fn encode(v: &Value) -> J {
    troupe_values::limits::grow(|| match v {
        Value::Undef => J::Null,
        Value::Default => json!({"__ptype": "Default"}),
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Str(s) => J::String(s.to_string()),
        Value::Regex(r) => json!({"__ptype": "Regexp", "__pvalue": r.source}),
        Value::Object(o) => crate::catalog::object_json::object_to_json(o),
        Value::Array(a) => J::Array(a.iter().map(encode).collect()),
        Value::Hash(h)
            if h.keys()
                .all(|k| matches!(k, Value::Str(s) if &**s != "__ptype")) =>
        {
            let mut m = JMap::new();
            for (k, v) in h.iter() {
                m.insert(k.to_display(), encode(v));
            }
            J::Object(m)
        }
        Value::Hash(h) => {
            let flat: Vec<J> = h.iter().flat_map(|(k, v)| [encode(k), encode(v)]).collect();
            json!({"__ptype": "Hash", "__pvalue": flat})
        }
        Value::Type(t) => json!({"__ptype": "Type", "__pvalue": t.to_string()}),
        Value::Sensitive(inner) => json!({"__ptype": "Sensitive", "__pvalue": encode(inner)}),
        Value::Deferred(d) => json!({
            "__ptype": "Deferred",
            "name": d.0,
            "arguments": d.1.iter().map(encode).collect::<Vec<_>>(),
        }),
        Value::Timestamp(_) | Value::Timespan(_) | Value::SemVer(_) | Value::SemVerRange(_) => {
            json!({"__ptype": troupe_values::value::type_name_of(v), "__pvalue": v.to_display()})
        }
        Value::Binary(_) => json!({"__ptype": "Binary", "__pvalue": v.to_display()}),
    })
}

/// Arguments, as a JSON array.
pub(crate) fn encode_all(args: &[Value]) -> J {
    J::Array(args.iter().map(encode).collect())
}

fn bad(what: &str, text: &str, e: impl std::fmt::Display) -> EvalError {
    EvalError::new(format!(
        "the Ruby helper returned a {what} troupe cannot read ({text:?}): {e}"
    ))
}

/// A value the helper sent.
pub(crate) fn decode(host: &mut dyn Host, j: &J) -> EResult<Value> {
    troupe_values::limits::grow(|| decode_inner(host, j))
}

fn decode_inner(host: &mut dyn Host, j: &J) -> EResult<Value> {
    Ok(match j {
        J::Null => Value::Undef,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::str(s.as_str()),
        J::Array(a) => Value::array(a.iter().map(|x| decode(host, x)).collect::<EResult<_>>()?),
        J::Object(o) => match o.get("__ptype").and_then(J::as_str) {
            None => {
                let mut m = Map::with_capacity_and_hasher(o.len(), Default::default());
                for (k, v) in o {
                    m.insert(Value::str(k.as_str()), decode(host, v)?);
                }
                Value::hash(m)
            }
            Some(t) => decode_rich(host, t, o)?,
        },
    })
}

fn decode_rich(host: &mut dyn Host, t: &str, o: &JMap<String, J>) -> EResult<Value> {
    let pv = o.get("__pvalue").unwrap_or(&J::Null);
    let text = pv.as_str().unwrap_or("");
    Ok(match t {
        "Default" => Value::Default,
        "Sensitive" => Value::Sensitive(Rc::new(decode(host, pv)?)),
        "Regexp" => Value::Regex(Rc::new(
            Regexp::new(text).map_err(|e| bad("regexp", text, e))?,
        )),
        "Hash" => {
            let flat = pv.as_array().cloned().unwrap_or_default();
            let mut m = Map::with_capacity_and_hasher(flat.len() / 2, Default::default());
            for pair in flat.chunks(2) {
                let k = decode(host, &pair[0])?;
                let v = pair.get(1).map_or(Ok(Value::Undef), |v| decode(host, v))?;
                m.insert(k, v);
            }
            Value::hash(m)
        }
        "Timestamp" => {
            let ns = troupe_values::time::parse_timestamp(text, None, None)
                .map_err(|e| bad("Timestamp", text, e))?;
            Value::Timestamp(i64::try_from(ns).map_err(|e| bad("Timestamp", text, e))?)
        }
        "Timespan" => {
            let ns = troupe_values::time::parse_timespan(text, None)
                .map_err(|e| bad("Timespan", text, e))?;
            Value::Timespan(i64::try_from(ns).map_err(|e| bad("Timespan", text, e))?)
        }
        "Binary" => Value::Binary(
            troupe_values::value::base64_decode(text, false)
                .ok_or_else(|| bad("Binary", text, "not base64"))?
                .into(),
        ),
        "SemVer" => Value::SemVer(Rc::new(
            SemVer::parse(text).map_err(|e| bad("SemVer", text, e))?,
        )),
        "SemVerRange" => Value::SemVerRange(Rc::new(
            SemVerRange::parse(text).map_err(|e| bad("SemVerRange", text, e))?,
        )),
        "Type" => Value::Type(Rc::new(host.parse_type(text)?)),
        "Deferred" => {
            let name = o.get("name").and_then(J::as_str).unwrap_or("").to_string();
            let args = match o.get("arguments") {
                Some(J::Array(a)) => a.iter().map(|x| decode(host, x)).collect::<EResult<_>>()?,
                _ => Vec::new(),
            };
            Value::Deferred(Rc::new((name, args)))
        }
        other => return Err(bad("value", other, "unknown rich data type")),
    })
}
