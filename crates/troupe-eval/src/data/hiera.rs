//! Hiera 5: global, environment and module layers; yaml and json backends; interpolation;
//! merge strategies and `lookup_options`; `lookup()` and automatic parameter lookup.

use crate::code::Environment;
use crate::data::hiera_check::Layer;
use crate::data::merge::{Kind, Strategy};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::{Map, Value};

#[derive(Debug, Default)]
pub struct HieraCache {
    configs: HashMap<PathBuf, Option<Rc<Config>>>,
    files: HashMap<PathBuf, Option<Value>>,
    /// Keys being looked up, to stop recursive interpolation.
    active: Vec<String>,
    layers: HashMap<String, Vec<Rc<Config>>>,
    lookup_options: HashMap<String, Value>,
    /// Set while a hiera()/hiera_array()/hiera_hash()/hiera_include() call looks up.
    pub(crate) call: Option<HieraCall>,
    /// Interpolating a value of a Hiera 3 layer: Hiera 3's scope (`calling_class`, ...).
    v3_scope: bool,
}

/// How a legacy hiera() family call looks up (Puppet's `hiera_xxx_call`, `global_only` and
/// Hiera 3 location overrides).
#[derive(Debug, Default, Clone)]
pub struct HieraCall {
    /// Only the global layer (the environment has no data provider).
    pub global_only: bool,
    /// Data sources searched first by each Hiera 3 backend (hiera()'s override argument).
    pub overrides: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Level {
    pub(crate) paths: Vec<String>,
    pub(crate) globs: Vec<String>,
    pub(crate) mapped: Option<(String, String, String)>,
    pub(crate) datadir: String,
    pub(crate) backend: Backend,
    /// A Hiera 3 backend's file extension: hiera()'s override sources go before its paths.
    pub(crate) v3_ext: Option<String>,
}

/// A level's backend: a `data_hash` function, or `eyaml_lookup_key` with its private key.
#[derive(Debug, Clone)]
pub(crate) struct Backend {
    pub(crate) name: String,
    pub(crate) private_key: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) dir: PathBuf,
    /// The module of a module layer: it serves only keys in that module's namespace.
    pub(crate) module: Option<String>,
    pub(crate) levels: Vec<Level>,
    /// A Hiera 3 global configuration's `:merge_behavior:` as a merge strategy (`Some` for
    /// version 3 only; `Undef` for `native`), which only hiera_hash() uses.
    pub(crate) v3_merge: Option<Value>,
}

pub(crate) fn get<'a>(m: &'a Map, k: &str) -> Option<&'a Value> {
    m.get(&Value::str(k))
}

fn parse_config(
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
    let mut levels = Vec::new();
    let hier = match get(root, "hierarchy") {
        Some(Value::Array(a)) => (**a).clone(),
        _ => {
            vec![Value::hash(Map::from_iter([
                (Value::str("name"), Value::str("Common")),
                (Value::str("path"), Value::str("common.yaml")),
            ]))]
        }
    };
    for h in hier {
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
        levels,
        v3_merge: None,
    }))
}

/// What Hiera needs of the compile: the environment's files, variables for `%{...}`, its cache,
/// and the frames that stop runaway recursion. The evaluator implements it.
pub trait DataScope {
    fn env(&self) -> &dyn Environment;
    fn cache(&mut self) -> &mut HieraCache;
    /// A variable with an optional dotted path into it (`%{facts.os.family}`).
    fn var_path(&mut self, expr: &str) -> EResult<Value>;
    fn enter_frame(&mut self, kind: &str, name: &str) -> EResult<()>;
    fn leave_frame(&mut self);
    /// The name of the class whose code is being evaluated (Hiera 3's `calling_class`), `""`
    /// outside any class.
    fn calling_class(&self) -> String;
}

