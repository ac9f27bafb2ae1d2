//! The pool lock: one key (`locks/pool`) created by a transaction only when absent, so one
//! host at a time issues the pool certificate. Its value is `host pid unix-seconds`; a lock
//! older than `STALE` (its holder died) is taken over by a transaction on its version, so a
//! crash never blocks the pool for good. Released (deleted, if still ours) on drop.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use troupe_store::{Compare, Op, Store};

use crate::{keys, PoolError, Result};

/// A lock older than this is taken over.
const STALE: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub(crate) struct PoolLock {
    store: Store,
    value: Vec<u8>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl PoolLock {
    /// Takes the lock, waiting at most `wait` for another holder.
    pub(crate) fn acquire(store: &Store, wait: Duration) -> Result<PoolLock> {
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let deadline = std::time::Instant::now() + wait;
        loop {
            let value = format!("{} {}.{seq} {}", host(), std::process::id(), now_secs());
            let value = value.into_bytes();
            if store.create(keys::LOCK, &value)? {
                return Ok(PoolLock {
                    store: store.clone(),
                    value,
                });
            }
            if let Some(held) = store.get(keys::LOCK)? {
                let text = String::from_utf8_lossy(&held.value).into_owned();
                let since = text
                    .rsplit(' ')
                    .next()
                    .and_then(|s| s.parse::<u64>().ok())
                    .unwrap_or(0);
                if now_secs().saturating_sub(since) > STALE.as_secs()
                    && store.txn(
                        &[Compare::Version(keys::LOCK.into(), held.version)],
                        &[Op::Put(keys::LOCK.into(), value.clone())],
                    )?
                {
                    tracing::warn!(
                        "took over the pool lock {text:?}, older than {} s (its holder is gone)",
                        STALE.as_secs()
                    );
                    return Ok(PoolLock {
                        store: store.clone(),
                        value,
                    });
                }
                if std::time::Instant::now() > deadline {
                    return Err(PoolError::Invalid(format!(
                        "the pool lock ({}) is held by {text:?}; another `troupe pool` command is running (a lock older than {} s is taken over)",
                        keys::LOCK,
                        STALE.as_secs()
                    )));
                }
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for PoolLock {
    fn drop(&mut self) {
        let _ = self.store.txn(
            &[Compare::Value(keys::LOCK.into(), self.value.clone())],
            &[Op::Delete(keys::LOCK.into())],
        );
    }
}
