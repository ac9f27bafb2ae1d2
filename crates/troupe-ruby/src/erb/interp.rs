//! The interpreter's statements, variables, blocks, and indexing.

use super::fail;
use super::parse::Block;
use super::parse::Ex;
use super::parse::St;
use super::Ctx;
use super::RUBY_ERROR;
use crate::object::inspect;
use crate::object::ruby_class;
use crate::object::ruby_to_s as to_s;
use crate::object::truthy;
use std::collections::HashMap;
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::value::Value;

impl Ctx<'_> {
    pub(super) fn err(&self, detail: impl Into<String>) -> EvalError {
        fail(&self.file, self.line, &detail.into())
    }

    /// `container[key] = v` on an immutable value: the changed copy.
    pub(super) fn index_set(&self, cur: Value, key: Value, v: Value) -> EResult<Value> {
        Ok(match &cur {
            Value::Hash(h) => {
                let mut m = (**h).clone();
                m.insert(key, v);
                Value::hash(m)
            }
            Value::Array(a) => {
                let mut a = (**a).clone();
                let Value::Int(i) = key else {
                    return Err(self.err("no implicit conversion into Integer"));
                };
                let i = usize::try_from(i).map_err(|_| self.err("negative index"))?;
                if a.len() <= i {
                    troupe_values::limits::reserve_items(
                        i as u64 + 1,
                        std::mem::size_of::<Value>(),
                    )?;
                    a.resize(i + 1, Value::Undef);
                }
                a[i] = v;
                Value::array(a)
            }
            other => return Err(self.err(format!("undefined method `[]=' for {}", inspect(other)))),
        })
    }

    pub(super) fn run(&mut self, prog: &[St]) -> EResult<Value> {
        troupe_values::limits::grow(|| self.run_stmts(prog))
    }

    pub(super) fn run_stmts(&mut self, prog: &[St]) -> EResult<Value> {
        let mut last = Value::Undef;
        for s in prog {
            match s {
                St::Text(t) => self.out.push_str(t),
                St::Out(e, line) => {
                    self.line = *line;
                    let v = self.eval(e)?;
                    self.out.push_str(&to_s(&v));
                }
                St::Ex(e, line) => {
                    self.line = *line;
                    last = self.eval(e)?;
                }
                St::If(arms, els, line) => {
                    self.line = *line;
                    let mut done = false;
                    for (c, body) in arms {
                        if truthy(&self.eval(c)?) {
                            last = self.run(body)?;
                            done = true;
                            break;
                        }
                    }
                    if !done {
                        last = self.run(els)?;
                    }
                }
                St::Case(subject, arms, els, line) => {
                    self.line = *line;
                    let v = self.eval(subject)?;
                    let mut done = false;
                    'arms: for (pats, body) in arms {
                        for p in pats {
                            let pv = self.eval(p)?;
                            if case_eq(&pv, &v) {
                                last = self.run(body)?;
                                done = true;
                                break 'arms;
                            }
                        }
                    }
                    if !done {
                        last = self.run(els)?;
                    }
                }
                St::Begin(body, rescue, line) => {
                    self.line = *line;
                    let out_len = self.out.len();
                    match self.run(body) {
                        Ok(v) => last = v,
                        Err(e) if e.flow.is_none() && e.msg.contains(RUBY_ERROR) => {
                            self.out.truncate(out_len);
                            last = self.run(rescue)?;
                        }
                        Err(e) => return Err(e),
                    }
                }
                St::Def(name, b) => {
                    self.defs.insert(name.clone(), b.clone());
                    last = Value::str(name.as_str());
                }
            }
        }
        Ok(last)
    }

    pub(super) fn var(&self, n: &str) -> Option<Value> {
        self.locals.iter().rev().find_map(|m| m.get(n).cloned())
    }

    pub(super) fn lookup(&mut self, name: &str) -> EResult<Value> {
        self.scope.lookupvar(name)
    }

    /// A local changed in place (`<<`, `[]=`, `delete`, bang methods). Values are immutable
    /// here, so the new value is stored back where the local lives; and when the local is the
    /// object of an instance variable (`a = @x`), Ruby changed that object too: the Puppet
    /// variable and the resource parameter behind it follow.
    pub(super) fn mutated_local(&mut self, n: &str, new: Value) {
        match self.locals.iter_mut().rev().find(|m| m.contains_key(n)) {
            Some(m) => {
                m.insert(n.to_string(), new.clone());
            }
            None => {
                if let Some(m) = self.locals.last_mut() {
                    m.insert(n.to_string(), new.clone());
                }
            }
        }
        if let Some(iv) = self.aliases.get(n).cloned() {
            self.write_through(&iv, new);
        }
    }

    /// Ruby changed the object behind the Puppet variable `var` in place: the variable and
    /// the resource parameter of the same name follow.
    pub(super) fn write_through(&mut self, var: &str, new: Value) {
        self.scope.replace_var(var, new);
    }

    pub(super) fn call_block(&mut self, b: &Block, args: Vec<Value>) -> EResult<Value> {
        troupe_values::limits::checkpoint()?;
        let mut m = HashMap::new();
        if b.params.len() > 1 && args.len() == 1 {
            if let Value::Array(a) = &args[0] {
                for (i, p) in b.params.iter().enumerate() {
                    m.insert(p.clone(), a.get(i).cloned().unwrap_or(Value::Undef));
                }
            }
        } else {
            for (i, p) in b.params.iter().enumerate() {
                m.insert(p.clone(), args.get(i).cloned().unwrap_or(Value::Undef));
            }
        }
        self.locals.push(m);
        let r = self.run(&b.body);
        self.locals.pop();
        match r {
            Err(e) if matches!(e.flow, Some(troupe_values::error::Flow::Next(_))) => match e.flow {
                Some(troupe_values::error::Flow::Next(v)) => Ok(v),
                _ => Ok(Value::Undef),
            },
            r => r,
        }
    }

    pub(super) fn eval(&mut self, e: &Ex) -> EResult<Value> {
        troupe_values::limits::grow(|| self.eval_ex(e))
    }

    pub(super) fn index(&self, r: &Value, a: &[Value]) -> EResult<Value> {
        Ok(match (r, a) {
            (Value::Hash(h), [k]) => h.get(k).cloned().unwrap_or(Value::Undef),
            (Value::Array(x), [Value::Int(i)]) => {
                let i = if *i < 0 { x.len() as i64 + i } else { *i };
                x.get(i as usize).cloned().unwrap_or(Value::Undef)
            }
            (Value::Array(x), [Value::Int(s), Value::Int(n)]) => {
                let s = (*s).max(0) as usize;
                Value::array(x.iter().skip(s).take(*n as usize).cloned().collect())
            }
            (Value::Str(s), [Value::Int(i)]) => {
                let cs: Vec<char> = s.chars().collect();
                let i = if *i < 0 { cs.len() as i64 + i } else { *i };
                cs.get(i as usize)
                    .map(|c| Value::str(c.to_string()))
                    .unwrap_or(Value::Undef)
            }
            (Value::Str(s), [Value::Int(st), Value::Int(n)]) => Value::str(
                s.chars()
                    .skip((*st).max(0) as usize)
                    .take(*n as usize)
                    .collect::<String>(),
            ),
            (Value::Str(s), [Value::Array(range)]) => {
                // `s[a..b]`: ranges evaluate to their integers.
                let Some(Value::Int(st)) = range.first() else {
                    return Ok(Value::str(""));
                };
                let n = range.len();
                Value::str(
                    s.chars()
                        .skip((*st).max(0) as usize)
                        .take(n)
                        .collect::<String>(),
                )
            }
            (Value::Array(x), [Value::Array(range)]) => {
                let Some(Value::Int(st)) = range.first() else {
                    return Ok(Value::array(vec![]));
                };
                Value::array(
                    x.iter()
                        .skip((*st).max(0) as usize)
                        .take(range.len())
                        .cloned()
                        .collect(),
                )
            }
            (Value::Undef, _) => return Err(self.err("undefined method `[]' for nil:NilClass")),
            _ => return Err(self.err(format!("unsupported index on {}", inspect(r)))),
        })
    }

    pub(super) fn call_puppet(&mut self, f: &str, args: Vec<Value>) -> EResult<Value> {
        let line = self.line;
        let file = self.file.clone();
        self.scope
            .call_function(f, args)
            .map_err(|e| fail(&file, line, &e.msg))
    }
}
/// Ruby's `===` as `case`/`when` uses it: a regexp matches, a class names the value's class,
/// anything else compares with `==`.
pub(super) fn case_eq(pat: &Value, v: &Value) -> bool {
    match pat {
        Value::Regex(re) => matches!(v, Value::Str(s) if re.is_match(s)),
        Value::Type(t) => {
            let c = t.to_string();
            let c = c.trim_start_matches('\u{0}');
            let k = ruby_class(v);
            c == k || (c == "Numeric" && matches!(k, "Integer" | "Float")) || c == "Object"
        }
        Value::Array(items)
            if matches!(v, Value::Int(_)) && items.iter().all(|x| matches!(x, Value::Int(_))) =>
        {
            // A range literal evaluates to its integers.
            items.contains(v)
        }
        _ => pat == v,
    }
}
