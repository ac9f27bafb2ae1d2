//! The parse cache: parsed files, texts and Hiera data kept across compiles, revalidated by
//! modification time and size, and the Ruby helper's answers about module files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use troupe_eval::code::{Code, DataFormat};
use troupe_eval::error::{EResult, EvalError};

/// Parsed files keyed by path, revalidated by modification time and size.
#[derive(Debug, Default)]
pub struct ParseCache {
    files: Mutex<HashMap<PathBuf, CacheEntry>>,
    texts: Mutex<HashMap<PathBuf, TextEntry>>,
    data: Mutex<HashMap<PathBuf, DataEntry>>,
    /// The Ruby helper's answers, by environment (name, modulepath, directory), key and file.
    ruby: Mutex<HashMap<RubyKey, DataEntry>>,
    /// Directory listings, revalidated by the directory's modification time (an entry added,
    /// removed or renamed changes it).
    dirs: Mutex<HashMap<PathBuf, DirEntry>>,
    /// Environments kept whole for their `environment_timeout`.
    pub(crate) snapshots: crate::envcache::Snapshots,
}

type DirEntry = (SystemTime, Arc<[PathBuf]>);

/// A directory changed this recently may change again within its timestamp's granularity
/// (the kernel's clock tick) without its modification time moving: its listing is not kept.
const SETTLED: std::time::Duration = std::time::Duration::from_secs(2);

type RubyKey = (String, String, PathBuf);

type TextEntry = (Option<SystemTime>, u64, Arc<str>);
type DataEntry = (
    Option<SystemTime>,
    u64,
    Result<Arc<serde_json::Value>, String>,
);

#[derive(Debug)]
struct CacheEntry {
    mtime: Option<SystemTime>,
    len: u64,
    code: Result<Arc<Code>, String>,
}

pub(crate) fn stamp(p: &Path) -> Option<(Option<SystemTime>, u64)> {
    let m = std::fs::metadata(p).ok()?;
    if !m.is_file() {
        return None;
    }
    Some((m.modified().ok(), m.len()))
}

impl ParseCache {
    /// Forgets the environments kept for their `environment_timeout` (every one, or those
    /// named `environment`): their next compile looks at the disk again. Returns how many
    /// were forgotten.
    pub fn flush_environments(&self, environment: Option<&str>) -> usize {
        self.snapshots.flush(environment)
    }

    /// Parses (or takes from the cache) one file. `env_name` is given for the site manifest;
    /// `namespace` for a file autoloaded from a module, whose placement rules then apply.
    pub fn parse(
        &self,
        path: &Path,
        epp: bool,
        env_name: Option<&str>,
        namespace: Option<&str>,
    ) -> EResult<Option<Arc<Code>>> {
        let Some((mtime, len)) = stamp(path) else {
            return Ok(None);
        };
        if let Ok(files) = self.files.lock() {
            if let Some(e) = files.get(path) {
                if e.mtime == mtime && e.len == len {
                    return e.code.clone().map(Some).map_err(EvalError::plain);
                }
            }
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| EvalError::plain(format!("Could not read {}: {e}", path.display())))?;
        let p = path.display().to_string();
        let mut parsed = if epp {
            troupe_syntax::parse_epp(p.clone(), text)
        } else {
            troupe_syntax::parse_manifest(p.clone(), text)
        };
        if let Some(ns) = namespace {
            let syntax_ok = parsed
                .errors()
                .all(|d| d.phase == troupe_syntax::Phase::Validate);
            if syntax_ok {
                let placement = troupe_syntax::validate_module_file(&parsed.program, ns, &p);
                parsed.diagnostics.splice(0..0, placement);
            }
        }
        let code = Code::from_parsed(parsed, env_name).map(Arc::new);
        if let Ok(mut files) = self.files.lock() {
            files.insert(
                path.to_path_buf(),
                CacheEntry {
                    mtime,
                    len,
                    code: code.clone(),
                },
            );
        }
        code.map(Some).map_err(EvalError::plain)
    }

    /// A Hiera data file parsed to JSON, cached until it changes.
    pub fn data(
        &self,
        path: &Path,
        format: DataFormat,
    ) -> Option<Result<Arc<serde_json::Value>, String>> {
        let (mtime, len) = stamp(path)?;
        if let Ok(d) = self.data.lock() {
            if let Some((m, l, v)) = d.get(path) {
                if *m == mtime && *l == len {
                    return Some(v.clone());
                }
            }
        }
        let text = std::fs::read_to_string(path).ok()?;
        let parsed = match format {
            DataFormat::Json => {
                serde_json::from_str::<serde_json::Value>(&text).map_err(|e| e.to_string())
            }
            DataFormat::Yaml => crate::yaml::parse(&text),
            DataFormat::Hocon => crate::hocon::parse(&text),
        };
        let v = parsed.map(Arc::new);
        if let Ok(mut d) = self.data.lock() {
            d.insert(path.to_path_buf(), (mtime, len, v.clone()));
        }
        Some(v)
    }

    /// The Ruby helper's answer about `file` under `key` in the environment `env` (its name,
    /// modulepath and directory), if the file is unchanged since it was given.
    pub fn ruby_answer(&self, env: &str, key: &str, file: &Path) -> Option<serde_json::Value> {
        let (mtime, len) = stamp(file)?;
        let k = (env.to_string(), key.to_string(), file.to_path_buf());
        let r = self.ruby.lock().ok()?;
        match r.get(&k) {
            Some((m, l, Ok(v))) if *m == mtime && *l == len => Some((**v).clone()),
            _ => None,
        }
    }

    /// Keeps an answer for [`ParseCache::ruby_answer`].
    pub fn keep_ruby_answer(&self, env: &str, key: &str, file: &Path, answer: &serde_json::Value) {
        let Some((mtime, len)) = stamp(file) else {
            return;
        };
        let k = (env.to_string(), key.to_string(), file.to_path_buf());
        if let Ok(mut r) = self.ruby.lock() {
            r.insert(k, (mtime, len, Ok(Arc::new(answer.clone()))));
        }
    }

    /// The entries of a directory (empty if it cannot be read), kept while the directory's
    /// modification time is unchanged and not recent.
    pub fn list_dir(&self, dir: &Path) -> Arc<[PathBuf]> {
        let Some(mtime) = std::fs::metadata(dir).ok().and_then(|m| m.modified().ok()) else {
            return Arc::from(Vec::new());
        };
        if let Ok(d) = self.dirs.lock() {
            if let Some((m, entries)) = d.get(dir) {
                if *m == mtime {
                    return entries.clone();
                }
            }
        }
        let entries: Arc<[PathBuf]> = std::fs::read_dir(dir)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        let settled = SystemTime::now()
            .duration_since(mtime)
            .is_ok_and(|age| age >= SETTLED);
        if settled {
            if let Ok(mut d) = self.dirs.lock() {
                d.insert(dir.to_path_buf(), (mtime, entries.clone()));
            }
        }
        entries
    }

    pub fn read(&self, path: &Path) -> Option<Arc<str>> {
        let (mtime, len) = stamp(path)?;
        if let Ok(t) = self.texts.lock() {
            if let Some((m, l, s)) = t.get(path) {
                if *m == mtime && *l == len {
                    return Some(s.clone());
                }
            }
        }
        let s: Arc<str> = std::fs::read_to_string(path).ok()?.into();
        if let Ok(mut t) = self.texts.lock() {
            t.insert(path.to_path_buf(), (mtime, len, s.clone()));
        }
        Some(s)
    }
}
