//! Discovery: the live masters of the pool, as registered under `masters/` (see
//! [`crate::registry`]), delivered to a callback whenever the set changes.
//!
//! A background thread watches the prefix and re-reads it on every change and every
//! `resync` anyway (a watch may miss changes while etcd is away). While the store cannot be
//! reached it keeps the last-known set (a front keeps balancing over it), retries with
//! backoff and recovers by itself; the outage and the recovery are logged once each. A value
//! under `masters/` that is not a registration is skipped, reported in
//! [`Snapshot::invalid`] and logged once. Only for etcd: on a `dir` store a host's fronts use
//! their local instances.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use troupe_store::Store;

use crate::registry::{MasterInfo, MASTERS_PREFIX};
use crate::{PoolError, Result};

/// Default full re-read period.
pub const DEFAULT_RESYNC: Duration = Duration::from_secs(2);
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
const TICK: Duration = Duration::from_millis(100);

/// The pool's masters as last read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Every live master, sorted by key (`masters/<host>/<ADDR:PORT>`).
    pub masters: Vec<MasterInfo>,
    /// Keys under `masters/` whose value is not a registration, with what is wrong.
    pub invalid: Vec<(String, String)>,
}

impl Snapshot {
    /// The masters on `host`, then the others: (local, remote).
    pub fn split_local(&self, host: &str) -> (Vec<&MasterInfo>, Vec<&MasterInfo>) {
        self.masters.iter().partition(|m| m.is_local(host))
    }

    /// The environments whose code version differs between masters, each with every version
    /// and the masters (`host addr`) reporting it; empty when every master agrees.
    pub fn code_mismatches(&self) -> Vec<CodeMismatch> {
        let mut by_env: BTreeMap<&str, BTreeMap<String, Vec<String>>> = BTreeMap::new();
        for m in &self.masters {
            for (env, id) in &m.code_versions {
                by_env
                    .entry(env)
                    .or_default()
                    .entry(id.clone())
                    .or_default()
                    .push(format!("{} {}", m.host, m.addr));
            }
        }
        by_env
            .into_iter()
            .filter(|(_, ids)| ids.len() > 1)
            .map(|(env, versions)| CodeMismatch {
                environment: env.to_string(),
                versions,
            })
            .collect()
    }
}

/// One environment compiled from different code by different masters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeMismatch {
    pub environment: String,
    /// Each version, with the masters (`host addr`) that report it.
    pub versions: BTreeMap<String, Vec<String>>,
}

/// Reads every registration once; garbage values go to `invalid`.
pub fn read_masters(store: &Store) -> Result<Snapshot> {
    let mut snap = Snapshot::default();
    for e in store.list(MASTERS_PREFIX)? {
        match MasterInfo::parse(&e.key, &e.value) {
            Ok(m) => snap.masters.push(m),
            Err(why) => snap.invalid.push((e.key, why)),
        }
    }
    Ok(snap)
}

/// Discovery timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscoverySettings {
    /// Full re-read period, besides the watch.
    pub resync: Duration,
}

impl Default for DiscoverySettings {
    fn default() -> Self {
        DiscoverySettings {
            resync: DEFAULT_RESYNC,
        }
    }
}

type Callback = Box<dyn FnMut(&Snapshot) + Send>;

/// A running discovery; dropping it stops the thread.
pub struct Discovery {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discovery")
            .field("snapshot", &self.snapshot())
            .finish_non_exhaustive()
    }
}

struct Shared {
    snapshot: Mutex<Snapshot>,
    last_error: Mutex<Option<String>>,
    stop: AtomicBool,
}

