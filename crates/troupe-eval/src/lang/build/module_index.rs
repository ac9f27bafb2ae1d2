//! Which modules ship a Ruby resource type (`lib/puppet/type/<name>.rb`) and which have
//! providers for one (`lib/puppet/provider/<name>/*.rb`): every module's two folders listed
//! once per compile, instead of probing every module for every type name.

use crate::code::Environment;
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Debug, Default)]
pub struct ModuleIndex {
    /// Type name → (module name, file) in modulepath order.
    types: HashMap<String, Vec<(String, PathBuf)>>,
    /// Type name → the provider folders named after it, in modulepath order.
    providers: HashMap<String, Vec<PathBuf>>,
}

impl ModuleIndex {
    pub fn build(env: &dyn Environment) -> ModuleIndex {
        let mut index = ModuleIndex::default();
        for (module, dir) in env.modules() {
            for f in env.list_dir(&dir.join("lib/puppet/type")) {
                if f.extension().is_some_and(|e| e == "rb") {
                    if let Some(stem) = f.file_stem().and_then(|n| n.to_str()) {
                        let files = index.types.entry(stem.to_string()).or_default();
                        files.push((module.clone(), f.clone()));
                    }
                }
            }
            for d in env.list_dir(&dir.join("lib/puppet/provider")) {
                if let Some(name) = d.file_name().and_then(|n| n.to_str()) {
                    let dirs = index.providers.entry(name.to_string()).or_default();
                    dirs.push(d.clone());
                }
            }
        }
        index
    }

    /// The files that may define the type `name` (lowercase), in the order they are tried:
    /// modules whose name starts the type's (`keystone` for `keystone_config`) first, then
    /// modulepath order.
    pub fn type_files(&self, name: &str) -> Vec<PathBuf> {
        let Some(files) = self.types.get(name) else {
            return Vec::new();
        };
        let mut files: Vec<&(String, PathBuf)> = files.iter().collect();
        files.sort_by_key(|(m, _)| {
            !name
                .strip_prefix(m.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('_'))
        });
        files.into_iter().map(|(_, f)| f.clone()).collect()
    }

    /// Whether a module has a provider (`lib/puppet/provider/<name>/*.rb`) for the type.
    pub fn has_providers(&self, env: &dyn Environment, name: &str) -> bool {
        self.providers.get(name).is_some_and(|ds| {
            ds.iter().any(|d| {
                env.list_dir(d)
                    .iter()
                    .any(|p| p.extension().is_some_and(|e| e == "rb"))
            })
        })
    }
}
