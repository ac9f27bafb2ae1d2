//! Defined types: instances are evaluated lazily, after the code that declares them.

use crate::lang::build::resources::join_errs;
use crate::lang::eval::Evaluator;
use crate::lang::scope::ScopeKind;
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::error::Flow;
use troupe_values::error::Loc;
use troupe_values::value::Value;
impl<'e> Evaluator<'e> {
    pub(crate) fn evaluate_define(&mut self, idx: usize) -> EResult<()> {
        // A define instance declared (through any chain) by MAX_DEPTH others is runaway
        // recursion: a define declaring itself under ever new titles.
        let generation = self.define_gen.get(&idx).copied().unwrap_or(0);
        if generation >= troupe_values::limits::MAX_DEPTH {
            let r = &self.res[idx];
            return Err(
                troupe_values::limits::too_deep("define", &r.type_name.to_lowercase()).at(Loc {
                    file: r.file.clone().unwrap_or_default(),
                    line: r.line.unwrap_or(0),
                    col: None,
                }),
            );
        }
        let saved_depth = std::mem::replace(&mut self.define_depth, generation + 1);
        let r = self.evaluate_define_inner(idx);
        self.define_depth = saved_depth;
        r
    }

    pub(crate) fn evaluate_define_inner(&mut self, idx: usize) -> EResult<()> {
        self.res[idx].evaluated = true;
        let tn = self.res[idx].type_name.to_lowercase();
        let def = match self.find_define(&tn)? {
            Some(d) => d,
            None => return Ok(()),
        };
        let declaring = self.res[idx].scope;
        let sid = self.new_scope(ScopeKind::Define, Some(declaring), Some(idx));
        // Scope tags.
        if let Some(sr) = self.scope_resource(declaring) {
            let tags = self.res[sr].tags.clone();
            self.res[idx].merge_tags(&tags);
        }
        let title = self.res[idx].title.clone();
        let name = match self.res[idx].params.get("name") {
            Some(v) => v.clone(),
            None => Value::str(title.as_str()),
        };
        self.set_var_unchecked(sid, "title", Value::str(title.as_str()));
        self.set_var_unchecked(sid, "name", name);
        let module = tn.split("::").next().unwrap_or("").to_string();
        self.set_var_unchecked(sid, "module_name", Value::str(module.as_str()));
        let caller = self.module_of_scope(declaring);
        self.set_var_unchecked(sid, "caller_module_name", Value::str(caller.as_str()));
        let saved_cur = self.cur;
        let saved_src = std::mem::replace(&mut self.src, def.source.clone());
        self.cur = sid;
        let r = (|| -> EResult<()> {
            for p in &def.params {
                if let Some(v) = self.res[idx].params.get(&p.name) {
                    if p.name != "name" && p.name != "title" {
                        self.scopes[sid].tables[0]
                            .vars
                            .insert(p.name.clone(), v.clone());
                    }
                }
            }
            let callee = self.res[idx].reference();
            let names: std::rc::Rc<[String]> = def.params.iter().map(|p| p.name.clone()).collect();
            for p in &def.params {
                if p.name == "name" || p.name == "title" {
                    continue;
                }
                let v = match self.res[idx].params.get(&p.name) {
                    Some(v) => v.clone(),
                    None => match &p.default {
                        Some(d) => {
                            let at = Loc {
                                file: self.res[idx].file.clone().unwrap_or_default(),
                                line: self.res[idx].line.unwrap_or(0),
                                col: None,
                            };
                            let v = self.eval_param_default(
                                sid,
                                &callee,
                                &names,
                                &p.name,
                                d,
                                Some(at),
                            )?;
                            if let Some(te) = &p.type_expr {
                                if let Value::Type(t) = &self.eval(te)? {
                                    if !t.accepts(&v) {
                                        let loc = Loc {
                                            file: self.res[idx].file.clone().unwrap_or_default(),
                                            line: self.res[idx].line.unwrap_or(0),
                                            col: None,
                                        };
                                        // Reported by the resource statement that
                                        // declared the instance, as Puppet does.
                                        let msg = join_errs(
                                            &self.res[idx].reference(),
                                            &[troupe_values::describe::mismatch(
                                                &format!("parameter '{}'", p.name),
                                                t,
                                                &v,
                                            )],
                                        );
                                        return Err(EvalError::new(format!(
                                            "Error while evaluating a Resource Statement, {msg}"
                                        ))
                                        .at(loc));
                                    }
                                }
                            }
                            if !v.is_undef() {
                                self.res[idx].params.insert(p.name.clone(), v.clone());
                            }
                            v
                        }
                        None => Value::Undef,
                    },
                };
                let cur = self.cur;
                self.scopes[cur].tables[0].vars.insert(p.name.clone(), v);
            }
            match &def.body {
                // An error in the body is reported by the resource statement that declared
                // the instance, around the inner error, as Puppet does.
                Some(b) => self.eval_body(b).map_err(|inner| {
                    if matches!(inner.flow, Some(Flow::Break)) {
                        return EvalError::new(format!(
                            "Error while evaluating an Object, {}",
                            inner.render_inner()
                        ));
                    }
                    if inner.flow.is_some() {
                        return inner;
                    }
                    EvalError::new(format!(
                        "Error while evaluating a Resource Statement, {}",
                        inner.render_inner()
                    ))
                    .at(Loc {
                        file: self.res[idx].file.clone().unwrap_or_default(),
                        line: self.res[idx].line.unwrap_or(0),
                        col: None,
                    })
                }),
                None => Ok(()),
            }
        })();
        self.cur = saved_cur;
        self.src = saved_src;
        r
    }
}