impl Discovery {
    /// Starts watching `masters/`; `on_change` is called from the discovery thread with the
    /// first set read and then with every different one. Returns at once (a store that is away
    /// now is retried; nothing is delivered until a first read succeeds). Refused on a `dir`
    /// store.
    pub fn start(
        store: &Store,
        settings: DiscoverySettings,
        on_change: impl FnMut(&Snapshot) + Send + 'static,
    ) -> Result<Discovery> {
        if let Store::Dir(_) = store {
            return Err(PoolError::Invalid(
                "discovery needs an etcd store (on a dir store a host's fronts use its local masters)"
                    .into(),
            ));
        }
        let shared = Arc::new(Shared {
            snapshot: Mutex::new(Snapshot::default()),
            last_error: Mutex::new(None),
            stop: AtomicBool::new(false),
        });
        let worker = Worker {
            store: store.clone(),
            settings,
            shared: shared.clone(),
            on_change: Box::new(on_change),
            delivered: None,
            logged_invalid: Vec::new(),
        };
        let thread = std::thread::Builder::new()
            .name("troupe-discovery".into())
            .spawn(move || worker.run())
            .map_err(|e| PoolError::Io(format!("cannot start the discovery thread: {e}")))?;
        Ok(Discovery {
            shared,
            thread: Some(thread),
        })
    }

    /// The set as last read (kept through store outages).
    pub fn snapshot(&self) -> Snapshot {
        lock(&self.shared.snapshot).clone()
    }

    /// The last read's error, `None` while the store answers.
    pub fn last_error(&self) -> Option<String> {
        lock(&self.shared.last_error).clone()
    }
}

impl Drop for Discovery {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct Worker {
    store: Store,
    settings: DiscoverySettings,
    shared: Arc<Shared>,
    on_change: Callback,
    delivered: Option<Snapshot>,
    logged_invalid: Vec<(String, String)>,
}

impl Worker {
    fn stopped(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }

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

    /// Notes a failure, logging it when it is new.
    fn fail(&self, e: &PoolError) {
        let msg = e.to_string();
        let mut last = lock(&self.shared.last_error);
        if last.is_none() {
            tracing::warn!(
                "cannot read the pool's masters ({msg}); keeping the last-known {}",
                lock(&self.shared.snapshot).masters.len()
            );
        }
        *last = Some(msg);
    }

    /// One full read; delivers the set when it changed. False on failure.
    fn read(&mut self) -> bool {
        let snap = match read_masters(&self.store) {
            Ok(s) => s,
            Err(e) => {
                self.fail(&e);
                return false;
            }
        };
        if lock(&self.shared.last_error).take().is_some() {
            tracing::info!(
                "the store is reachable again; {} masters",
                snap.masters.len()
            );
        }
        for bad in &snap.invalid {
            if !self.logged_invalid.contains(bad) {
                tracing::warn!("skipping {}", bad.1);
            }
        }
        self.logged_invalid = snap.invalid.clone();
        *lock(&self.shared.snapshot) = snap.clone();
        if self.delivered.as_ref() != Some(&snap) {
            (self.on_change)(&snap);
            self.delivered = Some(snap);
        }
        true
    }

    fn run(mut self) {
        let mut backoff = BACKOFF_MIN;
        while !self.stopped() {
            // The watch first, then a full read: nothing between them is lost.
            let watch = match self.store.watch(MASTERS_PREFIX) {
                Ok(w) => w,
                Err(e) => {
                    self.fail(&PoolError::Store(e));
                    if !self.sleep(backoff) {
                        return;
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue;
                }
            };
            let mut ok = self.read();
            let mut next_full = Instant::now() + self.settings.resync;
            while !self.stopped() {
                let mut changed = false;
                if watch.recv_timeout(TICK).is_some() {
                    changed = true;
                    while watch.try_recv().is_some() {}
                }
                let due = Instant::now() >= next_full;
                if !ok && !changed && !due {
                    if !self.sleep(backoff) {
                        return;
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
                if changed || due || !ok {
                    ok = self.read();
                    if ok {
                        backoff = BACKOFF_MIN;
                    }
                    if due {
                        next_full = Instant::now() + self.settings.resync;
                    }
                }
            }
        }
    }
}
