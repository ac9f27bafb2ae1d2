//! Methods on Hashes (the rest of Enumerable goes through the Array of pairs).

use super::parse::Block;
use super::robj::{class_of, inspect};
use super::Ctx;
use crate::object::truthy;
use troupe_values::error::EResult;
use troupe_values::value::{Map, Value};

fn pair(k: &Value, v: &Value) -> Value {
    Value::array(vec![k.clone(), v.clone()])
}

impl Ctx<'_> {
    /// Calls a Hash block with a key and a value (`|k, v|`, or `|pair|`).
    fn kv_block(&mut self, b: &Block, k: &Value, v: &Value) -> EResult<Value> {
        if b.params.len() >= 2 {
            self.call_block(b, vec![k.clone(), v.clone()])
        } else {
            self.call_block(b, vec![pair(k, v)])
        }
    }

    pub(super) fn hash_method(
        &mut self,
        r: &Value,
        h: &Map,
        name: &str,
        args: Vec<Value>,
        blk: Option<&Block>,
    ) -> EResult<Value> {
        let pairs: Vec<Value> = h.iter().map(|(k, v)| pair(k, v)).collect();
        Ok(match (name, args.as_slice(), blk) {
            ("keys", [], None) => Value::array(h.keys().cloned().collect()),
            ("values", [], None) => Value::array(h.values().cloned().collect()),
            ("key?" | "has_key?" | "include?" | "member?", [k], None) => {
                Value::Bool(h.contains_key(k))
            }
            ("value?" | "has_value?", [v], None) => Value::Bool(h.values().any(|x| x == v)),
            ("key", [v], None) => h
                .iter()
                .find(|(_, x)| *x == v)
                .map_or(Value::Undef, |(k, _)| k.clone()),
            ("[]", [k], None) => h.get(k).cloned().unwrap_or(Value::Undef),
            ("fetch", [k, rest @ ..], _) if rest.len() <= 1 => match (h.get(k), rest, blk) {
                (Some(v), _, _) => v.clone(),
                (None, [d], _) => d.clone(),
                (None, [], Some(b)) => self.call_block(b, vec![k.clone()])?,
                _ => {
                    return Err(self.err(format!(
                        "{}key not found: {}",
                        super::RUBY_ERROR.replace("ArgumentError", "KeyError"),
                        inspect(k)
                    )))
                }
            },
            ("dig", [k, rest @ ..], None) => {
                let v = h.get(k).cloned().unwrap_or(Value::Undef);
                if rest.is_empty() || v.is_undef() {
                    v
                } else {
                    return self.method(Some(v), "dig", rest.to_vec(), None);
                }
            }
            ("values_at", ks, None) => Value::array(
                ks.iter()
                    .map(|k| h.get(k).cloned().unwrap_or(Value::Undef))
                    .collect(),
            ),
            ("empty?", [], None) => Value::Bool(h.is_empty()),
            ("size" | "length", [], None) => Value::Int(h.len() as i64),
            ("count", [], None) => Value::Int(h.len() as i64),
            ("merge" | "update" | "merge!", others, _) => {
                let mut m = h.clone();
                for o in others {
                    let Value::Hash(o) = o else {
                        return Err(self.err(format!(
                            "no implicit conversion of {} into Hash",
                            class_of(o)
                        )));
                    };
                    for (k, v) in o.iter() {
                        let v = match (m.get(k), blk) {
                            (Some(old), Some(b)) => {
                                self.call_block(b, vec![k.clone(), old.clone(), v.clone()])?
                            }
                            _ => v.clone(),
                        };
                        m.insert(k.clone(), v);
                    }
                }
                Value::hash(m)
            }
            ("store", [k, v], None) => {
                // The changed Hash is stored back by the caller; `store` answers the value.
                let _ = (k, v);
                return Err(self.unsupported("Hash#store outside a local"));
            }
            ("to_a" | "entries", [], None) => Value::array(pairs),
            ("to_h", [], None) => r.clone(),
            ("invert", [], None) => {
                Value::hash(h.iter().map(|(k, v)| (v.clone(), k.clone())).collect())
            }
            ("each" | "each_pair", [], Some(b)) => {
                for (k, v) in h.iter() {
                    self.kv_block(b, k, v)?;
                }
                r.clone()
            }
            ("each_key", [], Some(b)) => {
                for k in h.keys() {
                    self.call_block(b, vec![k.clone()])?;
                }
                r.clone()
            }
            ("each_value", [], Some(b)) => {
                for v in h.values() {
                    self.call_block(b, vec![v.clone()])?;
                }
                r.clone()
            }
            ("select" | "filter" | "reject" | "filter_map", [], Some(b))
                if name != "filter_map" =>
            {
                let mut m = Map::default();
                for (k, v) in h.iter() {
                    let t = truthy(&self.kv_block(b, k, v)?);
                    if t == (name != "reject") {
                        m.insert(k.clone(), v.clone());
                    }
                }
                Value::hash(m)
            }
            ("transform_values", [], Some(b)) => {
                let mut m = Map::default();
                for (k, v) in h.iter() {
                    m.insert(k.clone(), self.call_block(b, vec![v.clone()])?);
                }
                Value::hash(m)
            }
            ("transform_keys", [], Some(b)) => {
                let mut m = Map::default();
                for (k, v) in h.iter() {
                    m.insert(self.call_block(b, vec![k.clone()])?, v.clone());
                }
                Value::hash(m)
            }
            ("delete_if" | "reject!" | "select!" | "keep_if", [], Some(b)) => {
                let keep_true = matches!(name, "select!" | "keep_if");
                let mut m = Map::default();
                for (k, v) in h.iter() {
                    if truthy(&self.kv_block(b, k, v)?) == keep_true {
                        m.insert(k.clone(), v.clone());
                    }
                }
                Value::hash(m)
            }
            (
                "sum" | "count" | "min_by" | "max_by" | "sort_by" | "map" | "collect" | "flat_map"
                | "find" | "detect" | "any?" | "all?" | "none?" | "each_with_index" | "group_by"
                | "partition" | "sort" | "first" | "each_with_object" | "inject" | "reduce"
                | "to_set" | "min" | "max" | "filter_map" | "sum_by" | "find_all" | "zip" | "take"
                | "drop" | "each_slice" | "uniq",
                _,
                _,
            ) => {
                let arr = Value::array(pairs.clone());
                return self.array_method(&arr, &pairs, name, args, blk);
            }
            _ => {
                return Err(self.unsupported(format!(
                    "Hash#{name} ({} arguments{})",
                    args.len(),
                    if blk.is_some() { ", a block" } else { "" }
                )))
            }
        })
    }
}
