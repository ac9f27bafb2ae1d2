//! The version of the code a master compiles, per environment, so that a pool can show when
//! its hosts compile different code.
//!
//! With `code_id_command` set, the version is what that command prints, as Puppet Server's
//! `code-id-command` does: it is run (not through a shell) with the environment's name as its
//! only argument, its standard output trimmed is the code id, and a failure (non-zero exit,
//! no output, a character other than letters, digits, `_`, `-`, `:`, `;`, or no answer within
//! `COMMAND_TIMEOUT`) gives no code id and is reported. The id then also goes into the
//! catalog's `code_id`, as Puppet Server puts it there.
//!
//! Without it, the version is a content hash of the environment: every file under the
//! environment's directory (names starting with `.` skipped: `.git`, `.r10k-deploy.json`),
//! under each `basemodulepath` directory, and the global `hiera.yaml`, by path relative to
//! its root and SHA-256 of its content — so two hosts with the same code agree, whatever
//! their paths and modification times. Each file's digest is cached by (size, mtime), so a
//! refresh stats every file but reads only the changed ones. A version is recomputed lazily,
//! at most every `refresh` (code changes are picked up without a restart).

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

/// Default time a computed version is reused.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(2);
/// How long `code_id_command` may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// Files hashed per environment at most.
pub const MAX_FILES: usize = 200_000;
const MAX_DEPTH: usize = 64;

type Version = Result<String, String>;

/// The code versions of one master's environments.
#[derive(Debug)]
pub struct CodeVersions {
    settings: Arc<troupe_compiler::Settings>,
    command: Option<PathBuf>,
    refresh: Duration,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    versions: HashMap<String, (Instant, Version)>,
    /// path → (mtime, size, content digest)
    digests: HashMap<PathBuf, (Option<SystemTime>, u64, [u8; 32])>,
}

impl CodeVersions {
    pub fn new(
        settings: Arc<troupe_compiler::Settings>,
        command: Option<PathBuf>,
        refresh: Duration,
    ) -> CodeVersions {
        CodeVersions {
            settings,
            command,
            refresh,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// True when the versions come from `code_id_command` (and go into catalogs).
    pub fn from_command(&self) -> bool {
        self.command.is_some()
    }

    /// The environments: the directories of the environmentpath whose names are valid.
    pub fn environments(&self) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(&self.settings.environmentpath)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| e.file_name().to_str().map(String::from))
                    .filter(|n| valid_env(n))
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// The version of `env`, computed at most every `refresh`.
    pub fn version(&self, env: &str) -> Version {
        if !valid_env(env) {
            return Err(format!("'{env}' is not an environment name"));
        }
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, v)) = inner.versions.get(env) {
            if at.elapsed() < self.refresh {
                return v.clone();
            }
        }
        let v = match &self.command {
            Some(cmd) => run_command(cmd, env),
            None => self.hash(&mut inner, env),
        };
        inner
            .versions
            .insert(env.to_string(), (Instant::now(), v.clone()));
        v
    }

    /// Every environment's version.
    pub fn all(&self) -> BTreeMap<String, Version> {
        let envs = self.environments();
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.versions.retain(|e, _| envs.contains(e));
        drop(inner);
        envs.into_iter()
            .map(|e| {
                let v = self.version(&e);
                (e, v)
            })
            .collect()
    }

    /// The catalog's `code_id` for `env`: only with `code_id_command`.
    pub fn code_id(&self, env: &str) -> Option<String> {
        self.command.as_ref()?;
        self.version(env).ok()
    }

    fn hash(&self, inner: &mut Inner, env: &str) -> Version {
        let dir = self.settings.environmentpath.join(env);
        if !dir.is_dir() {
            return Err(format!("no environment directory {}", dir.display()));
        }
        let mut files: Vec<(String, PathBuf)> = Vec::new();
        walk(&dir, "env", &mut files, 0)?;
        for (i, base) in self.settings.basemodulepath.iter().enumerate() {
            if base.is_dir() && !base.starts_with(&dir) {
                walk(base, &format!("base{i}"), &mut files, 0)?;
            }
        }
        let hiera = self
            .settings
            .hiera_config
            .clone()
            .unwrap_or_else(|| self.settings.codedir.join("hiera.yaml"));
        if hiera.is_file() {
            files.push(("hiera.yaml".into(), hiera));
        }
        files.sort();
        let mut all = Sha256::new();
        let mut seen = std::collections::HashSet::new();
        for (label, path) in &files {
            let d = file_digest(&mut inner.digests, path)?;
            seen.insert(path.clone());
            all.update(label.as_bytes());
            all.update([0]);
            all.update(d);
        }
        // Forget the digests of files that are gone.
        if inner.digests.len() > seen.len() * 2 + 1024 {
            inner.digests.retain(|p, _| seen.contains(p));
        }
        let hex: String = all.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(hex)
    }
}

/// Puppet's environment names: lowercase letters, digits and `_`.
fn valid_env(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Collects the regular files under `dir` as (`label/relative path`, path).
fn walk(
    dir: &Path,
    label: &str,
    out: &mut Vec<(String, PathBuf)>,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "{} is nested more than {MAX_DEPTH} directories deep (a symlink loop?)",
            dir.display()
        ));
    }
    let rd = std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') {
            continue;
        }
        let path = e.path();
        let child = format!("{label}/{name}");
        // Follows symlinks, as the compiler does.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            walk(&path, &child, out, depth + 1)?;
        } else if meta.is_file() {
            if out.len() >= MAX_FILES {
                return Err(format!(
                    "more than {MAX_FILES} files under the environment's code; not hashed"
                ));
            }
            out.push((child, path));
        }
    }
    Ok(())
}

type DigestCache = HashMap<PathBuf, (Option<SystemTime>, u64, [u8; 32])>;

fn file_digest(cache: &mut DigestCache, path: &Path) -> Result<[u8; 32], String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (mtime, len) = (meta.modified().ok(), meta.len());
    if let Some((m, l, d)) = cache.get(path) {
        if *m == mtime && *l == len && mtime.is_some() {
            return Ok(*d);
        }
    }
    let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let d: [u8; 32] = h.finalize().into();
    cache.insert(path.to_path_buf(), (mtime, len, d));
    Ok(d)
}

/// Runs `code_id_command ENV`; its trimmed standard output is the code id.
fn run_command(cmd: &Path, env: &str) -> Version {
    use troupe_compiler::command::{self, Failure};
    let what = format!("code_id_command {}", cmd.display());
    let program = cmd.to_string_lossy();
    let out = match command::run(&[&program, env], COMMAND_TIMEOUT, 64 * 1024, true, true) {
        Ok(o) => o,
        Err(Failure::Run(e)) => return Err(format!("{what}: {e}")),
        Err(Failure::Timeout) => {
            return Err(format!(
                "{what} {env}: no answer within {} s (killed)",
                COMMAND_TIMEOUT.as_secs()
            ))
        }
    };
    let (status, out, err) = (out.status, out.stdout, out.stderr);
    if !status.success() {
        let err = String::from_utf8_lossy(&err);
        return Err(format!(
            "{what} {env} failed ({status}){}",
            if err.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", err.trim())
            }
        ));
    }
    let id = String::from_utf8_lossy(&out).trim().to_string();
    if id.is_empty() {
        return Err(format!("{what} {env} printed nothing"));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | ';')))
    {
        return Err(format!(
            "{what} {env} printed a code id with {c:?} (only letters, digits, _ - : ; are allowed)"
        ));
    }
    if id.len() > 256 {
        return Err(format!(
            "{what} {env} printed a code id over 256 characters"
        ));
    }
    Ok(id)
}
