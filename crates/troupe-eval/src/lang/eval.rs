//! The evaluator: expressions, operators, variables and calls.

use crate::catalog::Resource;
use crate::code::{loc_of, Code, Def, DefKind, Environment, LoadKind};
use crate::lang::scope::{Scope, ScopeId, ScopeKind, Table};
use crate::model::error::{EResult, EvalError, Flow, Loc};
use crate::model::number::as_f64;
use crate::model::number::parse_number;
use crate::model::types::{capitalize_type_name, Type, INT_MAX, INT_MIN};
use crate::model::value::a_value;
use crate::model::value::flatten;
use crate::model::value::{Map, Regexp, Value};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;
use troupe_syntax::ast::{
    AssignOp, BinOp, CaseOption, Expr, ExprKind, HashEntry, Lambda, Literal, Param, StrPart, UnOp,
};
use troupe_syntax::{SourceFile, Span};

/// What the node brings to a compile.
#[derive(Debug, Clone)]
pub struct NodeInput {
    pub certname: String,
    /// The facts hash (`$facts`).
    pub facts: Value,
    pub trusted: Value,
    pub server_facts: Value,
}

#[derive(Debug)]
pub struct Collector {
    pub type_name: String,
    pub query: Option<Expr>,
    pub ops: Vec<(String, bool, Value)>,
    pub scope: ScopeId,
    pub src: Arc<SourceFile>,
    pub collected: Vec<usize>,
    pub exported: bool,
}

#[derive(Debug, Clone)]
pub enum Operand {
    Refs(Vec<(String, String)>),
    Collector(usize),
    /// The right end of `x -> Coll<||>`: what the collector gathers, or, when it gathers
    /// nothing, `x` itself (Puppet chains through an empty collector).
    OrElse(Box<Operand>, Box<Operand>),
}

#[derive(Debug)]
pub struct Relationship {
    pub source: Operand,
    pub target: Operand,
    /// `before` or `notify` on the source.
    pub param: &'static str,
}

#[derive(Debug)]
pub struct Override {
    pub type_name: String,
    pub title: String,
    pub ops: Vec<(String, bool, Value)>,
    pub scope: ScopeId,
    pub loc: Loc,
}

/// The parameters of a class or define while its defaults are evaluated (see
/// `eval_param_default`).
pub(crate) struct ParamGuard {
    pub scope: ScopeId,
    pub names: std::rc::Rc<[String]>,
    pub from: String,
    pub callee: String,
    /// The error, once a default read a parameter with no value.
    pub failed: Option<String>,
}

pub struct Evaluator<'e> {
    pub env: &'e dyn Environment,
    pub input: NodeInput,
    pub(crate) classes: HashMap<String, Arc<Def>>,
    pub(crate) defines: HashMap<String, Arc<Def>>,
    pub(crate) functions: HashMap<String, Arc<Def>>,
    pub(crate) aliases: HashMap<String, Arc<Def>>,
    pub(crate) nodes: Vec<Arc<Def>>,
    pub(crate) alias_cache: HashMap<String, Rc<Type>>,
    pub(crate) type_infos: HashMap<String, Option<crate::lang::build::resources::TypeInfo>>,
    pub(crate) loaded: HashSet<String>,
    pub(crate) param_guard: Option<ParamGuard>,
    /// Which module Ruby functions exist, and their API, by name (see `ruby_function_api`).
    pub(crate) ruby_functions: HashMap<String, Option<crate::lang::call::RubyApi>>,
    /// The line of each relationship attribute (`require => ...`) by resource, for errors.
    pub(crate) param_lines: HashMap<(usize, String), u32>,
    pub(crate) missing: HashSet<(LoadKind, String)>,
    pub scopes: Vec<Scope>,
    pub cur: ScopeId,
    pub top: ScopeId,
    pub class_scopes: HashMap<String, ScopeId>,
    pub res: Vec<Resource>,
    pub index: HashMap<(String, String), usize>,
    pub edges: Vec<(usize, usize)>,
    pub edge_set: HashSet<(usize, usize)>,
    pub class_list: Vec<String>,
    pub cat_tags: Vec<String>,
    pub collectors: Vec<Collector>,
    pub relationships: Vec<Relationship>,
    pub overrides: Vec<Override>,
    pub src: Arc<SourceFile>,
    pub render: Vec<String>,
    pub warnings: Vec<String>,
    pub hiera: crate::data::hiera::HieraCache,
    pub stage_main: usize,
    pub class_main: usize,
    /// Expressions evaluated, for the budget's checkpoints.
    steps: u32,
    /// Expressions being evaluated (nested), for stack growth.
    nesting: u32,
    /// Named frames (functions, templates) now active, against `limits::MAX_DEPTH`.
    depth: usize,
    /// How many define instances declared each define instance, by resource (see
    /// `evaluate_define`); `define_depth` is that of the one being evaluated.
    pub(crate) define_gen: HashMap<usize, usize>,
    pub(crate) define_depth: usize,
}

impl std::fmt::Debug for Evaluator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator")
            .field("node", &self.input.certname)
            .finish()
    }
}

pub(crate) fn undef_var_is_builtin(name: &str) -> bool {
    matches!(
        name,
        "facts"
            | "trusted"
            | "server_facts"
            | "title"
            | "name"
            | "module_name"
            | "caller_module_name"
    )
}

