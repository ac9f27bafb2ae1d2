//! The pool's shared state behind one interface, over two backends:
//!
//! * `dir:PATH` — keys are relative file paths under PATH (today's Puppet CA layout maps 1:1:
//!   `ca_crt.pem`, `signed/NAME.pem`, `requests/NAME.pem`, `serial`, `inventory.txt`,
//!   `ca_crl.pem`). Atomic writes (temp + fsync + rename), transactions under an flock on the
//!   directory, watches by polling, leases emulated in-process. One host.
//! * `etcd://HOST:PORT[,HOST:PORT...]` — an etcd v3 cluster (keys under a prefix, default
//!   `/troupe/`), transactions compare mod revisions, real leases and watches.
//!
//! The API is blocking: the CA calls it from its worker threads; tokio code calls it from
//! `spawn_blocking`. A `Store` is cheap to clone and shared between threads.

mod config;
mod dir;
mod error;
mod etcd;
mod keeper;
mod lock;
mod seal;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::mpsc;
use std::time::Duration;

pub use config::{Shared, StoreConfig, StoreSettings, DEFAULT_ETCD_PREFIX};
pub use dir::DirStore;
pub use error::{Result, StoreError};
pub use etcd::EtcdStore;
pub use keeper::LeaseKeeper;
pub use lock::{StoreLock, StoreLocker};
pub use seal::{SealError, Secret};

/// One key with its value and version. The version is opaque and only compared for equality
/// in [`Compare::Version`]: the etcd mod revision, or on `dir` a digest of the contents
/// (so equal contents have equal versions; counters that only grow never see ABA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: Vec<u8>,
    pub version: u64,
}

/// A condition of a transaction; all must hold for its operations to be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compare {
    /// The key does not exist.
    Absent(String),
    /// The key exists with this version (from [`Entry::version`]).
    Version(String, u64),
    /// The key exists with this value.
    Value(String, Vec<u8>),
}

/// An operation of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put(String, Vec<u8>),
    Delete(String),
}

/// A change seen by a [`Watch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    Put { key: String, value: Vec<u8> },
    Delete { key: String },
}

impl WatchEvent {
    pub fn key(&self) -> &str {
        match self {
            WatchEvent::Put { key, .. } | WatchEvent::Delete { key } => key,
        }
    }
}

/// A lease: keys put with it disappear when it is not kept alive within its TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaseId(pub i64);

/// The changes under a prefix, from the moment `Store::watch` returned. Dropping it stops
/// the watch.
#[derive(Debug)]
pub struct Watch {
    rx: mpsc::Receiver<WatchEvent>,
    _stop: WatchStop,
}

#[derive(Debug)]
enum WatchStop {
    Dir(std::sync::Arc<std::sync::atomic::AtomicBool>),
    /// The stop signal, and the client's runtime, kept running while the watch lives.
    Etcd(
        Option<tokio::sync::oneshot::Sender<()>>,
        #[allow(dead_code)] std::sync::Arc<etcd::Runtime>,
    ),
}

impl Drop for WatchStop {
    fn drop(&mut self) {
        match self {
            WatchStop::Dir(flag) => flag.store(true, std::sync::atomic::Ordering::Relaxed),
            WatchStop::Etcd(tx, _) => {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(());
                }
            }
        }
    }
}

impl Watch {
    /// The next change, waiting at most `timeout`; `None` on timeout.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<WatchEvent> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// A change already received, without waiting.
    pub fn try_recv(&self) -> Option<WatchEvent> {
        self.rx.try_recv().ok()
    }
}

/// The store: one of the backends.
#[derive(Debug, Clone)]
pub enum Store {
    Dir(DirStore),
    Etcd(EtcdStore),
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Store::Dir($s) => $e,
            Store::Etcd($s) => $e,
        }
    };
}

