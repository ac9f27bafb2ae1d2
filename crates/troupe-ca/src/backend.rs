//! Where the CA keeps its state: `Dir`, Puppet's CA directory (`cadir`; an flock on
//! `.troupe-ca.lock` serializes changes; atomic writes), or `Shared`, the pool's store (see
//! `shared.rs`). Every read, write, listing, removal and lock of the CA goes through here; the
//! keys are the same in both (`ca_crt.pem`, `signed/NAME.pem`, ...), relative to `cadir` in
//! `Dir` mode. Serials, the inventory and the CA key differ and are handled by their callers
//! (`inventory.rs`, `sign.rs`, `lib.rs`) per backend.

use crate::shared::{SharedCa, SharedLock};
use crate::{CaError, CaResult};
use std::fs::{self, File, OpenOptions};
use std::path::PathBuf;

/// The CA's storage.
#[derive(Debug)]
pub(crate) enum Backend {
    Dir(PathBuf),
    Shared(Box<SharedCa>),
}

/// The CA lock, held until dropped.
pub(crate) enum CaLock<'a> {
    #[allow(dead_code)]
    File(File),
    #[allow(dead_code)]
    Shared(SharedLock<'a>),
}

impl Backend {
    pub(crate) fn new(settings: &crate::Settings) -> Backend {
        match &settings.shared {
            None => Backend::Dir(settings.cadir.clone()),
            Some(s) => Backend::Shared(Box::new(SharedCa::new(s.clone(), &settings.cadir))),
        }
    }

    pub(crate) fn shared(&self) -> Option<&SharedCa> {
        match self {
            Backend::Dir(_) => None,
            Backend::Shared(s) => Some(s),
        }
    }

    fn path(dir: &std::path::Path, key: &str) -> PathBuf {
        dir.join(key)
    }

    /// An exclusive lock on the CA, held until dropped.
    pub(crate) fn lock(&self) -> CaResult<CaLock<'_>> {
        match self {
            Backend::Dir(d) => {
                let f = OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(Self::path(d, ".troupe-ca.lock"))
                    .map_err(|e| CaError::io("cannot open the CA lock", e))?;
                f.lock().map_err(|e| CaError::io("cannot lock the CA", e))?;
                Ok(CaLock::File(f))
            }
            Backend::Shared(s) => Ok(CaLock::Shared(s.lock()?)),
        }
    }

    /// A key's value, `None` when absent.
    pub(crate) fn get(&self, key: &str) -> CaResult<Option<String>> {
        Ok(self.entry(key)?.map(|(v, _)| v))
    }

    /// A key's value and version (for `put_if`; always 0 in `Dir` mode, where the lock
    /// alone serializes changes).
    pub(crate) fn entry(&self, key: &str) -> CaResult<Option<(String, u64)>> {
        match self {
            Backend::Dir(d) => match fs::read_to_string(Self::path(d, key)) {
                Ok(s) => Ok(Some((s, 0))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(CaError::io(&format!("cannot read {key}"), e)),
            },
            Backend::Shared(s) => s.entry(key),
        }
    }

    /// A key's value; an error when absent.
    pub(crate) fn read(&self, key: &str) -> CaResult<String> {
        match self {
            Backend::Dir(d) => fs::read_to_string(Self::path(d, key))
                .map_err(|e| CaError::io(&format!("cannot read {key}"), e)),
            Backend::Shared(s) => s.entry(key)?.map(|(v, _)| v).ok_or_else(|| {
                CaError::new(500, format!("cannot read {key}: not in the CA store"))
            }),
        }
    }

    pub(crate) fn exists(&self, key: &str) -> CaResult<bool> {
        match self {
            Backend::Dir(d) => Ok(Self::path(d, key).exists()),
            Backend::Shared(s) => Ok(s.entry(key)?.is_some()),
        }
    }

    /// Sets a key (an atomic file write in `Dir` mode).
    pub(crate) fn put(&self, key: &str, data: &[u8]) -> CaResult<()> {
        match self {
            Backend::Dir(d) => crate::write_atomic(&Self::path(d, key), data)
                .map_err(|e| CaError::io(&format!("cannot write {key}"), e)),
            Backend::Shared(s) => s.put(key, data),
        }
    }

    /// Sets a key if its version is still `version` (from `entry`); true when set.
    pub(crate) fn put_if(&self, key: &str, data: &[u8], version: u64) -> CaResult<bool> {
        match self {
            Backend::Dir(_) => self.put(key, data).map(|()| true),
            Backend::Shared(s) => s.put_if(key, data, version),
        }
    }

    /// Removes a key; true when it existed.
    pub(crate) fn remove(&self, key: &str) -> CaResult<bool> {
        match self {
            Backend::Dir(d) => Ok(fs::remove_file(Self::path(d, key)).is_ok()),
            Backend::Shared(s) => s.remove(key),
        }
    }

    /// The certnames with a `DIR/NAME.pem`, sorted (`dir` is `requests` or `signed`).
    pub(crate) fn names(&self, dir: &str) -> CaResult<Vec<String>> {
        match self {
            Backend::Dir(d) => {
                let mut names: Vec<String> = fs::read_dir(Self::path(d, dir))
                    .map(|rd| {
                        rd.flatten()
                            .filter_map(|e| {
                                e.file_name()
                                    .to_str()
                                    .and_then(|n| n.strip_suffix(".pem"))
                                    .map(str::to_string)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                names.sort();
                Ok(names)
            }
            Backend::Shared(s) => s.names(dir),
        }
    }
}

impl Backend {
    /// The certnames with a `DIR/NAME.pem` and their contents, sorted by name (one listing of
    /// the store in `Shared` mode).
    pub(crate) fn entries(&self, dir: &str) -> CaResult<Vec<(String, String)>> {
        match self {
            Backend::Dir(_) => {
                let mut out = vec![];
                for n in self.names(dir)? {
                    if let Some(text) = self.get(&format!("{dir}/{n}.pem"))? {
                        out.push((n, text));
                    }
                }
                Ok(out)
            }
            Backend::Shared(s) => s.entries(dir),
        }
    }
}

/// The key of a signed certificate.
pub(crate) fn signed_key(name: &str) -> String {
    format!("signed/{name}.pem")
}

/// The key of a pending request.
pub(crate) fn request_key(name: &str) -> String {
    format!("requests/{name}.pem")
}