impl<'e> Evaluator<'e> {
    pub fn new(env: &'e dyn Environment, input: NodeInput) -> Evaluator<'e> {
        let empty = SourceFile::new("", "");
        Evaluator {
            env,
            input,
            classes: HashMap::new(),
            defines: HashMap::new(),
            functions: HashMap::new(),
            aliases: HashMap::new(),
            nodes: Vec::new(),
            alias_cache: HashMap::new(),
            type_infos: HashMap::new(),
            loaded: HashSet::new(),
            param_guard: None,
            ruby_functions: HashMap::new(),
            param_lines: HashMap::new(),
            missing: HashSet::new(),
            scopes: vec![Scope::new(ScopeKind::Top, None, None)],
            cur: 0,
            top: 0,
            class_scopes: HashMap::new(),
            res: Vec::new(),
            index: HashMap::new(),
            edges: Vec::new(),
            edge_set: HashSet::new(),
            class_list: Vec::new(),
            cat_tags: Vec::new(),
            collectors: Vec::new(),
            relationships: Vec::new(),
            overrides: Vec::new(),
            src: empty,
            render: Vec::new(),
            warnings: Vec::new(),
            hiera: Default::default(),
            stage_main: 0,
            class_main: 0,
            steps: 0,
            nesting: 0,
            depth: 0,
            define_gen: HashMap::new(),
            define_depth: 0,
        }
    }

    // ---- locations and errors -------------------------------------------------------------

    pub fn loc(&self, span: Span) -> Loc {
        loc_of(&self.src, span.lo)
    }

    pub fn loc_e(&self, e: &Expr) -> Loc {
        loc_of(&self.src, e.anchor())
    }

    pub fn line_loc(&self, span: Span) -> Loc {
        let mut l = self.loc(span);
        l.col = None;
        l
    }

    pub fn err<T>(&self, msg: impl Into<String>, e: &Expr) -> EResult<T> {
        Err(EvalError::new(msg).at(self.loc_e(e)))
    }

    pub fn warn(&mut self, msg: String) {
        if !self.warnings.contains(&msg) {
            self.warnings.push(msg);
        }
    }

    // ---- definitions ------------------------------------------------------------------------

    pub fn register(&mut self, code: &Arc<Code>) {
        if !self.loaded.insert(code.source.path.clone()) {
            return;
        }
        for d in &code.defs {
            let map = match d.kind {
                DefKind::Class { .. } => &mut self.classes,
                DefKind::Define => &mut self.defines,
                DefKind::Function { .. } => &mut self.functions,
                DefKind::TypeAlias { .. } => &mut self.aliases,
                DefKind::Node { .. } => {
                    self.nodes.push(d.clone());
                    continue;
                }
            };
            map.entry(d.name.clone()).or_insert_with(|| d.clone());
        }
    }

    /// Finds a class, define, function or alias by name, autoloading its file.
    pub fn find_def(&mut self, kind: LoadKind, name: &str) -> EResult<Option<Arc<Def>>> {
        let name = name.trim_start_matches("::").to_lowercase();
        let lookup = |s: &Self| -> Option<Arc<Def>> {
            match kind {
                LoadKind::Manifest => s
                    .classes
                    .get(&name)
                    .or_else(|| s.defines.get(&name))
                    .cloned(),
                LoadKind::Function => s.functions.get(&name).cloned(),
                LoadKind::Type => s.aliases.get(&name).cloned(),
            }
        };
        if let Some(d) = lookup(self) {
            return Ok(Some(d));
        }
        if self.missing.contains(&(kind, name.clone())) {
            return Ok(None);
        }
        // Autoload: `a::b::c` lives in a/manifests/b/c.pp; for manifests, the files of
        // enclosing namespaces may define nested names too.
        let mut candidates = vec![name.clone()];
        if kind == LoadKind::Manifest {
            let segs: Vec<&str> = name.split("::").collect();
            for i in (1..segs.len()).rev() {
                candidates.push(segs[..i].join("::"));
            }
        }
        for c in candidates {
            if let Some(code) = self.env.autoload(kind, &c)? {
                self.register(&code);
                if let Some(d) = lookup(self) {
                    return Ok(Some(d));
                }
            }
        }
        self.missing.insert((kind, name));
        Ok(None)
    }

    pub fn find_class(&mut self, name: &str) -> EResult<Option<Arc<Def>>> {
        let n = name.trim_start_matches("::").to_lowercase();
        if let Some(d) = self.classes.get(&n) {
            return Ok(Some(d.clone()));
        }
        self.find_def(LoadKind::Manifest, &n)?;
        Ok(self.classes.get(&n).cloned())
    }

    pub fn find_define(&mut self, name: &str) -> EResult<Option<Arc<Def>>> {
        let n = name.trim_start_matches("::").to_lowercase();
        if let Some(d) = self.defines.get(&n) {
            return Ok(Some(d.clone()));
        }
        self.find_def(LoadKind::Manifest, &n)?;
        Ok(self.defines.get(&n).cloned())
    }

    // ---- scopes and variables ---------------------------------------------------------------

    pub fn new_scope(
        &mut self,
        kind: ScopeKind,
        parent: Option<ScopeId>,
        resource: Option<usize>,
    ) -> ScopeId {
        self.scopes.push(Scope::new(kind, parent, resource));
        self.scopes.len() - 1
    }

    /// Where unqualified lookups go after the scope's own tables: the inherited class,
    /// else the first node or top scope up the dynamic parent chain.
    fn next_scope(&self, id: ScopeId) -> Option<ScopeId> {
        let s = &self.scopes[id];
        if let Some(i) = s.inherited {
            return Some(i);
        }
        match s.kind {
            ScopeKind::Top => None,
            ScopeKind::Isolated => Some(self.top),
            _ => {
                let mut p = s.parent?;
                loop {
                    let ps = &self.scopes[p];
                    if matches!(ps.kind, ScopeKind::Top | ScopeKind::Node) {
                        return Some(p);
                    }
                    match ps.parent {
                        Some(pp) => p = pp,
                        None => return Some(self.top),
                    }
                }
            }
        }
    }

    /// Puppet's `scope.to_hash`: every variable visible from the current scope, nearer scopes
    /// shadowing outer ones; undef values and match variables left out.
    pub fn visible_vars(&self) -> crate::model::value::Map {
        let mut chain = Vec::new();
        let mut id = Some(self.cur);
        while let Some(s) = id {
            chain.push(s);
            id = self.next_scope(s);
        }
        let mut out = crate::model::value::Map::new();
        for s in chain.into_iter().rev() {
            for t in &self.scopes[s].tables {
                for (k, v) in &t.vars {
                    if !v.is_undef() {
                        out.insert(Value::str(k.as_str()), v.clone());
                    } else {
                        out.shift_remove(&Value::str(k.as_str()));
                    }
                }
            }
        }
        out
    }

    pub fn lookup_var(&mut self, name: &str, e: Option<&Expr>) -> EResult<Value> {
        if let Some(first) = name.chars().next() {
            if first.is_ascii_digit() {
                let idx: usize = name.parse().unwrap_or(usize::MAX);
                let m = self.scopes[self.cur].matches().cloned();
                return Ok(m.and_then(|m| m.get(idx).cloned()).unwrap_or(Value::Undef));
            }
        }
        if let Some(stripped) = name.strip_prefix("::") {
            if !stripped.contains("::") {
                return Ok(self.scopes[self.top]
                    .local(stripped)
                    .cloned()
                    .unwrap_or(Value::Undef));
            }
            return self.lookup_qualified(stripped, e);
        }
        if name.contains("::") {
            return self.lookup_qualified(name, e);
        }
        let mut id = Some(self.cur);
        while let Some(s) = id {
            if let Some(v) = self.scopes[s].local(name) {
                return Ok(v.clone());
            }
            if let Some(g) = &self.param_guard {
                if g.scope == s {
                    if let Some(to) = g.names.iter().position(|n| n == name) {
                        let from = g.names.iter().position(|n| *n == g.from).unwrap_or(0);
                        let msg = if to < from {
                            format!("{}: expects a value for parameter ${name}", g.callee)
                        } else {
                            format!(
                                "{}: default expression for ${} tries to illegally access not yet evaluated ${name}",
                                g.callee, g.from
                            )
                        };
                        if let Some(g) = &mut self.param_guard {
                            g.failed = Some(msg.clone());
                        }
                        return Err(EvalError::new(msg));
                    }
                }
            }
            id = self.next_scope(s);
        }
        if !undef_var_is_builtin(name) {
            if let Some(e) = e {
                let l = self.loc_e(e);
                self.warn(format!("Unknown variable: '{name}'. {l}"));
            }
        }
        Ok(Value::Undef)
    }

    fn lookup_qualified(&mut self, name: &str, e: Option<&Expr>) -> EResult<Value> {
        let (class, var) = match name.rfind("::") {
            Some(i) => (&name[..i], &name[i + 2..]),
            None => ("", name),
        };
        let class = class.to_lowercase();
        if class.is_empty() {
            return Ok(self.scopes[self.top]
                .local(var)
                .cloned()
                .unwrap_or(Value::Undef));
        }
        if class == "settings" {
            return Ok(crate::lang::settings::setting(self, var));
        }
        match self.class_scopes.get(&class) {
            Some(&sid) => {
                let mut id = Some(sid);
                // A class's variables include those it inherits.
                while let Some(s) = id {
                    if let Some(v) = self.scopes[s].tables[0].vars.get(var) {
                        return Ok(v.clone());
                    }
                    id = self.scopes[s].inherited;
                }
                Ok(Value::Undef)
            }
            None => {
                if let Some(e) = e {
                    let l = self.loc_e(e);
                    let known = self.find_class(&class)?.is_some();
                    let why = if known {
                        "has not been evaluated"
                    } else {
                        "could not be found"
                    };
                    self.warn(format!(
                        "Could not look up qualified variable '{name}'; class {class} {why} {l}"
                    ));
                }
                Ok(Value::Undef)
            }
        }
    }

    /// `var.key.0`: a variable, then a dotted path into it (`getvar`, Hiera interpolation).
    pub fn var_path(&mut self, expr: &str) -> EResult<Value> {
        let mut parts = expr.trim().splitn(2, '.');
        let base = self.lookup_var(parts.next().unwrap_or(""), None)?;
        Ok(crate::model::value::dig_path(base, parts.next()))
    }

    pub fn set_var(&mut self, name: &str, v: Value, e: &Expr) -> EResult<()> {
        if name.contains("::") {
            return self.err(
                format!("Cannot assign to a variable in another namespace: '${name}'"),
                e,
            );
        }
        if name.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            return self.err(
                format!("Illegal attempt to assign to the numeric match result variable '${name}'"),
                e,
            );
        }
        let builtin = matches!(
            name,
            "name"
                | "title"
                | "module_name"
                | "caller_module_name"
                | "facts"
                | "trusted"
                | "server_facts"
        );
        let t = self.scopes[self.cur].assign_table();
        if t.vars.contains_key(name) || builtin {
            let l = self.loc_e(e);
            let what = if builtin {
                "built in (or already assigned) variable"
            } else {
                "variable"
            };
            return Err(EvalError::new(format!("Cannot reassign {what} '${name}'")).at(l));
        }
        t.vars.insert(name.to_string(), v);
        Ok(())
    }

    pub fn set_var_unchecked(&mut self, scope: ScopeId, name: &str, v: Value) {
        self.scopes[scope].tables[0]
            .vars
            .insert(name.to_string(), v);
    }

    fn with_match_guard<T>(&mut self, f: impl FnOnce(&mut Self) -> EResult<T>) -> EResult<T> {
        let cur = self.cur;
        let depth = self.scopes[cur].tables.len();
        self.scopes[cur].tables.push(Table {
            match_only: true,
            ..Default::default()
        });
        let r = f(self);
        self.scopes[cur].tables.truncate(depth);
        r
    }

    fn set_matches(&mut self, caps: Vec<Value>) {
        let cur = self.cur;
        let t = self.scopes[cur]
            .tables
            .iter_mut()
            .rev()
            .find(|t| t.match_only);
        match t {
            Some(t) => t.matches = Some(Rc::new(caps)),
            None => {
                self.scopes[cur].tables.push(Table {
                    match_only: true,
                    matches: Some(Rc::new(caps)),
                    ..Default::default()
                });
            }
        }
    }

    // ---- limits ---------------------------------------------------------------------------------

    /// Enters a named frame (`kind` 'name': a function, a template); fails past
    /// `limits::MAX_DEPTH`. Every successful call is paired with `leave_frame`.
    pub(crate) fn enter_frame(&mut self, kind: &str, name: &str) -> EResult<()> {
        if self.depth >= crate::model::limits::MAX_DEPTH {
            return Err(crate::model::limits::too_deep(kind, name));
        }
        self.depth += 1;
        Ok(())
    }

