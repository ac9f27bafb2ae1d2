//! The mirror: a background thread that keeps a host's ssldir in step with the store. It
//! syncs once, then watches the pool's keys (etcd watch) and syncs again on each change, and
//! every `RESYNC` anyway (a watch may have missed changes while etcd was away). On a `dir`
//! store it polls instead (`DIR_POLL`). While the store is unreachable it keeps the
//! last-known files, retries with backoff and recovers by itself; the outage and the recovery
//! are logged once each.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::local::{sync_once, LocalFiles, Synced};
use crate::{keys, PoolError, PoolStore, Result};

/// Full re-read period while a watch runs.
const RESYNC: Duration = Duration::from_secs(2);
/// Poll period on a `dir` store (no watch).
const DIR_POLL: Duration = Duration::from_millis(200);
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How often the thread checks for a stop.
const TICK: Duration = Duration::from_millis(100);

/// A running mirror; dropping it stops the thread.
#[derive(Debug)]
pub struct Mirror {
    name: String,
    files: LocalFiles,
    stop: Arc<AtomicBool>,
    last_error: Arc<Mutex<Option<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl Mirror {
    /// Syncs `ssldir` once, then keeps it in step from a background thread. When the store
    /// cannot be reached now but the ssldir holds a complete last-known state, starts anyway
    /// (and catches up when the store returns); fails when there is nothing to serve.
    pub fn start(pool: impl Into<PoolStore>, ssldir: &Path) -> Result<Mirror> {
        let pool: PoolStore = pool.into();
        let (name, first_error) = match sync_once(&pool, ssldir) {
            Ok(s) => (s.name, None),
            Err(e) if e.is_unavailable() => {
                let known = LocalFiles::known_name(ssldir)
                    .filter(|n| LocalFiles::new(ssldir, n).complete());
                match known {
                    Some(n) => {
                        tracing::warn!("{e}; serving the last-known pool files in {} until it is back", ssldir.display());
                        (n, Some(e.to_string()))
                    }
                    None => {
                        return Err(PoolError::Io(format!(
                            "{e}; and {} holds no pool files yet (they are fetched from the store on the first start)",
                            ssldir.display()
                        )))
                    }
                }
            }
            Err(e) => return Err(e),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let last_error = Arc::new(Mutex::new(first_error));
        let worker = Worker {
            pool,
            ssldir: ssldir.to_path_buf(),
            stop: stop.clone(),
            last_error: last_error.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("troupe-pool-mirror".into())
            .spawn(move || worker.run())
            .map_err(|e| PoolError::Io(format!("cannot start the mirror thread: {e}")))?;
        Ok(Mirror {
            files: LocalFiles::new(ssldir, &name),
            name,
            stop,
            last_error,
            thread: Some(thread),
        })
    }

    /// The pool's certname.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The files it keeps.
    pub fn files(&self) -> &LocalFiles {
        &self.files
    }

    /// The last sync's error, `None` while in step.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Worker {
    pool: PoolStore,
    ssldir: PathBuf,
    stop: Arc<AtomicBool>,
    last_error: Arc<Mutex<Option<String>>>,
}

fn is_pool_key(key: &str) -> bool {
    key == keys::CA_CRT
        || key == keys::CA_CRL
        || key == keys::KEY_SEALED
        || key.starts_with("pool/")
}

impl Worker {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleeps `d` in ticks; false when stopped meanwhile.
    fn sleep(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        while Instant::now() < until {
            if self.stopped() {
                return false;
            }
            std::thread::sleep(TICK.min(until - Instant::now()));
        }
        !self.stopped()
    }

    /// One sync, logging a change of state (failing ↔ in step) and the files written.
    fn sync(&self) -> bool {
        let r = sync_once(&self.pool, &self.ssldir);
        let mut last = match self.last_error.lock() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        };
        match r {
            Ok(Synced { changed, .. }) => {
                if last.take().is_some() {
                    tracing::info!("the store is reachable again; pool files in step");
                }
                for c in changed {
                    tracing::info!("updated {}", c.display());
                }
                true
            }
            Err(e) => {
                let msg = e.to_string();
                if last.as_deref() != Some(msg.as_str()) {
                    tracing::warn!(
                        "cannot sync the pool files ({msg}); keeping the last-known ones"
                    );
                    *last = Some(msg);
                }
                false
            }
        }
    }

    fn run(self) {
        if !self.pool.sealed() {
            while self.sleep(DIR_POLL) {
                self.sync();
            }
            return;
        }
        let mut backoff = BACKOFF_MIN;
        while !self.stopped() {
            // The watch first, then a full read: nothing between them is lost.
            let watch = match self.pool.store.watch("") {
                Ok(w) => w,
                Err(e) => {
                    self.note(&PoolError::Store(e));
                    if !self.sleep(backoff) {
                        return;
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue;
                }
            };
            let mut ok = self.sync();
            let mut next_full = Instant::now() + RESYNC;
            while !self.stopped() {
                let wait = if ok { TICK } else { backoff.min(TICK) };
                let mut changed = false;
                if let Some(ev) = watch.recv_timeout(wait) {
                    changed |= is_pool_key(ev.key());
                    while let Some(ev) = watch.try_recv() {
                        changed |= is_pool_key(ev.key());
                    }
                }
                let due = Instant::now() >= next_full;
                if changed || due || !ok {
                    if !ok && !changed && !due {
                        // Failing: retry with backoff.
                        if !self.sleep(backoff) {
                            return;
                        }
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                    }
                    ok = self.sync();
                    if ok {
                        backoff = BACKOFF_MIN;
                    }
                    if due {
                        next_full = Instant::now() + RESYNC;
                    }
                }
            }
        }
    }

    fn note(&self, e: &PoolError) {
        let msg = e.to_string();
        let mut last = match self.last_error.lock() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        };
        if last.as_deref() != Some(msg.as_str()) {
            tracing::warn!("cannot watch the store ({msg}); keeping the last-known pool files");
            *last = Some(msg);
        }
    }
}
