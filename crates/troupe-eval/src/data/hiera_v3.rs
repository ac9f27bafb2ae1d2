//! Hiera 3 configurations (`:backends:`, `:hierarchy:`, `:yaml: { :datadir: }`,
//! `:merge_behavior:`) in the global layer, read as Puppet 7's `HieraConfigV3` reads them: each
//! backend a provider over the whole hierarchy, in the order the backends are listed. An
//! environment's or module's Hiera 3 file is ignored (`hiera::parse_config`).

use crate::code::Environment;
use crate::data::hiera::{get, Backend, Config, DataScope, Level};
use crate::data::merge::{Kind, Strategy};
use std::path::Path;
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::{Map, Value};

/// Puppet's `symkeys_to_string`: YAML symbols (`:backends`, read as ":backends") become strings.
fn unsym(v: &Value) -> Value {
    troupe_values::limits::grow(|| match v {
        Value::Hash(h) => {
            let mut out = Map::default();
            for (k, x) in h.iter() {
                let k = match k {
                    Value::Str(s) if s.starts_with(':') && s.len() > 1 => Value::str(&s[1..]),
                    other => other.clone(),
                };
                out.insert(k, unsym(x));
            }
            Value::hash(out)
        }
        Value::Array(a) => Value::array(a.iter().map(unsym).collect()),
        other => other.clone(),
    })
}

/// A string or an array of strings, flattened (`:backends: yaml` or a list).
fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::Array(a) => Some(a.iter().map(Value::to_display).collect()),
        Value::Undef => None,
        other => Some(vec![other.to_display()]),
    }
}

/// The configuration of a global Hiera 3 hiera.yaml at `path`; `root` `None` for a file that
/// holds no hash (Puppet's Hiera 3 defaults).
pub(crate) fn config(env: &dyn Environment, path: &Path, root: Option<&Map>) -> EResult<Config> {
    let root = match root {
        Some(r) => match &unsym(&Value::hash(r.clone())) {
            Value::Hash(h) => h.clone(),
            _ => Default::default(),
        },
        None => Default::default(),
    };
    let backends = strings(get(&root, "backends")).unwrap_or_else(|| vec!["yaml".into()]);
    let hierarchy = strings(get(&root, "hierarchy"))
        .unwrap_or_else(|| vec!["nodes/%{::trusted.certname}".into(), "common".into()]);
    // Puppet's default datadir: <codedir>/environments/%{::environment}/hieradata.
    let default_datadir = env.dir().join("hieradata").to_string_lossy().into_owned();
    let mut levels = Vec::new();
    for b in &backends {
        let opts = match get(&root, b) {
            Some(Value::Hash(h)) => Some(h.clone()),
            _ => None,
        };
        let opt = |k: &str| opts.as_ref().and_then(|o| get(o, k)).map(Value::to_display);
        let name = match b.as_str() {
            "yaml" => "yaml_data",
            "json" => "json_data",
            "hocon" => "hocon_data",
            "eyaml" => "eyaml_lookup_key",
            // A custom Ruby Hiera 3 backend: troupe cannot run it, so it finds nothing.
            _ => continue,
        };
        let ext = match opt("extension") {
            Some(e) => format!(".{e}"),
            None if b == "hocon" => ".conf".to_string(),
            None => format!(".{b}"),
        };
        levels.push(Level {
            paths: hierarchy.iter().map(|h| format!("{h}{ext}")).collect(),
            globs: Vec::new(),
            mapped: None,
            datadir: opt("datadir").unwrap_or_else(|| default_datadir.clone()),
            backend: Backend {
                name: name.to_string(),
                private_key: opt("pkcs7_private_key"),
            },
            v3_ext: Some(ext),
        });
    }
    let v3_merge = match get(&root, "merge_behavior").map(Value::to_display).as_deref() {
        None | Some("native") => Value::Undef,
        Some("array") => Value::str("unique"),
        Some(m @ ("deep" | "deeper")) => {
            let mut h = Map::default();
            let strategy = if m == "deep" {
                "reverse_deep"
            } else {
                "unconstrained_deep"
            };
            h.insert(Value::str("strategy"), Value::str(strategy));
            if let Some(Value::Hash(o)) = get(&root, "deep_merge_options") {
                for (k, v) in o.iter() {
                    h.insert(k.clone(), v.clone());
                }
            }
            Value::hash(h)
        }
        Some(other) => {
            return Err(EvalError::plain(format!(
                "The Lookup Configuration at '{}' entry 'merge_behavior' expects a match for Enum['deep', 'deeper', 'native'], got '{other}'",
                path.display()
            )))
        }
    };
    Ok(Config {
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        module: None,
        levels,
        default_levels: Vec::new(),
        v3_merge: Some(v3_merge),
        version: 3,
    })
}

/// The values a hiera() family call found in a Hiera 3 global layer, merged: hiera_hash()
/// merges with the configuration's `:merge_behavior:` (other merges as asked) and must get a
/// hash; hiera_array() and hiera_hash() refuse a dotted key, with Hiera 3's messages.
pub(crate) fn hiera_call_result(
    cfg: &Config,
    asked: &Strategy,
    found: Vec<Value>,
    key: &str,
    dotted: bool,
) -> EResult<Value> {
    let fail = |msg: String| EvalError::new(format!("Lookup of key '{key}' failed: {msg}"));
    let strategy = match &cfg.v3_merge {
        Some(m) if asked.kind == Kind::Hash && !m.is_undef() => Strategy::parse(m)?,
        _ => asked.clone(),
    };
    let v = strategy.merge(found)?.unwrap_or(Value::Undef);
    if matches!(strategy.kind, Kind::Hash | Kind::Deep | Kind::ReverseDeep)
        && !matches!(v, Value::Hash(_))
    {
        // Puppet's TypeAsserter infers an array literal as a Tuple.
        let got = match &v {
            Value::Array(_) => "Tuple".to_string(),
            other => troupe_values::types::infer_for_message(other),
        };
        return Err(fail(format!(
            "value has wrong type, expects a Hash value, got {got}"
        )));
    }
    if dotted && matches!(strategy.kind, Kind::Hash | Kind::Unique) {
        let t = if strategy.kind == Kind::Hash {
            "hash"
        } else {
            "array"
        };
        return Err(fail(format!(
            "Resolution type :{t} is illegal when accessing values using dotted keys. Offending key was '{key}'"
        )));
    }
    Ok(v)
}

/// Hiera 3's scope variables (`Hiera::Scope`): `calling_class`, `calling_class_path`,
/// `calling_module`; an empty string reads as undef. `None` for other names.
pub(crate) fn scope_var(ds: &mut dyn DataScope, name: &str) -> EResult<Option<Value>> {
    let v = match name {
        "calling_class" => Value::str(ds.calling_class().as_str()),
        "calling_class_path" => Value::str(ds.calling_class().replace("::", "/").as_str()),
        "calling_module" => ds.var_path("module_name")?,
        _ => return Ok(None),
    };
    Ok(Some(match &v {
        Value::Str(s) if s.is_empty() => Value::Undef,
        _ => v,
    }))
}
