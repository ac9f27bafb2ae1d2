//! Keeping a lease alive from a background thread (master registrations).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::StoreError;
use crate::{LeaseId, Store};

/// Renews a lease every third of its TTL until dropped; dropping it revokes the lease, so
/// the keys put with it go at once. When the lease was lost anyway (the store was unreachable
/// for longer than the TTL), [`LeaseKeeper::lost`] turns true and the owner grants a new lease
/// and puts its keys again.
#[derive(Debug)]
pub struct LeaseKeeper {
    store: Store,
    lease: LeaseId,
    lost: Arc<AtomicBool>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl LeaseKeeper {
    pub(crate) fn start(
        store: &Store,
        lease: LeaseId,
        ttl: Duration,
    ) -> std::io::Result<LeaseKeeper> {
        let interval = (ttl / 3).max(Duration::from_millis(100));
        let lost = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = mpsc::channel::<()>();
        let (s, l) = (store.clone(), lost.clone());
        let thread = std::thread::Builder::new()
            .name("store-lease-keeper".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    match s.lease_keepalive(lease) {
                        Ok(()) => {}
                        Err(StoreError::LeaseNotFound(_)) => {
                            l.store(true, Ordering::Relaxed);
                            return;
                        }
                        // Unavailable: try again at the next tick; the lease may still be alive.
                        Err(_) => {}
                    }
                }
            })?;
        Ok(LeaseKeeper {
            store: store.clone(),
            lease,
            lost,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The lease kept alive.
    pub fn lease(&self) -> LeaseId {
        self.lease
    }

    /// True once the lease expired despite the keeper (its keys are gone).
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if !self.lost() {
            let _ = self.store.lease_revoke(self.lease);
        }
    }
}
