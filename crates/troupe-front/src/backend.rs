//! Backends (masters): health as a sans-IO state machine (rise/fall counts, stalls),
//! selection (local masters first; round robin or least outstanding requests), per-backend
//! keep-alive connections and figures, and the signals of a stall and of removal.

use crate::upstream::Conn;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;

/// Health of one backend from check and request outcomes. Starts up, as haproxy does, so
/// traffic flows before the first check; `fall` consecutive failures take it down, `rise`
/// consecutive successes bring it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub up: bool,
    pub rise: u32,
    pub fall: u32,
    successes: u32,
    failures: u32,
    /// Why it last went down.
    pub reason: Option<String>,
}

impl Health {
    pub fn new(rise: u32, fall: u32) -> Health {
        Health {
            up: true,
            rise: rise.max(1),
            fall: fall.max(1),
            successes: 0,
            failures: 0,
            reason: None,
        }
    }

    /// Records a stall (a check that got no answer in time): down at once, whatever `fall`
    /// says. Returns the new state when it changed.
    pub fn stall(&mut self, why: &str) -> Option<bool> {
        self.successes = 0;
        self.failures = self.failures.saturating_add(1);
        if self.up {
            self.up = false;
            self.reason = Some(why.to_string());
            return Some(false);
        }
        None
    }

