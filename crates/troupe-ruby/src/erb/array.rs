//! Methods on Arrays (and Enumerable on Hashes, through their pairs). Without a block, the
//! iterating methods answer an Enumerator (the object `Enumerator` with the method's name and
//! the items it yields), which `with_index`, `map`, `to_a` and the rest take further.

use super::compare::{ruby_cmp, ruby_eq};
use super::parse::Block;
use super::robj::{as_obj, class_of, inspect, obj, to_s};
use super::Ctx;
use crate::object::truthy;
use std::cmp::Ordering;
use troupe_values::error::EResult;
use troupe_values::value::{Map, Value};

fn int(v: Option<&Value>) -> Option<i64> {
    match v {
        Some(Value::Int(i)) => Some(*i),
        _ => None,
    }
}

impl Ctx<'_> {
    fn cmp_or_fail(&self, a: &Value, b: &Value) -> EResult<Ordering> {
        ruby_cmp(a, b).ok_or_else(|| {
            self.err(format!(
                "{}comparison of {} with {} failed",
                super::RUBY_ERROR,
                class_of(a),
                inspect(b)
            ))
        })
    }

    /// Sorts with a fallible comparison (a merge sort: the first failure is the error).
    fn sort_values(
        &mut self,
        items: Vec<Value>,
        cmp: &mut dyn FnMut(&mut Self, &Value, &Value) -> EResult<Ordering>,
    ) -> EResult<Vec<Value>> {
        if items.len() <= 1 {
            return Ok(items);
        }
        let mut items = items;
        let right = items.split_off(items.len() / 2);
        let l = self.sort_values(items, cmp)?;
        let r = self.sort_values(right, cmp)?;
        let mut out = Vec::with_capacity(l.len() + r.len());
        let (mut i, mut j) = (0, 0);
        while i < l.len() && j < r.len() {
            if cmp(self, &l[i], &r[j])? != Ordering::Greater {
                out.push(l[i].clone());
                i += 1;
            } else {
                out.push(r[j].clone());
                j += 1;
            }
        }
        out.extend_from_slice(&l[i..]);
        out.extend_from_slice(&r[j..]);
        Ok(out)
    }

    /// The block's answer as an ordering (`<=>`'s -1/0/1).
    fn block_order(&mut self, b: &Block, x: &Value, y: &Value) -> EResult<Ordering> {
        match self.call_block(b, vec![x.clone(), y.clone()])? {
            Value::Int(n) => Ok(n.cmp(&0)),
            other => Err(self.err(format!(
                "comparison of {} with {} failed",
                class_of(x),
                inspect(&other)
            ))),
        }
    }

    /// Items keyed by the block, for `sort_by`, `min_by`, `max_by`.
    fn keyed(&mut self, a: &[Value], b: &Block) -> EResult<Vec<Value>> {
        let mut out = Vec::new();
        for x in a {
            let k = self.call_block(b, vec![x.clone()])?;
            out.push(Value::array(vec![k, x.clone()]));
        }
        Ok(out)
    }

    pub(super) fn array_method(
        &mut self,
        r: &Value,
        a: &[Value],
        name: &str,
        args: Vec<Value>,
        blk: Option<&Block>,
    ) -> EResult<Value> {
        let enumerator =
            |items: Vec<Value>| obj("Enumerator", vec![Value::str(name), Value::array(items)]);
        let Some(b) = blk else {
            return self.array_plain(r, a, name, args, &enumerator);
        };
        let arg0 = args.first().cloned();
        Ok(match (name, args.len()) {
            ("each", 0) => {
                for x in a {
                    self.call_block(b, vec![x.clone()])?;
                }
                r.clone()
            }
            ("each_index", 0) => {
                for i in 0..a.len() {
                    self.call_block(b, vec![Value::Int(i as i64)])?;
                }
                r.clone()
            }
            ("each_with_index" | "each_with_object" | "map_with_index", _)
                if name != "each_with_object" || args.len() == 1 =>
            {
                let mut memo = arg0.unwrap_or(Value::Undef);
                let mut out = Vec::new();
                for (i, x) in a.iter().enumerate() {
                    if name == "each_with_object" {
                        // The memo is changed in place by the block: it is the block's
                        // second parameter, read back after each call.
                        let p = b.params.get(1).cloned().unwrap_or_default();
                        self.locals.push(Default::default());
                        let v = self.call_block_keep(b, vec![x.clone(), memo.clone()], &p)?;
                        self.locals.pop();
                        memo = v;
                    } else {
                        out.push(self.call_block(b, vec![x.clone(), Value::Int(i as i64)])?);
                    }
                }
                match name {
                    "each_with_object" => memo,
                    "map_with_index" => Value::array(out),
                    _ => r.clone(),
                }
            }
            ("reverse_each", 0) => {
                for x in a.iter().rev() {
                    self.call_block(b, vec![x.clone()])?;
                }
                r.clone()
            }
            ("inject" | "reduce", 0 | 1) => {
                let mut items = a.iter().cloned();
                let mut acc = match arg0 {
                    Some(init) => init,
                    None => items.next().unwrap_or(Value::Undef),
                };
                for x in items {
                    acc = self.call_block(b, vec![acc, x])?;
                }
                acc
            }
            ("sort", 0) => {
                let v = self.sort_values(a.to_vec(), &mut |s, x, y| s.block_order(b, x, y))?;
                Value::array(v)
            }
            ("sort_by" | "min_by" | "max_by", 0) => {
                let keyed = self.keyed(a, b)?;
                let sorted = self.sort_values(keyed, &mut |s, x, y| {
                    let (Value::Array(x), Value::Array(y)) = (x, y) else {
                        return Ok(Ordering::Equal);
                    };
                    s.cmp_or_fail(&x[0], &y[0])
                })?;
                let items: Vec<Value> = sorted
                    .into_iter()
                    .map(|p| match &p {
                        Value::Array(p) => p[1].clone(),
                        _ => Value::Undef,
                    })
                    .collect();
                match name {
                    "sort_by" => Value::array(items),
                    // Ruby's min_by/max_by keep the first of equal keys.
                    "min_by" => items.first().cloned().unwrap_or(Value::Undef),
                    _ => {
                        let keyed = self.keyed(a, b)?;
                        let mut best: Option<(Value, Value)> = None;
                        for p in keyed {
                            let Value::Array(p) = &p else { continue };
                            let better = match &best {
                                None => true,
                                Some((k, _)) => self.cmp_or_fail(&p[0], k)? == Ordering::Greater,
                            };
                            if better {
                                best = Some((p[0].clone(), p[1].clone()));
                            }
                        }
                        best.map_or(Value::Undef, |(_, x)| x)
                    }
                }
            }
            ("min" | "max", 0) => {
                let v = self.sort_values(a.to_vec(), &mut |s, x, y| s.block_order(b, x, y))?;
                let pick = if name == "min" { v.first() } else { v.last() };
                pick.cloned().unwrap_or(Value::Undef)
            }
            (
                "map" | "collect" | "flat_map" | "collect_concat" | "filter_map" | "select"
                | "filter" | "find_all" | "reject" | "find" | "detect" | "any?" | "all?" | "none?"
                | "count" | "find_index" | "index" | "partition" | "group_by" | "uniq" | "sum"
                | "take_while" | "drop_while" | "each_slice" | "each_cons" | "tally_by",
                _,
            ) => return self.array_block(r, a, name, args, b),
            _ => {
                return Err(self.unsupported(format!(
                    "Array#{name} with a block ({} arguments)",
                    args.len()
                )))
            }
        })
    }

    /// Calls a block and answers the value its parameter `p` holds afterwards.
    fn call_block_keep(&mut self, b: &Block, args: Vec<Value>, p: &str) -> EResult<Value> {
        let memo = args.get(1).cloned().unwrap_or(Value::Undef);
        // Run the body with the parameters bound in a frame we can read back.
        let mut frame = std::collections::HashMap::new();
        match b.params.first() {
            Some(first) if first.starts_with('(') => {
                let inner = first.trim_start_matches('(').trim_end_matches(')');
                for (j, q) in inner.split(',').enumerate() {
                    let x = match &args[0] {
                        Value::Array(a) => a.get(j).cloned().unwrap_or(Value::Undef),
                        _ => Value::Undef,
                    };
                    frame.insert(q.to_string(), x);
                }
            }
            Some(first) => {
                frame.insert(first.clone(), args[0].clone());
            }
            None => {}
        }
        frame.insert(p.to_string(), memo);
        self.locals.push(frame);
        let r = self.run(&b.body);
        let memo = self.var(p).unwrap_or(Value::Undef);
        self.locals.pop();
        match r {
            Ok(_) => Ok(memo),
            Err(e) if matches!(e.flow, Some(troupe_values::error::Flow::Next(_))) => Ok(memo),
            Err(e) => Err(e),
        }
    }

    fn array_block(
        &mut self,
        r: &Value,
        a: &[Value],
        name: &str,
        args: Vec<Value>,
        b: &Block,
    ) -> EResult<Value> {
        let mut out = Vec::new();
        let mut rest = Vec::new();
        let mut groups = Map::default();
        let mut keys: Vec<Value> = Vec::new();
        let mut total = args.first().cloned().unwrap_or(Value::Int(0));
        if matches!(name, "each_slice" | "each_cons") {
            let n = int(args.first())
                .filter(|n| *n > 0)
                .ok_or_else(|| self.err("invalid size"))? as usize;
            let parts: Vec<Value> = if name == "each_slice" {
                a.chunks(n).map(|c| Value::array(c.to_vec())).collect()
            } else {
                a.windows(n).map(|c| Value::array(c.to_vec())).collect()
            };
            for p in parts {
                self.call_block(b, vec![p])?;
            }
            return Ok(if name == "each_slice" {
                Value::Undef
            } else {
                r.clone()
            });
        }
        let mut dropping = true;
        for (i, x) in a.iter().enumerate() {
            let v = self.call_block(b, vec![x.clone()])?;
            match name {
                "map" | "collect" => out.push(v),
                "flat_map" | "collect_concat" => match &v {
                    Value::Array(xs) => out.extend(xs.iter().cloned()),
                    o => out.push(o.clone()),
                },
                "filter_map" if truthy(&v) => out.push(v),
                "select" | "filter" | "find_all" | "count" if truthy(&v) => out.push(x.clone()),
                "reject" if !truthy(&v) => out.push(x.clone()),
                "partition" => {
                    if truthy(&v) {
                        out.push(x.clone())
                    } else {
                        rest.push(x.clone())
                    }
                }
                "find" | "detect" if truthy(&v) => return Ok(x.clone()),
                "find_index" | "index" if truthy(&v) => return Ok(Value::Int(i as i64)),
                "any?" if truthy(&v) => return Ok(Value::Bool(true)),
                "all?" if !truthy(&v) => return Ok(Value::Bool(false)),
                "none?" if truthy(&v) => return Ok(Value::Bool(false)),
                "take_while" => {
                    if !truthy(&v) {
                        break;
                    }
                    out.push(x.clone())
                }
                "drop_while" => {
                    if dropping && truthy(&v) {
                        continue;
                    }
                    dropping = false;
                    out.push(x.clone())
                }
                "group_by" => {
                    let mut g = match groups.get(&v) {
                        Some(Value::Array(g)) => (**g).clone(),
                        _ => vec![],
                    };
                    g.push(x.clone());
                    groups.insert(v, Value::array(g));
                }
                "uniq"
                    if !keys
                        .iter()
                        .any(|k| ruby_eq(k, &v) && class_of(k) == class_of(&v)) =>
                {
                    keys.push(v);
                    out.push(x.clone());
                }
                "sum" => total = self.binop("+", total, v)?,
                _ => {}
            }
        }
        Ok(match name {
            "find" | "detect" | "find_index" | "index" => Value::Undef,
            "any?" => Value::Bool(false),
            "all?" | "none?" => Value::Bool(true),
            "count" => Value::Int(out.len() as i64),
            "partition" => Value::array(vec![Value::array(out), Value::array(rest)]),
            "group_by" => Value::hash(groups),
            "sum" => total,
            _ => Value::array(out),
        })
    }

    /// Array methods called without a block.
    fn array_plain(
        &mut self,
        r: &Value,
        a: &[Value],
        name: &str,
        args: Vec<Value>,
        enumerator: &dyn Fn(Vec<Value>) -> Value,
    ) -> EResult<Value> {
        let n0 = int(args.first());
        Ok(match (name, args.as_slice()) {
            (
                "each" | "map" | "collect" | "select" | "filter" | "reject" | "flat_map"
                | "each_entry",
                [],
            ) => enumerator(a.to_vec()),
            ("each_with_index", []) => enumerator(
                a.iter()
                    .enumerate()
                    .map(|(i, x)| Value::array(vec![x.clone(), Value::Int(i as i64)]))
                    .collect(),
            ),
            ("each_slice" | "each_cons", [Value::Int(n)]) if *n > 0 => {
                let n = *n as usize;
                let parts: Vec<Value> = if name == "each_slice" {
                    a.chunks(n).map(|c| Value::array(c.to_vec())).collect()
                } else {
                    a.windows(n).map(|c| Value::array(c.to_vec())).collect()
                };
                obj("Enumerator", vec![Value::str("each"), Value::array(parts)])
            }
            ("join", [] | [_]) => {
                let sep = args.first().map(to_s).unwrap_or_default();
                let flat = troupe_values::value::flatten(a);
                Value::str(flat.iter().map(to_s).collect::<Vec<_>>().join(&sep))
            }
            ("sort", []) => {
                Value::array(self.sort_values(a.to_vec(), &mut |s, x, y| s.cmp_or_fail(x, y))?)
            }
            ("min" | "max", []) => {
                let v = self.sort_values(a.to_vec(), &mut |s, x, y| s.cmp_or_fail(x, y))?;
                let pick = if name == "min" { v.first() } else { v.last() };
                pick.cloned().unwrap_or(Value::Undef)
            }
            ("minmax", []) => {
                let v = self.sort_values(a.to_vec(), &mut |s, x, y| s.cmp_or_fail(x, y))?;
                Value::array(vec![
                    v.first().cloned().unwrap_or(Value::Undef),
                    v.last().cloned().unwrap_or(Value::Undef),
                ])
            }
            ("sum", [] | [_]) => {
                let mut total = args.first().cloned().unwrap_or(Value::Int(0));
                for x in a {
                    total = self.binop("+", total, x.clone())?;
                }
                total
            }
            ("inject" | "reduce", [op] | [_, op]) if super::robj::symbol_name(op).is_some() => {
                let op = to_s(op);
                let mut items = a.iter().cloned();
                let mut acc = if args.len() == 2 {
                    args[0].clone()
                } else {
                    items.next().unwrap_or(Value::Undef)
                };
                for x in items {
                    acc = self.method(Some(acc), &op, vec![x], None)?;
                }
                acc
            }
            ("first", []) => a.first().cloned().unwrap_or(Value::Undef),
            ("last", []) => a.last().cloned().unwrap_or(Value::Undef),
            ("first" | "take", [Value::Int(n)]) if *n >= 0 => {
                Value::array(a.iter().take(*n as usize).cloned().collect())
            }
            ("last", [Value::Int(n)]) if *n >= 0 => {
                Value::array(a[a.len().saturating_sub(*n as usize)..].to_vec())
            }
            ("drop", [Value::Int(n)]) if *n >= 0 => {
                Value::array(a.iter().skip(*n as usize).cloned().collect())
            }
            ("length" | "size", []) => Value::Int(a.len() as i64),
            ("count", []) => Value::Int(a.len() as i64),
            ("count", [x]) => Value::Int(a.iter().filter(|y| ruby_eq(y, x)).count() as i64),
            ("empty?", []) => Value::Bool(a.is_empty()),
            ("any?", []) => Value::Bool(a.iter().any(truthy)),
            ("all?", []) => Value::Bool(a.iter().all(truthy)),
            ("none?", []) => Value::Bool(!a.iter().any(truthy)),
            ("include?" | "member?", [x]) => Value::Bool(a.iter().any(|y| ruby_eq(y, x))),
            ("index" | "find_index", [x]) => a
                .iter()
                .position(|y| ruby_eq(y, x))
                .map_or(Value::Undef, |i| Value::Int(i as i64)),
            ("uniq", []) => {
                let mut out: Vec<Value> = Vec::new();
                for x in a {
                    if !out.contains(x) {
                        out.push(x.clone());
                    }
                }
                Value::array(out)
            }
            ("flatten", []) => Value::array(troupe_values::value::flatten(a)),
            ("flatten", [Value::Int(d)]) => {
                let mut v = a.to_vec();
                for _ in 0..(*d).max(0) {
                    let mut next = Vec::new();
                    for x in v {
                        match &x {
                            Value::Array(xs) => next.extend(xs.iter().cloned()),
                            _ => next.push(x.clone()),
                        }
                    }
                    v = next;
                }
                Value::array(v)
            }
            ("compact", []) => Value::array(a.iter().filter(|x| !x.is_undef()).cloned().collect()),
            ("reverse", []) => Value::array(a.iter().rev().cloned().collect()),
            ("rotate", [] | [_]) => {
                let k = n0.unwrap_or(1);
                if a.is_empty() {
                    r.clone()
                } else {
                    let k = k.rem_euclid(a.len() as i64) as usize;
                    Value::array(a[k..].iter().chain(a[..k].iter()).cloned().collect())
                }
            }
            ("to_a" | "entries" | "to_ary", []) => r.clone(),
            ("zip", others) => {
                let others: Vec<&[Value]> = others
                    .iter()
                    .map(|o| match o {
                        Value::Array(x) => Ok(&x[..]),
                        o => Err(self.err(format!(
                            "wrong argument type {} (must respond to :each)",
                            class_of(o)
                        ))),
                    })
                    .collect::<Result<_, _>>()?;
                Value::array(
                    a.iter()
                        .enumerate()
                        .map(|(i, x)| {
                            let mut row = vec![x.clone()];
                            row.extend(
                                others
                                    .iter()
                                    .map(|o| o.get(i).cloned().unwrap_or(Value::Undef)),
                            );
                            Value::array(row)
                        })
                        .collect(),
                )
            }
            ("values_at", idx) => {
                let mut out = Vec::new();
                for i in idx {
                    out.push(self.index(r, std::slice::from_ref(i))?);
                }
                Value::array(out)
            }
            ("dig", [i, rest @ ..]) => {
                let v = self.index(r, std::slice::from_ref(i))?;
                if rest.is_empty() || v.is_undef() {
                    v
                } else {
                    return self.method(Some(v), "dig", rest.to_vec(), None);
                }
            }
            ("tally", []) => {
                let mut m = Map::default();
                for x in a {
                    let n = match m.get(x) {
                        Some(Value::Int(n)) => *n,
                        _ => 0,
                    };
                    m.insert(x.clone(), Value::Int(n + 1));
                }
                Value::hash(m)
            }
            ("transpose", []) => {
                let rows: Vec<&Vec<Value>> = a
                    .iter()
                    .map(|x| match x {
                        Value::Array(row) => Ok(&**row),
                        other => Err(self.err(format!(
                            "no implicit conversion of {} into Array",
                            class_of(other)
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
            ("to_h", []) => {
                let mut m = Map::default();
                for x in a {
                    match x {
                        Value::Array(p) if p.len() == 2 => {
                            m.insert(p[0].clone(), p[1].clone());
                        }
                        o => {
                            return Err(self.err(format!(
                                "wrong element type {} (expected array)",
                                class_of(o)
                            )))
                        }
                    }
                }
                Value::hash(m)
            }
            ("[]" | "slice", _) => return self.index(r, &args),
            ("+" | "-" | "*" | "&" | "|" | "<=>" | "==", [o]) => {
                return self.binop(name, r.clone(), o.clone())
            }
            ("to_json", []) => return self.json_method(r, "to_json", &args),
            _ => {
                return Err(self.unsupported(format!(
                    "{}#{name} ({} arguments, no block)",
                    class_of(r),
                    args.len()
                )))
            }
        })
    }

    /// A method on an Enumerator (an iterating method called without a block).
    pub(super) fn enumerator_method(
        &mut self,
        f: &[Value],
        name: &str,
        args: Vec<Value>,
        blk: Option<&Block>,
    ) -> EResult<Value> {
        let (Some(Value::Str(kind)), Some(Value::Array(items))) = (f.first(), f.get(1)) else {
            return Err(self.unsupported("Enumerator"));
        };
        let items_v = Value::array((**items).clone());
        match (name, blk) {
            ("with_index" | "each_with_index", Some(b)) => {
                let off = int(args.first()).unwrap_or(0);
                let mut out = Vec::new();
                for (i, x) in items.iter().enumerate() {
                    let v = self.call_block(b, vec![x.clone(), Value::Int(i as i64 + off)])?;
                    match &**kind {
                        "map" | "collect" | "flat_map" => out.push(v),
                        "select" | "filter" if truthy(&v) => out.push(x.clone()),
                        "reject" if !truthy(&v) => out.push(x.clone()),
                        _ => {}
                    }
                }
                Ok(match &**kind {
                    "each" | "each_entry" | "each_with_index" => items_v,
                    _ => Value::array(out),
                })
            }
            ("size" | "count", None) if args.is_empty() => Ok(Value::Int(items.len() as i64)),
            _ => {
                if let Some(("Enumerator", _)) = as_obj(&items_v) {
                    return Err(self.unsupported("nested Enumerator"));
                }
                self.array_method(&items_v, items, name, args, blk)
            }
        }
    }
}
