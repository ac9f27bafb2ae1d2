//! Environments kept whole for their `environment_timeout`: while one is fresh, its resolved
//! `environment.conf`, parsed files, texts, Hiera data, directory listings, module folders and
//! the Ruby helper's answers are reused as they were first seen, without asking the disk
//! whether anything changed (Puppet's cached environments). An environment expires
//! `environment_timeout` after its last use, or when flushed (puppetserver's
//! `environment-cache` admin endpoint); its next compile then starts a fresh snapshot, which
//! the mtime-checked [`crate::ParseCache`] underneath still fills cheaply.

use crate::timeout::EnvironmentTimeout;
use std::collections::HashMap;
use std::hash::Hash;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use troupe_eval::code::{Code, Kept, LoadKind};
use troupe_eval::error::EvalError;

/// What opening an environment resolves from its directory and `environment.conf`.
#[derive(Debug, Clone)]
pub(crate) struct Opened {
    pub dir: PathBuf,
    pub manifest: PathBuf,
    pub modulepath: Vec<PathBuf>,
    pub global_hiera: Option<PathBuf>,
}

/// A parse's outcome; the parse cache's errors are all plain messages.
type Parsed = Result<Option<Arc<Code>>, EvalError>;
type KeptParse = Result<Option<Arc<Code>>, String>;
/// A parse by file, template or not, and autoload namespace.
type ParseKey = (PathBuf, bool, Option<String>);
type Data = Option<Result<Arc<serde_json::Value>, String>>;

/// One environment as first seen since it was (re)loaded.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub opened: Opened,
    timeout: EnvironmentTimeout,
    last_used: Mutex<Instant>,
    parsed: Mutex<HashMap<ParseKey, KeptParse>>,
    texts: Mutex<HashMap<PathBuf, Option<Arc<str>>>>,
    data: Mutex<HashMap<PathBuf, Data>>,
    dirs: Mutex<HashMap<PathBuf, Arc<[PathBuf]>>>,
    module_dirs: Mutex<HashMap<String, Option<PathBuf>>>,
    ruby: Mutex<HashMap<(String, PathBuf), serde_json::Value>>,
    /// What the evaluator derived from the code (module index, module types).
    kept: Mutex<HashMap<String, Kept>>,
    /// Autoloaded files by kind and name: a hit spares building and hashing paths.
    autoloads: Mutex<HashMap<(LoadKind, String), KeptParse>>,
    pub modules: OnceLock<Vec<(String, PathBuf)>>,
    pub site_files: OnceLock<Vec<PathBuf>>,
    pub global_hiera: OnceLock<Option<PathBuf>>,
}

/// Looks `k` up in `map`, or computes it (without holding the lock) and keeps it.
fn memo<K: Eq + Hash, V: Clone>(map: &Mutex<HashMap<K, V>>, k: K, f: impl FnOnce() -> V) -> V {
    if let Some(v) = map.lock().ok().and_then(|m| m.get(&k).cloned()) {
        return v;
    }
    let v = f();
    if let Ok(mut m) = map.lock() {
        m.insert(k, v.clone());
    }
    v
}

impl Snapshot {
    pub fn new(opened: Opened, timeout: EnvironmentTimeout) -> Snapshot {
        Snapshot {
            opened,
            timeout,
            last_used: Mutex::new(Instant::now()),
            parsed: Default::default(),
            texts: Default::default(),
            data: Default::default(),
            dirs: Default::default(),
            module_dirs: Default::default(),
            ruby: Default::default(),
            kept: Default::default(),
            autoloads: Default::default(),
            modules: Default::default(),
            site_files: Default::default(),
            global_hiera: Default::default(),
        }
    }

    pub fn timeout(&self) -> EnvironmentTimeout {
        self.timeout
    }

    fn expired(&self, now: Instant) -> bool {
        let last = self.last_used.lock().map(|t| *t).unwrap_or(now);
        self.timeout.expired(now.saturating_duration_since(last))
    }

