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
    pub(crate) active: Vec<String>,
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
    /// A module's `default_hierarchy`.
    pub(crate) default_levels: Vec<Level>,
    /// A Hiera 3 global configuration's `:merge_behavior:` as a merge strategy (`Some` for
    /// version 3 only; `Undef` for `native`), which only hiera_hash() uses.
    pub(crate) v3_merge: Option<Value>,
    /// The hiera.yaml version (3, 4 or 5).
    pub(crate) version: i64,
}

pub(crate) fn get<'a>(m: &'a Map, k: &str) -> Option<&'a Value> {
    m.get(&Value::str(k))
}

/// What Hiera needs of the compile: the environment's files, variables for `%{...}`, its cache,
/// and the frames that stop runaway recursion. The evaluator implements it.
pub trait DataScope {
    fn env(&self) -> &dyn Environment;
    fn cache(&mut self) -> &mut HieraCache;
    /// A variable with an optional dotted path into it (`%{facts.os.family}`).
    fn var_path(&mut self, expr: &str) -> EResult<Value>;
    /// A variable by its exact name (undef when not set).
    fn var(&mut self, name: &str) -> EResult<Value>;
    fn enter_frame(&mut self, kind: &str, name: &str) -> EResult<()>;
    fn leave_frame(&mut self);
    /// Calls the function `name` (Puppet-language or Ruby) with `args`; `None` when there is
    /// no such function.
    fn data_function(&mut self, name: &str, args: Vec<Value>) -> EResult<Option<Value>>;
    /// The type a type expression's text names, as a value.
    fn type_value(&mut self, text: &str) -> EResult<Value>;
    /// The name of the class whose code is being evaluated (Hiera 3's `calling_class`), `""`
    /// outside any class.
    fn calling_class(&self) -> String;
}

impl dyn DataScope + '_ {
    pub(crate) fn config(
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
        let c =
            crate::data::hiera_config::parse_config(self.env(), &path, module, layer)?.map(Rc::new);
        self.cache().configs.insert(path, c.clone());
        Ok(c)
    }

    pub(crate) fn data_file(&mut self, path: &Path, backend: &str) -> EResult<Option<Value>> {
        if let Some(v) = self.cache().files.get(path) {
            return Ok(v.clone());
        }
        if backend == crate::data::providers::FUNCTION_BACKEND {
            // The "path" of a legacy data provider level is its function's name.
            let name = path.to_string_lossy().into_owned();
            let v = self.function_data(&name)?;
            self.cache().files.insert(path.to_path_buf(), v.clone());
            return Ok(v);
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
                    Ok(Value::Undef) => Some(Value::hash(Map::default())),
                    Ok(v @ Value::Hash(_)) => Some(v),
                    // Puppet warns that the file does not hold a hash and reads it as empty.
                    Ok(_) => Some(Value::hash(Map::default())),
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
                    let mut out = Map::default();
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
    pub(crate) fn layer_files(&mut self, cfg: &Config) -> EResult<Vec<(PathBuf, Backend)>> {
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
            if l.backend.name == crate::data::providers::FUNCTION_BACKEND {
                out.extend(
                    l.paths
                        .iter()
                        .map(|n| (PathBuf::from(n), l.backend.clone())),
                );
                continue;
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
        Ok(self.env_config()?.is_some())
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
        // An environment without a hiera.yaml (or data provider setting) has no data layer.
        if let Some(c) = self.env_config()? {
            out.push(c);
        }
        if let Some((module, _)) = key.split_once("::") {
            if let Some(dir) = self.env().module_dir(module) {
                if let Some(c) = self.module_config(module, &dir)? {
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
        let segs = crate::data::keys::split_key(key)
            .map_err(|()| EvalError::plain(format!("Syntax error in key: {key}")))?;
        let root = segs[0].text();
        let dig = &segs[1..];
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
        let global_only = self.cache().call.as_ref().is_some_and(|c| c.global_only);
        if found.is_empty() && !global_only {
            let pfx = format!("{}::", root.split("::").next().unwrap_or_default());
            let fallback = layers.iter().find(|c| {
                !c.default_levels.is_empty()
                    && c.module.as_ref().is_some_and(|m| pfx == format!("{m}::"))
            });
            if let Some(cfg) = fallback.cloned() {
                found.extend(self.default_hierarchy_lookup(&cfg, &root, key)?);
            }
        }
        let Some(v) = strategy.merge(found)? else {
            return Ok(None);
        };
        let Some(mut v) = crate::data::keys::sub_lookup(key, dig, v)? else {
            return Ok(None);
        };
        if let Some(Value::Hash(o)) = &opts {
            if let Some(spec) = get(o, "convert_to") {
                v = self.apply_convert_to(key, v, spec)?;
            }
        }
        Ok(Some(v))
    }

    /// One `%{...}` expression.
    fn interp_one(&mut self, inner: &str, whole: bool, subject: &str) -> EResult<Value> {
        let inner = inner.trim();
        if matches!(inner, "" | "::" | "\"\"" | "''" | "\"::\"" | "'::'") {
            return Ok(Value::str(""));
        }
        let (method, arg) = method_and_key(inner);
        match method {
            Some("alias") if !whole => Err(EvalError::plain(
                "'alias' interpolation is only permitted if the expression is equal to the entire string",
            )),
            Some("lookup" | "hiera" | "alias") => {
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
            Some("literal") => Ok(Value::str(arg)),
            Some("scope") | None => {
                let segs = crate::data::keys::split_key(arg).map_err(|()| {
                    EvalError::plain(format!("Syntax error in string: {subject}"))
                })?;
                let root = segs[0].text();
                let base = match self.cache().v3_scope {
                    true => match crate::data::hiera_v3::scope_var(self, &root)? {
                        Some(v) => v,
                        None => self.var(&root)?,
                    },
                    false => self.var(&root)?,
                };
                Ok(crate::data::keys::sub_lookup(arg, &segs[1..], base)?.unwrap_or(Value::Undef))
            }
            Some(f) => Err(EvalError::plain(format!(
                "Unknown interpolation method '{f}'"
            ))),
        }
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
            let v = self.interp_one(&after[..end], false, s)?;
            out.push_str(&v.to_display());
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    pub(crate) fn interpolate_value(&mut self, v: &Value) -> EResult<Value> {
        troupe_values::limits::grow(|| {
            Ok(match v {
                Value::Str(s) if s.contains("%{") => {
                    let t = s.trim();
                    if t.starts_with("%{alias(")
                        && t.ends_with(")}")
                        && t.matches("%{").count() == 1
                    {
                        return self.interp_one(&t[2..t.len() - 1], true, s);
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
                    let mut out = Map::default();
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

/// Puppet's `get_method_and_data`: `name('key')` or `name("key")` is a method call,
/// anything else a scope key.
fn method_and_key(expr: &str) -> (Option<&str>, &str) {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE
        .get_or_init(|| regex::Regex::new(r#"^(\w+)\((?:"([^"]+)"|'([^']+)')\)$"#).expect("valid"));
    match re.captures(expr) {
        Some(c) => {
            let m = c.get(1).map_or("", |m| m.as_str());
            let k = c.get(2).or(c.get(3)).map_or("", |m| m.as_str());
            (Some(m), k)
        }
        None => (None, expr),
    }
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
pub(crate) fn check_module_options(module: &str, opts: &Map) -> EResult<()> {
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
