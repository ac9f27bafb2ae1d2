//! Resource expressions: declaring resources (with their attribute checks), the resource index
//! and edges, and reference parsing.

use crate::catalog::schema::METAPARAMS;
use crate::catalog::{valid_tag, Kind, Resource};
use crate::code::Def;
use crate::lang::build::module_types::ruby_inspect;
use crate::lang::build::module_types::TypeInfo;
use crate::lang::eval::Evaluator;
use crate::lang::scope::ScopeId;
use indexmap::IndexMap;
use troupe_syntax::ast::{AttrOp, Expr, ExprKind, Literal, ResourceForm};
use troupe_values::error::{EResult, EvalError, Loc};
use troupe_values::types::{capitalize_type_name, Type};
use troupe_values::value::{Map, Value};

pub(crate) const RELATION_PARAMS: &[&str] = &["require", "before", "notify", "subscribe"];

impl<'e> Evaluator<'e> {
    pub(crate) fn add_resource(&mut self, r: Resource) -> usize {
        let (tn, title) = (r.type_name.to_lowercase(), r.title.clone());
        self.res.push(r);
        let idx = self.res.len() - 1;
        self.index.entry(tn).or_default().insert(title, idx);
        idx
    }

    /// The resources of a type (any case) by title; looked up without allocating for the
    /// usual short ASCII names.
    fn index_of_type(
        &self,
        type_name: &str,
    ) -> Option<&troupe_values::value::FastMap<String, usize>> {
        let mut buf = [0u8; 64];
        if type_name.is_ascii() && type_name.len() <= buf.len() {
            let b = &mut buf[..type_name.len()];
            b.copy_from_slice(type_name.as_bytes());
            b.make_ascii_lowercase();
            return std::str::from_utf8(b).ok().and_then(|t| self.index.get(t));
        }
        self.index.get(&type_name.to_lowercase())
    }

