//! Scopes: Puppet's lexical variable lookup (local → inherited class → enclosing node/top)
//! and its dynamic parent chain (used for resource defaults).

use std::rc::Rc;
use troupe_values::value::FastMap as HashMap;
use troupe_values::value::Value;

pub type ScopeId = usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    Top,
    Node,
    Class,
    Define,
    /// Function bodies and EPP templates: no enclosing scope but top.
    Isolated,
}

#[derive(Debug, Default)]
pub struct Table {
    pub vars: HashMap<String, Value>,
    pub matches: Option<Rc<Vec<Value>>>,
    /// Match tables hold only `$0..$n`; assignments go below them.
    pub match_only: bool,
}

#[derive(Debug)]
pub struct Scope {
    pub kind: ScopeKind,
    pub tables: Vec<Table>,
    /// Dynamic parent: the scope the class/define was declared from.
    pub parent: Option<ScopeId>,
    /// For classes that inherit: the parent class's scope.
    pub inherited: Option<ScopeId>,
    /// The class, define or node resource this scope evaluates.
    pub resource: Option<usize>,
    /// `Type { attr => value }` defaults, by lower-case type name.
    pub defaults: HashMap<String, Vec<(String, Value)>>,
}

impl Scope {
    pub fn new(kind: ScopeKind, parent: Option<ScopeId>, resource: Option<usize>) -> Scope {
        Scope {
            kind,
            tables: vec![Table::default()],
            parent,
            inherited: None,
            resource,
            defaults: HashMap::default(),
        }
    }

    pub fn local(&self, name: &str) -> Option<&Value> {
        self.tables.iter().rev().find_map(|t| t.vars.get(name))
    }

    pub fn matches(&self) -> Option<&Rc<Vec<Value>>> {
        self.tables.iter().rev().find_map(|t| t.matches.as_ref())
    }

    /// The table assignments go to.
    pub fn assign_table(&mut self) -> &mut Table {
        let idx = self.tables.iter().rposition(|t| !t.match_only).unwrap_or(0);
        &mut self.tables[idx]
    }
}