impl dyn DataScope + '_ {
    fn config(
        &mut self,
        path: PathBuf,
        module: Option<&str>,
        global: bool,
    ) -> EResult<Option<Rc<Config>>> {
        if let Some(c) = self.cache().configs.get(&path) {
            return Ok(c.clone());
        }
        let layer = match (module, global) {
            (Some(_), _) => Layer::Module,
            (None, true) => Layer::Global,
            (None, false) => Layer::Environment,
        };
        let c = parse_config(self.env(), &path, module, layer)?.map(Rc::new);
        self.cache().configs.insert(path, c.clone());
        Ok(c)
    }

    fn data_file(&mut self, path: &Path, backend: &str) -> EResult<Option<Value>> {
        if let Some(v) = self.cache().files.get(path) {
            return Ok(v.clone());
        }
        let format = match backend {
            "json_data" => crate::code::DataFormat::Json,
            "hocon_data" => crate::code::DataFormat::Hocon,
            "yaml_data" => crate::code::DataFormat::Yaml,
            _ => crate::code::DataFormat::Yaml,
        };
        let v = match self.env().data(path, format) {
            None => None,
            Some(parsed) => {
                let parsed = parsed.map(|j| troupe_values::value::from_json(&j));
                match parsed {
                    Ok(Value::Undef) => Some(Value::hash(Map::new())),
                    Ok(v @ Value::Hash(_)) => Some(v),
                    // Puppet warns that the file does not hold a hash and reads it as empty.
                    Ok(_) => Some(Value::hash(Map::new())),
                    Err(e) => {
                        return Err(EvalError::plain(format!(
                            "Unable to parse ({}): {e}",
                            path.display()
                        )))
                    }
                }
            }
        };
        self.cache().files.insert(path.to_path_buf(), v.clone());
        Ok(v)
    }

    /// Decrypts the `ENC[PKCS7,...]` parts of a value from an eyaml file.
    fn eyaml_decrypt(&mut self, v: &Value, b: &Backend, file: &Path, key: &str) -> EResult<Value> {
        troupe_values::limits::grow(|| {
            Ok(match v {
                Value::Str(s) if s.contains("ENC[") => {
                    let fail = |msg: String| {
                        EvalError::plain(format!(
                        "hiera-eyaml backend error decrypting {s} when looking up {key} in {}. Error was {msg}",
                        file.display()
                    ))
                    };
                    let key_path = match &b.private_key {
                        Some(k) => self.interpolate_str(k)?,
                        None => return Err(fail("no pkcs7_private_key option is set".into())),
                    };
                    let pem = self
                        .env()
                        .read(Path::new(&key_path))
                        .ok_or_else(|| fail(format!("cannot read the private key {key_path}")))?;
                    Value::str(crate::data::eyaml::decrypt_text(&pem, s).map_err(fail)?)
                }
                Value::Array(a) => {
                    let mut out = Vec::with_capacity(a.len());
                    for x in a.iter() {
                        out.push(self.eyaml_decrypt(x, b, file, key)?);
                    }
                    Value::array(out)
                }
                Value::Hash(h) => {
                    let mut out = Map::new();
                    for (k, x) in h.iter() {
                        out.insert(k.clone(), self.eyaml_decrypt(x, b, file, key)?);
                    }
                    Value::hash(out)
                }
                other => other.clone(),
            })
        })
    }

    /// The data files of one layer, in hierarchy order.
    fn layer_files(&mut self, cfg: &Config) -> EResult<Vec<(PathBuf, Backend)>> {
        let mut out = Vec::new();
        for l in &cfg.levels {
            for p in l.paths.iter().chain(&l.globs) {
                if method_syntax(p) {
                    return Err(EvalError::plain(format!(
                        "Interpolation using method syntax is not allowed in this context (file: {})",
                        cfg.dir.join("hiera.yaml").display()
                    )));
                }
            }
            let datadir = self.interpolate_str(&l.datadir)?;
            // Hiera 3 resolves a relative datadir from the working directory, version 5
            // from the hiera.yaml's directory.
            let base = if l.v3_ext.is_some() {
                PathBuf::from(datadir)
            } else {
                cfg.dir.join(datadir)
            };
            if let (Some(ext), Some(call)) = (&l.v3_ext, self.cache().call.clone()) {
                for o in &call.overrides {
                    let p = self.interpolate_str(&format!("{o}{ext}"))?;
                    out.push((base.join(p), l.backend.clone()));
                }
            }
            for p in &l.paths {
                let p = self.interpolate_str(p)?;
                out.push((base.join(p), l.backend.clone()));
            }
            for g in &l.globs {
                let g = self.interpolate_str(g)?;
                let mut matched = glob_files(self.env(), &base, &g);
                matched.sort();
                for m in matched {
                    out.push((m, l.backend.clone()));
                }
            }
            if let Some((var, key, path)) = &l.mapped {
                // An array maps each element, a hash each [key, value] pair, a string itself.
                let mapped = self.var_path(var)?;
                let items: Vec<Value> = match &mapped {
                    Value::Array(items) => items.iter().cloned().collect(),
                    Value::Hash(h) => h
                        .iter()
                        .map(|(k, v)| Value::array(vec![k.clone(), v.clone()]))
                        .collect(),
                    Value::Str(_) => vec![mapped.clone()],
                    _ => Vec::new(),
                };
                for it in items {
                    let mut p = path.replace(&format!("%{{{key}}}"), &it.to_display());
                    if let Value::Array(pair) = &it {
                        for (i, x) in pair.iter().enumerate() {
                            p = p.replace(&format!("%{{{key}.{i}}}"), &x.to_display());
                        }
                    }
                    let p = self.interpolate_str(&p)?;
                    out.push((base.join(p), l.backend.clone()));
                }
            }
        }
        Ok(out)
    }

    /// Whether the environment has a data provider: a hiera.yaml of version 4 or 5.
    pub fn has_environment_data(&mut self) -> EResult<bool> {
        let envh = self.env().dir().join("hiera.yaml");
        Ok(self.config(envh, None, false)?.is_some())
    }

    fn layers(&mut self, key: &str) -> EResult<Vec<Rc<Config>>> {
        if self.cache().call.as_ref().is_some_and(|c| c.global_only) {
            let mut out = Vec::new();
            if let Some(g) = self.env().global_hiera() {
                out.extend(self.config(g, None, true)?);
            }
            return Ok(out);
        }
        let module = key
            .split_once("::")
            .map(|(m, _)| m.to_string())
            .unwrap_or_default();
        if let Some(l) = self.cache().layers.get(&module) {
            return Ok(l.clone());
        }
        let l = self.layers_uncached(key)?;
        self.cache().layers.insert(module, l.clone());
        Ok(l)
    }

    fn layers_uncached(&mut self, key: &str) -> EResult<Vec<Rc<Config>>> {
        let mut out = Vec::new();
        if let Some(g) = self.env().global_hiera() {
            if let Some(c) = self.config(g, None, true)? {
                out.push(c);
            }
        }
        let envh = self.env().dir().join("hiera.yaml");
        // An environment without a hiera.yaml has no environment data layer.
        if let Some(c) = self.config(envh, None, false)? {
            out.push(c);
        }
        if let Some((module, _)) = key.split_once("::") {
            if let Some(dir) = self.env().module_dir(module) {
                if let Some(c) = self.config(dir.join("hiera.yaml"), Some(module), false)? {
                    out.push(c);
                }
            }
        }
        Ok(out)
    }

    /// Every layer's `lookup_options`, merged as Puppet does: within a layer the levels with a
    /// `hash` merge, then the environment's (with the global layer's) over the module's.
    fn merged_lookup_options(&mut self, module: &str, layers: &[Rc<Config>]) -> EResult<Value> {
        if let Some(v) = self.cache().lookup_options.get(module) {
            return Ok(v.clone());
        }
        let hash = Strategy::parse(&Value::str("hash"))?;
        let mut per_layer = Vec::new();
        for cfg in layers.iter() {
            let files = self.layer_files(cfg)?;
            let mut found = Vec::new();
            for (p, backend) in files.iter() {
                if let Some(Value::Hash(h)) = &self.data_file(p, &backend.name)? {
                    match get(h, "lookup_options") {
                        None | Some(Value::Undef) => {}
                        Some(lo @ Value::Hash(_)) => found.push(lo.clone()),
                        Some(_) => {
                            return Err(EvalError::plain("value of lookup_options must be a hash"))
                        }
                    }
                }
            }
            if let Some(v) = hash.merge(found)? {
                if let (Some(m), Value::Hash(h)) = (&cfg.module, &v) {
                    check_module_options(m, h)?;
                }
                per_layer.push(v);
            }
        }
        let merged = hash.merge(per_layer)?.unwrap_or(Value::Undef);
        self.cache()
            .lookup_options
            .insert(module.to_string(), merged.clone());
        Ok(merged)
    }

    fn lookup_options_for(&mut self, key: &str, layers: &[Rc<Config>]) -> EResult<Option<Value>> {
        let module = key.split_once("::").map(|(m, _)| m).unwrap_or_default();
        let Value::Hash(opts) = &self.merged_lookup_options(module, layers)? else {
            return Ok(None);
        };
        if let Some(v) = get(opts, key) {
            return Ok(Some(v.clone()));
        }
        for (k, v) in opts.iter() {
            if let Value::Str(ks) = k {
                if ks.starts_with('^') {
                    if let Ok(re) = regex::Regex::new(ks) {
                        if re.is_match(key) {
                            return Ok(Some(v.clone()));
                        }
                    }
                }
            }
        }
        Ok(None)
    }

    /// Looks up `key`; `None` when no layer has it. Interpolations that look up other keys
    /// nest as named frames (a chain of 1000 distinct keys is runaway recursion too).
    pub fn hiera_lookup(&mut self, key: &str, merge: Option<Value>) -> EResult<Option<Value>> {
        self.enter_frame("lookup", key)?;
        let r = self.hiera_lookup_inner(key, merge);
        self.leave_frame();
        r
    }

    fn hiera_lookup_inner(&mut self, key: &str, merge: Option<Value>) -> EResult<Option<Value>> {
        if self.cache().active.iter().any(|k| k == key) {
            return Err(EvalError::new(format!(
                "Recursive lookup detected in [{}]",
                self.cache().active.join(", ")
            )));
        }
        if key == "lookup_options" || key.starts_with("lookup_options.") {
            return Ok(None);
        }
        let mut segs = split_key(key).into_iter();
        let root = segs.next().unwrap_or_default();
        let dig: Vec<String> = segs.collect();
        let layers = self.layers(&root)?;
        let opts = self.lookup_options_for(&root, &layers)?;
        let strategy = match (&merge, &opts) {
            (Some(m), _) if !m.is_undef() => Strategy::parse(m)?,
            (_, Some(Value::Hash(o))) => match get(o, "merge") {
                Some(m) => Strategy::parse(m)?,
                None => Strategy::first(),
            },
            _ => Strategy::first(),
        };
        let mut found: Vec<Value> = Vec::new();
        'layers: for cfg in &layers {
            if let Some(module) = &cfg.module {
                if !root.starts_with(&format!("{module}::")) {
                    continue;
                }
            }
            // A hiera() family call merges a Hiera 3 global layer on its own (its
            // :merge_behavior:, its checks), as Puppet's GlobalDataProvider does.
            let v3_call = self.cache().call.is_some() && cfg.v3_merge.is_some();
            let mut v3_found = Vec::new();
            let files = self.layer_files(cfg)?;
            for (p, backend) in files {
                if let Some(Value::Hash(h)) = &self.data_file(&p, &backend.name)? {
                    if let Some(v) = h.get(&Value::str(root.as_str())) {
                        let decrypted;
                        let v = if backend.name == "eyaml_lookup_key" {
                            decrypted = self.eyaml_decrypt(v, &backend, &p, &root)?;
                            &decrypted
                        } else {
                            v
                        };
                        self.cache().active.push(key.to_string());
                        let outer =
                            std::mem::replace(&mut self.cache().v3_scope, cfg.v3_merge.is_some());
                        let v = self.interpolate_value(v);
                        self.cache().v3_scope = outer;
                        self.cache().active.pop();
                        if v3_call {
                            v3_found.push(v?);
                            if strategy.kind == Kind::First {
                                break;
                            }
                            continue;
                        }
                        found.push(v?);
                        if strategy.kind == Kind::First {
                            break 'layers;
                        }
                    }
                }
            }
            if !v3_found.is_empty() {
                found.push(crate::data::hiera_v3::hiera_call_result(
                    cfg,
                    &strategy,
                    v3_found,
                    key,
                    !dig.is_empty(),
                )?);
                if strategy.kind == Kind::First {
                    break 'layers;
                }
            }
        }
        let Some(mut v) = strategy.merge(found)? else {
            return Ok(None);
        };
        if let Some(Value::Hash(o)) = &opts {
            if let Some(Value::Array(conv)) = get(o, "convert_to") {
                if conv.first().is_some_and(|c| c.to_display() == "Sensitive") {
                    v = Value::Sensitive(Rc::new(v));
                }
            } else if let Some(Value::Str(c)) = get(o, "convert_to") {
                if &**c == "Sensitive" {
                    v = Value::Sensitive(Rc::new(v));
                }
            }
        }
        {
            for seg in &dig {
                let seg = seg.as_str();
                v = match &v {
                    Value::Hash(h) => match h.get(&Value::str(seg)) {
                        Some(x) => x.clone(),
                        None => return Ok(None),
                    },
                    Value::Array(a) => match seg.parse::<usize>().ok().and_then(|i| a.get(i)) {
                        Some(x) => x.clone(),
                        None => return Ok(None),
                    },
                    _ => return Ok(None),
                };
            }
        }
        Ok(Some(v))
    }

    /// One `%{...}` expression.
    fn interp_one(&mut self, inner: &str, whole: bool) -> EResult<Value> {
        let inner = inner.trim();
        if let Some(open) = inner.find('(') {
            let f = inner[..open].trim();
            let arg = inner[open + 1..]
                .trim_end_matches(')')
                .trim()
                .trim_matches(|c| c == '\'' || c == '"');
            return match f {
                "alias" if !whole => Err(EvalError::plain(
                    "'alias' interpolation is only permitted if the expression is equal to the entire string",
                )),
                "lookup" | "hiera" | "alias" => {
                    // A nested lookup sees the compile's own scope again; from a Hiera 3
                    // layer it stays in the global layer unless the environment has data.
                    let v3 = std::mem::replace(&mut self.cache().v3_scope, false);
                    let call = self.cache().call.clone();
                    if v3 && call.is_none() && !self.has_environment_data()? {
                        self.cache().call = Some(HieraCall {
                            global_only: true,
                            overrides: Vec::new(),
                        });
                    }
                    let r = self.hiera_lookup(arg, None);
                    self.cache().v3_scope = v3;
                    self.cache().call = call;
                    Ok(r?.unwrap_or(Value::Undef))
                }
                "literal" => Ok(Value::str(arg)),
                "scope" => self.var_path(arg),
                _ => Err(EvalError::plain(format!(
                    "Unknown interpolation method '{f}'"
                ))),
            };
        }
        if inner.is_empty() {
            return Ok(Value::str(""));
        }
        if self.cache().v3_scope {
            if let Some(v) = crate::data::hiera_v3::scope_var(self, inner)? {
                return Ok(v);
            }
        }
        self.var_path(inner)
    }

    pub fn interpolate_str(&mut self, s: &str) -> EResult<String> {
        if !s.contains("%{") {
            return Ok(s.to_string());
        }
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("%{") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[i..]);
                return Ok(out);
            };
            let v = self.interp_one(&after[..end], false)?;
            out.push_str(&v.to_display());
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn interpolate_value(&mut self, v: &Value) -> EResult<Value> {
        troupe_values::limits::grow(|| {
            Ok(match v {
                Value::Str(s) if s.contains("%{") => {
                    let t = s.trim();
                    if t.starts_with("%{alias(")
                        && t.ends_with(")}")
                        && t.matches("%{").count() == 1
                    {
                        return self.interp_one(&t[2..t.len() - 1], true);
                    }
                    Value::str(self.interpolate_str(s)?)
                }
                Value::Array(a) => {
                    let mut out = Vec::with_capacity(a.len());
                    for x in a.iter() {
                        out.push(self.interpolate_value(x)?);
                    }
                    Value::array(out)
                }
                Value::Hash(h) => {
                    let mut out = Map::new();
                    for (k, x) in h.iter() {
                        out.insert(self.interpolate_value(k)?, self.interpolate_value(x)?);
                    }
                    Value::hash(out)
                }
                other => other.clone(),
            })
        })
    }
}

