//! The evaluator: expressions, operators, variables and calls.

use crate::catalog::Resource;
use crate::code::{loc_of, Def, Environment, LoadKind};
use crate::lang::build::Collector;
use crate::lang::build::Override;
use crate::lang::build::ParamGuard;
use crate::lang::build::Relationship;
use crate::lang::scope::{Scope, ScopeId, ScopeKind};
use indexmap::IndexMap;
use std::rc::Rc;
use std::sync::Arc;
use troupe_syntax::ast::Expr;
use troupe_syntax::{SourceFile, Span};
use troupe_values::error::{EResult, EvalError, Loc};
use troupe_values::types::Type;
use troupe_values::value::Value;
use troupe_values::value::{FastMap as HashMap, FastSet as HashSet};

/// What the node brings to a compile.
#[derive(Debug, Clone)]
pub struct NodeInput {
    pub certname: String,
    /// The facts hash (`$facts`).
    pub facts: Value,
    pub trusted: Value,
    pub server_facts: Value,
    /// What an external node classifier said (`node_terminus = exec`): classes and
    /// parameters of the node; empty without one.
    pub node: NodeData,
}

/// Names and values, in the classifier's order.
pub type NodeParams = Vec<(String, serde_json::Value)>;

/// The node's classes and parameters from an external node classifier, as data (JSON
/// values: they come from another thread).
#[derive(Debug, Clone, Default)]
pub struct NodeData {
    /// Class names in the classifier's order, each with its parameters when it gave some (a
    /// class with parameters is declared resource-like, one without like `include`).
    pub classes: Vec<(String, Option<NodeParams>)>,
    /// Top-scope variables; a fact of the same name does not replace them (Puppet warns).
    pub parameters: NodeParams,
}

pub struct Evaluator<'e> {
    pub env: &'e dyn Environment,
    pub input: NodeInput,
    pub(crate) classes: HashMap<String, Arc<Def>>,
    pub(crate) defines: HashMap<String, Arc<Def>>,
    pub(crate) functions: HashMap<String, Arc<Def>>,
    pub(crate) aliases: HashMap<String, Arc<Def>>,
    pub(crate) nodes: Vec<Arc<Def>>,
    /// Set while a classifier's classes are declared: they are evaluated with the generators.
    pub(crate) declare_lazily: bool,
    /// Classes declared but not yet evaluated, with their parameters.
    pub(crate) lazy_classes: HashMap<usize, IndexMap<String, Value>>,
    pub(crate) alias_cache: HashMap<String, Rc<Type>>,
    /// Aliases whose definition is being evaluated: a reference to one is a `Type::Late`.
    pub(crate) alias_pending: HashMap<String, std::rc::Weak<Type>>,
    pub(crate) type_sets: crate::lang::type_sets::TypeSets,
    pub(crate) type_infos: HashMap<String, Option<crate::lang::build::module_types::TypeInfo>>,
    /// The modules' type files and provider folders, listed on the first module type's
    /// lookup.
    pub(crate) module_index: Option<std::sync::Arc<crate::lang::build::module_index::ModuleIndex>>,
    pub(crate) loaded: HashSet<String>,
    pub(crate) param_guard: Option<ParamGuard>,
    /// Which module Ruby functions exist, their API and file, by name (see `ruby_function`).
    pub(crate) ruby_functions: HashMap<String, Option<crate::lang::call::RubyFn>>,
    /// The Ruby helper session of the Ruby call in progress (nested calls share it).
    pub(crate) ruby_session: Option<std::rc::Rc<troupe_rubyhost::Session>>,
    /// The line of each relationship attribute (`require => ...`) by resource, for errors.
    pub(crate) param_lines: HashMap<(usize, String), u32>,
    pub(crate) missing: HashSet<(LoadKind, String)>,
    pub scopes: Vec<Scope>,
    pub cur: ScopeId,
    pub top: ScopeId,
    pub class_scopes: HashMap<String, ScopeId>,
    pub res: Vec<Resource>,
    /// Resources by lowercase type name, then title (or alias).
    pub index: HashMap<String, HashMap<String, usize>>,
    pub edges: Vec<(usize, usize)>,
    pub edge_set: HashSet<(usize, usize)>,
    pub class_list: Vec<String>,
    pub cat_tags: Vec<String>,
    pub collectors: Vec<Collector>,
    /// Resources collected from other nodes' exports, by index: `certname|Type|title`.
    pub(crate) collector_ids: HashMap<usize, String>,
    pub relationships: Vec<Relationship>,
    pub overrides: Vec<Override>,
    /// Classes and defines (by `override_source`) whose collector overrode something: Puppet
    /// lets them override any resource's parameters from then on.
    pub override_sources: HashSet<String>,
    pub src: Arc<SourceFile>,
    pub render: Vec<String>,
    pub warnings: Vec<String>,
    pub hiera: crate::data::hiera::HieraCache,
    pub stage_main: usize,
    pub class_main: usize,
    /// Expressions evaluated, for the budget's checkpoints.
    pub(crate) steps: u32,
    /// Expressions being evaluated (nested), for stack growth.
    pub(crate) nesting: u32,
    /// Named frames (functions, templates) now active, against `limits::MAX_DEPTH`.
    pub(crate) depth: usize,
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
            classes: HashMap::default(),
            declare_lazily: false,
            lazy_classes: HashMap::default(),
            defines: HashMap::default(),
            functions: HashMap::default(),
            aliases: HashMap::default(),
            nodes: Vec::new(),
            alias_cache: HashMap::default(),
            alias_pending: HashMap::default(),
            type_sets: Default::default(),
            type_infos: HashMap::default(),
            module_index: None,
            loaded: HashSet::default(),
            param_guard: None,
            ruby_functions: HashMap::default(),
            ruby_session: None,
            param_lines: HashMap::default(),
            missing: HashSet::default(),
            scopes: vec![Scope::new(ScopeKind::Top, None, None)],
            cur: 0,
            top: 0,
            class_scopes: HashMap::default(),
            res: Vec::new(),
            index: HashMap::default(),
            edges: Vec::new(),
            edge_set: HashSet::default(),
            class_list: Vec::new(),
            cat_tags: Vec::new(),
            collectors: Vec::new(),
            collector_ids: HashMap::default(),
            relationships: Vec::new(),
            overrides: Vec::new(),
            override_sources: HashSet::default(),
            src: empty,
            render: Vec::new(),
            warnings: Vec::new(),
            hiera: Default::default(),
            stage_main: 0,
            class_main: 0,
            steps: 0,
            nesting: 0,
            depth: 0,
            define_gen: HashMap::default(),
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

    // ---- limits ---------------------------------------------------------------------------------

    /// Enters a named frame (`kind` 'name': a function, a template); fails past
    /// `limits::MAX_DEPTH`. Every successful call is paired with `leave_frame`.
    pub(crate) fn enter_frame(&mut self, kind: &str, name: &str) -> EResult<()> {
        if self.depth >= troupe_values::limits::MAX_DEPTH {
            return Err(troupe_values::limits::too_deep(kind, name));
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
}
