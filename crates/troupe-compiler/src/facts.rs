//! An agent's facts, read from JSON text straight into values: the master reads them on
//! every catalog request, and building serde_json's tree first, then converting it, cost
//! as much as a small compile.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use troupe_eval::value::{Map, Value};

/// Reads `FACTS.json`: the agent's facts object (`{"name","values",...}`) or a flat map.
pub fn load_facts(text: &str) -> Result<Value, String> {
    let mut d = serde_json::Deserializer::from_str(text);
    let j = ValueSeed
        .deserialize(&mut d)
        .and_then(|v| d.end().map(|()| v))
        .map_err(|e| format!("facts are not valid JSON: {e}"))?;
    let values = match &j {
        Value::Hash(h) => match h.get(&Value::str("values")) {
            Some(v @ Value::Hash(_)) => v.clone(),
            _ => j,
        },
        _ => j,
    };
    if !matches!(values, Value::Hash(_)) {
        return Err("facts must be a JSON object".into());
    }
    Ok(values)
}

/// JSON to a value as `troupe_values::value::from_json` converts it: null is undef, an
/// integer beyond i64 a float, a repeated key keeps its first place and its last value.
struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Undef)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        Ok(i64::try_from(u).map_or(Value::Float(u as f64), Value::Int))
    }
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(ValueSeed)? {
            out.push(v);
        }
        Ok(Value::array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut m = Map::with_capacity_and_hasher(map.size_hint().unwrap_or(0), Default::default());
        while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let v = map.next_value_seed(ValueSeed)?;
            m.insert(Value::str(k.as_ref()), v);
        }
        Ok(Value::hash(m))
    }
}

#[cfg(test)]
mod tests {
    use super::load_facts;
    use troupe_eval::value::from_json;

    #[test]
    fn reads_facts_as_from_json_converts_them() {
        let texts = [
            r#"{"name":"n","values":{"a":1,"b":[true,null,1.5,"x\u00e9"],"c":{"d":18446744073709551615,"e":-3},"a":2}}"#,
            r#"{"os":{"family":"Debian"},"values":"flat","big":1e300,"neg":-0.0}"#,
        ];
        for t in texts {
            let j: serde_json::Value = serde_json::from_str(t).expect("valid JSON");
            let values = match j.get("values") {
                Some(v) if v.is_object() => v.clone(),
                _ => j,
            };
            let got = load_facts(t).expect("facts");
            let want = from_json(&values);
            assert_eq!(format!("{got:?}"), format!("{want:?}"));
        }
    }

    #[test]
    fn refuses_what_is_not_a_facts_object() {
        assert_eq!(
            load_facts("[1]").expect_err("refused"),
            "facts must be a JSON object"
        );
        assert!(load_facts("{\"a\":1} x")
            .expect_err("refused")
            .starts_with("facts are not valid JSON: trailing characters"));
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(load_facts(&deep)
            .expect_err("refused")
            .contains("recursion limit exceeded"));
    }
}