impl Store {
    /// Opens the store a configuration names. For etcd nothing is contacted yet: an
    /// unreachable cluster shows as `Unavailable` errors on the first operations.
    pub fn open(config: &StoreConfig) -> Result<Store> {
        match config {
            StoreConfig::Dir { path } => Ok(Store::Dir(DirStore::open(path)?)),
            StoreConfig::Etcd { .. } => Ok(Store::Etcd(EtcdStore::connect(config)?)),
        }
    }

    /// The value and version of a key, `None` when absent.
    pub fn get(&self, key: &str) -> Result<Option<Entry>> {
        error::check_key(key)?;
        each!(self, s => s.get(key))
    }

    /// Sets a key.
    pub fn put(&self, key: &str, value: &[u8]) -> Result<()> {
        error::check_key(key)?;
        each!(self, s => s.put(key, value, None))
    }

    /// Removes a key; true when it existed.
    pub fn delete(&self, key: &str) -> Result<bool> {
        error::check_key(key)?;
        each!(self, s => s.delete(key))
    }

    /// Every key starting with `prefix` (a plain string prefix: `signed/` lists that
    /// directory), sorted by key.
    pub fn list(&self, prefix: &str) -> Result<Vec<Entry>> {
        error::check_prefix(prefix)?;
        each!(self, s => s.list(prefix))
    }

    /// Applies all `ops` atomically if every compare holds; true when applied.
    pub fn txn(&self, compares: &[Compare], ops: &[Op]) -> Result<bool> {
        for c in compares {
            match c {
                Compare::Absent(k) | Compare::Version(k, _) | Compare::Value(k, _) => {
                    error::check_key(k)?
                }
            }
        }
        for op in ops {
            match op {
                Op::Put(k, _) | Op::Delete(k) => error::check_key(k)?,
            }
        }
        each!(self, s => s.txn(compares, ops))
    }

    /// Creates a key only if it does not exist; true when created.
    pub fn create(&self, key: &str, value: &[u8]) -> Result<bool> {
        self.txn(
            &[Compare::Absent(key.to_string())],
            &[Op::Put(key.to_string(), value.to_vec())],
        )
    }

    /// Sets a key only if its version is still `version`; true when set.
    pub fn put_if_version(&self, key: &str, value: &[u8], version: u64) -> Result<bool> {
        self.txn(
            &[Compare::Version(key.to_string(), version)],
            &[Op::Put(key.to_string(), value.to_vec())],
        )
    }

    /// A new lease of `ttl` (whole seconds, at least 1).
    pub fn lease_grant(&self, ttl: Duration) -> Result<LeaseId> {
        let secs = ttl.as_secs().max(1);
        each!(self, s => s.lease_grant(secs))
    }

    /// Renews a lease for another TTL; `LeaseNotFound` when it already expired.
    pub fn lease_keepalive(&self, lease: LeaseId) -> Result<()> {
        each!(self, s => s.lease_keepalive(lease))
    }

    /// Ends a lease now, removing its keys.
    pub fn lease_revoke(&self, lease: LeaseId) -> Result<()> {
        each!(self, s => s.lease_revoke(lease))
    }

    /// Keeps `lease` (granted with `ttl`) alive from a background thread until the keeper is
    /// dropped, which revokes it.
    pub fn keep_alive(&self, lease: LeaseId, ttl: Duration) -> Result<LeaseKeeper> {
        LeaseKeeper::start(self, lease, ttl).map_err(|e| {
            StoreError::Unavailable(format!("cannot start a lease keeper thread: {e}"))
        })
    }

    /// Sets a key that lives as long as the lease.
    pub fn put_leased(&self, key: &str, value: &[u8], lease: LeaseId) -> Result<()> {
        error::check_key(key)?;
        each!(self, s => s.put(key, value, Some(lease)))
    }

    /// Watches every key starting with `prefix`. Changes made after this returns are seen.
    pub fn watch(&self, prefix: &str) -> Result<Watch> {
        error::check_prefix(prefix)?;
        each!(self, s => s.watch(prefix))
    }
}
