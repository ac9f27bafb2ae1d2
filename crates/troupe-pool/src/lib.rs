//! The pool's bootstrap over the shared store, and the mirror of its files on each host.
//!
//! * `init` creates the CA when the store has none (or imports a Puppet CA directory) and the
//!   pool's server certificate for the pool name with every name agents may use, under the
//!   pool lock and with a transaction that stores it only when no pool certificate exists, so
//!   concurrent inits on several hosts leave exactly one. It generates the join secret.
//! * `join` fetches the CA certificate, the CRL, the pool certificate and its (unsealed) key
//!   into the host's ssldir; `add_names` re-issues the pool certificate with more alt names.
//! * `Mirror` keeps the ssldir in step with the store (etcd watch), keeping the last-known
//!   files while the store is unreachable.
//!
//! * `Registration` keeps a master's key `masters/<host>/<ADDR:PORT>` under a lease while it
//!   runs; `Discovery` watches `masters/` and delivers the live set (see `registry`).
//!
//! Store keys (relative; etcd adds its prefix): `ca_crt.pem`, `ca_crl.pem`, `pool/name`,
//! `pool/alt_names`, `pool/crt.pem`, `pool/secret_id`, and the pool key: sealed with the join
//! secret in `sealed/pool_key.pem` on etcd, plaintext `pool/key.pem` (0640) on a `dir` store.

mod ca;
pub mod discovery;
mod error;
mod init;
mod local;
mod lock;
mod mirror;
pub mod registry;
mod show;

pub use discovery::{read_masters, CodeMismatch, Discovery, DiscoverySettings, Snapshot};
pub use error::{PoolError, Result};
pub use init::{add_names, init, InitOptions, InitOutcome};
pub use local::{join, sync_once, LocalFiles, Synced};
pub use mirror::Mirror;
pub use registry::{MasterInfo, Registration, RegistrationSettings};
pub use show::{show, Summary};

use troupe_store::{Secret, Shared, Store, StoreError};

/// The store keys of the pool.
pub mod keys {
    pub const CA_CRT: &str = "ca_crt.pem";
    pub const CA_CRL: &str = "ca_crl.pem";
    pub const NAME: &str = "pool/name";
    pub const ALT_NAMES: &str = "pool/alt_names";
    pub const CRT: &str = "pool/crt.pem";
    pub const SECRET_ID: &str = "pool/secret_id";
    /// The pool key on an etcd store, sealed with the join secret under this label.
    pub const KEY_SEALED: &str = "sealed/pool_key.pem";
    /// The pool key on a `dir` store (one host: plaintext, 0640 like the CA key).
    pub const KEY_PLAIN: &str = "pool/key.pem";
    /// The pool lock (value `host pid unix-seconds`), held while the pool certificate is issued.
    pub const LOCK: &str = "locks/pool";
}

/// The pool's store: an etcd store (keys sealed with the join secret) or a directory.
#[derive(Debug, Clone)]
pub struct PoolStore {
    pub store: Store,
    pub secret: Option<Secret>,
}

impl From<Shared> for PoolStore {
    fn from(s: Shared) -> PoolStore {
        PoolStore {
            store: s.store,
            secret: s.secret,
        }
    }
}

impl PoolStore {
    /// A pool on a `dir` store (the CA directory).
    pub fn dir(path: &std::path::Path) -> Result<PoolStore> {
        Ok(PoolStore {
            store: Store::Dir(troupe_store::DirStore::open(path)?),
            secret: None,
        })
    }

    /// True on an etcd store: the pool key is sealed.
    pub fn sealed(&self) -> bool {
        matches!(self.store, Store::Etcd(_))
    }

    /// The key the pool key lives under.
    pub fn key_key(&self) -> &'static str {
        if self.sealed() {
            keys::KEY_SEALED
        } else {
            keys::KEY_PLAIN
        }
    }

    /// As a `Shared` (for the CA's settings) with `secret`.
    pub fn shared_with(&self, secret: Option<Secret>) -> Shared {
        Shared {
            store: self.store.clone(),
            secret,
        }
    }

    /// The store value of the pool key `pem`: sealed with `secret` on etcd.
    pub(crate) fn seal_key(&self, secret: Option<&Secret>, pem: &[u8]) -> Result<Vec<u8>> {
        if !self.sealed() {
            return Ok(pem.to_vec());
        }
        let s = secret.ok_or_else(|| PoolError::NoSecret("seal the pool key".into()))?;
        Ok(s.seal(keys::KEY_SEALED, pem)?)
    }

    /// The pool key from its store value, unsealed with this host's join secret.
    pub(crate) fn open_key(&self, value: &[u8]) -> Result<Vec<u8>> {
        if !self.sealed() {
            return Ok(value.to_vec());
        }
        let s = self
            .secret
            .as_ref()
            .ok_or_else(|| PoolError::NoSecret("unseal the pool key".into()))?;
        Ok(s.unseal(keys::KEY_SEALED, value)?)
    }

    /// A key's value as text, `None` when absent.
    pub(crate) fn text(&self, key: &str) -> Result<Option<String>> {
        match self.store.get(key)? {
            None => Ok(None),
            Some(e) => String::from_utf8(e.value)
                .map(Some)
                .map_err(|_| PoolError::Corrupt(format!("store key {key} is not UTF-8 text"))),
        }
    }

    /// The pool as stored, `NotInitialized` when no pool certificate is stored.
    pub fn state(&self) -> Result<PoolState> {
        let crt = self
            .store
            .get(keys::CRT)?
            .ok_or(PoolError::NotInitialized)?;
        let name = self
            .text(keys::NAME)?
            .map(|n| n.trim().to_string())
            .filter(|n| troupe_ca::valid_name(n).is_ok())
            .ok_or_else(|| {
                PoolError::Corrupt(format!(
                    "store key {} is missing or not a certname, but {} is stored",
                    keys::NAME,
                    keys::CRT
                ))
            })?;
        let alt_names = self
            .text(keys::ALT_NAMES)?
            .map(|a| split_names(&a))
            .unwrap_or_default();
        let secret_id = self
            .text(keys::SECRET_ID)?
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let crt_pem = String::from_utf8(crt.value)
            .map_err(|_| PoolError::Corrupt(format!("store key {} is not PEM", keys::CRT)))?;
        Ok(PoolState {
            name,
            alt_names,
            crt_pem,
            crt_version: crt.version,
            secret_id,
        })
    }

    /// Checks that this host's join secret is the pool's (by id), naming both when not.
    pub(crate) fn check_secret(&self, state: &PoolState) -> Result<()> {
        if !self.sealed() {
            return Ok(());
        }
        let s = self
            .secret
            .as_ref()
            .ok_or_else(|| PoolError::NoSecret("unseal the pool key".into()))?;
        if !state.secret_id.is_empty() && s.id() != state.secret_id {
            return Err(PoolError::WrongSecret {
                given: s.id(),
                pool: state.secret_id.clone(),
            });
        }
        Ok(())
    }
}

/// What the store holds about the pool (the key aside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolState {
    pub name: String,
    pub alt_names: Vec<String>,
    pub crt_pem: String,
    /// The store version of `pool/crt.pem` (for a re-issue's transaction).
    pub crt_version: u64,
    pub secret_id: String,
}

/// Comma-separated names, trimmed, empty ones dropped.
pub fn split_names(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

impl From<StoreError> for PoolError {
    fn from(e: StoreError) -> PoolError {
        PoolError::Store(e)
    }
}
