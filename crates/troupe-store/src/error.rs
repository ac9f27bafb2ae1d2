//! The store's error type. `Unavailable` is the one the HTTP side maps to 503.

use std::fmt;

/// What a store operation can fail with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The store cannot be reached or did not answer in time (etcd down, no quorum).
    /// Callers answer 503; the operation may be retried later.
    Unavailable(String),
    /// A local file operation of the `dir` backend failed.
    Io { path: String, cause: String },
    /// A key that is not valid for the store (absolute, `..`, empty component, ...).
    BadKey { key: String, reason: &'static str },
    /// A bad `store*` setting.
    Config(String),
    /// A lease that does not exist (expired or revoked).
    LeaseNotFound(i64),
}

impl StoreError {
    /// True when the store could not be reached: the caller should answer 503.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }

    pub(crate) fn io(path: &std::path::Path, err: &std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.display().to_string(),
            cause: err.to_string(),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable(cause) => write!(f, "the CA store is unavailable: {cause}"),
            StoreError::Io { path, cause } => write!(f, "store file {path}: {cause}"),
            StoreError::BadKey { key, reason } => write!(f, "bad store key {key:?}: {reason}"),
            StoreError::Config(msg) => f.write_str(msg),
            StoreError::LeaseNotFound(id) => {
                write!(f, "store lease {id:x} not found (expired or revoked)")
            }
        }
    }
}

impl std::error::Error for StoreError {}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Checks a key: relative, '/'-separated, no empty, `.` or `..` component, no component starting
/// with '.' (reserved for the dir backend's temporary files), no NUL.
pub(crate) fn check_key(key: &str) -> Result<()> {
    let bad = |reason| {
        Err(StoreError::BadKey {
            key: key.to_string(),
            reason,
        })
    };
    if key.is_empty() {
        return bad("empty");
    }
    if key.len() > 1024 {
        return bad("longer than 1024 bytes");
    }
    if key.contains('\0') {
        return bad("contains NUL");
    }
    if key.starts_with('/') {
        return bad("absolute");
    }
    for part in key.split('/') {
        if part.is_empty() {
            return bad("empty path component");
        }
        if part.starts_with('.') {
            return bad("a path component starts with '.'");
        }
    }
    Ok(())
}

/// Checks a prefix for `list`/`watch`: empty (everything) or a key prefix without `..`.
pub(crate) fn check_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        return Ok(());
    }
    let bad = |reason| {
        Err(StoreError::BadKey {
            key: prefix.to_string(),
            reason,
        })
    };
    if prefix.starts_with('/') {
        return bad("absolute");
    }
    if prefix.contains('\0') {
        return bad("contains NUL");
    }
    if prefix.split('/').any(|p| p.starts_with('.')) {
        return bad("a path component starts with '.'");
    }
    Ok(())
}