    pub(crate) fn leave_frame(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// `f` inside a named frame.
    pub(crate) fn in_frame<T>(
        &mut self,
        kind: &str,
        name: &str,
        f: impl FnOnce(&mut Self) -> EResult<T>,
    ) -> EResult<T> {
        self.enter_frame(kind, name)?;
        let r = f(self);
        self.leave_frame();
        r
    }

    // ---- expressions -----------------------------------------------------------------------

    /// Evaluates an expression. Deep trees grow the stack on the heap, and every 256
    /// expressions the compile's budget is checked.
    pub fn eval(&mut self, e: &Expr) -> EResult<Value> {
        self.steps = self.steps.wrapping_add(1);
        if self.steps.is_multiple_of(256) {
            crate::model::limits::checkpoint().map_err(|err| err.at(self.loc_e(e)))?;
        }
        // Checking the stack costs a call: every eighth level is enough (the red zone holds
        // the eight in between).
        self.nesting = self.nesting.wrapping_add(1);
        let r = if self.nesting.is_multiple_of(8) {
            crate::model::limits::grow(|| self.eval_expr(e))
        } else {
            self.eval_expr(e)
        };
        self.nesting = self.nesting.wrapping_sub(1);
        r
    }

    fn eval_expr(&mut self, e: &Expr) -> EResult<Value> {
        match &e.kind {
            ExprKind::Nop => Ok(Value::Undef),
            ExprKind::Block(items) => {
                let mut last = Value::Undef;
                for i in items {
                    last = self.eval(i)?;
                }
                Ok(last)
            }
            ExprKind::Literal(l) => self.literal(l, e),
            ExprKind::QName(n) => Ok(Value::str(n.as_str())),
            ExprKind::QRef(n) => self.type_ref(n).map_err(|err| err.at(self.loc_e(e))),
            ExprKind::Variable(n) => self.lookup_var(n, Some(e)),
            ExprKind::Concat(parts) => {
                let mut s = String::new();
                for p in parts {
                    match p {
                        StrPart::Text(t) => s.push_str(t),
                        StrPart::Expr(x) => {
                            let v = self.eval(x)?;
                            v.write_display(&mut s, false);
                        }
                    }
                }
                Ok(Value::str(s))
            }
            ExprKind::Heredoc { text, .. } => self.eval(text),
            ExprKind::Array(items) => Ok(Value::array(self.eval_args(items)?)),
            ExprKind::Hash { entries, .. } => {
                let mut m = Map::with_capacity(entries.len());
                for HashEntry { key, value, .. } in entries {
                    let k = self.eval(key)?;
                    let v = self.eval(value)?;
                    m.insert(k, v);
                }
                Ok(Value::hash(m))
            }
            ExprKind::Unary { op, expr } => {
                let v = self.eval(expr)?;
                match op {
                    UnOp::Not => Ok(Value::Bool(!v.truthy())),
                    UnOp::Splat => Ok(v),
                    UnOp::Neg => match self.to_number(&v, expr)? {
                        Value::Int(i) => i
                            .checked_neg()
                            .map(Value::Int)
                            .ok_or_else(|| EvalError::new("Integer overflow").at(self.loc_e(e))),
                        Value::Float(f) => Ok(Value::Float(-f)),
                        _ => self.err(
                            format!("Operator '-' is not applicable to {}.", a_value(&v)),
                            e,
                        ),
                    },
                }
            }
            ExprKind::Binary { op, lhs, rhs, .. } => self.binary(*op, lhs, rhs, e),
            ExprKind::Assign { op, lhs, rhs, .. } => {
                if *op != AssignOp::Assign {
                    return self.err(format!("The operator '{}' is no longer supported. See http://links.puppet.com/remove-plus-equals", if *op == AssignOp::Append { "+=" } else { "-=" }), e);
                }
                let v = self.eval(rhs)?;
                self.assign(lhs, v.clone(), e)?;
                Ok(v)
            }
            ExprKind::Relationship { .. } => {
                self.relationship(e)?;
                Ok(Value::Undef)
            }
            ExprKind::Access { target, args } => self.access(target, args, e),
            ExprKind::Selector { test, entries } => self.selector(test, entries, e),
            ExprKind::Paren(x) => self.eval(x),
            ExprKind::If { cond, then, els } => self.with_match_guard(|s| {
                let c = s.eval(cond)?;
                if c.truthy() {
                    s.eval_opt(then)
                } else {
                    s.eval_opt(els)
                }
            }),
            ExprKind::Unless { cond, then, els } => self.with_match_guard(|s| {
                let c = s.eval(cond)?;
                if !c.truthy() {
                    s.eval_opt(then)
                } else {
                    s.eval_opt(els)
                }
            }),
            ExprKind::Case { test, options } => self.case(test, options),
            ExprKind::Call(c) => {
                let mut args = self.eval_args(&c.args)?;
                let name = match &c.func.kind {
                    ExprKind::QName(n) => n.as_str(),
                    // `Integer(...)` is `new(Integer, ...)`.
                    ExprKind::QRef(n) => {
                        args.insert(0, self.type_ref(n)?);
                        "new"
                    }
                    _ => return self.err("Illegal function call", e),
                };
                self.call_function(name, args, c.lambda.as_ref(), e)
            }
            ExprKind::MethodCall(m) => {
                let mut args = vec![self.eval(&m.receiver)?];
                args.extend(self.eval_args(&m.args)?);
                self.call_function(&m.name, args, m.lambda.as_ref(), e)
            }
            ExprKind::Collect { .. } => {
                self.collect_expr(e)?;
                Ok(Value::Undef)
            }
            ExprKind::Resource { .. } => self.resource_expr(e),
            ExprKind::ResourceDefaults { type_expr, ops, .. } => {
                self.resource_defaults(type_expr, ops, e)?;
                Ok(Value::Undef)
            }
            ExprKind::ResourceOverride { target, ops, .. } => {
                self.resource_override(target, ops, e)?;
                Ok(Value::Undef)
            }
            ExprKind::Class { .. }
            | ExprKind::Define(_)
            | ExprKind::Node { .. }
            | ExprKind::Function { .. }
            | ExprKind::TypeAlias { .. }
            | ExprKind::TypeDefinition { .. } => Ok(Value::Undef),
            ExprKind::Reserved(w) => self.err(
                format!(
                    "Use of reserved word: {w}, must be quoted if intended to be a String value"
                ),
                e,
            ),
            ExprKind::RenderString(s) => {
                if let Some(buf) = self.render.last_mut() {
                    buf.push_str(s);
                }
                Ok(Value::Undef)
            }
            ExprKind::RenderExpr(x) => {
                let v = self.eval(x)?;
                let s = v.to_display();
                if let Some(buf) = self.render.last_mut() {
                    buf.push_str(&s);
                }
                Ok(Value::Undef)
            }
            ExprKind::Epp { body, .. } => self.eval_opt(body),
            ExprKind::Error => self.err("Syntax error", e),
        }
    }

    pub fn eval_opt(&mut self, e: &Option<Box<Expr>>) -> EResult<Value> {
        match e {
            Some(e) => self.eval(e),
            None => Ok(Value::Undef),
        }
    }

    pub fn eval_args(&mut self, args: &[Expr]) -> EResult<Vec<Value>> {
        let mut out = Vec::with_capacity(args.len());
        for a in args {
            self.eval_unfolded(a, &mut out)?;
        }
        Ok(out)
    }

    /// Evaluates `e` into `out`; a splat (`*$array`) contributes each element.
    fn eval_unfolded(&mut self, e: &Expr, out: &mut Vec<Value>) -> EResult<()> {
        if let ExprKind::Unary {
            op: UnOp::Splat,
            expr,
        } = &e.kind
        {
            match &self.eval(expr)? {
                Value::Array(xs) => out.extend(xs.iter().cloned()),
                v => out.push(v.clone()),
            }
        } else {
            out.push(self.eval(e)?);
        }
        Ok(())
    }

    fn literal(&mut self, l: &Literal, e: &Expr) -> EResult<Value> {
        Ok(match l {
            Literal::Undef => Value::Undef,
            Literal::Default => Value::Default,
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Integer { value, .. } => Value::Int(*value),
            Literal::Float(f) => Value::Float(*f),
            Literal::String(s) => Value::str(s.as_str()),
            Literal::Regex(r) => Value::Regex(self.regex(r, e)?),
        })
    }

    pub fn regex(&self, src: &str, e: &Expr) -> EResult<Rc<Regexp>> {
        Regexp::new(src)
            .map(Rc::new)
            .map_err(|m| EvalError::new(m).at(self.loc_e(e)))
    }

    // ---- types ------------------------------------------------------------------------------

    pub fn type_ref(&mut self, name: &str) -> EResult<Value> {
        Ok(Value::ty(self.resolve_type_name(name)?))
    }

    pub fn resolve_type_name(&mut self, name: &str) -> EResult<Type> {
        let name = name.trim_start_matches("::");
        if let Some(t) = Type::from_name(name) {
            return Ok(t);
        }
        let lc = name.to_lowercase();
        if let Some(t) = self.alias_cache.get(&lc) {
            return Ok(Type::Alias(capitalize_type_name(name), t.clone()));
        }
        if let Some(def) = self.find_def(LoadKind::Type, &lc)? {
            if let DefKind::TypeAlias { value } = &def.kind {
                // Guard against self-reference while resolving.
                self.alias_cache.insert(lc.clone(), Rc::new(Type::Any));
                let saved = std::mem::replace(&mut self.src, def.source.clone());
                let v = self.in_frame("type alias", &lc, |s| s.eval(value));
                self.src = saved;
                let t = match &v? {
                    Value::Type(t) => (**t).clone(),
                    _ => Type::Any,
                };
                let rc = Rc::new(t);
                self.alias_cache.insert(lc, rc.clone());
                return Ok(Type::Alias(capitalize_type_name(name), rc));
            }
        }
        // Not a type, an alias, a Ruby resource type nor a define: Puppet's type reference
        // fails when it is evaluated.
        if self.resource_type_info(name)?.is_none() {
            return Err(EvalError::new(format!("Resource type not found: {name}")));
        }
        Ok(Type::Resource(Some(capitalize_type_name(name)), None))
    }

    // ---- assignment ---------------------------------------------------------------------------

    fn assign(&mut self, lhs: &Expr, v: Value, e: &Expr) -> EResult<()> {
        match &lhs.kind {
            ExprKind::Variable(n) => self.set_var(n, v, e),
            ExprKind::Array(targets) => match &v {
                Value::Array(vals) => {
                    if vals.len() != targets.len() {
                        return self.err(format!("Mismatched number of assignable entries and values, expected {}, got {}", targets.len(), vals.len()), e);
                    }
                    for (t, x) in targets.iter().zip(vals.iter()) {
                        self.assign(t, x.clone(), e)?;
                    }
                    Ok(())
                }
                Value::Hash(h) => {
                    for t in targets {
                        if let ExprKind::Variable(n) = &t.kind {
                            let x = h.get(&Value::str(n.as_str())).cloned();
                            match x {
                                Some(x) => self.set_var(n, x, t)?,
                                None => return self.err(format!("No value for required key '{n}' in assignment to variables from hash"), e),
                            }
                        }
                    }
                    Ok(())
                }
                _ => self.err(
                    format!(
                        "Mismatched number of assignable entries and values, expected {}, got 1",
                        targets.len()
                    ),
                    e,
                ),
            },
            _ => self.err(
                "Illegal attempt to assign to 'a Value'. Not an assignable reference",
                e,
            ),
        }
    }

    // ---- operators ----------------------------------------------------------------------------

    pub fn to_number(&self, v: &Value, e: &Expr) -> EResult<Value> {
        match v {
            Value::Int(_) | Value::Float(_) => Ok(v.clone()),
            Value::Str(s) => match parse_number(s) {
                Some(n) => Ok(n),
                None => self.err(
                    format!("The value '{s}' cannot be converted to Numeric."),
                    e,
                ),
            },
            _ => self.err(
                format!(
                    "The value '{}' cannot be converted to Numeric.",
                    v.to_display()
                ),
                e,
            ),
        }
    }

    fn binary(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr, e: &Expr) -> EResult<Value> {
        match op {
            BinOp::And => {
                let l = self.eval(lhs)?;
                if !l.truthy() {
                    return Ok(Value::Bool(false));
                }
                return Ok(Value::Bool(self.eval(rhs)?.truthy()));
            }
            BinOp::Or => {
                let l = self.eval(lhs)?;
                if l.truthy() {
                    return Ok(Value::Bool(true));
                }
                return Ok(Value::Bool(self.eval(rhs)?.truthy()));
            }
            _ => {}
        }
        let l = self.eval(lhs)?;
        let r = self.eval(rhs)?;
        self.binop_values(op, l, r, lhs, rhs, e)
    }

    pub fn binop_values(
        &mut self,
        op: BinOp,
        l: Value,
        r: Value,
        lhs: &Expr,
        rhs: &Expr,
        e: &Expr,
    ) -> EResult<Value> {
        match op {
            BinOp::Eq => Ok(Value::Bool(l.puppet_eq(&r))),
            BinOp::Ne => Ok(Value::Bool(!l.puppet_eq(&r))),
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => self.compare(op, &l, &r, e),
            BinOp::Match | BinOp::NotMatch => {
                let m = self.do_match(&l, &r, rhs, e)?;
                Ok(Value::Bool(if op == BinOp::Match { m } else { !m }))
            }
            BinOp::In => Ok(Value::Bool(self.in_op(&l, &r)?)),
            BinOp::Add => match (&l, &r) {
                (Value::Array(a), _) => {
                    let mut v = (**a).clone();
                    match &r {
                        Value::Array(b) => v.extend(b.iter().cloned()),
                        Value::Hash(h) => {
                            for (k, x) in h.iter() {
                                v.push(Value::array(vec![k.clone(), x.clone()]))
                            }
                        }
                        other => v.push(other.clone()),
                    }
                    Ok(Value::array(v))
                }
                (Value::Hash(a), Value::Hash(b)) => {
                    let mut m = (**a).clone();
                    for (k, x) in b.iter() {
                        m.insert(k.clone(), x.clone());
                    }
                    Ok(Value::hash(m))
                }
                (Value::Hash(_), _) => self.err(
                    format!(
                        "Operator '+' is not applicable to a Hash with {}.",
                        a_value(&r)
                    ),
                    e,
                ),
                _ => self.arith(op, &l, &r, lhs, rhs, e),
            },
            BinOp::Sub => match (&l, &r) {
                (Value::Array(a), _) => {
                    let rem: Vec<Value> = match &r {
                        Value::Array(b) => (**b).clone(),
                        other => vec![other.clone()],
                    };
                    Ok(Value::array(
                        a.iter()
                            .filter(|x| !rem.iter().any(|y| x.puppet_eq(y)))
                            .cloned()
                            .collect(),
                    ))
                }
                (Value::Hash(a), _) => {
                    let keys: Vec<Value> = match &r {
                        Value::Array(b) => (**b).clone(),
                        Value::Hash(h) => h.keys().cloned().collect(),
                        other => vec![other.clone()],
                    };
                    Ok(Value::hash(
                        a.iter()
                            .filter(|(k, _)| !keys.contains(k))
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                    ))
                }
                _ => self.arith(op, &l, &r, lhs, rhs, e),
            },
            BinOp::Shl => match &l {
                Value::Array(a) => {
                    let mut v = (**a).clone();
                    v.push(r.clone());
                    Ok(Value::array(v))
                }
                _ => self.arith(op, &l, &r, lhs, rhs, e),
            },
            _ => self.arith(op, &l, &r, lhs, rhs, e),
        }
    }

    fn arith(
        &self,
        op: BinOp,
        l: &Value,
        r: &Value,
        lhs: &Expr,
        rhs: &Expr,
        e: &Expr,
    ) -> EResult<Value> {
        if let (Value::Binary(a), BinOp::Add) = (l, op) {
            if let Value::Binary(b) = r {
                return Ok(Value::Binary([&a[..], &b[..]].concat().into()));
            }
        }
        let ln = match l {
            Value::Timestamp(_) | Value::Timespan(_) => l.clone(),
            _ => self.to_number(l, lhs)?,
        };
        let rn = match r {
            Value::Timestamp(_) | Value::Timespan(_) => r.clone(),
            _ => self.to_number(r, rhs)?,
        };
        if matches!(ln, Value::Timestamp(_) | Value::Timespan(_))
            || matches!(rn, Value::Timestamp(_) | Value::Timespan(_))
        {
            return self.time_arith(op, ln, rn, lhs, rhs, e);
        }
        let overflow = |v: i128| -> EResult<Value> {
            if v > i64::MAX as i128 || v < i64::MIN as i128 {
                let s = if v < 0 {
                    format!("-{:#x}", -v)
                } else {
                    format!("+{v:#x}")
                };
                self.err(format!("A '{}' expression resulted in a value outside of Puppet Integer max range, got '{s}'", op.as_str()), e)
            } else {
                Ok(Value::Int(v as i64))
            }
        };
        match (ln, rn) {
            (Value::Int(a), Value::Int(b)) => {
                let (a, b) = (a as i128, b as i128);
                match op {
                    BinOp::Add => overflow(a + b),
                    BinOp::Sub => overflow(a - b),
                    BinOp::Mul => overflow(a.saturating_mul(b)),
                    BinOp::Div => {
                        if b == 0 {
                            return self.err("Division by 0", rhs);
                        }
                        overflow(
                            a.div_euclid(b) - if a.rem_euclid(b) != 0 && b < 0 { 1 } else { 0 },
                        )
                        .and_then(|_| {
                            // Ruby integer division floors.
                            let q = (a as f64 / b as f64).floor() as i128;
                            overflow(q)
                        })
                    }
                    BinOp::Mod => {
                        if b == 0 {
                            return self.err("Division by 0", rhs);
                        }
                        overflow(
                            a.rem_euclid(b) + if b < 0 && a.rem_euclid(b) != 0 { b } else { 0 },
                        )
                    }
                    BinOp::Shl => overflow(if b >= 0 {
                        a.checked_shl(b as u32).unwrap_or(i128::MAX)
                    } else {
                        a >> (-b)
                    }),
                    BinOp::Shr => overflow(if b >= 0 { a >> b.min(127) } else { a << (-b) }),
                    _ => self.err("unsupported operator", e),
                }
            }
            (a, b) => {
                let fa = as_f64(&a);
                let fb = as_f64(&b);
                let v = match op {
                    BinOp::Add => fa + fb,
                    BinOp::Sub => fa - fb,
                    BinOp::Mul => fa * fb,
                    BinOp::Div => {
                        if fb == 0.0 {
                            return self.err("Division by 0", rhs);
                        }
                        fa / fb
                    }
                    BinOp::Mod => return self.err("Operator '%' is not applicable to a Float.", e),
                    _ => {
                        return self.err(
                            format!("Operator '{}' is not applicable to a Float.", op.as_str()),
                            e,
                        )
                    }
                };
                if v.is_infinite() {
                    return self.err(
                        format!("The result of the {} expression is Infinity", op.as_str()),
                        e,
                    );
                }
                Ok(Value::Float(v))
            }
        }
    }

    /// Arithmetic on `Timestamp` and `Timespan` (nanoseconds), after numeric coercion, with
    /// the operand order, errors and locations of Puppet's `calculate`.
    fn time_arith(
        &self,
        op: BinOp,
        mut l: Value,
        mut r: Value,
        lhs: &Expr,
        rhs: &Expr,
        e: &Expr,
    ) -> EResult<Value> {
        use crate::model::time::{secs_to_nsecs, NS_PER_SEC};
        let is_time = |v: &Value| matches!(v, Value::Timestamp(_) | Value::Timespan(_));
        let not_when = |l: &Value, r: &Value| {
            self.err(
                format!(
                    "Operator '{}' is not applicable to {} when right side is {}.",
                    op.as_str(),
                    a_value(l),
                    a_value(r)
                ),
                lhs,
            )
        };
        if op == BinOp::Mod && (matches!(l, Value::Float(_)) || matches!(r, Value::Float(_))) {
            return not_when(&l, &r);
        }
        if is_time(&r) && !is_time(&l) {
            match (op, &r) {
                (BinOp::Add, _) | (BinOp::Mul, Value::Timespan(_)) => {
                    std::mem::swap(&mut l, &mut r)
                }
                (BinOp::Sub, Value::Timespan(_)) => {
                    l = Value::Timespan(match l {
                        Value::Int(i) => i.saturating_mul(NS_PER_SEC as i64),
                        Value::Float(f) => secs_to_nsecs(f) as i64,
                        _ => 0,
                    })
                }
                _ => return not_when(&l, &r),
            }
        }
        let secs = |v: &Value| -> Option<i128> {
            match v {
                Value::Int(i) => Some(*i as i128 * NS_PER_SEC),
                Value::Float(f) => Some(secs_to_nsecs(*f)),
                _ => None,
            }
        };
        let a_an_uc = |v: &Value| {
            let mut s = a_value(v);
            if let Some(c) = s.get_mut(0..1) {
                c.make_ascii_uppercase();
            }
            s
        };
        // Ruby's ArgumentError from the time classes, reported at the operator.
        let arg_error = |msg: String| {
            self.err(
                format!(
                    "Error while evaluating a '{}' expression, {msg}",
                    op.as_str()
                ),
                e,
            )
        };
        let n_a = || {
            self.err(
                format!(
                    "Operator '{}' is not applicable to {}.",
                    op.as_str(),
                    a_value(&l)
                ),
                lhs,
            )
        };
        let (result, stamp): (i128, bool) = match (&l, op) {
            (Value::Timestamp(a), BinOp::Add) => match &r {
                Value::Timespan(b) => (*a as i128 + *b as i128, true),
                n if secs(n).is_some() => (*a as i128 + secs(n).unwrap_or(0), true),
                _ => return arg_error(format!("{} cannot be added to a Timestamp", a_an_uc(&r))),
            },
            (Value::Timestamp(a), BinOp::Sub) => match &r {
                Value::Timestamp(b) => (*a as i128 - *b as i128, false),
                Value::Timespan(b) => (*a as i128 - *b as i128, true),
                n if secs(n).is_some() => (*a as i128 - secs(n).unwrap_or(0), true),
                _ => {
                    return arg_error(format!(
                        "{} cannot be subtracted from a Timestamp",
                        a_an_uc(&r)
                    ))
                }
            },
            (Value::Timestamp(_), _) => return n_a(),
            (Value::Timespan(a), BinOp::Add) => match &r {
                Value::Timestamp(b) => (*a as i128 + *b as i128, true),
                Value::Timespan(b) => (*a as i128 + *b as i128, false),
                n if secs(n).is_some() => (*a as i128 + secs(n).unwrap_or(0), false),
                _ => return arg_error(format!("{} cannot be added to a Timespan", a_an_uc(&r))),
            },
            (Value::Timespan(a), BinOp::Sub) => match &r {
                Value::Timespan(b) => (*a as i128 - *b as i128, false),
                n if secs(n).is_some() => (*a as i128 - secs(n).unwrap_or(0), false),
                _ => {
                    return arg_error(format!(
                        "{} cannot be subtracted from a Timespan",
                        a_an_uc(&r)
                    ))
                }
            },
            (Value::Timespan(a), BinOp::Mul) => match &r {
                Value::Int(n) => (*a as i128 * *n as i128, false),
                Value::Float(f) => ((*a as f64 * f) as i128, false),
                _ => {
                    return arg_error(format!(
                        "A Timestamp cannot be multiplied by {}",
                        a_value(&r)
                    ))
                }
            },
            (Value::Timespan(a), BinOp::Div) => match &r {
                Value::Timespan(b) => return Ok(Value::Float(*a as f64 / *b as f64)),
                Value::Int(0) => return self.err("Division by 0", rhs),
                Value::Float(f) if *f == 0.0 => return self.err("Division by 0", rhs),
                Value::Int(n) => ((*a as i128).div_euclid(*n as i128), false),
                Value::Float(f) => ((*a as f64 / f).floor() as i128, false),
                _ => return arg_error(format!("A Timespan cannot be divided by {}", a_value(&r))),
            },
            (Value::Timespan(a), BinOp::Mod) => match &r {
                Value::Int(0) => return self.err("Division by 0", rhs),
                Value::Int(n) => {
                    return Ok(Value::Int(a.div_euclid(NS_PER_SEC as i64).rem_euclid(*n)))
                }
                _ => {
                    return arg_error(format!(
                        "Can not do modulus on a Timespan using {}",
                        a_value(&r)
                    ))
                }
            },
            _ => return n_a(),
        };
        match i64::try_from(result) {
            Ok(n) if stamp => Ok(Value::Timestamp(n)),
            Ok(n) => Ok(Value::Timespan(n)),
            Err(_) => self.err(
                format!(
                    "The result of the {} expression is out of range",
                    op.as_str()
                ),
                e,
            ),
        }
    }

    fn compare(&self, op: BinOp, l: &Value, r: &Value, e: &Expr) -> EResult<Value> {
        use std::cmp::Ordering;
        let ord: Ordering = match (l, r) {
            (Value::Timestamp(a), Value::Timestamp(b))
            | (Value::Timespan(a), Value::Timespan(b)) => a.cmp(b),
            (Value::Timestamp(a) | Value::Timespan(a), Value::Int(_) | Value::Float(_)) => {
                (*a as f64 / crate::model::time::NS_PER_SEC as f64)
                    .partial_cmp(&as_f64(r))
                    .unwrap_or(Ordering::Equal)
            }
            (Value::SemVer(a), Value::SemVer(b)) => a.precedence(b),
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                if let (Value::Int(a), Value::Int(b)) = (l, r) {
                    a.cmp(b)
                } else {
                    as_f64(l).partial_cmp(&as_f64(r)).unwrap_or(Ordering::Equal)
                }
            }
            (Value::Str(a), Value::Str(b)) => a.to_lowercase().cmp(&b.to_lowercase()),
            (Value::Type(a), Value::Type(b)) => {
                let r = match op {
                    BinOp::Lt => b.is_assignable(a) && !a.is_assignable(b),
                    BinOp::Le => b.is_assignable(a),
                    BinOp::Gt => a.is_assignable(b) && !b.is_assignable(a),
                    _ => a.is_assignable(b),
                };
                return Ok(Value::Bool(r));
            }
            _ => {
                // Puppet's CompareOperator: the left operand's kind picks the reason.
                let detail = match l {
                    Value::Str(_) => "A String is not comparable to a non String",
                    Value::Int(_) | Value::Float(_) => "A Numeric is not comparable to non Numeric",
                    Value::Timespan(_) => {
                        "Timespans are only comparable to Timespans, Integers, and Floats"
                    }
                    Value::Timestamp(_) => {
                        "Timestamps are only comparable to Timestamps, Integers, and Floats"
                    }
                    Value::SemVer(_) => "Versions not comparable to non Versions",
                    Value::Default => "Symbol not comparable to non Symbol",
                    _ => {
                        "Only Strings, Numbers, Timespans, Timestamps, and Versions are comparable"
                    }
                };
                return self.err(
                    format!(
                        "Comparison of: {} {} {}, is not possible. Caused by '{}'.",
                        comparison_label(l),
                        op.as_str(),
                        comparison_label(r),
                        detail
                    ),
                    e,
                );
            }
        };
        Ok(Value::Bool(match op {
            BinOp::Lt => ord == Ordering::Less,
            BinOp::Le => ord != Ordering::Greater,
            BinOp::Gt => ord == Ordering::Greater,
            _ => ord != Ordering::Less,
        }))
    }

