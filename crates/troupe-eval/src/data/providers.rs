//! The data providers Puppet chooses for the environment and module layers: a hiera.yaml of
//! version 5 wins; otherwise the deprecated settings decide — `environment_data_provider` in
//! environment.conf, `"data_provider"` in a module's metadata.json — `hiera` (the hiera.yaml,
//! or Puppet's default version 5 configuration when there is none), `function` (the hash the
//! legacy `environment::data` / `<module>::data` function returns), or `none`.

use crate::data::hiera::{get, Backend, Config, DataScope, Level};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::{Map, Value};

/// The backend name of a level served by a legacy data provider function.
pub(crate) const FUNCTION_BACKEND: &str = "v4_data_hash";

/// `environment_data_provider` from the environment's environment.conf.
fn env_setting(ds: &dyn DataScope) -> Option<String> {
    let text = ds.env().read(&ds.env().dir().join("environment.conf"))?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        if k.trim() != "environment_data_provider" {
            return None;
        }
        let v = v.trim().trim_matches(|c| c == '\'' || c == '"').trim();
        (!v.is_empty()).then(|| v.to_string())
    })
}

/// `"data_provider"` from a module's metadata.json (kept with the environment, see
/// `Environment::kept`).
fn module_setting(ds: &dyn DataScope, dir: &Path) -> Option<String> {
    let key = format!("module data_provider {}", dir.display());
    if let Some(k) = ds.env().kept(&key) {
        if let Ok(v) = k.downcast::<Option<String>>() {
            return (*v).clone();
        }
    }
    let v = module_setting_read(ds, dir);
    ds.env().keep(&key, std::sync::Arc::new(v.clone()));
    v
}

fn module_setting_read(ds: &dyn DataScope, dir: &Path) -> Option<String> {
    let text = ds.env().read(&dir.join("metadata.json"))?;
    let json = ds
        .env()
        .parse_data(&text, crate::code::DataFormat::Json)
        .ok()?;
    match &troupe_values::value::from_json(&json) {
        Value::Hash(h) => match get(h, "data_provider") {
            Some(Value::Str(s)) => Some(s.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// Puppet's default version 5 configuration: `data/common.yaml` under `dir`.
fn default_config(dir: &Path, module: Option<&str>) -> Config {
    Config {
        dir: dir.to_path_buf(),
        module: module.map(String::from),
        levels: vec![Level {
            paths: vec!["common.yaml".into()],
            globs: Vec::new(),
            mapped: None,
            datadir: "data".into(),
            backend: Backend {
                name: "yaml_data".into(),
                private_key: None,
            },
            v3_ext: None,
        }],
        default_levels: Vec::new(),
        v3_merge: None,
        version: 5,
    }
}

/// A configuration whose one level is the hash the function `name` returns.
fn function_config(dir: &Path, module: Option<&str>, name: &str) -> Config {
    Config {
        dir: dir.to_path_buf(),
        module: module.map(String::from),
        levels: vec![Level {
            paths: vec![name.to_string()],
            globs: Vec::new(),
            mapped: None,
            datadir: String::new(),
            backend: Backend {
                name: FUNCTION_BACKEND.into(),
                private_key: None,
            },
            v3_ext: None,
        }],
        default_levels: Vec::new(),
        v3_merge: None,
        version: 5,
    }
}

/// The configuration `setting` chooses beside the hiera.yaml found (`found`), if any.
fn choose(
    found: Option<Rc<Config>>,
    setting: Option<String>,
    dir: &Path,
    module: Option<&str>,
    unknown: impl FnOnce(&str) -> EvalError,
) -> EResult<Option<Rc<Config>>> {
    let setting = match &found {
        Some(c) if c.version >= 5 => None,
        _ => setting,
    };
    let Some(setting) = setting else {
        return Ok(found);
    };
    Ok(match setting.as_str() {
        "none" => None,
        "hiera" => Some(found.unwrap_or_else(|| Rc::new(default_config(dir, module)))),
        "function" => {
            let name = format!("{}::data", module.unwrap_or("environment"));
            Some(Rc::new(function_config(dir, module, &name)))
        }
        other => return Err(unknown(other)),
    })
}

impl dyn DataScope + '_ {
    /// The environment layer's configuration, if the environment has a data provider.
    pub(crate) fn env_config(&mut self) -> EResult<Option<Rc<Config>>> {
        let dir: PathBuf = self.env().dir();
        let found = self.config(dir.join("hiera.yaml"), None, false)?;
        let setting = match &found {
            Some(c) if c.version >= 5 => None,
            _ => env_setting(self),
        };
        let env = self.env().name().to_string();
        choose(found, setting, &dir, None, |p| {
            EvalError::plain(format!(
                "Environment '{env}', cannot find environment_data_provider '{p}'"
            ))
        })
    }

    /// A module's layer configuration, if the module has a data provider.
    pub(crate) fn module_config(
        &mut self,
        module: &str,
        dir: &Path,
    ) -> EResult<Option<Rc<Config>>> {
        let found = self.config(dir.join("hiera.yaml"), Some(module), false)?;
        // A version 5 hiera.yaml wins: the metadata is read only without one.
        let setting = match &found {
            Some(c) if c.version >= 5 => None,
            _ => module_setting(self, dir),
        };
        let env = self.env().name().to_string();
        choose(found, setting, dir, Some(module), |p| {
            EvalError::plain(format!(
                "Environment '{env}', cannot find module_data_provider '{p}'"
            ))
        })
    }

    /// The hash a legacy data provider function returns (each call of a compile answered
    /// once, as Puppet caches it).
    pub(crate) fn function_data(&mut self, name: &str) -> EResult<Option<Value>> {
        let Some(v) = self.data_function(name, Vec::new())? else {
            return Err(EvalError::plain(format!(
                "Unable to find '{FUNCTION_BACKEND}' function named '{name}'"
            )));
        };
        Ok(Some(match v {
            Value::Hash(_) => v,
            Value::Undef => Value::hash(Map::default()),
            other => {
                return Err(EvalError::plain(format!(
                    "Value returned from deprecated API function '{name}' has wrong type, expects a Hash value, got {}",
                    troupe_values::types::infer_for_message(&other)
                )))
            }
        }))
    }
}
