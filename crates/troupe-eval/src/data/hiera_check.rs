//! The checks Puppet makes of a hiera.yaml before using it, with its error texts and the line
//! it finds by searching the file's text (comments and quoted `#` handled as Puppet does).

use std::path::Path;
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::{Map, Value};

/// The layer a hiera.yaml belongs to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Layer {
    Global,
    Environment,
    Module,
}

const FUNCTION_KEYS: [&str; 4] = ["data_hash", "lookup_key", "data_dig", "hiera3_backend"];
const LOCATION_KEYS: [&str; 7] = [
    "path",
    "paths",
    "glob",
    "globs",
    "uri",
    "uris",
    "mapped_paths",
];
const RESERVED_OPTIONS: [&str; 2] = ["path", "uri"];

struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Checker<'_> {
    fn fail(&self, msg: String, line: Option<usize>) -> EvalError {
        let at = match line {
            Some(l) => format!("(file: {}, line: {l})", self.path.display()),
            None => format!("(file: {})", self.path.display()),
        };
        EvalError::plain(format!("{msg} {at}"))
    }

    /// The first line at or after `start` whose text before an unquoted `#` matches.
    fn line_matching(&self, re: &str, start: usize) -> Option<usize> {
        let re = regex::Regex::new(re).ok()?;
        for (i, line) in self.text.lines().enumerate() {
            let n = i + 1;
            if n < start {
                continue;
            }
            let mut quote = None;
            let mut stripped = String::new();
            for c in line.chars() {
                if c == '"' || c == '\'' {
                    if quote == Some(c) {
                        quote = None;
                    } else if quote.is_none() {
                        quote = Some(c);
                    }
                } else if c == '#' {
                    // Puppet stops at any `#`, quoted or not.
                    break;
                }
                stripped.push(c);
            }
            if re.is_match(&stripped) {
                return Some(n);
            }
        }
        None
    }

    /// "defined more than once", with the first definition's line when there is a second one.
    fn twice(&self, what: String, re: &str) -> EvalError {
        let first = self.line_matching(re, 1);
        let second = first.and_then(|f| self.line_matching(re, f + 1));
        match second {
            Some(l) => self.fail(
                format!(
                    "{what} First defined at (line: {})",
                    first.unwrap_or_default()
                ),
                Some(l),
            ),
            None => self.fail(what, first),
        }
    }
}

fn keys_text(keys: &[&str]) -> String {
    match keys.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{}, or {last}", rest.join(", ")),
        Some((last, _)) => last.to_string(),
        None => String::new(),
    }
}

fn has(m: &Map, k: &str) -> bool {
    m.contains_key(&Value::str(k))
}

/// Hiera 3's form (`:backends:` and friends): only the global layer may use it; troupe checks
/// what Puppet checks first, a backend listed twice.
pub fn check_v3(path: &Path, text: &str, root: &Map) -> EResult<()> {
    let ch = Checker { path, text };
    if let Some(Value::Array(backends)) = root.get(&Value::str(":backends")) {
        let mut seen: Vec<String> = Vec::new();
        for b in backends.iter() {
            let b = b.to_display();
            if seen.contains(&b) {
                let re = format!(r"[^\w]{}(?:[^\w]|$)", regex::escape(&b));
                return Err(ch.twice(format!("Backend '{b}' is defined more than once."), &re));
            }
            seen.push(b);
        }
    }
    Ok(())
}

