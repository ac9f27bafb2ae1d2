//! What the console's charts show: requests, errors and latency percentiles over time, kept in
//! memory in two rings — one bucket per second for the last `SECONDS`, one per minute for the
//! last `MINUTES` — per master and for the front as a whole. A bucket holds counts and a small
//! fixed latency histogram (`BOUNDS_MS`), so p50/p99 are read off its upper bounds.

use std::sync::Mutex;

/// Seconds kept at one-second resolution.
pub const SECONDS: usize = 600;
/// Minutes kept at one-minute resolution.
pub const MINUTES: usize = 60;
/// Upper bounds of the latency histogram's buckets, in milliseconds (the last is open).
pub const BOUNDS_MS: [u32; 16] = [
    2,
    5,
    10,
    20,
    50,
    100,
    200,
    500,
    1000,
    2000,
    5000,
    10000,
    20000,
    60000,
    300000,
    u32::MAX,
];

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    /// The second or minute it counts (Unix time divided by its width); 0: never used.
    at: u64,
    requests: u32,
    errors: u32,
    latency: [u32; 16],
}

impl Bucket {
    fn add(&mut self, other: &Bucket) {
        self.requests = self.requests.saturating_add(other.requests);
        self.errors = self.errors.saturating_add(other.errors);
        for (a, b) in self.latency.iter_mut().zip(other.latency.iter()) {
            *a = a.saturating_add(*b);
        }
    }

    /// The upper bound of the bucket holding the `q` quantile (0 < q ≤ 1), in ms.
    fn quantile(&self, q: f64) -> Option<f64> {
        let n: u64 = self.latency.iter().map(|&c| u64::from(c)).sum();
        if n == 0 {
            return None;
        }
        let rank = ((n as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (i, &c) in self.latency.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                // The open bucket shows as its lower bound.
                let b = if i + 1 == BOUNDS_MS.len() {
                    BOUNDS_MS[i - 1]
                } else {
                    BOUNDS_MS[i]
                };
                return Some(f64::from(b));
            }
        }
        None
    }
}

#[derive(Debug)]
struct Ring {
    width: u64,
    buckets: Vec<Bucket>,
}

impl Ring {
    fn new(width: u64, len: usize) -> Ring {
        Ring {
            width,
            buckets: vec![Bucket::default(); len],
        }
    }

    fn slot(&mut self, now: u64) -> &mut Bucket {
        let at = now / self.width;
        let len = self.buckets.len() as u64;
        let b = &mut self.buckets[(at % len) as usize];
        if b.at != at {
            *b = Bucket {
                at,
                ..Bucket::default()
            };
        }
        b
    }

    /// The last `len` buckets up to `now` (oldest first), empty ones for gaps.
    fn points(&self, now: u64) -> Vec<Point> {
        let at = now / self.width;
        let len = self.buckets.len() as u64;
        (0..len)
            .rev()
            .filter_map(|back| at.checked_sub(back))
            .map(|t| {
                let b = self.buckets[(t % len) as usize];
                let b = if b.at == t { b } else { Bucket::default() };
                Point {
                    at: t * self.width,
                    requests: b.requests,
                    errors: b.errors,
                    p50_ms: b.quantile(0.5),
                    p99_ms: b.quantile(0.99),
                    per_second: f64::from(b.requests) / self.width as f64,
                }
            })
            .collect()
    }
}

/// One bucket as the charts use it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Unix time of the bucket's start.
    pub at: u64,
    pub requests: u32,
    pub errors: u32,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Requests per second over the bucket.
    pub per_second: f64,
}

/// Which ring to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// The last `SECONDS` seconds, one point per second.
    Minutes,
    /// The last `MINUTES` minutes, one point per minute.
    Hour,
}

/// The two rings of one master or of the front.
#[derive(Debug)]
pub struct History {
    rings: Mutex<(Ring, Ring)>,
}

impl Default for History {
    fn default() -> History {
        History {
            rings: Mutex::new((Ring::new(1, SECONDS), Ring::new(60, MINUTES))),
        }
    }
}

/// Now, in Unix seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl History {
    /// Counts one request answered (or failed) at `now` after `ms` milliseconds.
    pub fn record_at(&self, now: u64, error: bool, ms: u64) {
        let i = BOUNDS_MS
            .iter()
            .position(|&b| ms <= u64::from(b))
            .unwrap_or(BOUNDS_MS.len() - 1);
        let mut one = Bucket {
            requests: 1,
            errors: u32::from(error),
            ..Bucket::default()
        };
        one.latency[i] = 1;
        let Ok(mut g) = self.rings.lock() else {
            return;
        };
        g.0.slot(now).add(&one);
        g.1.slot(now).add(&one);
    }

    pub fn record(&self, error: bool, elapsed: std::time::Duration) {
        self.record_at(now(), error, elapsed.as_millis() as u64);
    }

    /// The points of one span up to `now`, oldest first.
    pub fn points_at(&self, now: u64, span: Span) -> Vec<Point> {
        let Ok(g) = self.rings.lock() else {
            return vec![];
        };
        match span {
            Span::Minutes => g.0.points(now),
            Span::Hour => g.1.points(now),
        }
    }

    pub fn points(&self, span: Span) -> Vec<Point> {
        self.points_at(now(), span)
    }
}

/// Totals over points: requests, errors, p50 and p99 of all of them together (from the
/// rates and percentiles, so approximate across buckets: the worst p99 is shown).
pub fn totals(points: &[Point]) -> (u64, u64, Option<f64>) {
    let req = points.iter().map(|p| u64::from(p.requests)).sum();
    let err = points.iter().map(|p| u64::from(p.errors)).sum();
    let p99 = points
        .iter()
        .filter_map(|p| p.p99_ms)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    (req, err, p99)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_minutes_rings_count_and_forget() {
        let h = History::default();
        let t0 = 1_700_000_000;
        for i in 0..100 {
            h.record_at(t0, i % 10 == 0, if i < 98 { 7 } else { 900 });
        }
        h.record_at(t0 + 1, false, 3);
        let s = h.points_at(t0 + 1, Span::Minutes);
        assert_eq!(s.len(), SECONDS);
        let p = s[SECONDS - 2];
        assert_eq!((p.at, p.requests, p.errors), (t0, 100, 10));
        assert_eq!(p.p50_ms, Some(10.0));
        assert_eq!(p.p99_ms, Some(1000.0));
        assert_eq!(s[SECONDS - 1].requests, 1);
        let m = h.points_at(t0 + 1, Span::Hour);
        assert_eq!(m.len(), MINUTES);
        assert_eq!(m.iter().map(|p| p.requests).sum::<u32>(), 101);
        // Ten minutes and more later, the seconds are gone; the minutes stay for the hour.
        let later = t0 + SECONDS as u64 + 5;
        assert!(h
            .points_at(later, Span::Minutes)
            .iter()
            .all(|p| p.requests == 0));
        assert_eq!(
            h.points_at(later, Span::Hour)
                .iter()
                .map(|p| p.requests)
                .sum::<u32>(),
            101
        );
        assert!(h
            .points_at(t0 + 3700, Span::Hour)
            .iter()
            .all(|p| p.requests == 0));
        assert_eq!(totals(&m), (101, 10, Some(1000.0)));
    }
}
