//! The interpreter's statements, variables, blocks, and indexing.

use super::fail;
use super::parse::Block;
use super::parse::Ex;
use super::parse::St;
use super::robj::inspect;
use super::robj::to_s;
use super::Ctx;
use super::RUBY_ERROR;
use crate::object::truthy;
use std::collections::HashMap;
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::value::Value;

impl Ctx<'_> {
    pub(super) fn err(&self, detail: impl Into<String>) -> EvalError {
        fail(&self.file, self.line, &detail.into())
    }

    /// Something this interpreter does not do (`what`: the method or construct).
    pub(super) fn unsupported(&self, what: impl Into<String>) -> EvalError {
        let what = what.into().replace('\0', "");
        let e = fail(
            &self.file,
            self.line,
            &format!("{}{what}", super::UNSUPPORTED),
        );
        *self.unsupported.borrow_mut() = Some(super::Unsupported {
            what,
            file: self.file.clone(),
            line: self.line,
        });
        e
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
                            if let (Value::Regex(re), Value::Str(s)) = (&pv, &v) {
                                // `when /re/` sets `$~` as `=~` does.
                                if !self.regex_match(re, s, "=~")?.is_undef() {
                                    last = self.run(body)?;
                                    done = true;
                                    break 'arms;
                                }
                                continue;
                            }
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
                St::While(c, body, line) => {
                    self.line = *line;
                    let mut n = 0u64;
                    while truthy(&self.eval(c)?) {
                        n += 1;
                        if n > 10_000_000 {
                            return Err(self.err("loop ran too long"));
                        }
                        troupe_values::limits::checkpoint()?;
                        match self.run(body) {
                            Ok(_) => {}
                            Err(e) => match e.flow {
                                Some(troupe_values::error::Flow::Break) => break,
                                Some(troupe_values::error::Flow::Next(_)) => continue,
                                _ => return Err(e),
                            },
                        }
                    }
                    last = Value::Undef;
                }
                St::For(names, xs, body, line) => {
                    self.line = *line;
                    let coll = self.eval(xs)?;
                    let items: Vec<Value> = match &coll {
                        Value::Array(a) => (**a).clone(),
                        Value::Hash(h) => h
                            .iter()
                            .map(|(k, v)| Value::array(vec![k.clone(), v.clone()]))
                            .collect(),
                        other => {
                            return Err(self.unsupported(format!("for over {}", inspect(other))))
                        }
                    };
                    for it in items {
                        troupe_values::limits::checkpoint()?;
                        if names.len() == 1 {
                            self.set_local(&names[0], it);
                        } else {
                            for (i, n) in names.iter().enumerate() {
                                let v = match &it {
                                    Value::Array(a) => a.get(i).cloned().unwrap_or(Value::Undef),
                                    v if i == 0 => v.clone(),
                                    _ => Value::Undef,
                                };
                                self.set_local(n, v);
                            }
                        }
                        match self.run(body) {
                            Ok(_) => {}
                            Err(e) => match e.flow {
                                Some(troupe_values::error::Flow::Break) => break,
                                Some(troupe_values::error::Flow::Next(_)) => continue,
                                _ => return Err(e),
                            },
                        }
                    }
                    last = coll;
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

    /// Assigns a local: where it already lives, else in the innermost frame.
    pub(super) fn set_local(&mut self, n: &str, v: Value) {
        match self.locals.iter_mut().rev().find(|m| m.contains_key(n)) {
            Some(m) => {
                m.insert(n.to_string(), v);
            }
            None => {
                if let Some(m) = self.locals.last_mut() {
                    m.insert(n.to_string(), v);
                }
            }
        }
    }

    pub(super) fn call_block(&mut self, b: &Block, args: Vec<Value>) -> EResult<Value> {
        troupe_values::limits::checkpoint()?;
        let mut m = HashMap::new();
        let args = match args.as_slice() {
            [Value::Array(a)] if b.params.len() > 1 => (**a).clone(),
            _ => args,
        };
        for (i, p) in b.params.iter().enumerate() {
            let v = args.get(i).cloned().unwrap_or(Value::Undef);
            match p.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
                Some(inner) => {
                    for (j, q) in inner.split(',').enumerate() {
                        let x = match &v {
                            Value::Array(a) => a.get(j).cloned().unwrap_or(Value::Undef),
                            v if j == 0 => v.clone(),
                            _ => Value::Undef,
                        };
                        m.insert(q.to_string(), x);
                    }
                }
                None => {
                    m.insert(p.clone(), v);
                }
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

    /// `x[a..b]` (`b` nil: endless) on an Array or a String.
    pub(super) fn index_range(&self, r: &Value, a: &Value, b: &Value) -> EResult<Value> {
        let len = match r {
            Value::Array(x) => x.len() as i64,
            Value::Str(s) => s.chars().count() as i64,
            _ => return Err(self.unsupported(format!("[range] on {}", super::robj::class_of(r)))),
        };
        let (Value::Int(s), e) = (a, b) else {
            return Err(self.unsupported("a range of non-integers"));
        };
        let s = if *s < 0 { len + s } else { *s };
        let e = match e {
            Value::Int(e) if *e < 0 => len + e,
            Value::Int(e) => *e,
            Value::Undef => len - 1,
            _ => return Err(self.unsupported("a range of non-integers")),
        };
        if s < 0 || s > len {
            return Ok(Value::Undef);
        }
        let n = (e - s + 1).max(0) as usize;
        Ok(match r {
            Value::Array(x) => Value::array(x.iter().skip(s as usize).take(n).cloned().collect()),
            Value::Str(t) => Value::str(t.chars().skip(s as usize).take(n).collect::<String>()),
            _ => Value::Undef,
        })
    }

    pub(super) fn index(&self, r: &Value, a: &[Value]) -> EResult<Value> {
        Ok(match (r, a) {
            (Value::Array(x), [Value::Int(s), Value::Int(n)])
            | (Value::Array(x), [Value::Int(s), Value::Int(n)])
                if *n < 0 || {
                    let s = if *s < 0 { x.len() as i64 + s } else { *s };
                    s < 0 || s > x.len() as i64
                } =>
            {
                let _ = (x, s, n);
                Value::Undef
            }
            (Value::Str(t), [Value::Str(p)]) => {
                if t.contains(&**p) {
                    Value::Str(p.clone())
                } else {
                    Value::Undef
                }
            }
            (Value::Str(t), [Value::Regex(re)]) => match re.captures(t) {
                Some((_, caps)) => caps.first().cloned().unwrap_or(Value::Undef),
                None => Value::Undef,
            },
            (Value::Str(t), [Value::Regex(re), Value::Int(g)]) => match re.captures(t) {
                Some((_, caps)) => caps.get(*g as usize).cloned().unwrap_or(Value::Undef),
                None => Value::Undef,
            },
            (Value::Hash(h), [k]) => h.get(k).cloned().unwrap_or(Value::Undef),
            (Value::Array(x), [Value::Int(i)]) => {
                let i = if *i < 0 { x.len() as i64 + i } else { *i };
                x.get(i as usize).cloned().unwrap_or(Value::Undef)
            }
            (Value::Array(x), [Value::Int(s), Value::Int(n)]) => {
                let s = if *s < 0 { x.len() as i64 + s } else { *s };
                let s = s.max(0) as usize;
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
            _ => return Err(self.unsupported(format!("[] on {}", inspect(r)))),
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
        p if super::robj::const_name(p).is_some() => {
            super::methods::is_a(v, super::robj::const_name(p).unwrap_or_default())
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