/// A version 5 (or 4) configuration.
pub fn check(path: &Path, text: &str, root: &Map, layer: Layer, version: i64) -> EResult<()> {
    let ch = Checker { path, text };
    if version == 4 && layer == Layer::Global {
        return Err(ch.fail(
            "hiera.yaml version 4 cannot be used in the global layer".into(),
            None,
        ));
    }
    // Without `defaults`, Puppet's own apply: `data_hash: yaml_data`.
    let defaults = match root.get(&Value::str("defaults")) {
        Some(Value::Hash(d)) => Some(d.clone()),
        _ => Some(std::rc::Rc::new(Map::from_iter([(
            Value::str("data_hash"),
            Value::str("yaml_data"),
        )]))),
    };
    if let Some(d) = &defaults {
        if FUNCTION_KEYS.iter().filter(|k| has(d, k)).count() > 1 {
            return Err(ch.fail(
                format!(
                    "Only one of {} can be defined in defaults",
                    keys_text(&FUNCTION_KEYS)
                ),
                None,
            ));
        }
        if let Some(Value::Hash(o)) = d.get(&Value::str("options")) {
            for k in RESERVED_OPTIONS {
                if has(o, k) {
                    return Err(ch.fail(
                        format!("Option key '{k}' used in defaults is reserved by Puppet"),
                        None,
                    ));
                }
            }
        }
    }
    let mut names: Vec<String> = Vec::new();
    if let Some(Value::Array(h)) = root.get(&Value::str("hierarchy")) {
        for he in h.iter() {
            let Value::Hash(he) = he else { continue };
            let name = he
                .get(&Value::str("name"))
                .map(|v| v.to_display())
                .unwrap_or_default();
            if version == 4 {
                check_v4_entry(&ch, he, &name)?;
            } else {
                check_entry(&ch, he, &name, defaults.as_deref(), layer)?;
            }
            if names.contains(&name) {
                let re = format!(r#"\s+name:\s+['"]?{}(?:[^\w]|$)"#, regex::escape(&name));
                return Err(ch.twice(
                    format!("Hierarchy name '{name}' defined more than once."),
                    &re,
                ));
            }
            names.push(name);
        }
    }
    if has(root, "default_hierarchy") && layer != Layer::Module {
        return Err(ch.fail(
            "'default_hierarchy' is only allowed in the module layer".into(),
            ch.line_matching(r"(?:^|\s+)default_hierarchy:", 1),
        ));
    }
    Ok(())
}

fn check_v4_entry(ch: &Checker, he: &Map, _name: &str) -> EResult<()> {
    let backend = he
        .get(&Value::str("backend"))
        .map(|v| v.to_display())
        .unwrap_or_default();
    if !matches!(backend.as_str(), "yaml" | "json") {
        let re = format!(r"[^\w]{}(?:[^\w]|$)", regex::escape(&backend));
        return Err(ch.fail(
            format!("No data provider is registered for backend '{backend}'"),
            ch.line_matching(&re, 1),
        ));
    }
    Ok(())
}

fn check_entry(
    ch: &Checker,
    he: &Map,
    name: &str,
    defaults: Option<&Map>,
    layer: Layer,
) -> EResult<()> {
    match FUNCTION_KEYS.iter().filter(|k| has(he, k)).count() {
        0 => {
            if !defaults.is_some_and(|d| FUNCTION_KEYS.iter().any(|k| has(d, k))) {
                return Err(ch.fail(
                    format!(
                        "One of {} must be defined in hierarchy '{name}'",
                        keys_text(&FUNCTION_KEYS)
                    ),
                    None,
                ));
            }
        }
        1 => {}
        _ => {
            return Err(ch.fail(
                format!(
                    "Only one of {} can be defined in hierarchy '{name}'",
                    keys_text(&FUNCTION_KEYS)
                ),
                None,
            ))
        }
    }
    if let Some(v3) = he.get(&Value::str("hiera3_backend")) {
        if layer != Layer::Global {
            return Err(ch.fail(
                "'hiera3_backend' is only allowed in the global layer".into(),
                ch.line_matching(r"\s+hiera3_backend:", 1),
            ));
        }
        let v3 = v3.to_display();
        if matches!(v3.as_str(), "json" | "yaml" | "hocon") {
            let re = format!(
                r#"\s+hiera3_backend:\s*['"]?{}(?:[^\w]|$)"#,
                regex::escape(&v3)
            );
            return Err(ch.fail(
                format!("Use \"data_hash: {v3}_data\" instead of \"hiera3_backend: {v3}\""),
                ch.line_matching(&re, 1),
            ));
        }
    }
    if LOCATION_KEYS.iter().filter(|k| has(he, k)).count() > 1 {
        return Err(ch.fail(
            format!(
                "Only one of {} can be defined in hierarchy '{name}'",
                keys_text(&LOCATION_KEYS)
            ),
            None,
        ));
    }
    if let Some(Value::Hash(o)) = he.get(&Value::str("options")) {
        for k in RESERVED_OPTIONS {
            if has(o, k) {
                return Err(ch.fail(
                    format!("Option key '{k}' used in hierarchy '{name}' is reserved by Puppet"),
                    None,
                ));
            }
        }
    }
    Ok(())
}
