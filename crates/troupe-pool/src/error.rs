//! What pool operations fail with; each message says what to do.

use std::fmt;
use troupe_store::{SealError, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolError {
    /// The store holds no pool certificate.
    NotInitialized,
    /// The store failed (`Unavailable` when etcd cannot be reached).
    Store(StoreError),
    /// The CA refused or failed.
    Ca(String),
    /// Sealing or unsealing failed (a wrong join secret names itself here).
    Seal(SealError),
    /// The join secret is needed for this and none was given.
    NoSecret(String),
    /// This host's join secret is not the pool's.
    WrongSecret { given: String, pool: String },
    /// A store value that is not what the pool wrote.
    Corrupt(String),
    /// A local file could not be written or read.
    Io(String),
    /// A bad option.
    Invalid(String),
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::NotInitialized => f.write_str(
                "the store holds no pool yet (no pool/crt.pem): run `troupe pool init` on one host first",
            ),
            PoolError::Store(e) => write!(f, "{e}"),
            PoolError::Ca(m) => write!(f, "CA: {m}"),
            PoolError::Seal(e) => write!(f, "{e}"),
            PoolError::NoSecret(what) => write!(
                f,
                "the pool's join secret is needed to {what}: set join_secret_file (the file `troupe pool init` wrote) or give --token"
            ),
            PoolError::WrongSecret { given, pool } => write!(
                f,
                "the join secret given (id {given}) is not this pool's (id {pool}): use the secret `troupe pool init` wrote"
            ),
            PoolError::Corrupt(m) => f.write_str(m),
            PoolError::Io(m) => f.write_str(m),
            PoolError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for PoolError {}

impl PoolError {
    /// True when the store could not be reached (keep the last-known files, try later).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, PoolError::Store(e) if e.is_unavailable())
    }

    pub(crate) fn io(what: &str, path: &std::path::Path, e: std::io::Error) -> PoolError {
        PoolError::Io(format!("cannot {what} {}: {e}", path.display()))
    }
}

impl From<SealError> for PoolError {
    fn from(e: SealError) -> PoolError {
        PoolError::Seal(e)
    }
}

impl From<troupe_ca::CaError> for PoolError {
    fn from(e: troupe_ca::CaError) -> PoolError {
        PoolError::Ca(e.message)
    }
}

pub type Result<T> = std::result::Result<T, PoolError>;
