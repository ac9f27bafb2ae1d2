//! Reading a hiera.yaml into a `Config`: version 5 (and 4) hierarchies with their backends,
//! paths, globs and mapped paths, a module's `default_hierarchy`; version 3 files go to
//! `hiera_v3`. Puppet's checks of the file are in `hiera_check`.

use crate::code::Environment;
use crate::data::hiera::{get, Backend, Config, Level};
use crate::data::hiera_check::Layer;
use std::path::Path;
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::{Map, Value};

pub(crate) fn parse_config(
    env: &dyn Environment,
    path: &Path,
    module: Option<&str>,
    layer: Layer,
) -> EResult<Option<Config>> {
    let Some(parsed) = env.data(path, crate::code::DataFormat::Yaml) else {
        return Ok(None);
    };
    let parsed = parsed
        .map_err(|e| EvalError::plain(format!("Unable to parse ({}): {e}", path.display())))?;
    let root = match &troupe_values::value::from_json(&parsed) {
        Value::Hash(root) => root.clone(),
        // Not a hash (an empty file, `---`): Hiera 3's defaults, in the global layer only.
        _ if layer == Layer::Global => {
            return crate::data::hiera_v3::config(env, path, None).map(Some)
        }
        _ => return Ok(None),
    };
    let root = &root;
    let text = env.read(path).unwrap_or_default();
    if root.contains_key(&Value::str(":backends")) && layer == Layer::Global {
        crate::data::hiera_check::check_v3(path, &text, root)?;
    }
    let version = get(root, "version")
        .or_else(|| get(root, ":version"))
        .cloned()
        .unwrap_or(Value::Undef);
    if matches!(version, Value::Undef | Value::Int(3)) {
        // Hiera 3: the global layer reads it; an environment or module ignores it (Puppet warns).
        if layer != Layer::Global {
            return Ok(None);
        }
        return crate::data::hiera_v3::config(env, path, Some(root)).map(Some);
    }
    if let Value::Int(v @ (4 | 5)) = version {
        crate::data::hiera_check::check(path, &text, root, layer, v)?;
    }
    let v4 = matches!(version, Value::Int(4));
    if !matches!(version, Value::Int(5)) && !v4 {
        return Err(EvalError::plain(format!(
            "This runtime does not support hiera.yaml version {} (file: {})",
            version.to_display(),
            path.display()
        )));
    }
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let (mut ddir, mut dbackend) = ("data".to_string(), "yaml_data".to_string());
    if let Some(Value::Hash(d)) = get(root, "defaults") {
        if let Some(Value::Str(s)) = get(d, "datadir") {
            ddir = s.to_string();
        }
        if let Some(Value::Str(s)) = get(d, "data_hash") {
            dbackend = s.to_string();
        }
    }
    let mut regular = Vec::new();
    let mut default_levels = Vec::new();
    let hier = match get(root, "hierarchy") {
        Some(Value::Array(a)) => (**a).clone(),
        _ => {
            vec![Value::hash(Map::from_iter([
                (Value::str("name"), Value::str("Common")),
                (Value::str("path"), Value::str("common.yaml")),
            ]))]
        }
    };
    // A module's `default_hierarchy`, consulted when nothing else has the key.
    let fallback = match get(root, "default_hierarchy") {
        Some(Value::Array(a)) if layer == Layer::Module => (**a).clone(),
        _ => Vec::new(),
    };
    let n_regular = hier.len();
    for (i, h) in hier.into_iter().chain(fallback).enumerate() {
        let levels: &mut Vec<Level> = if i < n_regular {
            &mut regular
        } else {
            &mut default_levels
        };
        let Value::Hash(h) = &h else { continue };
        let s = |k: &str| get(h, k).and_then(|v| v.as_str().map(String::from));
        let list = |k: &str| match get(h, k) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        };
        let mut paths = list("paths");
        if let Some(p) = s("path") {
            paths.insert(0, p);
        }
        let mut globs = list("globs");
        if let Some(g) = s("glob") {
            globs.insert(0, g);
        }
        let mapped = match get(h, "mapped_paths") {
            Some(Value::Array(a)) if a.len() == 3 => {
                Some((a[0].to_display(), a[1].to_display(), a[2].to_display()))
            }
            _ => None,
        };
        if v4 {
            // Version 4: `backend: yaml|json`, the path's extension implied.
            let b = s("backend").unwrap_or_default();
            let ext = format!(".{b}");
            let mut paths = if paths.is_empty() {
                vec![s("name").unwrap_or_default()]
            } else {
                paths
            };
            for p in paths.iter_mut() {
                if !p.ends_with(&ext) {
                    p.push_str(&ext);
                }
            }
            levels.push(Level {
                paths,
                globs,
                mapped,
                datadir: s("datadir").unwrap_or_else(|| ddir.clone()),
                backend: Backend {
                    name: format!("{b}_data"),
                    private_key: None,
                },
                v3_ext: None,
            });
            continue;
        }
        let backend = match (s("lookup_key"), s("data_dig")) {
            (Some(f), _) if f == "eyaml_lookup_key" => {
                let private_key = match get(h, "options") {
                    Some(Value::Hash(o)) => get(o, "pkcs7_private_key").map(|v| v.to_display()),
                    _ => None,
                };
                Backend {
                    name: f,
                    private_key,
                }
            }
            (Some(f), _) | (None, Some(f)) => {
                let kind = if s("lookup_key").is_some() {
                    "lookup_key"
                } else {
                    "data_dig"
                };
                return Err(EvalError::plain(format!(
                    "Unable to find '{kind}' function named '{f}' (file: {})",
                    path.display()
                )));
            }
            (None, None) => {
                let name = s("data_hash").unwrap_or_else(|| dbackend.clone());
                if !matches!(name.as_str(), "yaml_data" | "json_data" | "hocon_data") {
                    if layer == Layer::Global {
                        // Puppet warns and leaves the level out.
                        continue;
                    }
                    return Err(EvalError::plain(format!(
                        "Unable to find 'data_hash' function named '{name}' (file: {})",
                        path.display()
                    )));
                }
                Backend {
                    name,
                    private_key: None,
                }
            }
        };
        if paths.is_empty() && globs.is_empty() && mapped.is_none() {
            paths.push(format!("{}.yaml", s("name").unwrap_or_default()));
        }
        levels.push(Level {
            paths,
            globs,
            mapped,
            datadir: s("datadir").unwrap_or_else(|| ddir.clone()),
            backend,
            v3_ext: None,
        });
    }
    Ok(Some(Config {
        dir,
        module: module.map(String::from),
        levels: regular,
        default_levels,
        v3_merge: None,
        version: if v4 { 4 } else { 5 },
    }))
}