    pub fn find_resource(&self, type_name: &str, title: &str) -> Option<usize> {
        let by_title = self.index_of_type(type_name)?;
        if type_name.eq_ignore_ascii_case("class") {
            let n = title.trim_start_matches("::").to_lowercase();
            return by_title.get(&capitalize_type_name(&n)).copied();
        }
        by_title.get(title).copied()
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

    /// A resource body's operations: an attribute given twice (also through `* =>`) is
    /// refused at the resource expression, as Puppet refuses it.
    fn body_ops(&mut self, ops: &[AttrOp], e: &Expr) -> EResult<Vec<(String, bool, Value, Loc)>> {
        let out = self.eval_ops(ops)?;
        for (i, (name, ..)) in out.iter().enumerate() {
            if out[..i].iter().any(|o| &o.0 == name) {
                return self.err(format!("The attribute '{name}' has already been set"), e);
            }
        }
        Ok(out)
    }

    /// Collects `name => value` operations, with `* => hash` unfolded.
    pub(crate) fn eval_ops(&mut self, ops: &[AttrOp]) -> EResult<Vec<(String, bool, Value, Loc)>> {
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
                                troupe_values::value::a_value(other)
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
                    other => return self.err(illegal_type(&other.to_string()), type_expr),
                },
                v => {
                    let actual = troupe_values::infer::generalize(v).to_string();
                    return self.err(illegal_type(&actual), type_expr);
                }
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

    pub(crate) fn resource_expr_inner(
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
                expr_defaults = self.body_ops(&b.ops, e)?;
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
                for op in self.body_ops(&b.ops, e)? {
                    ops.retain(|o| o.0 != op.0);
                    ops.push(op);
                }
                for t in troupe_values::value::flatten(std::slice::from_ref(&title)) {
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
                Value::Array(a) => troupe_values::value::flatten(a),
                other => vec![other.clone()],
            };
            let mut ops = expr_defaults.clone();
            for op in self.body_ops(&b.ops, e)? {
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
                        return Err(EvalError::new(format!("Illegal title type at index {i}. Expected String, got {}", troupe_values::types::infer_for_message(other))).at(self.loc_e(&b.title)))
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
            TypeInfo::ModuleType(nv, _, _) => (Kind::Compilable, *nv),
            TypeInfo::Define(_) => (Kind::Defined, "name"),
        };
        let mut r = Resource {
            type_name: type_name.to_string(),
            title: title.clone(),
            params: Default::default(),
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
        // Resource defaults, outermost scope first; an attribute the body sets to undef
        // takes no default (Puppet's way to unset one).
        let defaults = self.lookup_defaults(self.cur, &type_name.to_lowercase());
        for (k, v) in defaults {
            if !r.params.contains_key(&k) && !v.is_undef() && !given_undef.contains(&k) {
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
        // Several namevars: the catalog carries those the title sets, first (Puppet
        // serializes `parse_title.merge(parameters)`).
        if let TypeInfo::ModuleType(_, _, Some(keys)) = info {
            let derived = keys.from_title(&title);
            if !derived.is_empty() {
                let mut params = crate::catalog::Params::default();
                for (k, v) in derived {
                    let v = r.params.get(&k).cloned().unwrap_or(v);
                    if !v.is_undef() {
                        params.insert(k, v);
                    }
                }
                for (k, v) in std::mem::take(&mut r.params) {
                    params.entry(k).or_insert(v);
                }
                r.params = params;
            }
        }
        // An isomorphic type's namevar is its identity: `file { 'a': path => '/x' }` also
        // claims File['/x'] (Puppet's uniqueness-key alias).
        // The alias: the key the resource is also indexed by, and the text Puppet prints
        // for it in a conflict (`"/x"`; `"k", "sec"` for several namevars).
        let alias: Option<(String, String)> = match info {
            TypeInfo::Builtin(nv) if !matches!(type_name, "Exec" | "Tidy" | "Package") => {
                match r.params.get(*nv) {
                    Some(Value::Str(k)) if **k != *title => Some((k.to_string(), ruby_inspect(k))),
                    _ => None,
                }
            }
            // Several namevars: the uniqueness key, always (a title never spells it; the
            // brackets keep it apart from titles in the index).
            TypeInfo::ModuleType(_, _, Some(keys)) => {
                let shown = keys.key_of(&title, &r.params);
                Some((format!("[{shown}]"), shown))
            }
            _ => None,
        };
        if let Some((key, shown)) = &alias {
            if let Some(existing) = self.find_resource(type_name, key) {
                let e = &self.res[existing];
                let there = match (&e.file, e.line) {
                    (Some(f), Some(l)) => format!(" (file: {f}, line: {l})"),
                    _ => String::new(),
                };
                return Err(EvalError::new(format!(
                    "Cannot alias {type_name}[{title}] to [{shown}] at (file: {file}, line: {line}); resource [\"{type_name}\", {shown}] already declared{there}"
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
        if let Some((key, _)) = alias {
            self.index
                .entry(type_name.to_lowercase())
                .or_default()
                .insert(key, idx);
        }
        if !is_stage {
            if let Some(container) = self.scope_resource(self.cur) {
                self.add_edge(container, idx);
            }
        }
        Ok(idx)
    }

    pub(crate) fn check_define_params(
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
                    // A Deferred is checked by its function's return type.
                    if let Value::Deferred(d) = v {
                        if let Some(m) = self.deferred_param(&p.name, t, d)? {
                            errs.push(m);
                        }
                    } else if !t.accepts(v) {
                        errs.push(troupe_values::describe::mismatch(
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
}

pub fn tag_values(v: &Value) -> Vec<String> {
    troupe_values::value::flatten(std::slice::from_ref(v))
        .iter()
        .map(|x| x.to_display())
        .collect()
}

pub(crate) fn join_errs(prefix: &str, errs: &[String]) -> String {
    // A description of several problems (a Struct's keys) is one problem a line.
    let errs: Vec<&str> = errs
        .iter()
        .flat_map(|e| e.split('\n'))
        .map(str::trim_start)
        .filter(|l| !l.is_empty())
        .collect();
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

pub(crate) fn intern(s: &str) -> &'static str {
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

impl Evaluator<'_> {
    /// `create_resources` (and stdlib's `ensure_resource`): each `title => attributes` of `h`
    /// over `defaults`; `@`/`@@` before the type makes them virtual/exported, `class` declares
    /// classes.
    pub(crate) fn create_resources(
        &mut self,
        tn: &str,
        h: &Map,
        defaults: &Map,
        e: &Expr,
    ) -> EResult<()> {
        let lc = tn.trim_start_matches("::").to_lowercase();
        let (form, lc) = if let Some(x) = lc.strip_prefix("@@") {
            (troupe_syntax::ast::ResourceForm::Exported, x.to_string())
        } else if let Some(x) = lc.strip_prefix('@') {
            (troupe_syntax::ast::ResourceForm::Virtual, x.to_string())
        } else {
            (troupe_syntax::ast::ResourceForm::Regular, lc)
        };
        let loc = self.loc_e(e);
        for (title, attrs) in h.iter() {
            let mut params: IndexMap<String, Value> = IndexMap::new();
            for (k, v) in defaults.iter() {
                params.insert(k.to_display(), v.clone());
            }
            if let Value::Hash(a) = attrs {
                for (k, v) in a.iter() {
                    params.insert(k.to_display(), v.clone());
                }
            }
            if lc == "class" {
                self.declare_class(
                    &title.to_display(),
                    Some(params),
                    Some(loc.line),
                    loc.clone(),
                    "Function Call",
                )?;
                continue;
            }
            let info = match self.resource_type_info(&lc)? {
                Some(i) => i,
                None => return Err(EvalError::new(format!("Unknown resource type: '{lc}'"))),
            };
            let ops: Vec<(String, bool, Value, troupe_values::error::Loc)> = params
                .into_iter()
                .map(|(k, v)| (k, false, v, loc.clone()))
                .collect();
            let type_name = capitalize_type_name(&lc);
            let t = title.to_display();
            let idx = self.create_resource(&type_name, &t, &info, &ops, form, loc.line)?;
            if !matches!(title, Value::Str(_)) {
                // A title that is not a String (an Integer key): Puppet keeps it as it is, so it
                // is no tag, and the name it sets no longer equals the title and shows in the
                // catalog.
                self.res[idx].name_param = true;
                self.res[idx].tags.retain(|x| *x != t);
            }
        }
        Ok(())
    }
}

/// Puppet's ILLEGAL_RESOURCE_TYPE.
fn illegal_type(actual: &str) -> String {
    format!("Illegal Resource Type expression, expected result to be a type name, or untitled Resource, got {actual}")
}
