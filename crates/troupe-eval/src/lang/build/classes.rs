//! Classes: declaring (`include`, resource-like `class { }`), inheritance, and parameter binding
//! (given, Hiera, default).

use crate::catalog::schema::METAPARAMS;
use crate::catalog::Kind;
use crate::catalog::Resource;
use crate::code::Def;
use crate::code::DefKind;
use crate::lang::build::resources::join_errs;
use crate::lang::build::resources::tag_values;
use crate::lang::build::ScopeId;
use crate::lang::eval::Evaluator;
use crate::lang::scope::ScopeKind;
use indexmap::IndexMap;
use troupe_syntax::ast::Expr;
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::error::Loc;
use troupe_values::types::capitalize_type_name;
use troupe_values::value::Value;
impl<'e> Evaluator<'e> {
    /// `include`/`require`/`contain`/resource-like declaration. Returns the class resource.
    pub fn declare_class(
        &mut self,
        name: &str,
        params: Option<IndexMap<String, Value>>,
        line: Option<u32>,
        loc: Loc,
        stmt: &str,
    ) -> EResult<usize> {
        let n = name.trim_start_matches("::").to_lowercase();
        let wrap = |msg: String| {
            let e = EvalError::new(format!("Error while evaluating a {stmt}, {msg}"));
            // A classifier's class comes from no file: its errors name no place.
            if loc.file.is_empty() {
                e
            } else {
                e.at(loc.clone())
            }
        };
        let def = match self.find_class(&n)? {
            Some(d) => d,
            None => {
                return Err(wrap(format!(
                    "Could not find class ::{n} for {}",
                    self.input.certname
                )))
            }
        };
        let title = capitalize_type_name(&n);
        if let Some(idx) = self.find_resource("Class", &n) {
            if params.is_some() {
                let r = &self.res[idx];
                let at = match (&r.file, r.line) {
                    (Some(f), Some(l)) => format!(" at (file: {f}, line: {l})"),
                    _ => String::new(),
                };
                if loc.file.is_empty() {
                    return Err(EvalError::plain(format!(
                        "Duplicate declaration: Class[{title}] is already declared{at}; cannot redeclare"
                    )));
                }
                return Err(wrap(format!(
                    "Duplicate declaration: Class[{title}] is already declared{at}; cannot redeclare (file: {}, line: {})",
                    loc.file, loc.line
                )));
            }
            return Ok(idx);
        }
        let resource_like = params.is_some();
        let mut r = Resource {
            type_name: "Class".into(),
            title: title.clone(),
            params: Default::default(),
            tags: Vec::new(),
            file: if resource_like {
                Some(loc.file.clone())
            } else {
                None
            },
            line: if resource_like { line } else { None },
            exported: false,
            virtual_: false,
            kind: if resource_like {
                Kind::Class
            } else {
                Kind::Unknown
            },
            scope: self.cur,
            evaluated: true,
            name_param: false,
            namevar: "name",
        };
        r.add_tag("class");
        r.tag_with_segments(&n);
        if let Some(sr) = self.scope_resource(self.cur) {
            let tags = self.res[sr].tags.clone();
            r.merge_tags(&tags);
        }
        let given = params.unwrap_or_default();
        let stage = given.get("stage").cloned();
        let idx = self.add_resource(r);
        let stage_idx = match &stage {
            Some(Value::Str(s)) => match self.find_resource("Stage", s) {
                Some(i) => i,
                None => {
                    return Err(wrap(format!(
                        "Could not find stage {s} specified by Class[{title}]"
                    )))
                }
            },
            _ => self.stage_main,
        };
        self.add_edge(stage_idx, idx);
        if self.declare_lazily {
            // A classifier's class: in the catalog now, evaluated with the generators.
            let r = &mut self.res[idx];
            (r.evaluated, r.kind, r.file, r.line) = (false, Kind::Unknown, None, None);
            self.lazy_classes.insert(idx, given);
            return Ok(idx);
        }
        self.class_list.push(n.clone());
        self.evaluate_class(&def, idx, &title, &given, loc, stmt)
    }

    /// The rest of a class declaration: its parent, its scope, its parameters and its body.
    pub(crate) fn evaluate_class(
        &mut self,
        def: &std::sync::Arc<Def>,
        idx: usize,
        title: &str,
        given: &IndexMap<String, Value>,
        loc: Loc,
        stmt: &str,
    ) -> EResult<usize> {
        let n = def.name.clone();
        let wrap = |msg: String| {
            let e = EvalError::new(format!("Error while evaluating a {stmt}, {msg}"));
            // A classifier's class comes from no file: its errors name no place.
            if loc.file.is_empty() {
                e
            } else {
                e.at(loc.clone())
            }
        };
        // The parent class next: the class is already in the catalog, so a parent that
        // includes or contains it does not evaluate it again (Puppet's order).
        let mut parent_scope = None;
        if let DefKind::Class { parent: Some(p) } = &def.kind {
            let pidx = self.declare_class(p, None, None, loc.clone(), stmt)?;
            let pn = self.res[pidx].title.to_lowercase();
            parent_scope = self.class_scopes.get(&pn).copied();
        }
        let sid = self.new_scope(
            ScopeKind::Class,
            Some(parent_scope.unwrap_or(self.cur)),
            Some(idx),
        );
        self.scopes[sid].inherited = parent_scope;
        self.class_scopes.insert(n.clone(), sid);
        let saved_cur = self.cur;
        let saved_src = std::mem::replace(&mut self.src, def.source.clone());
        self.cur = sid;
        let res = self
            .bind_class_params(def, idx, given, title)
            .and_then(|_| match &def.body {
                Some(b) => self.eval_body(b),
                None => Ok(()),
            });
        self.cur = saved_cur;
        self.src = saved_src;
        match res {
            Ok(()) => Ok(idx),
            Err(e) if e.loc.is_none() && e.flow.is_none() => Err(wrap(e.msg)),
            Err(e) => Err(e),
        }
    }