    fn do_match(&mut self, l: &Value, r: &Value, rhs: &Expr, e: &Expr) -> EResult<bool> {
        let re = match r {
            Value::Regex(re) => re.clone(),
            Value::Str(s) => self.regex(s, rhs)?,
            Value::Type(t) => return Ok(t.is_instance(l)),
            Value::SemVerRange(range) => {
                return match l {
                    Value::SemVer(v) => Ok(range.includes(v)),
                    Value::Str(s) => Ok(crate::model::semver::SemVer::parse(s)
                        .map(|v| range.includes(&v))
                        .unwrap_or(false)),
                    _ => self.err(format!("Left match operand must result in a String or SemVer value when right operand is a SemVerRange. Got {}.", a_value(l)), e),
                }
            }
            _ => return self.err(format!("Can not convert right match operand to a regular expression. Caused by 'Unable to create a regular expression from {}'.", a_value(r)), e),
        };
        let s = match l {
            Value::Str(s) => s.clone(),
            _ => {
                return self.err(
                    format!(
                        "Left match operand must result in a String value. Got {}.",
                        a_value(l)
                    ),
                    e,
                )
            }
        };
        match re.captures(&s) {
            Some((_, caps)) => {
                self.set_matches(caps);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn in_op(&mut self, l: &Value, r: &Value) -> EResult<bool> {
        Ok(match r {
            Value::Str(hay) => match l {
                Value::Str(n) => hay.to_lowercase().contains(&n.to_lowercase()),
                Value::Regex(re) => re.is_match(hay),
                _ => false,
            },
            Value::Array(items) => items.iter().any(|x| match l {
                Value::Regex(re) => matches!(x, Value::Str(s) if re.is_match(s)),
                Value::Type(t) => t.is_instance(x),
                _ => l.puppet_eq(x),
            }),
            Value::Hash(h) => h.keys().any(|k| match l {
                Value::Regex(re) => matches!(k, Value::Str(s) if re.is_match(s)),
                Value::Type(t) => t.is_instance(k),
                _ => l.puppet_eq(k),
            }),
            _ => false,
        })
    }

    // ---- control flow ---------------------------------------------------------------------------

    /// Does a case/selector option match? (Sets match variables for regexes.)
    fn option_matches(&mut self, test: &Value, opt: &Value) -> EResult<bool> {
        crate::model::limits::grow(|| {
            Ok(match opt {
                Value::Default => true,
                Value::Regex(re) => match test {
                    Value::Str(s) => match re.captures(s) {
                        Some((_, caps)) => {
                            self.set_matches(caps);
                            true
                        }
                        None => false,
                    },
                    _ => false,
                },
                Value::Type(t) => t.is_instance(test),
                Value::SemVerRange(r) => match test {
                    Value::SemVer(v) => r.includes(v),
                    Value::Str(s) => {
                        crate::model::semver::SemVer::parse(s).is_ok_and(|v| r.includes(&v))
                    }
                    _ => false,
                },
                Value::Array(items) => match test {
                    Value::Array(tv) => {
                        items.len() == tv.len() && {
                            let mut all = true;
                            for (o, t) in items.iter().zip(tv.iter()) {
                                if !self.option_matches(t, o)? {
                                    all = false;
                                    break;
                                }
                            }
                            all
                        }
                    }
                    _ => test.puppet_eq(opt),
                },
                Value::Hash(_) => test.puppet_eq(opt),
                _ => test.puppet_eq(opt),
            })
        })
    }

    /// Does one case/selector option (possibly `*$list`) match the test value?
    fn option_hits(&mut self, test: &Value, opt: &Expr) -> EResult<bool> {
        let mut vals = Vec::new();
        self.eval_unfolded(opt, &mut vals)?;
        for ov in vals {
            if self.option_matches(test, &ov)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn is_default(e: &Expr) -> bool {
        matches!(e.kind, ExprKind::Literal(Literal::Default))
    }

    fn case(&mut self, test: &Expr, options: &[CaseOption]) -> EResult<Value> {
        self.with_match_guard(|s| {
            let t = s.eval(test)?;
            let mut default_body = None;
            for o in options {
                for v in &o.values {
                    if Self::is_default(v) {
                        default_body = Some(&o.body);
                    } else if s.option_hits(&t, v)? {
                        return s.eval_opt(&o.body);
                    }
                }
            }
            match default_body {
                Some(b) => s.eval_opt(b),
                None => Ok(Value::Undef),
            }
        })
    }

    fn selector(&mut self, test: &Expr, entries: &[HashEntry], e: &Expr) -> EResult<Value> {
        self.with_match_guard(|s| {
            let t = s.eval(test)?;
            let mut default = None;
            for HashEntry { key, value, .. } in entries {
                if Self::is_default(key) {
                    default = Some(value);
                } else if s.option_hits(&t, key)? {
                    return s.eval(value);
                }
            }
            match default {
                Some(v) => s.eval(v),
                None => s.err(
                    format!(
                        "No matching entry for selector parameter with value '{}'",
                        t.to_display()
                    ),
                    e,
                ),
            }
        })
    }

    // ---- access -------------------------------------------------------------------------------

    fn access(&mut self, target: &Expr, args: &[Expr], e: &Expr) -> EResult<Value> {
        let base = self.eval(target)?;
        let argv = self.eval_args(args)?;
        self.access_value(base, argv, e)
    }

    pub fn access_value(&mut self, base: Value, args: Vec<Value>, e: &Expr) -> EResult<Value> {
        match &base {
            Value::Undef => self.err("Operator '[]' is not applicable to an Undef Value.", e),
            Value::Array(a) => {
                let n = a.len() as i64;
                match args.as_slice() {
                    [Value::Int(i)] => {
                        let i = if *i < 0 { n + i } else { *i };
                        Ok(if i < 0 || i >= n {
                            Value::Undef
                        } else {
                            a[i as usize].clone()
                        })
                    }
                    [Value::Int(i), Value::Int(c)] => {
                        let start = if *i < 0 { n + i } else { *i };
                        if start < 0 || start > n {
                            return Ok(Value::array(vec![]));
                        }
                        let end = if *c < 0 {
                            n + c + 1
                        } else {
                            (start + c).min(n)
                        };
                        let end = end.clamp(start, n);
                        Ok(Value::array(a[start as usize..end as usize].to_vec()))
                    }
                    _ => self.err(
                        format!(
                            "Array[] cannot use {} where Integer is expected",
                            a_value(args.first().unwrap_or(&Value::Undef))
                        ),
                        e,
                    ),
                }
            }
            Value::Hash(h) => {
                if args.len() == 1 {
                    Ok(h.get(&args[0]).cloned().unwrap_or(Value::Undef))
                } else {
                    Ok(Value::array(
                        args.iter().filter_map(|k| h.get(k).cloned()).collect(),
                    ))
                }
            }
            Value::Str(s) => {
                let chars: Vec<char> = s.chars().collect();
                let n = chars.len() as i64;
                match args.as_slice() {
                    [Value::Int(i)] => {
                        let i = if *i < 0 { n + i } else { *i };
                        Ok(if i < 0 || i >= n {
                            Value::str("")
                        } else {
                            Value::str(chars[i as usize].to_string())
                        })
                    }
                    [Value::Int(i), Value::Int(c)] => {
                        let start = if *i < 0 { n + i } else { *i };
                        if start < 0 || start > n {
                            return Ok(Value::str(""));
                        }
                        let end = if *c < 0 {
                            n + c + 1
                        } else {
                            (start + c).min(n)
                        };
                        let end = end.clamp(start, n);
                        Ok(Value::str(
                            chars[start as usize..end as usize]
                                .iter()
                                .collect::<String>(),
                        ))
                    }
                    _ => self.err("String[] cannot use these arguments", e),
                }
            }
            Value::Type(t) => self.parameterize(t, args, e),
            _ => self.err(
                format!("Operator '[]' is not applicable to {}.", a_value(&base)),
                e,
            ),
        }
    }

    fn type_arg(&self, v: &Value, e: &Expr) -> EResult<Type> {
        match v {
            Value::Type(t) => Ok((**t).clone()),
            Value::Str(s) => Ok(Type::Enum(vec![s.to_string()], false)),
            _ => self.err(
                format!("Type parameter must be a type, got {}", a_value(v)),
                e,
            ),
        }
    }

    /// `[min, max]` type parameters (`String[1]`, `Array[T, 1, 2]`), defaulting to 0 and max.
    fn size_range(args: &[Value]) -> (i64, i64) {
        (
            args.first().map(|v| Self::int_arg(v, 0)).unwrap_or(0),
            args.get(1)
                .map(|v| Self::int_arg(v, INT_MAX))
                .unwrap_or(INT_MAX),
        )
    }

    fn int_arg(v: &Value, dflt: i64) -> i64 {
        match v {
            Value::Int(i) => *i,
            Value::Float(f) => *f as i64,
            _ => dflt,
        }
    }

    /// `T[args]`; a type nested deeper than `limits::MAX_DEPTH` (built by a `reduce`) is
    /// refused, so walking, printing and dropping types stays shallow.
    fn parameterize(&mut self, t: &Type, args: Vec<Value>, e: &Expr) -> EResult<Value> {
        let v = self.parameterize_type(t, args, e)?;
        if let Value::Type(ty) = &v {
            if ty.deeper_than(crate::model::limits::MAX_DEPTH) {
                return self.err(
                    format!(
                        "type nested deeper than {} levels",
                        crate::model::limits::MAX_DEPTH
                    ),
                    e,
                );
            }
        }
        Ok(v)
    }

    fn parameterize_type(&mut self, t: &Type, args: Vec<Value>, e: &Expr) -> EResult<Value> {
        let base = t.resolved().clone();
        let ty = match base {
            Type::Integer(..) => {
                let (a, b) = match args.as_slice() {
                    [Value::Array(x)] if x.len() == 2 => (x[0].clone(), x[1].clone()),
                    [a] => (a.clone(), Value::Default),
                    [a, b] => (a.clone(), b.clone()),
                    _ => return self.err("Integer[] takes 1 or 2 arguments", e),
                };
                let min = Self::int_arg(&a, INT_MIN);
                let max = Self::int_arg(&b, INT_MAX);
                Type::Integer(min, max)
            }
            Type::Float(..) => {
                let f = |v: &Value, d: f64| match v {
                    Value::Int(i) => *i as f64,
                    Value::Float(x) => *x,
                    _ => d,
                };
                let min = args
                    .first()
                    .map(|v| f(v, f64::NEG_INFINITY))
                    .unwrap_or(f64::NEG_INFINITY);
                let max = args
                    .get(1)
                    .map(|v| f(v, f64::INFINITY))
                    .unwrap_or(f64::INFINITY);
                Type::Float(min, max)
            }
            Type::String(..) => {
                if let Some(Value::Type(_)) = args.first() {
                    return Ok(Value::ty(Type::String(0, INT_MAX)));
                }
                let (min, max) = Self::size_range(&args);
                Type::String(min, max)
            }
            Type::Collection(..) => {
                let (min, max) = Self::size_range(&args);
                Type::Collection(min, max)
            }
            Type::Enum(..) => {
                let mut vals = Vec::new();
                let mut ci = false;
                for a in &args {
                    match a {
                        Value::Str(s) => vals.push(s.to_string()),
                        Value::Array(xs) => {
                            vals.extend(xs.iter().filter_map(|x| x.as_str().map(String::from)))
                        }
                        Value::Bool(b) => ci = *b,
                        _ => return self.err("Enum parameters must be strings", e),
                    }
                }
                // Puppet's PEnumType keeps its values unique and sorted.
                vals.sort();
                vals.dedup();
                Type::Enum(vals, ci)
            }
            Type::Pattern(_) => {
                let mut res = Vec::new();
                for a in &args {
                    match a {
                        Value::Str(s) => res.push(self.regex(s, e)?),
                        Value::Regex(r) => res.push(r.clone()),
                        Value::Type(t) => {
                            if let Type::Pattern(p) = t.resolved() {
                                res.extend(p.iter().cloned())
                            } else if let Type::Regexp(Some(r)) = t.resolved() {
                                res.push(r.clone())
                            }
                        }
                        _ => return self.err("Pattern parameters must be strings or regexps", e),
                    }
                }
                Type::Pattern(res)
            }
            Type::Regexp(_) => match args.first() {
                Some(Value::Str(s)) => Type::Regexp(Some(self.regex(s, e)?)),
                Some(Value::Regex(r)) => Type::Regexp(Some(r.clone())),
                _ => Type::Regexp(None),
            },
            Type::Array(..) => {
                let (elem, rest) = match args.first() {
                    Some(Value::Type(_)) => (self.type_arg(&args[0], e)?, &args[1..]),
                    _ => (Type::Any, &args[..]),
                };
                let (min, max) = Self::size_range(rest);
                Type::Array(Box::new(elem), min, max)
            }
            Type::Hash(..) => {
                let (k, v, rest) = match args.as_slice() {
                    [Value::Type(_), Value::Type(_), ..] => (
                        self.type_arg(&args[0], e)?,
                        self.type_arg(&args[1], e)?,
                        &args[2..],
                    ),
                    _ => (Type::Any, Type::Any, &args[..]),
                };
                let (min, max) = Self::size_range(rest);
                Type::Hash(Box::new(k), Box::new(v), min, max)
            }
            Type::Tuple(..) => {
                let mut ts = Vec::new();
                let mut nums = Vec::new();
                for a in &args {
                    match a {
                        Value::Type(t) => ts.push((**t).clone()),
                        Value::Int(i) => nums.push(*i),
                        Value::Default => nums.push(INT_MAX),
                        _ => {}
                    }
                }
                let min = nums.first().copied().unwrap_or(0);
                let max = nums.get(1).copied().unwrap_or(INT_MAX);
                if nums.is_empty() {
                    Type::Tuple(ts, 0, INT_MAX)
                } else {
                    Type::Tuple(ts, min, max)
                }
            }
            Type::Struct(_) => match args.first() {
                Some(Value::Hash(h)) => {
                    let mut ms = Vec::new();
                    for (k, v) in h.iter() {
                        let vt = self.type_arg(v, e)?;
                        match k {
                            Value::Str(s) => {
                                ms.push((s.to_string(), matches!(vt, Type::Optional(_)), vt))
                            }
                            Value::Type(t) => match t.resolved() {
                                Type::Optional(Some(inner)) => {
                                    if let Type::Enum(vals, _) = &**inner {
                                        ms.push((
                                            vals.first().cloned().unwrap_or_default(),
                                            true,
                                            vt,
                                        ));
                                    }
                                }
                                Type::NotUndef(Some(inner)) => {
                                    if let Type::Enum(vals, _) = &**inner {
                                        ms.push((
                                            vals.first().cloned().unwrap_or_default(),
                                            false,
                                            vt,
                                        ));
                                    }
                                }
                                Type::Enum(vals, _) => {
                                    ms.push((vals.first().cloned().unwrap_or_default(), false, vt))
                                }
                                _ => return self.err("Struct keys must be strings", e),
                            },
                            _ => return self.err("Struct keys must be strings", e),
                        }
                    }
                    Type::Struct(ms)
                }
                _ => Type::Struct(vec![]),
            },
            Type::Optional(_) => match args.first() {
                Some(a) => Type::Optional(Some(Box::new(self.type_arg(a, e)?))),
                None => Type::Optional(None),
            },
            Type::NotUndef(_) => match args.first() {
                Some(a) => Type::NotUndef(Some(Box::new(self.type_arg(a, e)?))),
                None => Type::NotUndef(None),
            },
            Type::Sensitive(_) => match args.first() {
                Some(a) => Type::Sensitive(Some(Box::new(self.type_arg(a, e)?))),
                None => Type::Sensitive(None),
            },
            Type::Type(_) => match args.first() {
                Some(a) => Type::Type(Some(Box::new(self.type_arg(a, e)?))),
                None => Type::Type(None),
            },
            Type::Variant(_) => {
                let mut ts = Vec::new();
                for a in &args {
                    ts.push(self.type_arg(a, e)?);
                }
                Type::Variant(ts)
            }
            Type::Class(None) => {
                let mut out = Vec::new();
                for a in flatten(&args) {
                    match &a {
                        Value::Str(s) => out.push(Value::ty(Type::Class(Some(
                            s.trim_start_matches("::").to_lowercase(),
                        )))),
                        Value::Type(t) => match t.resolved() {
                            Type::Class(Some(n)) => {
                                out.push(Value::ty(Type::Class(Some(n.clone()))))
                            }
                            Type::Resource(Some(n), None) => {
                                out.push(Value::ty(Type::Class(Some(n.to_lowercase()))))
                            }
                            _ => return self.err("Class[] arguments must be class names", e),
                        },
                        _ => return self.err("Class[] arguments must be class names", e),
                    }
                }
                return Ok(if out.len() == 1 {
                    out.remove(0)
                } else {
                    Value::array(out)
                });
            }
            Type::Resource(None, _) => {
                let tn = match args.first() {
                    Some(Value::Str(s)) => capitalize_type_name(s),
                    Some(Value::Type(t)) => match t.resolved() {
                        Type::Resource(Some(n), None) => n.clone(),
                        Type::Class(None) => "Class".to_string(),
                        _ => return self.err("Resource[] first argument must be a type name", e),
                    },
                    _ => return self.err("Resource[] first argument must be a type name", e),
                };
                if args.len() == 1 {
                    return Ok(Value::ty(Type::Resource(Some(tn), None)));
                }
                if tn == "Class" {
                    return self.parameterize(&Type::Class(None), args[1..].to_vec(), e);
                }
                return self.resource_refs(&tn, &args[1..], e);
            }
            Type::Resource(Some(tn), None) => {
                return self.resource_refs(&tn, &args, e);
            }
            Type::Callable
            | Type::Runtime
            | Type::Init
            | Type::Object
            | Type::Iterable
            | Type::Iterator => base,
            Type::Timespan
            | Type::Timestamp
            | Type::SemVer
            | Type::SemVerRange
            | Type::Deferred
            | Type::Binary
            | Type::Uri
            | Type::Error => base,
            _ => return self.err(format!("{} is not a parameterizable type", t), e),
        };
        Ok(Value::ty(ty))
    }

    fn resource_refs(&mut self, tn: &str, args: &[Value], e: &Expr) -> EResult<Value> {
        let mut out = Vec::new();
        for a in flatten(args) {
            match &a {
                Value::Str(s) => out.push(Value::ty(Type::Resource(
                    Some(tn.to_string()),
                    Some(s.to_string()),
                ))),
                Value::Type(t) => {
                    if let Type::Resource(Some(_), Some(title)) = t.resolved() {
                        out.push(Value::ty(Type::Resource(
                            Some(tn.to_string()),
                            Some(title.clone()),
                        )))
                    }
                }
                // Undef titles are dropped (Puppet compacts them).
                Value::Undef => {}
                _ => return self.err(format!("{tn}[] arguments must be titles"), e),
            }
        }
        // An array of titles gives an array of references, even of one.
        let as_array = args.len() > 1 || args.iter().any(|a| matches!(a, Value::Array(_)));
        if out.is_empty() && !args.is_empty() {
            let l = self.loc_e(e);
            self.warn(format!(
                "Arguments to Resource[] are all empty/undefined {l}"
            ));
            return Ok(if as_array {
                Value::array(vec![])
            } else {
                Value::Undef
            });
        }
        Ok(if out.len() == 1 && !as_array {
            out.remove(0)
        } else {
            Value::array(out)
        })
    }

    // ---- lambdas --------------------------------------------------------------------------------

    /// Calls a lambda with positional arguments in a local scope of the current scope.
    pub fn call_lambda(&mut self, l: &Lambda, args: &[Value], call: &Expr) -> EResult<Value> {
        // Every iteration of every loop is a checkpoint of the compile's budget.
        crate::model::limits::checkpoint().map_err(|err| err.at(self.loc_e(call)))?;
        let cur = self.cur;
        let depth = self.scopes[cur].tables.len();
        let mut t = Table::default();
        let n = l.params.len();
        for (i, p) in l.params.iter().enumerate() {
            let v = if p.captures_rest {
                Value::array(args.get(i..).map(|x| x.to_vec()).unwrap_or_default())
            } else if let Some(a) = args.get(i) {
                a.clone()
            } else if let Some(d) = &p.default {
                self.eval(d)?
            } else {
                return self.err(
                    format!(
                        "'{}' block expects {} argument{}, got {}",
                        "lambda",
                        n,
                        if n == 1 { "" } else { "s" },
                        args.len()
                    ),
                    call,
                );
            };
            if let Some(te) = &p.type_expr {
                if let Value::Type(ty) = &self.eval(te)? {
                    if !ty.is_instance(&v) {
                        return self.err(
                            format!(
                                "block parameter '{}' expects {} {} value, got {}",
                                p.name,
                                crate::model::types::article(&ty.to_string()),
                                ty,
                                crate::model::types::infer_for_message(&v)
                            ),
                            call,
                        );
                    }
                }
            }
            t.vars.insert(p.name.clone(), v);
        }
        self.scopes[cur].tables.push(t);
        let r = match &l.body {
            Some(b) => self.eval(b),
            None => Ok(Value::Undef),
        };
        self.scopes[cur].tables.truncate(depth);
        match r {
            Err(EvalError {
                flow: Some(Flow::Next(v)),
                ..
            }) => Ok(v),
            r => r,
        }
    }

    // ---- Puppet-language functions ----------------------------------------------------------------

    pub fn call_puppet_function(&mut self, def: Arc<Def>, args: Vec<Value>) -> EResult<Value> {
        let name = def.name.clone();
        self.in_frame("function", &name, |s| {
            s.call_puppet_function_inner(def, args)
        })
    }

    fn call_puppet_function_inner(&mut self, def: Arc<Def>, args: Vec<Value>) -> EResult<Value> {
        let sid = self.new_scope(ScopeKind::Isolated, Some(self.top), None);
        let saved_src = std::mem::replace(&mut self.src, def.source.clone());
        let saved_cur = self.cur;
        self.cur = sid;
        let r = (|| -> EResult<Value> {
            self.bind_params(&def.name, &def.params, &args)?;
            let v = match &def.body {
                Some(b) => self.eval(b),
                None => Ok(Value::Undef),
            };
            let v = match v {
                Err(EvalError {
                    flow: Some(Flow::Return(v)),
                    ..
                }) => v,
                other => other?,
            };
            if let DefKind::Function {
                return_type: Some(rt),
            } = &def.kind
            {
                if let Value::Type(t) = &self.eval(rt)? {
                    if !t.is_instance(&v) {
                        return Err(EvalError::new(crate::model::describe::mismatch(
                            &format!("value returned from {} has wrong type,", def.name),
                            t,
                            &v,
                        )));
                    }
                }
            }
            Ok(v)
        })();
        self.cur = saved_cur;
        self.src = saved_src;
        r
    }

    /// Binds positional arguments to parameters in the current scope.
    pub fn bind_params(&mut self, what: &str, params: &[Param], args: &[Value]) -> EResult<()> {
        let required = params
            .iter()
            .filter(|p| p.default.is_none() && !p.captures_rest)
            .count();
        let has_rest = params.iter().any(|p| p.captures_rest);
        if args.len() < required || (!has_rest && args.len() > params.len()) {
            let expected = if has_rest {
                format!("at least {required}")
            } else if required == params.len() {
                format!("{}", params.len())
            } else {
                format!("between {} and {}", required, params.len())
            };
            return Err(EvalError::new(format!(
                "'{what}' expects {expected} argument{}, got {}",
                if params.len() == 1 && !has_rest {
                    ""
                } else {
                    "s"
                },
                args.len()
            )));
        }
        for (i, p) in params.iter().enumerate() {
            let v = if p.captures_rest {
                Value::array(args.get(i..).map(|x| x.to_vec()).unwrap_or_default())
            } else if let Some(a) = args.get(i) {
                a.clone()
            } else if let Some(d) = &p.default {
                self.eval(d)?
            } else {
                Value::Undef
            };
            if let Some(te) = &p.type_expr {
                if let Value::Type(ty) = &self.eval(te)? {
                    let ok = if p.captures_rest {
                        matches!(&v, Value::Array(xs) if xs.iter().all(|x| ty.is_instance(x)))
                    } else {
                        ty.is_instance(&v)
                    };
                    if !ok {
                        let msg = crate::model::describe::mismatch(
                            &format!("parameter '{}'", p.name),
                            ty,
                            &v,
                        );
                        return Err(EvalError::new(format!("'{what}' {msg}")));
                    }
                }
            }
            let cur = self.cur;
            self.scopes[cur].tables[0].vars.insert(p.name.clone(), v);
        }
        Ok(())
    }
}

impl Value {
    pub fn to_display_q(&self) -> String {
        let mut s = String::new();
        self.write_display(&mut s, true);
        s
    }
}

/// How Puppet's label provider names a value in "Comparison of: ..." errors.
fn comparison_label(v: &Value) -> String {
    match v {
        Value::Str(_) => "String".into(),
        Value::Int(_) => "Integer".into(),
        Value::Float(_) => "Float".into(),
        Value::Bool(_) => "Boolean".into(),
        Value::Undef => "Undef Value".into(),
        Value::Array(_) => "Array".into(),
        Value::Hash(_) => "Hash".into(),
        Value::Regex(_) => "Regexp".into(),
        Value::Sensitive(_) => "Sensitive".into(),
        Value::Binary(_) => "Binary".into(),
        Value::Timestamp(_) => "Timestamp".into(),
        Value::Timespan(_) => "Timespan".into(),
        Value::SemVer(_) => "Semver".into(),
        Value::SemVerRange(_) => "SemverRange".into(),
        Value::Type(t) => match &**t {
            crate::model::types::Type::Resource(_, Some(_)) => {
                format!("{} Resource-Reference", v.to_display())
            }
            _ => format!("{}-Type", v.to_display()),
        },
        Value::Default | Value::Deferred(_) => "Object".into(),
    }
}
