//! The catalog builder: resources, classes, defined types, nodes, defaults, overrides,
//! collectors, relationships, and finishing the catalog (the driver in `finish`). Methods of
//! the evaluator, on its catalog state (`res`, `index`, `edges`, `collectors`, `overrides`,
//! `relationships`); it evaluates code through `lang`'s expressions and writes the
//! `catalog::Catalog`. Owns the pending catalog work below.

pub mod classes;
pub mod collect;
pub mod defaults;
pub mod defines;
pub mod exported;
pub mod finish;
pub mod module_index;
pub mod module_types;
pub mod node_classes;
pub mod node_names;
pub mod nodes;
pub mod rel_string;
pub mod relations;
pub mod resources;

use crate::lang::scope::ScopeId;
use std::sync::Arc;
use troupe_syntax::ast::Expr;
use troupe_syntax::SourceFile;
use troupe_values::error::Loc;
use troupe_values::value::Value;

#[derive(Debug)]
pub struct Collector {
    pub type_name: String,
    pub query: Option<Expr>,
    pub ops: Vec<(String, bool, Value)>,
    pub scope: ScopeId,
    pub src: Arc<SourceFile>,
    pub collected: Vec<usize>,
    pub exported: bool,
    /// An exported collector's query as PuppetDB's filter, built when the collector is
    /// evaluated (as Puppet builds it); `None` without a query.
    pub filter: Option<serde_json::Value>,
    /// The store was asked (once per compile).
    pub searched: bool,
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