    /// Evaluates the default of parameter `from` in scope `sid`. Reading another parameter of
    /// the same callee that has no value yet fails as Puppet's ParameterScope does.
    pub(crate) fn eval_param_default(
        &mut self,
        sid: ScopeId,
        callee: &str,
        names: &std::rc::Rc<[String]>,
        from: &str,
        d: &Expr,
        at: Option<Loc>,
    ) -> EResult<Value> {
        let saved = self.param_guard.replace(crate::lang::build::ParamGuard {
            scope: sid,
            names: names.clone(),
            from: from.to_string(),
            callee: callee.to_string(),
            failed: None,
        });
        // Puppet evaluates each default in a new (transparent) match scope: the matches it
        // makes do not leak to other defaults or the body.
        let v = self.with_match_guard(|s| s.eval(d));
        let failed = self.param_guard.take().and_then(|g| g.failed);
        self.param_guard = saved;
        match (failed, at) {
            // A define reports it as its resource statement's error.
            (Some(msg), Some(loc)) => Err(EvalError::new(format!(
                "Error while evaluating a Resource Statement, {msg}"
            ))
            .at(loc)),
            (Some(msg), None) => Err(EvalError::new(msg)),
            (None, _) => v,
        }
    }

    pub(crate) fn bind_class_params(
        &mut self,
        def: &Def,
        idx: usize,
        given: &IndexMap<String, Value>,
        title: &str,
    ) -> EResult<()> {
        let sid = self.cur;
        let n = def.name.clone();
        self.set_var_unchecked(sid, "title", Value::str(n.as_str()));
        self.set_var_unchecked(sid, "name", Value::str(n.as_str()));
        let module = n.split("::").next().unwrap_or("").to_string();
        self.set_var_unchecked(sid, "module_name", Value::str(module.as_str()));
        let caller = self.module_of_scope(self.res[idx].scope);
        self.set_var_unchecked(sid, "caller_module_name", Value::str(caller.as_str()));
        let mut errs = Vec::new();
        for k in given.keys() {
            if METAPARAMS.contains(&k.as_str()) {
                continue;
            }
            if !def.params.iter().any(|p| &p.name == k) {
                errs.push(format!("has no parameter named '{k}'"));
            }
        }
        let mut out = crate::catalog::Params::default();
        for (k, v) in given {
            if !v.is_undef() {
                out.insert(k.clone(), v.clone());
            }
        }
        // As Puppet: given and Hiera values are bound first, then the defaults are evaluated in
        // order; a default reading a parameter with no value yet is an error, not a read of an
        // outer variable.
        let sid_vars = self.cur;
        let mut bound: Vec<Option<Value>> = Vec::with_capacity(def.params.len());
        for p in &def.params {
            let mut v = given.get(&p.name).cloned().filter(|v| !v.is_undef());
            if v.is_none() {
                let key = format!("{n}::{}", p.name);
                v = self.hiera_lookup(&key, None)?;
            }
            if let Some(v) = &v {
                self.scopes[sid_vars].tables[0]
                    .vars
                    .insert(p.name.clone(), v.clone());
            }
            bound.push(v);
        }
        let callee = format!("Class[{title}]");
        let names: std::rc::Rc<[String]> = def.params.iter().map(|p| p.name.clone()).collect();
        for (i, p) in def.params.iter().enumerate() {
            if let (None, Some(d)) = (&bound[i], &p.default) {
                let v = self.eval_param_default(sid_vars, &callee, &names, &p.name, d, None)?;
                self.scopes[sid_vars].tables[0]
                    .vars
                    .insert(p.name.clone(), v.clone());
                bound[i] = Some(v);
            }
        }
        for (i, p) in def.params.iter().enumerate() {
            let v = match bound[i].take() {
                Some(v) => v,
                // `x => undef` with no default: set to undef, not missing.
                None if given.contains_key(&p.name) => {
                    self.scopes[sid_vars].tables[0]
                        .vars
                        .insert(p.name.clone(), Value::Undef);
                    Value::Undef
                }
                None => {
                    // An Optional type lets a missing value be undef.
                    let optional = match &p.type_expr {
                        Some(te) => {
                            matches!(&self.eval(te)?, Value::Type(t) if t.is_instance(&Value::Undef))
                        }
                        None => false,
                    };
                    if !optional {
                        errs.push(format!("expects a value for parameter '{}'", p.name));
                        continue;
                    }
                    self.scopes[sid_vars].tables[0]
                        .vars
                        .insert(p.name.clone(), Value::Undef);
                    Value::Undef
                }
            };
            if let Some(te) = &p.type_expr {
                if let Value::Type(t) = &self.eval(te)? {
                    // A Deferred is checked by its function's return type.
                    if let Value::Deferred(d) = &v {
                        if let Some(m) = self.deferred_param(&p.name, t, d)? {
                            errs.push(m);
                            continue;
                        }
                    } else if !t.accepts(&v) {
                        errs.push(troupe_values::describe::mismatch(
                            &format!("parameter '{}'", p.name),
                            t,
                            &v,
                        ));
                        continue;
                    }
                }
            }
            if !v.is_undef() && !out.contains_key(&p.name) {
                out.insert(p.name.clone(), v);
            }
        }
        if !errs.is_empty() {
            return Err(EvalError::new(join_errs(&format!("Class[{title}]"), &errs)));
        }
        for (k, v) in &out {
            if k == "tag" {
                for t in tag_values(v) {
                    self.res[idx].tag_with_segments(&t);
                }
            }
        }
        self.res[idx].params = out;
        Ok(())
    }
}
