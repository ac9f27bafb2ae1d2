//! The interpreter's expressions and binary operators.

use super::lex::lex_ruby;
use super::lex::SPart;
use super::parse::Ex;
use super::parse::P;
use super::robj::class_of as ruby_class;
use super::robj::inspect;
use super::robj::to_s;
use super::Ctx;
use crate::object::truthy;
use troupe_values::error::EResult;
use troupe_values::value::Map;
use troupe_values::value::Value;

impl Ctx<'_> {
    pub(super) fn eval_ex(&mut self, e: &Ex) -> EResult<Value> {
        Ok(match e {
            Ex::Lit(v) => v.clone(),
            Ex::Sym(n) => super::robj::symbol(n),
            Ex::Str(parts) => {
                let mut s = String::new();
                for p in parts {
                    match p {
                        SPart::Lit(l) => s.push_str(l),
                        SPart::Code(c) if c.trim().is_empty() => {}
                        SPart::Code(c) => {
                            let mut toks = Vec::new();
                            lex_ruby(c, &mut toks, self.line).map_err(|e| self.err(e))?;
                            let mut p = P {
                                toks,
                                i: 0,
                                assigned: std::collections::HashSet::new(),
                                depth: 0,
                            };
                            let ex = p.expr().map_err(|e| self.err(e))?;
                            let v = self.eval(&ex)?;
                            s.push_str(&to_s(&v));
                        }
                    }
                }
                Value::str(s)
            }
            Ex::IVar(n) => match self.ivars.get(n) {
                Some(v) => v.clone(),
                None => self.lookup(n)?,
            },
            Ex::BlockPass(m) => {
                return Err(self.err(format!("&:{m} is only supported as a method's block")))
            }
            Ex::IvarAssign(n, v) => {
                // `@a = @x` and `@a = Array(@x)` (for an Array) keep Ruby's object: changing
                // `@a` in place changes `@x` too.
                let source = match &**v {
                    Ex::IVar(src) => Some(src.clone()),
                    Ex::Call(None, f, args, None) if f == "Array" && args.len() == 1 => {
                        match &args[0] {
                            Ex::IVar(src) => Some(src.clone()),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                let v = self.eval(v)?;
                match source {
                    Some(src) if matches!(v, Value::Array(_) | Value::Hash(_)) => {
                        let root = self.ivar_aliases.get(&src).cloned().unwrap_or(src);
                        self.ivar_aliases.insert(n.clone(), root);
                    }
                    _ => {
                        self.ivar_aliases.remove(n);
                    }
                }
                self.ivars.insert(n.clone(), v.clone());
                v
            }
            Ex::LVar(n) => self.var(n).unwrap_or(Value::Undef),
            Ex::Var(n) if n == "$~" => {
                if self.last_match.is_empty() {
                    Value::Undef
                } else {
                    Value::array(self.last_match.clone())
                }
            }
            Ex::Var(n) if n.starts_with('$') => {
                let i: usize = n[1..].parse().unwrap_or(0);
                self.last_match.get(i).cloned().unwrap_or(Value::Undef)
            }
            Ex::Var(n) => match self.var(n) {
                Some(v) => v,
                None => return self.method(None, n, vec![], None),
            },
            Ex::Const(n) => super::robj::constant(n),
            Ex::Splat(_) => return Err(self.unsupported("a splat here")),
            Ex::MultiAssign(names, vals) => {
                let vals = self.eval_args(vals)?;
                let vals = match vals.as_slice() {
                    [Value::Array(a)] => (**a).clone(),
                    _ => vals,
                };
                for (i, n) in names.iter().enumerate() {
                    self.set_local(n, vals.get(i).cloned().unwrap_or(Value::Undef));
                }
                Value::array(vals)
            }
            Ex::Array(xs) => Value::array(self.eval_args(xs)?),
            Ex::Hash(ps) => {
                let mut m = Map::default();
                for (k, v) in ps {
                    let k = self.eval(k)?;
                    let v = self.eval(v)?;
                    m.insert(k, v);
                }
                Value::hash(m)
            }
            Ex::Assign(n, v) => {
                match &**v {
                    Ex::IVar(iv) => {
                        self.aliases.insert(n.clone(), iv.clone());
                    }
                    _ => {
                        self.aliases.remove(n);
                    }
                }
                let v = self.eval(v)?;
                self.set_local(n, v.clone());
                v
            }
            Ex::IndexAssign(n, idx, v) => {
                let v = self.eval(v)?;
                let key = match idx.first() {
                    Some(k) => self.eval(k)?,
                    None => Value::Undef,
                };
                let cur = self.var(n).unwrap_or(Value::Undef);
                let new = self.index_set(cur, key, v.clone())?;
                self.mutated_local(n, new);
                v
            }
            Ex::IvarIndexAssign(n, idx, v, or) => {
                let key = match idx.first() {
                    Some(k) => self.eval(k)?,
                    None => Value::Undef,
                };
                let cur = match self.ivars.get(n) {
                    Some(c) => c.clone(),
                    None => self.lookup(n)?,
                };
                if *or {
                    let old = self.index(&cur, std::slice::from_ref(&key))?;
                    if truthy(&old) {
                        return Ok(old);
                    }
                }
                let v = self.eval(v)?;
                let new = self.index_set(cur, key, v.clone())?;
                if let Some(root) = self.ivar_aliases.get(n).cloned() {
                    match self.ivars.get_mut(&root) {
                        Some(slot) => *slot = new.clone(),
                        None => self.write_through(&root, new.clone()),
                    }
                }
                self.ivars.insert(n.clone(), new);
                v
            }
            Ex::ScopeIndexAssign(name, idx, v) => {
                let name = to_s(&self.eval(name)?);
                let name = name.trim_start_matches("::").to_string();
                let key = match idx.first() {
                    Some(k) => self.eval(k)?,
                    None => Value::Undef,
                };
                let v = self.eval(v)?;
                let mut m = match &self.lookup(&name)? {
                    Value::Hash(h) => (**h).clone(),
                    other => {
                        return Err(
                            self.err(format!("undefined method `[]=' for {}", inspect(other)))
                        )
                    }
                };
                m.insert(key, v.clone());
                self.scope.setvar(&name, Value::hash(m));
                v
            }
            Ex::Cond(body) => self.run(body)?,
            Ex::Not(x) => Value::Bool(!truthy(&self.eval(x)?)),
            Ex::Neg(x) => match self.eval(x)? {
                Value::Int(i) => Value::Int(-i),
                Value::Float(f) => Value::Float(-f),
                other => {
                    return Err(self.err(format!("undefined method `-@' for {}", inspect(&other))))
                }
            },
            Ex::Tern(c, a, b) => {
                if truthy(&self.eval(c)?) {
                    self.eval(a)?
                } else {
                    self.eval(b)?
                }
            }
            Ex::Range(a, b) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                if let (Value::Str(x), Value::Str(y)) = (&a, &b) {
                    let items = crate::object::ruby_string_upto(x, y, false);
                    return Ok(Value::array(items.into_iter().map(Value::str).collect()));
                }
                let (Value::Int(a), Value::Int(b)) = (a, b) else {
                    return Err(self.unsupported("a range of these values"));
                };
                let n = (b as i128 - a as i128 + 1).max(0) as u64;
                troupe_values::limits::reserve_items(n, std::mem::size_of::<Value>())?;
                Value::array((a..=b).map(Value::Int).collect())
            }
            Ex::Bin(op, l, r) => {
                if *op == "&&" {
                    let lv = self.eval(l)?;
                    return if truthy(&lv) { self.eval(r) } else { Ok(lv) };
                }
                if *op == "||" {
                    let lv = self.eval(l)?;
                    return if truthy(&lv) { Ok(lv) } else { self.eval(r) };
                }
                let lv = self.eval(l)?;
                let rv = self.eval(r)?;
                let out = self.binop(op, lv, rv)?;
                // `local << x` appends in place in Ruby: the local sees the new value.
                if *op == "<<" {
                    if let Ex::Var(n) | Ex::LVar(n) = &**l {
                        if self.var(n).is_some() {
                            self.mutated_local(n, out.clone());
                        }
                    }
                }
                out
            }
            Ex::Index(recv, args) if matches!(args.as_slice(), [Ex::Range(..)]) => {
                let r = self.eval(recv)?;
                let [Ex::Range(a, b)] = args.as_slice() else {
                    return Err(self.unsupported("index"));
                };
                let a = self.eval(a)?;
                let b = self.eval(b)?;
                self.index_range(&r, &a, &b)?
            }
            Ex::Index(recv, args) => {
                let r = self.eval(recv)?;
                let a = self.eval_args(args)?;
                if super::robj::is_scope(&r) {
                    let n = to_s(a.first().unwrap_or(&Value::Undef));
                    return self.lookup(n.trim_start_matches("::"));
                }
                self.index(&r, &a)?
            }
            Ex::Call(None, name, args, None) if name == "defined?" => {
                return self.defined(args.first());
            }
            Ex::Call(None, name, args, _) if matches!(name.as_str(), "return" | "break") => {
                let v = match args.first() {
                    Some(a) => self.eval(a)?,
                    None => Value::Undef,
                };
                return Err(troupe_values::error::EvalError::flow(if name == "return" {
                    troupe_values::error::Flow::Return(v)
                } else {
                    troupe_values::error::Flow::Break
                }));
            }
            Ex::Call(Some(recv), name, _, _)
                if matches!(&**recv, Ex::Range(..))
                    && !matches!(
                        name.as_str(),
                        "each"
                            | "map"
                            | "collect"
                            | "to_a"
                            | "select"
                            | "reject"
                            | "include?"
                            | "member?"
                            | "each_with_index"
                            | "first"
                            | "last"
                            | "min"
                            | "max"
                            | "sum"
                            | "size"
                            | "count"
                            | "each_slice"
                            | "join"
                            | "reverse_each"
                            | "inject"
                            | "reduce"
                            | "flat_map"
                            | "any?"
                            | "all?"
                            | "find"
                    ) =>
            {
                // A Range is an Array of its items here: only what both answer alike.
                return Err(self.unsupported(format!("Range#{name}")));
            }
            Ex::Call(Some(recv), name, args, blk) => {
                let r = self.eval(recv)?;
                let name = match name.strip_prefix("&.") {
                    Some(_) if r.is_undef() => return Ok(Value::Undef),
                    Some(n) => n,
                    None => name.as_str(),
                };
                let a = self.eval_args(args)?;
                return self.call_on(recv, r, name, a, blk.as_deref());
            }
            Ex::Call(None, name, args, blk) => {
                let a = self.eval_args(args)?;
                return self.method_with_break(None, name, a, blk.as_deref());
            }
        })
    }

    /// Arguments, with `*x` spread.
    pub(super) fn eval_args(&mut self, xs: &[Ex]) -> EResult<Vec<Value>> {
        let mut out = Vec::new();
        for x in xs {
            match x {
                Ex::Splat(e) => match &self.eval(e)? {
                    Value::Array(a) => out.extend(a.iter().cloned()),
                    Value::Undef => {}
                    Value::Hash(h) => out.extend(
                        h.iter()
                            .map(|(k, v)| Value::array(vec![k.clone(), v.clone()])),
                    ),
                    v => out.push(v.clone()),
                },
                x => out.push(self.eval(x)?),
            }
        }
        Ok(out)
    }

    /// A method call with a block: `break` in the block ends the call with nil.
    pub(super) fn method_with_break(
        &mut self,
        r: Option<Value>,
        name: &str,
        args: Vec<Value>,
        blk: Option<&super::parse::Block>,
    ) -> EResult<Value> {
        let res = self.method(r, name, args, blk);
        match res {
            Err(e)
                if blk.is_some() && matches!(e.flow, Some(troupe_values::error::Flow::Break)) =>
            {
                Ok(Value::Undef)
            }
            r => r,
        }
    }

    /// `defined?(x)`.
    fn defined(&mut self, e: Option<&Ex>) -> EResult<Value> {
        Ok(match e {
            Some(Ex::IVar(n)) => {
                let set = match self.ivars.get(n) {
                    Some(_) => true,
                    None => !self.lookup(n)?.is_undef(),
                };
                if set {
                    Value::str("instance-variable")
                } else {
                    Value::Undef
                }
            }
            Some(Ex::LVar(n) | Ex::Var(n)) if self.var(n).is_some() => Value::str("local-variable"),
            Some(Ex::LVar(_)) => Value::Undef,
            Some(Ex::Lit(_) | Ex::Str(_) | Ex::Array(_) | Ex::Hash(_)) => Value::str("expression"),
            Some(Ex::Var(n)) if n == "scope" => Value::str("method"),
            _ => return Err(self.unsupported("defined? of this expression")),
        })
    }

    pub(super) fn binop(&mut self, op: &str, l: Value, r: Value) -> EResult<Value> {
        use std::cmp::Ordering;
        Ok(match op {
            "==" => Value::Bool(super::compare::ruby_eq(&l, &r)),
            "!=" => Value::Bool(!super::compare::ruby_eq(&l, &r)),
            "===" => Value::Bool(match (&l, &r) {
                (Value::Regex(re), Value::Str(s)) => re.is_match(s),
                _ if super::robj::const_name(&l).is_some() => {
                    super::methods::is_a(&r, super::robj::const_name(&l).unwrap_or_default())
                }
                _ => super::compare::ruby_eq(&l, &r),
            }),
            "<=>" => match super::compare::ruby_cmp(&l, &r) {
                Some(o) => Value::Int(o as i64),
                None => Value::Undef,
            },
            "<" | ">" | "<=" | ">=" => {
                let o = match (&l, &r) {
                    (Value::Array(_), _) => None,
                    _ => super::compare::ruby_cmp(&l, &r),
                };
                let Some(o) = o else {
                    return Err(self.err(format!(
                        "comparison of {} with {} failed",
                        ruby_class(&l),
                        inspect(&r)
                    )));
                };
                match op {
                    "<" => Value::Bool(o == Ordering::Less),
                    ">" => Value::Bool(o == Ordering::Greater),
                    "<=" => Value::Bool(o != Ordering::Greater),
                    _ => Value::Bool(o != Ordering::Less),
                }
            }
            "&" | "|" => match (&l, &r) {
                (Value::Array(a), Value::Array(b)) => {
                    let mut out: Vec<Value> = Vec::new();
                    let src: Vec<&Value> = if op == "&" {
                        a.iter().filter(|x| b.contains(x)).collect()
                    } else {
                        a.iter().chain(b.iter()).collect()
                    };
                    for x in src {
                        if !out.contains(x) {
                            out.push(x.clone());
                        }
                    }
                    Value::array(out)
                }
                (Value::Int(a), Value::Int(b)) => Value::Int(if op == "&" { a & b } else { a | b }),
                _ => return self.method(Some(l), op, vec![r], None),
            },
            "^" => match (&l, &r) {
                (Value::Int(a), Value::Int(b)) => Value::Int(a ^ b),
                _ => return self.method(Some(l), op, vec![r], None),
            },
            "**" => match (&l, &r) {
                (Value::Int(a), Value::Int(b)) if *b >= 0 => {
                    match u32::try_from(*b).ok().and_then(|b| a.checked_pow(b)) {
                        Some(v) => Value::Int(v),
                        None => return Err(self.unsupported("Integer ** past 64 bits")),
                    }
                }
                (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => Value::Float(
                    troupe_values::number::as_f64(&l).powf(troupe_values::number::as_f64(&r)),
                ),
                _ => return Err(self.unsupported("** on these values")),
            },
            "=~" | "!~" => {
                let (s, re) = match (&l, &r) {
                    (Value::Str(s), Value::Regex(re)) | (Value::Regex(re), Value::Str(s)) => {
                        (s.clone(), re.clone())
                    }
                    (Value::Undef, Value::Regex(_)) | (Value::Regex(_), Value::Undef) => {
                        self.last_match.clear();
                        return Ok(if op == "=~" {
                            Value::Undef
                        } else {
                            Value::Bool(true)
                        });
                    }
                    _ => {
                        return Err(self.unsupported(format!(
                            "=~ on {} and {}",
                            ruby_class(&l),
                            ruby_class(&r)
                        )))
                    }
                };
                let m = self.regex_match(&re, &s, "=~")?;
                if op == "=~" {
                    m
                } else {
                    Value::Bool(m.is_undef())
                }
            }
            "+" => match (&l, &r) {
                (Value::Str(a), Value::Str(b)) => Value::str(format!("{a}{b}")),
                (Value::Array(a), Value::Array(b)) => {
                    Value::array(a.iter().chain(b.iter()).cloned().collect())
                }
                (Value::Int(a), Value::Int(b)) => Value::Int(a.wrapping_add(*b)),
                (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => Value::Float(
                    troupe_values::number::as_f64(&l) + troupe_values::number::as_f64(&r),
                ),
                _ => {
                    return Err(self.err(format!(
                        "no implicit conversion of {} into {}",
                        ruby_class(&r),
                        ruby_class(&l)
                    )))
                }
            },
            "-" => match (&l, &r) {
                (Value::Int(a), Value::Int(b)) => Value::Int(a.wrapping_sub(*b)),
                (Value::Array(a), Value::Array(b)) => {
                    Value::array(a.iter().filter(|x| !b.contains(x)).cloned().collect())
                }
                (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => Value::Float(
                    troupe_values::number::as_f64(&l) - troupe_values::number::as_f64(&r),
                ),
                _ => return Err(self.unsupported(format!("- on {}", ruby_class(&l)))),
            },
            "*" => match (&l, &r) {
                (Value::Int(a), Value::Int(b)) => Value::Int(a.wrapping_mul(*b)),
                (Value::Str(s), Value::Int(n)) => {
                    let n = (*n).max(0) as u64;
                    troupe_values::limits::reserve(n.saturating_mul(s.len() as u64))?;
                    Value::str(s.repeat(n as usize))
                }
                (Value::Array(a), Value::Str(s)) => {
                    let flat = troupe_values::value::flatten(a);
                    Value::str(flat.iter().map(to_s).collect::<Vec<_>>().join(s))
                }
                (Value::Array(a), Value::Int(n)) if *n >= 0 => {
                    troupe_values::limits::reserve_items(
                        (a.len() as u64).saturating_mul(*n as u64),
                        std::mem::size_of::<Value>(),
                    )?;
                    Value::array(
                        a.iter()
                            .cycle()
                            .take(a.len() * *n as usize)
                            .cloned()
                            .collect(),
                    )
                }
                (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => Value::Float(
                    troupe_values::number::as_f64(&l) * troupe_values::number::as_f64(&r),
                ),
                _ => return Err(self.unsupported(format!("* on {}", ruby_class(&l)))),
            },
            "/" | "%" => match (&l, &r) {
                (Value::Int(_), Value::Int(0)) => return Err(self.err("divided by 0")),
                (Value::Int(a), Value::Int(b)) => {
                    // Ruby floors both the quotient and the modulo.
                    let (q, m) = (a.wrapping_div(*b), a.wrapping_rem(*b));
                    let (q, m) = if m != 0 && ((m < 0) != (*b < 0)) {
                        (q - 1, m + b)
                    } else {
                        (q, m)
                    };
                    Value::Int(if op == "/" { q } else { m })
                }
                (Value::Str(f), args) if op == "%" => {
                    let a = match args {
                        Value::Array(a) => (**a).clone(),
                        other => vec![other.clone()],
                    };
                    let f = f.to_string();
                    Value::str(self.sprintf(&f, &a)?)
                }
                (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                    let (a, b) = (
                        troupe_values::number::as_f64(&l),
                        troupe_values::number::as_f64(&r),
                    );
                    Value::Float(if op == "/" {
                        a / b
                    } else {
                        a - b * (a / b).floor()
                    })
                }
                _ => return Err(self.unsupported(format!("{op} on {}", ruby_class(&l)))),
            },
            "<<" => match (&l, &r) {
                (Value::Array(a), _) => {
                    let mut x = (**a).clone();
                    x.push(r.clone());
                    Value::array(x)
                }
                (Value::Str(a), _) => Value::str(format!("{a}{}", to_s(&r))),
                _ => return Err(self.unsupported(format!("<< on {}", ruby_class(&l)))),
            },
            _ => return Err(self.unsupported(format!("operator {op}"))),
        })
    }
}
