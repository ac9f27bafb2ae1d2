//! Methods on Arrays (and Enumerable on Hashes).

use super::parse::Block;
use super::Ctx;
use crate::object::inspect;
use crate::object::ruby_class;
use crate::object::ruby_to_s as to_s;
use crate::object::truthy;
use troupe_values::error::EResult;
use troupe_values::value::Map;
use troupe_values::value::Value;
impl Ctx<'_> {
    pub(super) fn array_method(
        &mut self,
        r: &Value,
        a: &[Value],
        name: &str,
        args: Vec<Value>,
        blk: Option<&Block>,
    ) -> EResult<Value> {
        let bad = |s: &Self| {
            s.err(format!(
                "undefined method `{name}' for {}:Array",
                inspect(r)
            ))
        };
        Ok(match name {
            "each" => {
                let b = blk.ok_or_else(|| self.err("each without a block"))?;
                for x in a {
                    self.call_block(b, vec![x.clone()])?;
                }
                r.clone()
            }
            "each_index" => {
                let b = blk.ok_or_else(|| self.err("each_index without a block"))?;
                for i in 0..a.len() {
                    self.call_block(b, vec![Value::Int(i as i64)])?;
                }
                r.clone()
            }
            "each_with_index" => {
                let b = blk.ok_or_else(|| self.err("each_with_index without a block"))?;
                for (i, x) in a.iter().enumerate() {
                    self.call_block(b, vec![x.clone(), Value::Int(i as i64)])?;
                }
                r.clone()
            }
            "inject" | "reduce" if blk.is_some() => {
                let b = blk.ok_or_else(|| self.err("inject without a block"))?;
                let mut items = a.iter().cloned();
                let mut acc = match args.first() {
                    Some(init) => init.clone(),
                    None => items.next().unwrap_or(Value::Undef),
                };
                for x in items {
                    acc = self.call_block(b, vec![acc, x])?;
                }
                acc
            }
            "map" | "collect" | "select" | "filter" | "reject" | "find" | "detect" | "any?"
            | "all?" | "sort_by" | "flat_map" | "count" => {
                let Some(b) = blk else {
                    return Ok(match name {
                        // Without a block: an enumerator, which chains like the array.
                        "map" | "collect" => r.clone(),
                        "count" => Value::Int(if let Some(x) = args.first() {
                            a.iter().filter(|y| *y == x).count() as i64
                        } else {
                            a.len() as i64
                        }),
                        "any?" => Value::Bool(a.iter().any(truthy)),
                        "all?" => Value::Bool(a.iter().all(truthy)),
                        _ => return Err(bad(self)),
                    });
                };
                let mut out = Vec::new();
                let mut keyed = Vec::new();
                for x in a {
                    let v = self.call_block(b, vec![x.clone()])?;
                    match name {
                        "map" | "collect" => out.push(v),
                        "flat_map" => match &v {
                            Value::Array(xs) => out.extend(xs.iter().cloned()),
                            o => out.push(o.clone()),
                        },
                        "select" | "filter" => {
                            if truthy(&v) {
                                out.push(x.clone())
                            }
                        }
                        "reject" => {
                            if !truthy(&v) {
                                out.push(x.clone())
                            }
                        }
                        "find" | "detect" => {
                            if truthy(&v) {
                                return Ok(x.clone());
                            }
                        }
                        "any?" => {
                            if truthy(&v) {
                                return Ok(Value::Bool(true));
                            }
                        }
                        "all?" => {
                            if !truthy(&v) {
                                return Ok(Value::Bool(false));
                            }
                        }
                        "count" => {
                            if truthy(&v) {
                                out.push(x.clone())
                            }
                        }
                        _ => keyed.push((v, x.clone())),
                    }
                }
                match name {
                    "find" | "detect" => Value::Undef,
                    "any?" => Value::Bool(false),
                    "all?" => Value::Bool(true),
                    "count" => Value::Int(out.len() as i64),
                    "sort_by" => {
                        keyed.sort_by(|x, y| crate::object::sort_cmp(&x.0, &y.0));
                        Value::array(keyed.into_iter().map(|(_, x)| x).collect())
                    }
                    _ => Value::array(out),
                }
            }
            "join" => {
                let sep = args.first().map(to_s).unwrap_or_default();
                let flat = troupe_values::value::flatten(a);
                Value::str(flat.iter().map(to_s).collect::<Vec<_>>().join(&sep))
            }
            "sort" => {
                let mut v = a.to_vec();
                v.sort_by(crate::object::sort_cmp);
                Value::array(v)
            }
            "first" => match args.first() {
                Some(Value::Int(n)) => Value::array(a.iter().take(*n as usize).cloned().collect()),
                _ => a.first().cloned().unwrap_or(Value::Undef),
            },
            "last" => match args.first() {
                Some(Value::Int(n)) => {
                    Value::array(a[a.len().saturating_sub(*n as usize)..].to_vec())
                }
                _ => a.last().cloned().unwrap_or(Value::Undef),
            },
            "length" | "size" => Value::Int(a.len() as i64),
            "empty?" => Value::Bool(a.is_empty()),
            "include?" | "member?" => Value::Bool(args.first().is_some_and(|x| a.contains(x))),
            "uniq" => {
                let mut out: Vec<Value> = Vec::new();
                for x in a {
                    if !out.contains(x) {
                        out.push(x.clone());
                    }
                }
                Value::array(out)
            }
            "flatten" => Value::array(troupe_values::value::flatten(a)),
            "transpose" => {
                let rows: Vec<&Vec<Value>> = a
                    .iter()
                    .map(|x| match x {
                        Value::Array(row) => Ok(&**row),
                        other => Err(self.err(format!(
                            "no implicit conversion of {} into Array",
                            ruby_class(other)
                        ))),
                    })
                    .collect::<Result<_, _>>()?;
                let width = rows.first().map_or(0, |r| r.len());
                if let Some(bad) = rows.iter().find(|r| r.len() != width) {
                    return Err(self.err(format!(
                        "element size differs ({} should be {width})",
                        bad.len()
                    )));
                }
                Value::array(
                    (0..width)
                        .map(|c| Value::array(rows.iter().map(|r| r[c].clone()).collect()))
                        .collect(),
                )
            }
            "compact" => Value::array(a.iter().filter(|x| !x.is_undef()).cloned().collect()),
            "reverse" => Value::array(a.iter().rev().cloned().collect()),
            "min" => a
                .iter()
                .cloned()
                .min_by(crate::object::sort_cmp)
                .unwrap_or(Value::Undef),
            "max" => a
                .iter()
                .cloned()
                .max_by(crate::object::sort_cmp)
                .unwrap_or(Value::Undef),
            "to_a" | "entries" => r.clone(),
            "index" => a
                .iter()
                .position(|x| Some(x) == args.first())
                .map(|i| Value::Int(i as i64))
                .unwrap_or(Value::Undef),
            "each_slice" => {
                let n = match args.first() {
                    Some(Value::Int(n)) if *n > 0 => *n as usize,
                    _ => return Err(bad(self)),
                };
                let chunks: Vec<Value> = a.chunks(n).map(|c| Value::array(c.to_vec())).collect();
                match blk {
                    Some(b) => {
                        for c in chunks {
                            self.call_block(b, vec![c])?;
                        }
                        Value::Undef
                    }
                    None => Value::array(chunks),
                }
            }
            "to_h" => {
                let mut m = Map::new();
                for x in a {
                    if let Value::Array(p) = x {
                        m.insert(
                            p.first().cloned().unwrap_or(Value::Undef),
                            p.get(1).cloned().unwrap_or(Value::Undef),
                        );
                    }
                }
                Value::hash(m)
            }
            _ => return Err(bad(self)),
        })
    }
}
