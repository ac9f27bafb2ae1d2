//! Puppet's TypeSets (`type Shapes = TypeSet[{pcore_version => '1.0.0', types => {...}}]`):
//! what a TypeSet type value holds and the text Puppet prints for it.

use crate::value::puppet_quote;

/// Manifest TypeSets live under Puppet's runtime name authority.
pub const RUNTIME_NAME_AUTHORITY: &str = "http://puppet.com/2016.1/runtime";

#[derive(Debug, Clone, Default)]
pub struct TypeSetInfo {
    pub name: String,
    pub name_authority: String,
    pub pcore_version: String,
    pub version: Option<String>,
    /// The declared types' simple names, in order.
    pub types: Vec<String>,
    /// `(alias, TypeSet name)` of the references.
    pub refs: Vec<(String, String)>,
}

impl TypeSetInfo {
    /// `TypeSet[{pcore_version => '1.0.0', name_authority => ..., name => 'X', version => ...}]`.
    pub fn init_text(&self) -> String {
        let mut parts = vec![
            format!("pcore_version => {}", puppet_quote(&self.pcore_version)),
            format!("name_authority => {}", puppet_quote(&self.name_authority)),
            format!("name => {}", puppet_quote(&self.name)),
        ];
        if let Some(v) = &self.version {
            parts.push(format!("version => {}", puppet_quote(v)));
        }
        format!("TypeSet[{{{}}}]", parts.join(", "))
    }

    /// The full name a member or reference path (`Len`, `R::Bus`) stands for inside this set,
    /// one step: a declared type, or the referenced set and the rest of the path.
    pub fn local(&self, path: &str) -> Option<Local> {
        let (first, rest) = match path.split_once("::") {
            Some((a, b)) => (a, Some(b)),
            None => (path, None),
        };
        if rest.is_none() {
            if let Some(t) = self.types.iter().find(|t| t.eq_ignore_ascii_case(first)) {
                return Some(Local::Member(format!("{}::{t}", self.name)));
            }
        }
        let (_, set) = self
            .refs
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(first))?;
        Some(Local::Ref(set.clone(), rest.map(str::to_string)))
    }
}

#[derive(Debug)]
pub enum Local {
    /// `Set::Name`.
    Member(String),
    /// A referenced set's name and what follows the alias.
    Ref(String, Option<String>),
}
