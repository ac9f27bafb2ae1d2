//! Methods that change their receiver in place (`push`, `delete`, `merge!`, `gsub!`, ...).
//! Values are immutable here: the changed copy is stored back where the receiver lives (a
//! local, or an instance variable the template assigned), and the call answers what Ruby's
//! does: bang methods that change nothing answer nil.

use super::parse::{Block, Ex};
use super::Ctx;
use troupe_values::error::EResult;
use troupe_values::value::Value;

/// Bang methods that answer nil when they change nothing (the others answer the receiver).
const NIL_WHEN_UNCHANGED: &[&str] = &[
    "gsub!",
    "sub!",
    "strip!",
    "lstrip!",
    "rstrip!",
    "chomp!",
    "chop!",
    "squeeze!",
    "upcase!",
    "downcase!",
    "capitalize!",
    "swapcase!",
    "tr!",
    "delete!",
    "compact!",
    "uniq!",
    "flatten!",
    "select!",
    "filter!",
    "reject!",
    "succ!",
    "next!",
];

/// Bang methods that always answer the receiver; with [`NIL_WHEN_UNCHANGED`], every bang
/// method whose non-bang form computes the new receiver.
const RECEIVER_ANSWERING: &[&str] = &[
    "sort!",
    "sort_by!",
    "map!",
    "collect!",
    "reverse!",
    "merge!",
    "transform_values!",
    "transform_keys!",
    "rotate!",
];

impl Ctx<'_> {
    /// Calls `name` on `r` (the value of `recv`), storing a changed receiver back.
    pub(super) fn call_on(
        &mut self,
        recv: &Ex,
        r: Value,
        name: &str,
        args: Vec<Value>,
        blk: Option<&Block>,
    ) -> EResult<Value> {
        match self.mutation(&r, name, &args, blk)? {
            Some((ret, new)) => {
                self.store_place(recv, new);
                Ok(ret)
            }
            None => self.method_with_break(Some(r), name, args, blk),
        }
    }

    /// Stores a changed receiver where `recv` reads it from.
    fn store_place(&mut self, recv: &Ex, new: Value) {
        match recv {
            Ex::Var(n) | Ex::LVar(n) if self.var(n).is_some() => self.mutated_local(n, new),
            Ex::IVar(n) => {
                self.ivars.insert(n.clone(), new);
            }
            _ => {}
        }
    }

    /// What an in-place method answers and the receiver it leaves, or None when `name` does
    /// not change its receiver.
    fn mutation(
        &mut self,
        r: &Value,
        name: &str,
        args: &[Value],
        blk: Option<&Block>,
    ) -> EResult<Option<(Value, Value)>> {
        if NIL_WHEN_UNCHANGED.contains(&name) || RECEIVER_ANSWERING.contains(&name) {
            let plain = name.trim_end_matches('!');
            let new = self.method_with_break(Some(r.clone()), plain, args.to_vec(), blk)?;
            let ret = if NIL_WHEN_UNCHANGED.contains(&name) && new == *r {
                Value::Undef
            } else {
                new.clone()
            };
            return Ok(Some((ret, new)));
        }
        let both = |v: Value| Some((v.clone(), v));
        Ok(match (r, name, args) {
            (Value::Str(s), "<<" | "concat", _) => {
                let mut t = s.to_string();
                for a in args {
                    t.push_str(&super::robj::to_s(a));
                }
                both(Value::str(t))
            }
            (Value::Str(s), "prepend", _) => {
                let mut t: String = args.iter().map(super::robj::to_s).collect();
                t.push_str(s);
                both(Value::str(t))
            }
            (Value::Str(_), "replace", [Value::Str(t)]) => both(Value::Str(t.clone())),
            (Value::Str(_), "clear", []) => both(Value::str("")),
            (Value::Array(a), "push" | "append" | "<<", _) => {
                let mut v = (**a).clone();
                v.extend(args.iter().cloned());
                both(Value::array(v))
            }
            (Value::Array(a), "unshift" | "prepend", _) => {
                let mut v = args.to_vec();
                v.extend(a.iter().cloned());
                both(Value::array(v))
            }
            (Value::Array(a), "concat", _) => {
                let mut v = (**a).clone();
                for x in args {
                    match x {
                        Value::Array(b) => v.extend(b.iter().cloned()),
                        _ => return Err(self.err("no implicit conversion into Array")),
                    }
                }
                both(Value::array(v))
            }
            (Value::Array(a), "pop", []) => {
                let mut v = (**a).clone();
                let x = v.pop().unwrap_or(Value::Undef);
                Some((x, Value::array(v)))
            }
            (Value::Array(a), "shift", []) => {
                let mut v = (**a).clone();
                let x = if v.is_empty() {
                    Value::Undef
                } else {
                    v.remove(0)
                };
                Some((x, Value::array(v)))
            }
            (Value::Array(a), "delete", [x]) => {
                let found = a.contains(x);
                let kept: Vec<Value> = a.iter().filter(|y| *y != x).cloned().collect();
                Some((
                    if found { x.clone() } else { Value::Undef },
                    Value::array(kept),
                ))
            }
            (Value::Array(a), "delete_at", [Value::Int(i)]) => {
                let mut v = (**a).clone();
                let i = if *i < 0 { v.len() as i64 + i } else { *i };
                if i >= 0 && (i as usize) < v.len() {
                    let x = v.remove(i as usize);
                    Some((x, Value::array(v)))
                } else {
                    Some((Value::Undef, r.clone()))
                }
            }
            (Value::Array(_) | Value::Hash(_), "delete_if" | "keep_if", []) => {
                let plain = if name == "delete_if" {
                    "reject"
                } else {
                    "select"
                };
                let new = self.method_with_break(Some(r.clone()), plain, vec![], blk)?;
                both(new)
            }
            (Value::Array(_), "clear", []) => both(Value::array(vec![])),
            (Value::Array(_), "replace", [Value::Array(b)]) => both(Value::Array(b.clone())),
            (Value::Hash(h), "store", [k, v]) => {
                let mut m = (**h).clone();
                m.insert(k.clone(), v.clone());
                Some((v.clone(), Value::hash(m)))
            }
            (Value::Hash(h), "delete", [k]) => {
                let mut m = (**h).clone();
                let x = m.shift_remove(k).unwrap_or(Value::Undef);
                Some((x, Value::hash(m)))
            }
            (Value::Hash(_), "update", _) => {
                let new = self.method(Some(r.clone()), "merge", args.to_vec(), blk)?;
                both(new)
            }
            (Value::Hash(_), "clear", []) => both(Value::hash(Default::default())),
            (Value::Str(_) | Value::Array(_) | Value::Hash(_), n, _) if n.ends_with('!') => {
                return Err(self.unsupported(format!("{}#{n}", super::robj::class_of(r))))
            }
            _ => None,
        })
    }
}
