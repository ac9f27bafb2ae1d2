//! A lock in the store, shared by the hosts of a pool (the CA takes `locks/ca`).
//!
//! Each contender puts `<name>/<its lease, 16 hex digits>` (value `host pid`) under a lease
//! kept alive by a [`LeaseKeeper`] for as long as the [`StoreLocker`] lives; the contender whose
//! key was written first (lowest version, the etcd mod revision) holds the lock. Releasing
//! deletes the key; a host that dies frees the lock within the lease's TTL. Within one process a
//! mutex comes first, so one thread per locker queues in the store. Only for etcd: the order
//! needs versions that grow (a `dir` store's are digests; one host locks it with flock).
//!
//! A key this process may have left behind (a put that failed after etcd applied it, a delete
//! that did not reach the store) would hold the lock for as long as the lease is kept alive,
//! that is for ever: then the locker abandons its lease (no more keep-alives; revoked when the
//! store answers), so such a key goes within the TTL, and the next lock takes a new lease.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::{Result, StoreError};
use crate::{LeaseId, LeaseKeeper, Store};

/// Takes the lock `name` (e.g. `locks/ca`) in a store, again and again.
#[derive(Debug)]
pub struct StoreLocker {
    store: Store,
    name: String,
    ttl: Duration,
    lease: Mutex<Option<LeaseKeeper>>,
    local: Mutex<()>,
}

/// The lock, held until dropped (which removes its key).
#[derive(Debug)]
pub struct StoreLock<'a> {
    _local: MutexGuard<'a, ()>,
    locker: &'a StoreLocker,
    key: String,
}

impl StoreLock<'_> {
    /// The key that holds the lock.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl Drop for StoreLock<'_> {
    fn drop(&mut self) {
        if self.locker.store.delete(&self.key).is_err() {
            self.locker.abandon_lease();
        }
    }
}

/// `host pid`, the value of a lock key.
fn holder() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    format!("{host} {}", std::process::id())
}

impl StoreLocker {
    /// A locker of `name` whose keys live `ttl` past this process's death.
    pub fn new(store: &Store, name: &str, ttl: Duration) -> StoreLocker {
        StoreLocker {
            store: store.clone(),
            name: name.trim_end_matches('/').to_string(),
            ttl,
            lease: Mutex::new(None),
            local: Mutex::new(()),
        }
    }

    /// This locker's lease, granted once and kept alive; a new one when it was lost.
    fn lease(&self, renew: bool) -> Result<LeaseId> {
        let mut slot = self.lease.lock().unwrap_or_else(|p| p.into_inner());
        if renew {
            *slot = None;
        }
        if let Some(k) = slot.as_ref() {
            if !k.lost() {
                return Ok(k.lease());
            }
        }
        let lease = self.store.lease_grant(self.ttl)?;
        *slot = Some(self.store.keep_alive(lease, self.ttl)?);
        Ok(lease)
    }

    /// Stops keeping this locker's lease alive (its keys expire within the TTL) and revokes it
    /// in the background; the next lock grants a new one. Does not wait for the store.
    fn abandon_lease(&self) {
        let old = self.lease.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(keeper) = old {
            // Dropping the keeper joins its thread and revokes the lease: both may wait for a
            // store that does not answer, so not on the caller's thread.
            let _ = std::thread::Builder::new()
                .name("store-lock-abandon".into())
                .spawn(move || drop(keeper));
        }
    }

    /// Takes the lock, waiting at most `wait` for the holders before it; `Unavailable` (naming
    /// the holder) when they keep it longer, or when the store cannot be reached.
    pub fn lock(&self, wait: Duration) -> Result<StoreLock<'_>> {
        if let Store::Dir(_) = self.store {
            return Err(StoreError::Config(format!(
                "the lock {} needs an etcd store (a dir store is one host's: lock it with flock)",
                self.name
            )));
        }
        let local = self.local.lock().unwrap_or_else(|p| p.into_inner());
        let key_of = |l: LeaseId| format!("{}/{:016x}", self.name, l.0 as u64);
        let mut lease = self.lease(false)?;
        let mut put = self
            .store
            .put_leased(&key_of(lease), holder().as_bytes(), lease);
        if let Err(StoreError::LeaseNotFound(_)) = put {
            // The lease expired (the store was unreachable for longer than its TTL): a new one.
            lease = self.lease(true)?;
            put = self
                .store
                .put_leased(&key_of(lease), holder().as_bytes(), lease);
        }
        if let Err(e) = put {
            // The put may have been applied though its answer was lost: a key nobody deletes.
            self.abandon_lease();
            return Err(match e {
                StoreError::LeaseNotFound(_) => {
                    StoreError::Unavailable(format!("the lock {}: its lease expired", self.name))
                }
                e => e,
            });
        }
        let guard = StoreLock {
            _local: local,
            locker: self,
            key: key_of(lease),
        };
        let prefix = format!("{}/", self.name);
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(1);
        loop {
            let queue = self.store.list(&prefix)?;
            let Some(mine) = queue.iter().find(|e| e.key == guard.key) else {
                return Err(StoreError::Unavailable(format!(
                    "the lock {}: its key vanished (the lease expired); try again",
                    self.name
                )));
            };
            let first = queue.iter().min_by_key(|e| e.version).unwrap_or(mine);
            if first.key == guard.key {
                return Ok(guard);
            }
            if Instant::now() > deadline {
                return Err(StoreError::Unavailable(format!(
                    "the lock {} has been held by {} ({}) for more than {} s",
                    self.name,
                    String::from_utf8_lossy(&first.value),
                    first.key,
                    wait.as_secs()
                )));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }
}
