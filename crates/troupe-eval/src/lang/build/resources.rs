//! Catalog-building evaluation: resources, defaults, overrides, collectors, relationships,
//! classes, defined types, nodes, and the compile driver.

use crate::catalog::schema::{core_type, METAPARAMS};
use crate::catalog::{valid_tag, Catalog, Kind, Resource};
use crate::code::{Def, DefKind};
use crate::lang::eval::{Collector, Evaluator, Operand, Override, Relationship};
use crate::lang::scope::{ScopeId, ScopeKind};
use crate::model::error::{EResult, EvalError, Loc};
use crate::model::types::{capitalize_type_name, Type};
use crate::model::value::Value;
use indexmap::IndexMap;
use std::collections::HashMap;
use std::sync::Arc;
use troupe_syntax::ast::{AttrOp, BinOp, Expr, ExprKind, Literal, ResourceForm};

const RELATION_PARAMS: &[&str] = &["require", "before", "notify", "subscribe"];

#[derive(Debug, Clone)]
pub enum TypeInfo {
    Builtin(&'static str),
    /// A Ruby type shipped by a module (`lib/puppet/type/NAME.rb`), with its namevar and,
    /// where the file declares them statically, its attribute names.
    ModuleType(&'static str, Option<Arc<[String]>>),
    Define(Arc<Def>),
}

impl<'e> Evaluator<'e> {
    fn add_resource(&mut self, r: Resource) -> usize {
        let key = (r.type_name.to_lowercase(), r.title.clone());
        self.res.push(r);
        let idx = self.res.len() - 1;
        self.index.insert(key, idx);
        idx
    }

    pub fn find_resource(&self, type_name: &str, title: &str) -> Option<usize> {
        let t = type_name.to_lowercase();
        if t == "class" {
            let n = title.trim_start_matches("::").to_lowercase();
            return self.index.get(&(t, capitalize_type_name(&n))).copied();
        }
        self.index.get(&(t, title.to_string())).copied()
    }

    pub fn add_edge(&mut self, from: usize, to: usize) {
        if self.edge_set.insert((from, to)) {
            self.edges.push((from, to));
        }
    }

    /// `$module_name` as seen from `scope` (empty at top and node scope).
    pub(crate) fn module_of_scope(&mut self, scope: ScopeId) -> String {
        let saved = self.cur;
        self.cur = scope;
        let v = self.lookup_var("module_name", None).unwrap_or(Value::Undef);
        self.cur = saved;
        if v.is_undef() {
            String::new()
        } else {
            v.to_display()
        }
    }

    pub(crate) fn scope_resource(&self, scope: ScopeId) -> Option<usize> {
        let mut s = Some(scope);
        while let Some(id) = s {
            if let Some(r) = self.scopes[id].resource {
                return Some(r);
            }
            s = self.scopes[id].parent;
        }
        None
    }

    /// What a resource type name refers to; resolved once per name and compile (module types
    /// are found by looking through every module).
    pub fn resource_type_info(&mut self, name: &str) -> EResult<Option<TypeInfo>> {
        let lc = name.trim_start_matches("::").to_lowercase();
        if let Some(t) = self.type_infos.get(&lc) {
            return Ok(t.clone());
        }
        let info = if let Some(t) = core_type(&lc) {
            Some(TypeInfo::Builtin(t.namevar))
        } else if let Some(d) = self.find_define(&lc)? {
            Some(TypeInfo::Define(d))
        } else if !lc.contains("::") {
            let file = format!("lib/puppet/type/{lc}.rb");
            // Modules whose name starts the type's (`keystone_config`) first.
            let mut modules = self.env.modules();
            modules.sort_by_key(|(m, _)| {
                !lc.strip_prefix(m.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('_'))
            });
            modules
                .iter()
                .find_map(|(_, dir)| self.env.read(&dir.join(&file)))
                .map(|src| {
                    // Puppet adds `provider` to a type that has providers.
                    let providers = modules.iter().any(|(_, dir)| {
                        self.env
                            .list_dir(&dir.join("lib/puppet/provider").join(&lc))
                            .iter()
                            .any(|p| p.extension().is_some_and(|e| e == "rb"))
                    });
                    TypeInfo::ModuleType(ruby_type_namevar(&src), ruby_type_attrs(&src, providers))
                })
        } else {
            None
        };
        self.type_infos.insert(lc, info.clone());
        Ok(info)
    }

    /// Collects `name => value` operations, with `* => hash` unfolded.
    fn eval_ops(&mut self, ops: &[AttrOp]) -> EResult<Vec<(String, bool, Value, Loc)>> {
        let mut out = Vec::new();
        for op in ops {
            match op {
                AttrOp::Set {
                    name,
                    append,
                    value,
                    span,
                } => {
                    let v = self.eval(value)?;
                    out.push((name.clone(), *append, v, self.loc(*span)));
                }
                AttrOp::Splat { value, span } => match &self.eval(value)? {
                    Value::Hash(h) => {
                        for (k, v) in h.iter() {
                            out.push((k.to_display(), false, v.clone(), self.loc(*span)));
                        }
                    }
                    Value::Undef => {}
                    other => {
                        return self.err(
                            format!(
                                "Splat expression expects a Hash, got {}",
                                crate::model::value::a_value(other)
                            ),
                            value,
                        )
                    }
                },
            }
        }
        Ok(out)
    }

    pub fn resource_expr(&mut self, e: &Expr) -> EResult<Value> {
        let ExprKind::Resource {
            form,
            type_expr,
            bodies,
        } = &e.kind
        else {
            return Ok(Value::Undef);
        };
        let type_name = match &type_expr.kind {
            ExprKind::QName(n) => n.clone(),
            ExprKind::QRef(n) => n.clone(),
            _ => match &self.eval(type_expr)? {
                Value::Str(s) => s.to_string(),
                Value::Type(t) => match t.resolved() {
                    Type::Resource(Some(n), None) => n.clone(),
                    _ => return self.err("Illegal resource type", type_expr),
                },
                _ => return self.err("Illegal resource type", type_expr),
            },
        };
        let lc = type_name.trim_start_matches("::").to_lowercase();
        let r = self.resource_expr_inner(*form, &lc, bodies, e);
        r.map_err(|err| {
            if err.loc.is_none() && err.flow.is_none() && err.evaluation {
                EvalError::new(format!(
                    "Error while evaluating a Resource Statement, {}",
                    err.msg
                ))
                .at(self.loc_e(e))
            } else {
                err
            }
        })
    }

    fn resource_expr_inner(
        &mut self,
        form: ResourceForm,
        lc: &str,
        bodies: &[troupe_syntax::ast::ResourceBody],
        e: &Expr,
    ) -> EResult<Value> {
        // Per-expression defaults: a `default:` body.
        let mut expr_defaults: Vec<(String, bool, Value, Loc)> = Vec::new();
        for b in bodies {
            if matches!(b.title.kind, ExprKind::Literal(Literal::Default)) {
                expr_defaults = self.eval_ops(&b.ops)?;
            }
        }
        let mut refs = Vec::new();
        if lc == "class" {
            for b in bodies {
                if matches!(b.title.kind, ExprKind::Literal(Literal::Default)) {
                    continue;
                }
                let title = self.eval(&b.title)?;
                let mut ops = expr_defaults.clone();
                for op in self.eval_ops(&b.ops)? {
                    ops.retain(|o| o.0 != op.0);
                    ops.push(op);
                }
                for t in crate::model::value::flatten(std::slice::from_ref(&title)) {
                    let name = match &t {
                        Value::Str(s) => s.to_string(),
                        Value::Type(ty) => match ty.resolved() {
                            Type::Class(Some(n)) => n.clone(),
                            _ => return Err(EvalError::new("Illegal class reference")),
                        },
                        _ => return Err(EvalError::new("Illegal class title")),
                    };
                    let mut params = IndexMap::new();
                    for (k, _, v, _) in &ops {
                        params.insert(k.clone(), v.clone());
                    }
                    let line = self.line_loc(b.title.span).line;
                    let idx = self.declare_class(
                        &name,
                        Some(params),
                        Some(line),
                        self.loc_e(e),
                        "Resource Statement",
                    )?;
                    for (k, _, _, at) in &ops {
                        if RELATION_PARAMS.contains(&k.as_str()) {
                            self.param_lines.insert((idx, k.clone()), at.line);
                        }
                    }
                    refs.push(Value::ty(Type::Class(Some(
                        self.res[idx].title.to_lowercase(),
                    ))));
                }
            }
            return Ok(Value::array(refs));
        }
        let info = match self.resource_type_info(lc)? {
            Some(i) => i,
            None => return Err(EvalError::new(format!("Unknown resource type: '{lc}'"))),
        };
        let type_name = capitalize_type_name(lc);
        for b in bodies {
            if matches!(b.title.kind, ExprKind::Literal(Literal::Default)) {
                continue;
            }
            let title_v = self.eval(&b.title)?;
            if title_v.is_undef() {
                return Err(EvalError::new(
                    "Missing title. The title expression resulted in undef",
                )
                .at(self.loc_e(&b.title)));
            }
            let titles: Vec<Value> = match &title_v {
                Value::Array(a) => crate::model::value::flatten(a),
                other => vec![other.clone()],
            };
            let mut ops = expr_defaults.clone();
            for op in self.eval_ops(&b.ops)? {
                if let Some(pos) = ops.iter().position(|o| o.0 == op.0) {
                    ops.remove(pos);
                }
                ops.push(op);
            }
            let line = self.line_loc(e.span).line;
            for (i, t) in titles.iter().enumerate() {
                let title = match t {
                    Value::Str(s) if s.is_empty() => {
                        return Err(EvalError::new(format!("Empty string title at {i}. Title strings must have a length greater than zero.")).at(self.loc_e(&b.title)))
                    }
                    Value::Str(s) => s.to_string(),
                    Value::Undef => {
                        return Err(EvalError::new(format!("Missing title at index {i}. The title expression resulted in an undef title")).at(self.loc_e(&b.title)))
                    }
                    other => {
                        return Err(EvalError::new(format!("Illegal title type at index {i}. Expected String, got {}", crate::model::types::infer_for_message(other))).at(self.loc_e(&b.title)))
                    }
                };
                let idx = self.create_resource(&type_name, &title, &info, &ops, form, line)?;
                refs.push(Value::ty(Type::Resource(
                    Some(type_name.clone()),
                    Some(self.res[idx].title.clone()),
                )));
            }
        }
        Ok(Value::array(refs))
    }

    pub(crate) fn create_resource(
        &mut self,
        type_name: &str,
        title: &str,
        info: &TypeInfo,
        ops: &[(String, bool, Value, Loc)],
        form: ResourceForm,
        line: u32,
    ) -> EResult<usize> {
        let file = self.src.path.clone();
        let title = title.to_string();
        if let Some(existing) = self.find_resource(type_name, &title) {
            let r = &self.res[existing];
            let at = match (&r.file, r.line) {
                (Some(f), Some(l)) => format!(" at (file: {f}, line: {l})"),
                _ => String::new(),
            };
            return Err(EvalError::new(format!(
                "Duplicate declaration: {}[{}] is already declared{at}; cannot redeclare (file: {file}, line: {line})",
                type_name, title
            )));
        }
        let (kind, namevar) = match info {
            TypeInfo::Builtin(nv) => (Kind::Compilable, *nv),
            TypeInfo::ModuleType(nv, _) => (Kind::Compilable, *nv),
            TypeInfo::Define(_) => (Kind::Defined, "name"),
        };
        let mut r = Resource {
            type_name: type_name.to_string(),
            title: title.clone(),
            params: IndexMap::new(),
            tags: Vec::new(),
            file: Some(file.clone()),
            line: Some(line),
            exported: form == ResourceForm::Exported,
            virtual_: form != ResourceForm::Regular,
            kind,
            scope: self.cur,
            evaluated: false,
            name_param: false,
            namevar,
        };
        let mut lines: Vec<(String, u32)> = Vec::new();
        // Attributes given as undef: not set, but not missing either.
        let mut given_undef: Vec<String> = Vec::new();
        for (k, _, v, at) in ops {
            if v.is_undef() {
                given_undef.push(k.clone());
                continue;
            }
            if k == "tag" {
                for t in tag_values(v) {
                    r.tag_with_segments(&t);
                }
            }
            if RELATION_PARAMS.contains(&k.as_str()) {
                lines.push((k.clone(), at.line));
            }
            r.params.insert(k.clone(), v.clone());
        }
        r.tag_with_segments(&type_name.to_lowercase());
        if valid_tag(&title) {
            r.tag_with_segments(&title);
        }
        // Resource defaults, outermost scope first.
        let defaults = self.lookup_defaults(self.cur, &type_name.to_lowercase());
        for (k, v) in defaults {
            if !r.params.contains_key(&k) && !v.is_undef() {
                if k == "tag" {
                    for t in tag_values(&v) {
                        r.tag_with_segments(&t);
                    }
                }
                r.params.insert(k, v);
            }
        }
        if let TypeInfo::Define(def) = info {
            self.check_define_params(def, &r, &given_undef)?;
        }
        // An isomorphic type's namevar is its identity: `file { 'a': path => '/x' }` also
        // claims File['/x'] (Puppet's uniqueness-key alias).
        let alias = match info {
            TypeInfo::Builtin(nv) if !matches!(type_name, "Exec" | "Tidy" | "Package") => {
                match r.params.get(*nv) {
                    Some(Value::Str(k)) if **k != *title => Some(k.to_string()),
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(key) = &alias {
            if let Some(existing) = self.find_resource(type_name, key) {
                let e = &self.res[existing];
                let there = match (&e.file, e.line) {
                    (Some(f), Some(l)) => format!(" (file: {f}, line: {l})"),
                    _ => String::new(),
                };
                return Err(EvalError::new(format!(
                    "Cannot alias {type_name}[{title}] to [{k}] at (file: {file}, line: {line}); resource [\"{type_name}\", {k}] already declared{there}",
                    k = ruby_inspect(key)
                )));
            }
        }
        let is_stage = r.type_name == "Stage";
        let is_defined = r.kind == Kind::Defined;
        let idx = self.add_resource(r);
        if is_defined && self.define_depth > 0 {
            self.define_gen.insert(idx, self.define_depth);
        }
        for (k, line) in lines {
            self.param_lines.insert((idx, k), line);
        }
        if let Some(key) = alias {
            self.index.insert((type_name.to_lowercase(), key), idx);
        }
        if !is_stage {
            if let Some(container) = self.scope_resource(self.cur) {
                self.add_edge(container, idx);
            }
        }
        Ok(idx)
    }

    fn check_define_params(
        &mut self,
        def: &Def,
        r: &Resource,
        given_undef: &[String],
    ) -> EResult<()> {
        let mut errs = Vec::new();
        for k in r.params.keys() {
            if METAPARAMS.contains(&k.as_str()) || k == "name" {
                continue;
            }
            if !def.params.iter().any(|p| &p.name == k) {
                errs.push(format!("has no parameter named '{k}'"));
            }
        }
        for p in &def.params {
            if p.default.is_none()
                && !r.params.contains_key(&p.name)
                && !given_undef.contains(&p.name)
                && p.name != "name"
            {
                errs.push(format!("expects a value for parameter '{}'", p.name));
            }
        }
        for p in &def.params {
            let v = match r.params.get(&p.name) {
                Some(v) => Some(v),
                None if p.default.is_none() && given_undef.contains(&p.name) => Some(&Value::Undef),
                None => None,
            };
            if let (Some(te), Some(v)) = (&p.type_expr, v) {
                let saved = std::mem::replace(&mut self.src, def.source.clone());
                let t = self.eval(te);
                self.src = saved;
                if let Value::Type(t) = &t? {
                    if !t.is_instance(v) {
                        errs.push(crate::model::describe::mismatch(
                            &format!("parameter '{}'", p.name),
                            t,
                            v,
                        ));
                    }
                }
            }
        }
        if errs.is_empty() {
            return Ok(());
        }
        let loc = Loc {
            file: r.file.clone().unwrap_or_default(),
            line: r.line.unwrap_or(0),
            col: None,
        };
        Err(EvalError::new(format!(
            "Error while evaluating a Resource Statement, {}",
            join_errs(&r.reference(), &errs)
        ))
        .at(loc))
    }

    fn lookup_defaults(&self, scope: ScopeId, type_lc: &str) -> Vec<(String, Value)> {
        let mut chain = Vec::new();
        let mut s = Some(scope);
        while let Some(id) = s {
            chain.push(id);
            s = self.scopes[id].parent;
        }
        let mut out: IndexMap<String, Value> = IndexMap::new();
        for id in chain.into_iter().rev() {
            if let Some(ds) = self.scopes[id].defaults.get(type_lc) {
                for (k, v) in ds {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        out.into_iter().collect()
    }

    pub fn resource_defaults(
        &mut self,
        type_expr: &Expr,
        ops: &[AttrOp],
        _e: &Expr,
    ) -> EResult<()> {
        let name = match &type_expr.kind {
            ExprKind::QRef(n) => n.to_lowercase(),
            _ => match &self.eval(type_expr)? {
                Value::Type(t) => match t.resolved() {
                    Type::Resource(Some(n), None) => n.to_lowercase(),
                    _ => return Ok(()),
                },
                _ => return Ok(()),
            },
        };
        let vals = self.eval_ops(ops)?;
        let cur = self.cur;
        let entry = self.scopes[cur].defaults.entry(name).or_default();
        for (k, _, v, _) in vals {
            entry.retain(|(x, _)| *x != k);
            entry.push((k, v));
        }
        Ok(())
    }

    pub fn resource_override(&mut self, target: &Expr, ops: &[AttrOp], e: &Expr) -> EResult<()> {
        if let ExprKind::Collect { .. } = target.kind {
            // `Type <| |> { ... }` is parsed as a collector with ops.
            return self.collect_expr(target);
        }
        let refs = self.eval(target)?;
        let vals = self.eval_ops(ops)?;
        let ops2: Vec<(String, bool, Value)> =
            vals.into_iter().map(|(k, a, v, _)| (k, a, v)).collect();
        let loc = self.line_loc(e.span);
        for r in crate::model::value::flatten(&[refs]) {
            let (tn, title) = match &r {
                Value::Type(t) => match t.resolved() {
                    Type::Resource(Some(tn), Some(title)) => (tn.clone(), title.clone()),
                    Type::Class(Some(n)) => ("Class".to_string(), n.clone()),
                    _ => continue,
                },
                _ => continue,
            };
            let ov = Override {
                type_name: tn,
                title,
                ops: ops2.clone(),
                scope: self.cur,
                loc: loc.clone(),
            };
            match self.find_resource(&ov.type_name, &ov.title) {
                Some(idx) => self.apply_override(idx, &ov)?,
                None => self.overrides.push(ov),
            }
        }
        Ok(())
    }

    fn scope_class_chain(&self, scope: ScopeId) -> Vec<ScopeId> {
        let mut out = vec![scope];
        let mut s = self.scopes[scope].inherited;
        while let Some(id) = s {
            out.push(id);
            s = self.scopes[id].inherited;
        }
        out
    }

    fn apply_override(&mut self, idx: usize, ov: &Override) -> EResult<()> {
        let allowed = {
            let rs = self.res[idx].scope;
            self.scope_class_chain(ov.scope).contains(&rs) && ov.scope != rs
        };
        for (k, append, v) in &ov.ops {
            let existing = self.res[idx].params.get(k).cloned();
            if let Some(old) = &existing {
                if !allowed && !old.is_undef() {
                    let r = &self.res[idx];
                    return Err(EvalError::plain(format!(
                        "Parameter '{k}' is already set on {} by {} at (file: {}, line: {}); cannot redefine {}",
                        r.reference(),
                        "#<Puppet::Resource::Type>",
                        r.file.clone().unwrap_or_default(),
                        r.line.unwrap_or(0),
                        ov.loc
                    )));
                }
            }
            let newv = if *append {
                match &existing {
                    Some(Value::Array(a)) => {
                        let mut x = (**a).clone();
                        x.extend(crate::model::value::flatten(std::slice::from_ref(v)));
                        Value::array(x)
                    }
                    Some(old) if !old.is_undef() => {
                        let mut x = vec![old.clone()];
                        x.extend(crate::model::value::flatten(std::slice::from_ref(v)));
                        Value::array(x)
                    }
                    _ => v.clone(),
                }
            } else {
                v.clone()
            };
            if newv.is_undef() {
                self.res[idx].params.shift_remove(k);
            } else {
                if k == "tag" {
                    for t in tag_values(&newv) {
                        self.res[idx].tag_with_segments(&t);
                    }
                }
                self.res[idx].params.insert(k.clone(), newv);
            }
        }
        Ok(())
    }

    // ---- collectors --------------------------------------------------------------------------

    pub fn collect_expr(&mut self, e: &Expr) -> EResult<()> {
        self.collect_operand(e).map(|_| ())
    }

    fn collect_operand(&mut self, e: &Expr) -> EResult<usize> {
        let ExprKind::Collect {
            type_expr,
            exported,
            query,
            ops,
        } = &e.kind
        else {
            return self.err("not a collector", e);
        };
        let tn = match &type_expr.kind {
            ExprKind::QRef(n) => capitalize_type_name(n),
            _ => return self.err("Illegal collector type", e),
        };
        let vals = self.eval_ops(ops)?;
        if *exported {
            let l = self.loc_e(e);
            self.warn(format!("You cannot collect exported resources without storeconfigs being set; the collection will be ignored {l}"));
        }
        let c = Collector {
            type_name: tn,
            query: query.as_deref().cloned(),
            ops: vals.into_iter().map(|(k, a, v, _)| (k, a, v)).collect(),
            scope: self.cur,
            src: self.src.clone(),
            collected: Vec::new(),
            exported: *exported,
        };
        self.collectors.push(c);
        Ok(self.collectors.len() - 1)
    }

    fn query_matches(&mut self, q: &Expr, idx: usize, scope: ScopeId) -> EResult<bool> {
        crate::model::limits::grow(|| {
            match &q.kind {
                ExprKind::Paren(x) => self.query_matches(x, idx, scope),
                ExprKind::Binary {
                    op: BinOp::And,
                    lhs,
                    rhs,
                    ..
                } => {
                    Ok(self.query_matches(lhs, idx, scope)?
                        && self.query_matches(rhs, idx, scope)?)
                }
                ExprKind::Binary {
                    op: BinOp::Or,
                    lhs,
                    rhs,
                    ..
                } => {
                    Ok(self.query_matches(lhs, idx, scope)?
                        || self.query_matches(rhs, idx, scope)?)
                }
                ExprKind::Binary {
                    op: op @ (BinOp::Eq | BinOp::Ne),
                    lhs,
                    rhs,
                    ..
                } => {
                    let attr = match &lhs.kind {
                        ExprKind::QName(n) => n.clone(),
                        ExprKind::Variable(n) => n.clone(),
                        _ => return self.err("Illegal query expression", q),
                    };
                    let saved = self.cur;
                    self.cur = scope;
                    let want = self.eval(rhs);
                    self.cur = saved;
                    let want = want?;
                    let r = &self.res[idx];
                    let hit = if attr == "tag" {
                        let w = want.to_display().to_lowercase();
                        // The tags the resource will have: its own and, as `finish` adds them,
                        // its container's (Puppet's collectors see those already).
                        r.tags.contains(&w)
                            || (r.kind == Kind::Compilable
                                && r.file.is_some()
                                && self
                                    .scope_resource(r.scope)
                                    .is_some_and(|sr| sr != idx && self.res[sr].tags.contains(&w)))
                    } else if attr == "title" {
                        want.puppet_eq(&Value::str(r.title.as_str()))
                    } else {
                        match r.params.get(&attr) {
                            Some(Value::Array(a)) => a.iter().any(|x| x.puppet_eq(&want)),
                            Some(v) => {
                                v.puppet_eq(&want)
                                    || matches!((v, &want), (Value::Type(_), Value::Str(s)) if crate::catalog::value_to_json(v).as_str() == Some(s))
                            }
                            None => attr == "name" && want.puppet_eq(&Value::str(r.title.as_str())),
                        }
                    };
                    Ok(if *op == BinOp::Eq { hit } else { !hit })
                }
                _ => self.err("Illegal query expression", q),
            }
        })
    }

    /// Runs every collector once; true if anything new was collected.
    fn run_collectors(&mut self) -> EResult<bool> {
        let mut changed = false;
        for ci in 0..self.collectors.len() {
            let tn = self.collectors[ci].type_name.clone();
            let exported = self.collectors[ci].exported;
            if exported {
                continue;
            }
            let candidates: Vec<usize> = (0..self.res.len())
                .filter(|&i| self.res[i].type_name == tn && !self.res[i].exported)
                .filter(|i| !self.collectors[ci].collected.contains(i))
                .collect();
            for idx in candidates {
                let q = self.collectors[ci].query.clone();
                let scope = self.collectors[ci].scope;
                let src = self.collectors[ci].src.clone();
                let saved = std::mem::replace(&mut self.src, src);
                let m = match &q {
                    Some(q) => self.query_matches(q, idx, scope),
                    None => Ok(true),
                };
                self.src = saved;
                if !m? {
                    continue;
                }
                self.collectors[ci].collected.push(idx);
                self.res[idx].virtual_ = false;
                changed = true;
                let ops = self.collectors[ci].ops.clone();
                if !ops.is_empty() {
                    let ov = Override {
                        type_name: tn.clone(),
                        title: self.res[idx].title.clone(),
                        ops,
                        scope: self.res[idx].scope,
                        loc: Loc {
                            file: String::new(),
                            line: 0,
                            col: None,
                        },
                    };
                    self.apply_override(idx, &ov)?;
                }
            }
        }
        Ok(changed)
    }

    pub fn realize(&mut self, refs: &[Value], e: &Expr) -> EResult<()> {
        for r in crate::model::value::flatten(refs) {
            let (tn, title) = match &r {
                Value::Type(t) => match t.resolved() {
                    Type::Resource(Some(tn), Some(title)) => (tn.clone(), title.clone()),
                    _ => return self.err("realize(): argument must be a resource reference", e),
                },
                Value::Str(s) => match parse_ref(s) {
                    Some(x) => x,
                    None => return self.err("realize(): argument must be a resource reference", e),
                },
                _ => return self.err("realize(): argument must be a resource reference", e),
            };
            match self.find_resource(&tn, &title) {
                Some(idx) => self.res[idx].virtual_ = false,
                None => {
                    return Err(EvalError::new(format!("Error while evaluating a Function Call, Failed to realize virtual resources {tn}[{title}]")).at(self.loc_e(e)))
                }
            }
        }
        Ok(())
    }

    // ---- relationships -------------------------------------------------------------------------

    fn rel_operand(&mut self, e: &Expr) -> EResult<Operand> {
        match &e.kind {
            ExprKind::Relationship { .. } => self.relationship(e),
            ExprKind::Collect { .. } => Ok(Operand::Collector(self.collect_operand(e)?)),
            _ => {
                let v = self.eval(e)?;
                let mut refs = Vec::new();
                for x in crate::model::value::flatten(&[v]) {
                    match &x {
                        Value::Type(t) => match t.resolved() {
                            Type::Resource(Some(tn), Some(title)) => refs.push((tn.clone(), title.clone())),
                            Type::Class(Some(n)) => refs.push(("Class".to_string(), n.clone())),
                            _ => return self.err("Illegal relationship operand, can not form a relationship with a Type. A Catalog type is required.", e),
                        },
                        Value::Str(s) => match parse_ref(s) {
                            Some(r) => refs.push(r),
                            None => return self.err("Illegal relationship operand, can not form a relationship with a String. A Catalog type is required.", e),
                        },
                        Value::Undef => {}
                        other => return self.err(format!("Illegal relationship operand, can not form a relationship with {}. A Catalog type is required.", crate::model::value::a_value(other)), e),
                    }
                }
                Ok(Operand::Refs(refs))
            }
        }
    }

    /// Evaluates a chain; returns its right operand (for `a -> b -> c`).
    pub fn relationship(&mut self, e: &Expr) -> EResult<Operand> {
        let ExprKind::Relationship { op, lhs, rhs, .. } = &e.kind else {
            return self.err("not a relationship", e);
        };
        let l = self.rel_operand(lhs)?;
        let r = self.rel_operand(rhs)?;
        let left = l.clone();
        use troupe_syntax::ast::RelOp;
        let (source, target, param) = match op {
            RelOp::Before => (l, r.clone(), "before"),
            RelOp::Notify => (l, r.clone(), "notify"),
            RelOp::Require => (r.clone(), l, "before"),
            RelOp::Subscribe => (r.clone(), l, "notify"),
        };
        self.relationships.push(Relationship {
            source,
            target,
            param,
        });
        Ok(match r {
            Operand::Collector(_) | Operand::OrElse(..) => {
                Operand::OrElse(Box::new(r), Box::new(left))
            }
            r => r,
        })
    }

    fn operand_refs(&self, o: &Operand) -> Vec<(String, String)> {
        match o {
            Operand::Refs(r) => r.clone(),
            Operand::Collector(c) => self.collectors[*c]
                .collected
                .iter()
                .map(|&i| (self.res[i].type_name.clone(), self.res[i].title.clone()))
                .collect(),
            Operand::OrElse(a, b) => {
                let r = self.operand_refs(a);
                if r.is_empty() {
                    self.operand_refs(b)
                } else {
                    r
                }
            }
        }
    }

    fn ref_display(tn: &str, title: &str) -> String {
        if tn == "Class" {
            format!("Class[{}]", capitalize_type_name(title))
        } else {
            format!("{tn}[{title}]")
        }
    }

    fn evaluate_relationships(&mut self) -> EResult<()> {
        let rels = std::mem::take(&mut self.relationships);
        for rel in &rels {
            let sources = self.operand_refs(&rel.source);
            let targets = self.operand_refs(&rel.target);
            for (stn, st) in &sources {
                for (ttn, tt) in &targets {
                    let s = self.find_resource(stn, st);
                    let t = self.find_resource(ttn, tt);
                    let sd = Self::ref_display(stn, st);
                    let td = Self::ref_display(ttn, tt);
                    let Some(si) = s else {
                        return Err(EvalError::plain(format!(
                            "Could not find resource '{sd}' for relationship on '{td}'"
                        )));
                    };
                    if t.is_none() {
                        return Err(EvalError::plain(format!(
                            "Could not find resource '{td}' for relationship from '{sd}'"
                        )));
                    }
                    let entry = self.res[si].params.get(rel.param).cloned();
                    let mut arr = match &entry {
                        Some(Value::Array(a)) => (**a).clone(),
                        Some(v) if !v.is_undef() => vec![v.clone()],
                        _ => vec![],
                    };
                    arr.push(Value::str(td));
                    self.res[si]
                        .params
                        .insert(rel.param.to_string(), Value::array(arr));
                }
            }
        }
        Ok(())
    }

    // ---- classes ---------------------------------------------------------------------------------

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
            EvalError::new(format!("Error while evaluating a {stmt}, {msg}")).at(loc.clone())
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
            params: IndexMap::new(),
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
        self.class_list.push(n.clone());
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
            .bind_class_params(&def, idx, &given, &title)
            .and_then(|_| match &def.body {
                Some(b) => self.eval(b).map(|_| ()),
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
    fn eval_param_default(
        &mut self,
        sid: ScopeId,
        callee: &str,
        names: &std::rc::Rc<[String]>,
        from: &str,
        d: &Expr,
        at: Option<Loc>,
    ) -> EResult<Value> {
        let saved = self.param_guard.replace(crate::lang::eval::ParamGuard {
            scope: sid,
            names: names.clone(),
            from: from.to_string(),
            callee: callee.to_string(),
            failed: None,
        });
        let v = self.eval(d);
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

    fn bind_class_params(
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
        let mut out: IndexMap<String, Value> = IndexMap::new();
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
                    if !t.is_instance(&v) {
                        errs.push(crate::model::describe::mismatch(
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

    // ---- defined types ---------------------------------------------------------------------------

    fn evaluate_define(&mut self, idx: usize) -> EResult<()> {
        // A define instance declared (through any chain) by MAX_DEPTH others is runaway
        // recursion: a define declaring itself under ever new titles.
        let generation = self.define_gen.get(&idx).copied().unwrap_or(0);
        if generation >= crate::model::limits::MAX_DEPTH {
            let r = &self.res[idx];
            return Err(
                crate::model::limits::too_deep("define", &r.type_name.to_lowercase()).at(Loc {
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

    fn evaluate_define_inner(&mut self, idx: usize) -> EResult<()> {
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
                                    if !t.is_instance(&v) {
                                        let loc = Loc {
                                            file: self.res[idx].file.clone().unwrap_or_default(),
                                            line: self.res[idx].line.unwrap_or(0),
                                            col: None,
                                        };
                                        return Err(EvalError::new(join_errs(
                                            &self.res[idx].reference(),
                                            &[crate::model::describe::mismatch(
                                                &format!("parameter '{}'", p.name),
                                                t,
                                                &v,
                                            )],
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
                Some(b) => self.eval(b).map(|_| ()).map_err(|inner| {
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

    // ---- nodes -------------------------------------------------------------------------------------

    fn evaluate_node(&mut self) -> EResult<()> {
        if self.nodes.is_empty() {
            return Ok(());
        }
        let name = self.input.certname.to_lowercase();
        let nodes = self.nodes.clone();
        let mut chosen: Option<(Arc<Def>, String, Option<Vec<Value>>)> = None;
        let mut default: Option<Arc<Def>> = None;
        // Exact names first.
        'outer: for d in &nodes {
            if let DefKind::Node { hosts } = &d.kind {
                for h in hosts {
                    match &h.kind {
                        ExprKind::Literal(Literal::Default) => {
                            if default.is_none() {
                                default = Some(d.clone())
                            }
                        }
                        ExprKind::Literal(Literal::Regex(_)) => {}
                        _ => {
                            let saved = std::mem::replace(&mut self.src, d.source.clone());
                            let v = self.eval(h);
                            self.src = saved;
                            if v?.to_display().to_lowercase() == name {
                                chosen = Some((d.clone(), name.clone(), None));
                                break 'outer;
                            }
                        }
                    }
                }
            }
        }
        if chosen.is_none() {
            'outer2: for d in &nodes {
                if let DefKind::Node { hosts } = &d.kind {
                    for h in hosts {
                        if let ExprKind::Literal(Literal::Regex(src)) = &h.kind {
                            let re =
                                crate::model::value::Regexp::new(src).map_err(EvalError::new)?;
                            if let Some((_, caps)) = re.captures(&name) {
                                let title: String = src
                                    .to_lowercase()
                                    .chars()
                                    .filter(|c| {
                                        c.is_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')
                                    })
                                    .collect();
                                let title =
                                    format!("__node_regexp__{}", title.trim_start_matches('.'));
                                chosen = Some((d.clone(), title, Some(caps)));
                                break 'outer2;
                            }
                        }
                    }
                }
            }
        }
        if chosen.is_none() {
            if let Some(d) = default {
                chosen = Some((d, "default".into(), None));
            }
        }
        let Some((def, title, caps)) = chosen else {
            return Err(EvalError::plain(format!(
                "Could not find node statement with name 'default' or '{name}'"
            )));
        };
        let mut r = Resource {
            type_name: "Node".into(),
            title: title.clone(),
            params: IndexMap::new(),
            tags: vec!["node".into()],
            file: None,
            line: None,
            exported: false,
            virtual_: false,
            kind: Kind::Unknown,
            scope: self.top,
            evaluated: true,
            name_param: false,
            namevar: "name",
        };
        if valid_tag(&title) {
            r.add_tag(&title);
        }
        let idx = self.add_resource(r);
        self.add_edge(self.class_main, idx);
        self.class_list.push(title.clone());
        let sid = self.new_scope(ScopeKind::Node, Some(self.top), Some(idx));
        if let Some(c) = caps {
            self.scopes[sid].tables[0].matches = Some(std::rc::Rc::new(c));
        }
        let saved = std::mem::replace(&mut self.src, def.source.clone());
        self.cur = sid;
        let r = match &def.body {
            Some(b) => self.eval(b).map(|_| ()),
            None => Ok(()),
        };
        self.cur = self.top;
        self.src = saved;
        r
    }

    // ---- the driver ----------------------------------------------------------------------------------

    fn special(
        &mut self,
        type_name: &str,
        title: &str,
        tags: &[&str],
        kind: Kind,
        name_param: bool,
    ) -> usize {
        let r = Resource {
            type_name: type_name.into(),
            title: title.into(),
            params: IndexMap::new(),
            tags: tags.iter().map(|s| s.to_string()).collect(),
            file: None,
            line: None,
            exported: false,
            virtual_: false,
            kind,
            scope: self.top,
            evaluated: true,
            name_param,
            namevar: "name",
        };
        self.add_resource(r)
    }

    fn set_top_vars(&mut self) {
        let top = self.top;
        if let Value::Hash(h) = &self.input.facts.clone() {
            for (k, v) in h.iter() {
                if let Value::Str(k) = k {
                    self.set_var_unchecked(top, k, v.clone());
                }
            }
        }
        let facts = self.input.facts.clone();
        let trusted = self.input.trusted.clone();
        let server_facts = self.input.server_facts.clone();
        self.set_var_unchecked(top, "facts", facts);
        self.set_var_unchecked(top, "trusted", trusted);
        self.set_var_unchecked(top, "server_facts", server_facts);
        let env = self.env.name().to_string();
        self.set_var_unchecked(top, "environment", Value::str(env.as_str()));
        let cn = self.input.certname.clone();
        self.set_var_unchecked(top, "clientcert", Value::str(cn.as_str()));
        self.set_var_unchecked(top, "name", Value::str("main"));
        self.set_var_unchecked(top, "title", Value::str("main"));
    }

    pub fn run(&mut self) -> EResult<Catalog> {
        self.set_top_vars();
        self.stage_main = self.special("Stage", "main", &["stage"], Kind::Compilable, true);
        let settings = self.special(
            "Class",
            "Settings",
            &["class", "settings"],
            Kind::Unknown,
            false,
        );
        self.class_main = self.special("Class", "main", &["class"], Kind::Unknown, true);
        self.add_edge(self.stage_main, settings);
        self.add_edge(self.stage_main, self.class_main);
        self.class_list.push("settings".into());
        self.scopes[self.top].resource = Some(self.class_main);
        self.class_scopes.insert(String::new(), self.top);

        let site = self.env.site()?;
        for code in &site {
            self.register(code);
        }
        for code in &site {
            self.src = code.source.clone();
            self.cur = self.top;
            self.eval(&code.program)?;
        }
        self.evaluate_node()?;
        // Generators: lazily evaluated defines and collectors, until nothing changes.
        loop {
            let mut changed = false;
            let mut i = 0;
            while i < self.res.len() {
                if self.res[i].kind == Kind::Defined
                    && !self.res[i].evaluated
                    && !self.res[i].virtual_
                {
                    crate::model::limits::checkpoint()?;
                    self.evaluate_define(i)?;
                    changed = true;
                }
                i += 1;
            }
            if self.run_collectors()? {
                changed = true;
            }
            if !changed {
                break;
            }
        }
        self.finish()
    }

    fn finish(&mut self) -> EResult<Catalog> {
        self.validate_param_depth()?;
        self.evaluate_relationships()?;
        let overrides = std::mem::take(&mut self.overrides);
        for ov in &overrides {
            match self.find_resource(&ov.type_name, &ov.title) {
                Some(idx) => self.apply_override(idx, ov)?,
                None => {
                    return Err(EvalError::plain(format!(
                        "Could not find resource(s) {} for overriding",
                        Self::ref_display(&ov.type_name, &ov.title)
                    ))
                    .at(ov.loc.clone()))
                }
            }
        }
        // Scope tags for plain resources, then validation.
        for i in 0..self.res.len() {
            if self.res[i].kind == Kind::Compilable && self.res[i].file.is_some() {
                if let Some(sr) = self.scope_resource(self.res[i].scope) {
                    if sr != i {
                        let tags = self.res[sr].tags.clone();
                        self.res[i].merge_tags(&tags);
                    }
                }
            }
        }
        // Module Ruby types whose attributes are known (see `ruby_type_attrs`).
        let mut module_attrs: HashMap<String, Option<Arc<[String]>>> = HashMap::new();
        for i in 0..self.res.len() {
            let lc = self.res[i].type_name.to_lowercase();
            if self.res[i].kind != Kind::Compilable
                || core_type(&lc).is_some()
                || module_attrs.contains_key(&lc)
            {
                continue;
            }
            let attrs = match self.resource_type_info(&lc)? {
                Some(TypeInfo::ModuleType(_, attrs)) => attrs,
                _ => None,
            };
            module_attrs.insert(lc, attrs);
        }
        for i in 0..self.res.len() {
            let r = &self.res[i];
            if r.virtual_ || r.kind != Kind::Compilable || r.file.is_none() {
                continue;
            }
            let lc = r.type_name.to_lowercase();
            let core = core_type(&lc);
            let module = module_attrs.get(&lc).and_then(|a| a.as_deref());
            if core.is_some() || module.is_some() {
                let declared = |k: &str| match (core, module) {
                    (Some(schema), _) => schema.attrs.contains(&k),
                    (None, Some(attrs)) => attrs.iter().any(|a| a == k),
                    (None, None) => true,
                };
                for k in r.params.keys() {
                    if !declared(k) && !METAPARAMS.contains(&k.as_str()) {
                        let at = format!(
                            "(file: {}, line: {})",
                            r.file.clone().unwrap_or_default(),
                            r.line.unwrap_or(0)
                        );
                        return Err(EvalError::plain(format!(
                            "no parameter named '{k}' {at} on {}",
                            r.reference()
                        ))
                        .at(Loc {
                            file: r.file.clone().unwrap_or_default(),
                            line: r.line.unwrap_or(0),
                            col: None,
                        }));
                    }
                }
            }
        }
        self.propagate_metaparams();
        self.validate_relationship_params()?;
        Ok(self.build())
    }

    fn propagate_metaparams(&mut self) {
        let names = [
            "noop", "schedule", "audit", "loglevel", "alias", "tag", "stage",
        ];
        let mut out_edges: HashMap<usize, Vec<usize>> = HashMap::new();
        for &(s, t) in &self.edges {
            out_edges.entry(s).or_default().push(t);
        }
        let mut data: HashMap<usize, Vec<(String, Value)>> = HashMap::new();
        let mut queue = std::collections::VecDeque::from([self.class_main]);
        let mut seen = std::collections::HashSet::new();
        while let Some(node) = queue.pop_front() {
            if !seen.insert(node) {
                continue;
            }
            let targets = out_edges.get(&node).cloned().unwrap_or_default();
            for t in &targets {
                let src_data = data.get(&node).cloned().unwrap_or_else(|| {
                    names
                        .iter()
                        .filter_map(|n| {
                            self.res[node]
                                .params
                                .get(*n)
                                .map(|v| (n.to_string(), v.clone()))
                        })
                        .collect()
                });
                for (k, v) in &src_data {
                    if !self.res[*t].params.contains_key(k) {
                        self.res[*t].params.insert(k.clone(), v.clone());
                    }
                }
                let mut td = src_data.clone();
                for n in names {
                    if let Some(v) = self.res[*t].params.get(n) {
                        td.retain(|(k, _)| k != n);
                        td.push((n.to_string(), v.clone()));
                    }
                }
                data.insert(*t, td);
                let tags = self.res[node].tags.clone();
                self.res[*t].merge_tags(&tags);
            }
            queue.extend(targets);
        }
    }

    /// The catalog is written by serde_json, whose writer recurses without stack growth:
    /// a parameter value nested deeper than `limits::MAX_DEPTH` is an error, not a crash.
    fn validate_param_depth(&self) -> EResult<()> {
        for r in self.res.iter().filter(|r| !r.virtual_) {
            for (name, v) in &r.params {
                if crate::model::limits::value_deeper_than(v, crate::model::limits::MAX_DEPTH) {
                    return Err(EvalError::new(format!(
                        "the value of parameter '{name}' of {} is nested deeper than {} levels",
                        r.reference(),
                        crate::model::limits::MAX_DEPTH
                    ))
                    .at(Loc {
                        file: r.file.clone().unwrap_or_default(),
                        line: r.line.unwrap_or(0),
                        col: None,
                    }));
                }
            }
        }
        Ok(())
    }

    fn validate_relationship_params(&self) -> EResult<()> {
        for (i, r) in self.res.iter().enumerate() {
            if r.virtual_ {
                continue;
            }
            for p in RELATION_PARAMS {
                if let Some(v) = r.params.get(*p) {
                    for x in crate::model::value::flatten(std::slice::from_ref(v)) {
                        let (tn, title) = match &x {
                            Value::Type(t) => match t.resolved() {
                                Type::Resource(Some(tn), Some(title)) => {
                                    (tn.clone(), title.clone())
                                }
                                Type::Class(Some(n)) => ("Class".into(), n.clone()),
                                _ => continue,
                            },
                            Value::Str(s) => match parse_ref(s) {
                                Some(x) => x,
                                None => continue,
                            },
                            _ => continue,
                        };
                        let found = self
                            .find_resource(&tn, &title)
                            .is_some_and(|i| !self.res[i].virtual_);
                        if !found {
                            // Puppet names the line of the attribute itself.
                            let line = self
                                .param_lines
                                .get(&(i, p.to_string()))
                                .copied()
                                .or(r.line)
                                .unwrap_or(0);
                            let loc = Loc {
                                file: r.file.clone().unwrap_or_default(),
                                line,
                                col: None,
                            };
                            return Err(EvalError::plain(format!(
                                "Could not find resource '{}' in parameter '{p}'",
                                Self::ref_display(&tn, &title)
                            ))
                            .at(loc));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn build(&mut self) -> Catalog {
        let keep: Vec<bool> = self.res.iter().map(|r| !r.virtual_).collect();
        let resources: Vec<Resource> = self.res.iter().filter(|r| !r.virtual_).cloned().collect();
        let edges = self
            .edges
            .iter()
            .filter(|(s, t)| keep[*s] && keep[*t])
            .map(|(s, t)| (self.res[*s].reference(), self.res[*t].reference()))
            .collect();
        let mut tags: Vec<String> = Vec::new();
        let mut push = |t: &str| {
            if !tags.iter().any(|x| x == t) {
                tags.push(t.to_string());
            }
        };
        for c in &self.class_list {
            push(c);
            if c.contains("::") {
                for s in c.split("::") {
                    push(s);
                }
            }
        }
        if self.res.iter().any(|r| r.type_name == "Node") {
            push("node");
        }
        if self.class_list.len() > 1
            && self
                .res
                .iter()
                .any(|r| r.type_name == "Class" && r.title != "Settings" && r.title != "main")
        {
            push("class");
        }
        Catalog {
            name: self.input.certname.clone(),
            environment: self.env.name().to_string(),
            version: serde_json::Value::from(0),
            tags,
            resources,
            edges,
            classes: self.class_list.clone(),
        }
    }
}

pub fn tag_values(v: &Value) -> Vec<String> {
    crate::model::value::flatten(std::slice::from_ref(v))
        .iter()
        .map(|x| x.to_display())
        .collect()
}

/// `File[/x]` → (`File`, `/x`).
pub fn parse_ref(s: &str) -> Option<(String, String)> {
    let i = s.find('[')?;
    if !s.ends_with(']') {
        return None;
    }
    let tn = &s[..i];
    let title = &s[i + 1..s.len() - 1];
    let title = title.trim_matches(|c| c == '\'' || c == '"');
    if tn.eq_ignore_ascii_case("class") {
        return Some(("Class".into(), title.to_lowercase()));
    }
    Some((capitalize_type_name(tn), title.to_string()))
}

fn join_errs(prefix: &str, errs: &[String]) -> String {
    if errs.len() == 1 {
        format!("{prefix}: {}", errs[0])
    } else {
        let mut s = format!("{prefix}:");
        for e in errs {
            s.push_str("\n  ");
            s.push_str(e);
        }
        s
    }
}

/// Ruby's `String#inspect` for the plain strings resource keys are.
fn ruby_inspect(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The namevar a Ruby type file declares: `newparam(:x, namevar: true)`, `:namevar => true`,
/// or `isnamevar` inside the parameter's block; `name` otherwise. Names are interned (a
/// handful per site), so resources keep a `&'static str` like the core types.
fn ruby_type_namevar(src: &str) -> &'static str {
    let mut current: Option<&str> = None;
    let mut found: Option<&str> = None;
    for line in src.lines() {
        let l = line.trim();
        if let Some(rest) = l
            .strip_prefix("newparam(:")
            .or_else(|| l.strip_prefix("newparam :"))
        {
            let name_end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let name = &rest[..name_end];
            current = Some(name);
            if rest.contains("namevar: true") || rest.contains(":namevar => true") {
                found = Some(name);
                break;
            }
        } else if l.starts_with("newproperty(") || l.starts_with("newproperty :") {
            current = None;
        } else if l == "isnamevar" || l.starts_with("isnamevar ") {
            if let Some(c) = current {
                found = Some(c);
                break;
            }
        }
    }
    intern(found.unwrap_or("name"))
}

/// The attribute names a module's Ruby type declares: `newparam(:x)`, `newproperty(:x)`,
/// `ensurable` (`ensure`), plus `name`, and `provider` when the type has providers (Puppet's
/// rules). `None` when the file may make attributes that only running its Ruby code would show
/// (a computed name, a call outside a string that is not at a line's start, `extend`, a
/// parent type): then nothing is refused.
fn ruby_type_attrs(src: &str, providers: bool) -> Option<Arc<[String]>> {
    let mut attrs: Vec<String> = vec!["name".into()];
    if providers {
        attrs.push("provider".into());
    }
    for line in src.lines() {
        let l = line.trim();
        if l.starts_with('#') {
            continue;
        }
        if l.starts_with("extend ")
            || (l.contains("newtype") && (l.contains(":parent =>") || l.contains("parent:")))
        {
            return None;
        }
        if l == "ensurable" || l.starts_with("ensurable ") || l.starts_with("ensurable(") {
            attrs.push("ensure".into());
            continue;
        }
        for kw in ["newparam", "newproperty", "newmetaparam"] {
            let mut from = 0;
            while let Some(found) = l[from..].find(kw) {
                let at = from + found;
                from = at + kw.len();
                let before = l[..at].chars().last();
                let after = &l[at + kw.len()..];
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                    || after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                    || in_string(&l[..at])
                {
                    continue;
                }
                if at != 0 {
                    // A call inside an expression (`check = newparam(name, ...)`).
                    return None;
                }
                let arg = after.trim_start_matches(['(', ' ']);
                // A symbol or a string; anything else (`newparam(p)`) is a computed name.
                let name = match arg.strip_prefix(':') {
                    Some(sym) => sym,
                    None => arg.strip_prefix(['\'', '"'])?,
                };
                let end = name
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(name.len());
                if end == 0 {
                    return None;
                }
                attrs.push(name[..end].to_string());
            }
        }
    }
    Some(attrs.into())
}

/// Whether the end of `prefix` is inside a Ruby string literal (an odd count of unescaped
/// quotes of one kind).
fn in_string(prefix: &str) -> bool {
    let (mut single, mut double, mut escaped) = (false, false, false);
    for c in prefix.chars() {
        match c {
            '\\' if !escaped => {
                escaped = true;
                continue;
            }
            '\'' if !double && !escaped => single = !single,
            '"' if !single && !escaped => double = !double,
            _ => {}
        }
        escaped = false;
    }
    single || double
}

fn intern(s: &str) -> &'static str {
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<std::collections::HashSet<&'static str>>> = OnceLock::new();
    let set = NAMES.get_or_init(|| Mutex::new(std::collections::HashSet::new()));
    let Ok(mut set) = set.lock() else {
        return "name";
    };
    if let Some(x) = set.get(s) {
        return x;
    }
    let leaked: &'static str = Box::leak(s.to_string().into_boxed_str());
    set.insert(leaked);
    leaked
}