    /// Records an outcome; returns the new state when it changed.
    pub fn record(&mut self, ok: bool, why: &str) -> Option<bool> {
        if ok {
            self.failures = 0;
            self.successes += 1;
            if !self.up && self.successes >= self.rise {
                self.up = true;
                self.reason = None;
                return Some(true);
            }
        } else {
            self.successes = 0;
            self.failures += 1;
            if self.up && self.failures >= self.fall {
                self.up = false;
                self.reason = Some(why.to_string());
                return Some(false);
            }
        }
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balance {
    RoundRobin,
    LeastOutstanding,
}

/// One master.
#[derive(Debug)]
pub struct Backend {
    pub addr: SocketAddr,
    /// Speak TLS to this master.
    pub tls: bool,
    /// Preferred: remote masters take requests only when no local one can.
    pub local: AtomicBool,
    pub health: Mutex<Health>,
    /// Times it was found stalled (up to down by a check that got no answer).
    pub stalls: AtomicU64,
    /// Requests abandoned on it because it stalled.
    pub abandoned: AtomicU64,
    /// Answers it gave (any status): a health check that times out while this moves is a
    /// busy master, not a stalled one.
    pub answers: AtomicU64,
    /// Health checks that got no answer in time while it went on answering requests.
    pub slow_checks: AtomicU64,
    /// Bumped at each check that got no answer: requests in flight on it give up.
    stall_epoch: watch::Sender<u64>,
    /// Set when it is removed from the pool: its health loop ends.
    retired: watch::Sender<bool>,
    pub in_flight: AtomicUsize,
    pub requests: AtomicU64,
    pub failures: AtomicU64,
    pub retries: AtomicU64,
    /// Sum of response times, microseconds (for the average).
    pub total_us: AtomicU64,
    /// Response-time buckets for the metrics histogram (upper bounds in `BUCKETS_MS`).
    pub buckets: [AtomicU64; 8],
    idle: Mutex<Vec<Conn>>,
    /// What an administrator set (`console`): `MODE_*`.
    pub mode: AtomicU8,
    /// Its share of new requests against the other masters' (1 by default; 0 takes none).
    pub weight: AtomicU32,
    /// Requests, errors and latency over the last hour (the console's charts).
    pub history: crate::console::history::History,
}

/// In rotation (the default).
pub const MODE_ENABLED: u8 = 0;
/// Drained by an administrator: no new requests; those in flight finish.
pub const MODE_DRAINED: u8 = 1;
/// Disabled by an administrator: no new requests.
pub const MODE_DISABLED: u8 = 2;

pub const BUCKETS_MS: [u64; 8] = [5, 10, 50, 100, 500, 1000, 5000, 30000];

impl Backend {
    pub fn new(spec: &crate::BackendSpec, rise: u32, fall: u32) -> Backend {
        Backend {
            addr: spec.addr,
            tls: spec.tls,
            local: AtomicBool::new(spec.local),
            health: Mutex::new(Health::new(rise, fall)),
            stalls: AtomicU64::new(0),
            abandoned: AtomicU64::new(0),
            answers: AtomicU64::new(0),
            slow_checks: AtomicU64::new(0),
            stall_epoch: watch::channel(0).0,
            retired: watch::channel(false).0,
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            total_us: AtomicU64::new(0),
            buckets: Default::default(),
            idle: Mutex::new(Vec::new()),
            mode: AtomicU8::new(MODE_ENABLED),
            weight: AtomicU32::new(1),
            history: Default::default(),
        }
    }

    pub fn is_up(&self) -> bool {
        self.health.lock().map(|h| h.up).unwrap_or(false)
    }

    /// Takes new requests: up, enabled by the administrators, weight above 0.
    pub fn in_rotation(&self) -> bool {
        self.mode.load(Ordering::SeqCst) == MODE_ENABLED
            && self.weight.load(Ordering::SeqCst) > 0
            && self.is_up()
    }

    /// What the console shows: `DRAINING` (drained, requests still in flight), `DRAINED`,
    /// `DISABLED`, else `UP` or `DOWN` from its health.
    pub fn console_state(&self) -> &'static str {
        match self.mode.load(Ordering::SeqCst) {
            MODE_DRAINED if self.in_flight.load(Ordering::SeqCst) > 0 => "DRAINING",
            MODE_DRAINED => "DRAINED",
            MODE_DISABLED => "DISABLED",
            _ if self.is_up() => "UP",
            _ => "DOWN",
        }
    }

    /// Records an outcome; logs state changes.
    pub fn record(&self, ok: bool, why: &str) {
        if let Ok(mut h) = self.health.lock() {
            match h.record(ok, why) {
                Some(true) => tracing::info!(backend = %self.addr, "backend {} is up", self.addr),
                Some(false) => {
                    tracing::warn!(backend = %self.addr, "backend {} is down: {why}", self.addr)
                }
                None => {}
            }
        }
    }

    pub fn is_local(&self) -> bool {
        self.local.load(Ordering::Relaxed)
    }

    /// A health check got no answer within the stall timeout: down at once, and every
    /// request in flight on it is told to give up.
    pub fn stalled(&self, why: &str) {
        if let Ok(mut h) = self.health.lock() {
            if h.stall(why) == Some(false) {
                self.stalls.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(backend = %self.addr, "backend {} is down: {why}", self.addr);
            }
        }
        self.drop_idle();
        self.stall_epoch.send_modify(|e| *e = e.wrapping_add(1));
    }

    /// A health check got no answer within the stall timeout, but the master answered
    /// requests meanwhile: it is saturated, not stalled. Neither down nor up: it keeps its
    /// state and its requests in flight (abandoning them would only move its load onto the
    /// other masters and take them down in turn).
    pub fn slow_check(&self) {
        self.slow_checks.fetch_add(1, Ordering::Relaxed);
    }

    /// Resolves at the next stall found after this call (the caller holds it while a request
    /// is in flight).
    pub fn next_stall(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.stall_epoch.subscribe();
        async move {
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Takes it out of service: its health loop ends (requests in flight finish).
    pub fn retire(&self) {
        self.retired.send_replace(true);
        self.drop_idle();
    }

    /// Resolves once `retire` was called.
    pub fn retired(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.retired.subscribe();
        async move {
            if rx.wait_for(|r| *r).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    pub fn observe_latency(&self, d: Duration) {
        let us = d.as_micros() as u64;
        self.total_us.fetch_add(us, Ordering::Relaxed);
        let ms = us / 1000;
        for (i, b) in BUCKETS_MS.iter().enumerate() {
            if ms <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// An idle keep-alive connection, if one is still usable.
    /// An idle keep-alive connection (the master may have closed it meanwhile: a request
    /// that gets no response on it is tried again on a fresh one).
    pub fn take_idle(&self) -> Option<Conn> {
        self.idle.lock().ok()?.pop()
    }

    pub fn put_idle(&self, c: Conn) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < 64 {
                idle.push(c);
            }
        }
    }

    pub fn drop_idle(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }
}

/// Picks backends in preference order: backends in rotation (up, enabled, weight above 0)
/// below `max_in_flight`, local ones first, each group by the policy; the caller tries them in
/// turn (so a remote master is tried only when no local one could take the request). Weights:
/// round robin starts at each master `weight` times per cycle; least outstanding compares
/// requests in flight per unit of weight.
pub fn order(
    backends: &[std::sync::Arc<Backend>],
    policy: Balance,
    rr: &AtomicUsize,
    max_in_flight: usize,
) -> Vec<usize> {
    let n = backends.len();
    if n == 0 {
        return vec![];
    }
    let tick = rr.fetch_add(1, Ordering::Relaxed);
    let eligible: Vec<(usize, u64)> = (0..n)
        .filter(|&i| {
            backends[i].in_rotation()
                && backends[i].in_flight.load(Ordering::SeqCst) < max_in_flight
        })
        .map(|i| (i, u64::from(backends[i].weight.load(Ordering::SeqCst))))
        .collect();
    let total: u64 = eligible.iter().map(|(_, w)| w).sum();
    if total == 0 {
        return vec![];
    }
    // Where this request's turn falls in the weighted cycle.
    let mut t = tick as u64 % total;
    let mut start = 0;
    for (k, (_, w)) in eligible.iter().enumerate() {
        if t < *w {
            start = k;
            break;
        }
        t -= w;
    }
    let m = eligible.len();
    let mut idx: Vec<(usize, u64)> = (0..m).map(|k| eligible[(start + k) % m]).collect();
    // Stable: ties keep the round-robin order.
    if policy == Balance::LeastOutstanding {
        idx.sort_by_key(|&(i, w)| {
            let load = backends[i].in_flight.load(Ordering::SeqCst) as u64;
            (!backends[i].is_local(), load * 1000 / w.max(1))
        });
    } else {
        idx.sort_by_key(|&(i, _)| !backends[i].is_local());
    }
    idx.into_iter().map(|(i, _)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn health_needs_fall_failures_and_rise_successes() {
        let mut h = Health::new(2, 3);
        assert!(h.up);
        assert_eq!(h.record(false, "x"), None);
        assert_eq!(h.record(false, "x"), None);
        assert_eq!(h.record(true, ""), None); // a success resets the failure count
        assert_eq!(h.record(false, "x"), None);
        assert_eq!(h.record(false, "x"), None);
        assert_eq!(h.record(false, "refused"), Some(false));
        assert_eq!(h.reason.as_deref(), Some("refused"));
        assert_eq!(h.record(true, ""), None);
        assert_eq!(h.record(true, ""), Some(true));
        assert!(h.up);
    }

    fn pool(n: usize) -> Vec<Arc<Backend>> {
        (0..n)
            .map(|i| {
                Arc::new(Backend::new(
                    &crate::BackendSpec {
                        addr: SocketAddr::from(([127, 0, 0, 1], 9000 + i as u16)),
                        tls: false,
                        local: true,
                    },
                    1,
                    1,
                ))
            })
            .collect()
    }

    #[test]
    fn round_robin_rotates_and_skips_down_backends() {
        let b = pool(3);
        let rr = AtomicUsize::new(0);
        let firsts: Vec<usize> = (0..6)
            .map(|_| order(&b, Balance::RoundRobin, &rr, 100)[0])
            .collect();
        assert_eq!(firsts, vec![0, 1, 2, 0, 1, 2]);
        b[1].record(false, "down");
        let firsts: Vec<usize> = (0..4)
            .map(|_| order(&b, Balance::RoundRobin, &rr, 100)[0])
            .collect();
        assert!(!firsts.contains(&1));
        assert_eq!(order(&b, Balance::RoundRobin, &rr, 100).len(), 2);
    }

    #[test]
    fn least_outstanding_prefers_idle_backends_and_saturation_excludes() {
        let b = pool(3);
        let rr = AtomicUsize::new(0);
        b[0].in_flight.store(5, Ordering::SeqCst);
        b[1].in_flight.store(1, Ordering::SeqCst);
        assert_eq!(
            order(&b, Balance::LeastOutstanding, &rr, 100),
            vec![2, 1, 0]
        );
        assert_eq!(order(&b, Balance::LeastOutstanding, &rr, 5), vec![2, 1]);
    }

    #[test]
    fn a_stall_takes_a_master_down_at_once_and_rise_brings_it_back() {
        let mut h = Health::new(2, 3);
        assert_eq!(h.stall("health check: no answer"), Some(false));
        assert_eq!(h.stall("again"), None);
        assert_eq!(h.reason.as_deref(), Some("health check: no answer"));
        assert_eq!(h.record(true, ""), None);
        assert_eq!(h.record(true, ""), Some(true));
    }

    #[test]
    fn local_masters_come_first_and_remote_ones_only_after_them() {
        let b = pool(4);
        b[0].local.store(false, Ordering::SeqCst);
        b[2].local.store(false, Ordering::SeqCst);
        let rr = AtomicUsize::new(0);
        for _ in 0..4 {
            let o = order(&b, Balance::RoundRobin, &rr, 100);
            assert!(b[o[0]].is_local() && b[o[1]].is_local(), "{o:?}");
            assert!(!b[o[2]].is_local() && !b[o[3]].is_local(), "{o:?}");
        }
        // A busier local master still comes before an idle remote one.
        b[1].in_flight.store(50, Ordering::SeqCst);
        assert_eq!(order(&b, Balance::LeastOutstanding, &rr, 100)[..2], [3, 1]);
        // Locals down or saturated: the remote ones take the requests.
        b[1].record(false, "down");
        b[3].in_flight.store(100, Ordering::SeqCst);
        let o = order(&b, Balance::LeastOutstanding, &rr, 100);
        assert_eq!(o.len(), 2);
        assert!(o.iter().all(|&i| !b[i].is_local()), "{o:?}");
    }

    #[test]
    fn drained_disabled_and_weight_zero_masters_take_nothing_and_weights_share() {
        let b = pool(3);
        let rr = AtomicUsize::new(0);
        b[0].mode.store(MODE_DRAINED, Ordering::SeqCst);
        b[1].mode.store(MODE_DISABLED, Ordering::SeqCst);
        for _ in 0..4 {
            assert_eq!(order(&b, Balance::RoundRobin, &rr, 100), vec![2]);
        }
        assert_eq!(b[0].console_state(), "DRAINED");
        b[0].in_flight.store(1, Ordering::SeqCst);
        assert_eq!(b[0].console_state(), "DRAINING");
        assert_eq!(b[1].console_state(), "DISABLED");
        b[2].weight.store(0, Ordering::SeqCst);
        assert!(order(&b, Balance::LeastOutstanding, &rr, 100).is_empty());
        // Weights 3:1 in round robin: 3 of every 4 requests start at the heavier one.
        let b = pool(2);
        b[0].weight.store(3, Ordering::SeqCst);
        let firsts: Vec<usize> = (0..8)
            .map(|_| order(&b, Balance::RoundRobin, &rr, 100)[0])
            .collect();
        assert_eq!(firsts.iter().filter(|&&i| i == 0).count(), 6, "{firsts:?}");
        // Least outstanding: 2 in flight on weight 3 beats 1 in flight on weight 1.
        b[0].in_flight.store(2, Ordering::SeqCst);
        b[1].in_flight.store(1, Ordering::SeqCst);
        assert_eq!(order(&b, Balance::LeastOutstanding, &rr, 100)[0], 0);
    }
}