    fn touch(&self, now: Instant) {
        if let Ok(mut t) = self.last_used.lock() {
            *t = now;
        }
    }

    pub fn parse(
        &self,
        path: &std::path::Path,
        epp: bool,
        namespace: Option<&str>,
        f: impl FnOnce() -> Parsed,
    ) -> Parsed {
        let k = (path.to_path_buf(), epp, namespace.map(str::to_string));
        memo(&self.parsed, k, || f().map_err(|e| e.msg)).map_err(EvalError::plain)
    }

    pub fn read(
        &self,
        path: &std::path::Path,
        f: impl FnOnce() -> Option<Arc<str>>,
    ) -> Option<Arc<str>> {
        memo(&self.texts, path.to_path_buf(), f)
    }

    pub fn data(&self, path: &std::path::Path, f: impl FnOnce() -> Data) -> Data {
        memo(&self.data, path.to_path_buf(), f)
    }

    pub fn list_dir(
        &self,
        dir: &std::path::Path,
        f: impl FnOnce() -> Arc<[PathBuf]>,
    ) -> Arc<[PathBuf]> {
        memo(&self.dirs, dir.to_path_buf(), f)
    }

    pub fn module_dir(&self, module: &str, f: impl FnOnce() -> Option<PathBuf>) -> Option<PathBuf> {
        memo(&self.module_dirs, module.to_string(), f)
    }

    pub fn kept(&self, key: &str) -> Option<Kept> {
        self.kept.lock().ok()?.get(key).cloned()
    }

    pub fn keep(&self, key: &str, value: Kept) {
        if let Ok(mut k) = self.kept.lock() {
            k.insert(key.to_string(), value);
        }
    }

    pub fn autoload(&self, kind: LoadKind, name: &str, f: impl FnOnce() -> Parsed) -> Parsed {
        if let Some(v) = self
            .autoloads
            .lock()
            .ok()
            .and_then(|m| m.get(&(kind, name.to_string())).cloned())
        {
            return v.map_err(EvalError::plain);
        }
        let v = f().map_err(|e| e.msg);
        if let Ok(mut m) = self.autoloads.lock() {
            m.insert((kind, name.to_string()), v.clone());
        }
        v.map_err(EvalError::plain)
    }

    pub fn ruby_answer(&self, key: &str, file: &std::path::Path) -> Option<serde_json::Value> {
        let r = self.ruby.lock().ok()?;
        r.get(&(key.to_string(), file.to_path_buf())).cloned()
    }

    pub fn keep_ruby_answer(&self, key: &str, file: &std::path::Path, answer: &serde_json::Value) {
        if let Ok(mut r) = self.ruby.lock() {
            r.insert((key.to_string(), file.to_path_buf()), answer.clone());
        }
    }
}

/// The kept environments, by environment directory.
#[derive(Debug, Default)]
pub(crate) struct Snapshots {
    envs: Mutex<HashMap<PathBuf, (String, Arc<Snapshot>)>>,
}

impl Snapshots {
    /// The environment kept for `dir`, if it has not expired; its use is recorded. Expired
    /// environments are dropped on the way.
    pub fn get(&self, dir: &std::path::Path) -> Option<Arc<Snapshot>> {
        let now = Instant::now();
        let mut envs = self.envs.lock().ok()?;
        envs.retain(|_, (_, s)| !s.expired(now));
        let (_, s) = envs.get(dir)?;
        s.touch(now);
        Some(s.clone())
    }

    pub fn keep(&self, name: &str, s: Arc<Snapshot>) {
        if let Ok(mut envs) = self.envs.lock() {
            envs.insert(s.opened.dir.clone(), (name.to_string(), s));
        }
    }

    /// Drops every kept environment, or those named `name`; how many were dropped.
    pub fn flush(&self, name: Option<&str>) -> usize {
        let Ok(mut envs) = self.envs.lock() else {
            return 0;
        };
        let before = envs.len();
        envs.retain(|_, (n, _)| name.is_some_and(|name| name != n));
        before - envs.len()
    }
}
