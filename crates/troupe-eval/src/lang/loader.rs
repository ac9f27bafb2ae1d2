//! Definitions: registering parsed code, and finding classes, defined types, functions and
//! type aliases (autoloading them from the environment).

use crate::code::Code;
use crate::code::Def;
use crate::code::DefKind;
use crate::code::LoadKind;
use crate::lang::eval::Evaluator;
use std::sync::Arc;
use troupe_values::error::EResult;
impl<'e> Evaluator<'e> {
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
}