/// A lookup key's segments: split on dots outside quotes, each trimmed, quotes removed.
fn split_key(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut quote: Option<char> = None;
    let finish = |cur: &mut String, quoted: &mut bool| {
        let seg = std::mem::take(cur);
        let seg = if *quoted { seg } else { seg.trim().to_string() };
        *quoted = false;
        seg
    };
    for c in key.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                cur.clear();
                quoted = true;
                quote = Some(c);
            }
            (None, '.') => out.push(finish(&mut cur, &mut quoted)),
            (None, c) if quoted && c.is_whitespace() => {}
            (None, c) => cur.push(c),
        }
    }
    out.push(finish(&mut cur, &mut quoted));
    out
}

/// `%{lookup('x')}` and the other interpolation functions, refused in hiera.yaml paths.
fn method_syntax(s: &str) -> bool {
    let mut rest = s;
    while let Some(i) = rest.find("%{") {
        let inner = rest[i + 2..].trim_start();
        let word = inner
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(inner.len());
        if word > 0 && inner[word..].starts_with('(') {
            return true;
        }
        rest = &rest[i + 2..];
    }
    false
}

/// A module's `lookup_options` may only name that module's keys.
fn check_module_options(module: &str, opts: &Map) -> EResult<()> {
    let pfx = format!("{module}::");
    for k in opts.keys() {
        let k = k.to_display();
        if let Some(pattern) = k.strip_prefix('^') {
            if !pattern.starts_with(&pfx) {
                return Err(EvalError::plain(format!(
                    "all lookup_options patterns must match a key starting with module name '{module}'"
                )));
            }
        } else if !k.starts_with(&pfx) {
            return Err(EvalError::plain(format!(
                "all lookup_options keys must start with module name '{module}'"
            )));
        }
    }
    Ok(())
}

/// The files in `base` matching `pattern` (`*` and `?` within the last path segment).
fn glob_files(env: &dyn crate::code::Environment, base: &Path, pattern: &str) -> Vec<PathBuf> {
    let full = base.join(pattern);
    let (Some(dir), Some(file_pat)) = (full.parent(), full.file_name()) else {
        return vec![];
    };
    let re_src = format!(
        "^{}$",
        regex::escape(&file_pat.to_string_lossy())
            .replace(r"\*", ".*")
            .replace(r"\?", ".")
    );
    let Ok(re) = regex::Regex::new(&re_src) else {
        return vec![];
    };
    env.list_dir(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| re.is_match(&n.to_string_lossy()))
        })
        .collect()
}
