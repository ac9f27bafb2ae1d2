//! Backends (masters): health as a sans-IO state machine (rise/fall counts), selection
//! (round robin, least outstanding requests), per-backend keep-alive connections and figures.

use crate::upstream::Conn;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

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
    pub health: Mutex<Health>,
    pub in_flight: AtomicUsize,
    pub requests: AtomicU64,
    pub failures: AtomicU64,
    pub retries: AtomicU64,
    /// Sum of response times, microseconds (for the average).
    pub total_us: AtomicU64,
    /// Response-time buckets for the metrics histogram (upper bounds in `BUCKETS_MS`).
    pub buckets: [AtomicU64; 8],
    idle: Mutex<Vec<Conn>>,
}

pub const BUCKETS_MS: [u64; 8] = [5, 10, 50, 100, 500, 1000, 5000, 30000];

impl Backend {
    pub fn new(addr: SocketAddr, tls: bool, rise: u32, fall: u32) -> Backend {
        Backend {
            addr,
            tls,
            health: Mutex::new(Health::new(rise, fall)),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            total_us: AtomicU64::new(0),
            buckets: Default::default(),
            idle: Mutex::new(Vec::new()),
        }
    }

    pub fn is_up(&self) -> bool {
        self.health.lock().map(|h| h.up).unwrap_or(false)
    }

    /// Records an outcome; logs state changes.
    pub fn record(&self, ok: bool, why: &str) {
        if let Ok(mut h) = self.health.lock() {
            match h.record(ok, why) {
                Some(true) => eprintln!("troupe front: backend {} is up", self.addr),
                Some(false) => eprintln!("troupe front: backend {} is down: {why}", self.addr),
                None => {}
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

/// Picks backends in preference order: up backends below `max_in_flight`, by the policy;
/// the caller tries them in turn.
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
    let start = rr.fetch_add(1, Ordering::Relaxed) % n;
    let mut idx: Vec<usize> = (0..n)
        .map(|i| (start + i) % n)
        .filter(|&i| {
            backends[i].is_up() && backends[i].in_flight.load(Ordering::SeqCst) < max_in_flight
        })
        .collect();
    if policy == Balance::LeastOutstanding {
        // Stable: ties keep the round-robin order.
        idx.sort_by_key(|&i| backends[i].in_flight.load(Ordering::SeqCst));
    }
    idx
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
                    SocketAddr::from(([127, 0, 0, 1], 9000 + i as u16)),
                    false,
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
}
