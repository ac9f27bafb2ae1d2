//! A module's `default_hierarchy` (consulted only when no layer has a key, with its own
//! `lookup_options` and never the merge a lookup asks for) and the `convert_to` lookup option,
//! as Puppet's LookupAdapter applies them.

use crate::data::hiera::{check_module_options, get, Config, DataScope};
use crate::data::merge::{Kind, Strategy};
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::Value;

/// The options `opts` (a lookup_options hash) give `key`: its own entry, else the first
/// pattern (`^...`) that matches it.
pub(crate) fn options_for(opts: &Value, key: &str) -> Option<Value> {
    let Value::Hash(opts) = opts else { return None };
    if let Some(v) = get(opts, key) {
        return Some(v.clone());
    }
    opts.iter().find_map(|(k, v)| match k {
        Value::Str(ks) if ks.starts_with('^') => regex::Regex::new(ks)
            .ok()
            .filter(|re| re.is_match(key))
            .map(|_| v.clone()),
        _ => None,
    })
}

impl dyn DataScope + '_ {
    /// What `cfg`'s default_hierarchy has for `root`, `None` when nothing.
    pub(crate) fn default_hierarchy_lookup(
        &mut self,
        cfg: &Config,
        root: &str,
        key: &str,
    ) -> EResult<Option<Value>> {
        let fallback = Config {
            dir: cfg.dir.clone(),
            module: cfg.module.clone(),
            levels: cfg.default_levels.clone(),
            default_levels: Vec::new(),
            v3_merge: None,
            version: cfg.version,
        };
        let files = self.layer_files(&fallback)?;
        let mut options = Vec::new();
        for (p, b) in &files {
            if let Some(Value::Hash(h)) = &self.data_file(p, &b.name)? {
                if let Some(lo @ Value::Hash(_)) = get(h, "lookup_options") {
                    options.push(lo.clone());
                }
            }
        }
        let options = Strategy::parse(&Value::str("hash"))?.merge(options)?;
        if let (Some(m), Some(Value::Hash(h))) = (&cfg.module, &options) {
            check_module_options(m, h)?;
        }
        let strategy = match &options.as_ref().and_then(|o| options_for(o, root)) {
            Some(Value::Hash(o)) => match get(o, "merge") {
                Some(m) => Strategy::parse(m)?,
                None => Strategy::first(),
            },
            _ => Strategy::first(),
        };
        let mut found = Vec::new();
        for (p, b) in files {
            if let Some(Value::Hash(h)) = &self.data_file(&p, &b.name)? {
                if let Some(v) = h.get(&Value::str(root)) {
                    self.cache().active.push(key.to_string());
                    let v = self.interpolate_value(v);
                    self.cache().active.pop();
                    found.push(v?);
                    if strategy.kind == Kind::First {
                        break;
                    }
                }
            }
        }
        strategy.merge(found)
    }

    /// Applies a `convert_to` lookup option (a type, or a type and `new`'s further arguments).
    pub(crate) fn apply_convert_to(&mut self, key: &str, v: Value, spec: &Value) -> EResult<Value> {
        let list: Vec<Value> = match spec {
            Value::Array(a) => a.iter().cloned().collect(),
            other => vec![other.clone()],
        };
        let Some(first) = list.first() else {
            return Ok(v);
        };
        let raised = |msg: String| {
            EvalError::plain(format!(
                "The convert_to lookup_option for key '{key}' raised error: {msg}"
            ))
        };
        let t = match first {
            Value::Str(s) => match self.type_value(s) {
                Ok(t) => t,
                // Puppet's type parser makes an unknown name a TypeReference, which `new`
                // then refuses.
                Err(e) if e.msg.starts_with("Resource type not found") && is_type_name(s) => {
                    return Err(raised(format!(
                        "Creation of new instance of type 'TypeReference['{s}']' is not supported"
                    )))
                }
                Err(e) => {
                    return Err(EvalError::plain(format!(
                    "Invalid data type in lookup_options for key '{key}' could not parse '{s}', error: '{}",
                    e.msg
                )))
                }
            },
            other => other.clone(),
        };
        let mut args = vec![t, v];
        args.extend(list.into_iter().skip(1));
        self.data_function("new", args)
            .map(|r| r.unwrap_or(Value::Undef))
            .map_err(|e| raised(e.msg))
    }
}

/// A capitalized, possibly qualified name (`Foo`, `Foo::Bar`).
fn is_type_name(s: &str) -> bool {
    s.split("::").all(|seg| {
        seg.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}
