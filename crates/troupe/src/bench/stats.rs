//! Counting runs: in flight, done, failed (by kind), dropped by the client; run times for
//! percentiles; a progress line every second.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::AgentArgs;

#[derive(Default)]
pub(super) struct Stats {
    inflight: AtomicUsize,
    done: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    /// Run times in milliseconds (successful runs), all of them and the last second's.
    times: Mutex<(Vec<f64>, Vec<f64>)>,
    errors: Mutex<BTreeMap<String, u64>>,
    /// The first message of each kind of failure.
    samples: Mutex<BTreeMap<String, String>>,
}

/// A small xorshift generator: arrivals need randomness, not cryptography.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn seeded() -> Rng {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        Rng(t | 1)
    }

    /// Uniform in [0, 1).
    pub(super) fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The kind of an error, for counting: its first words, without names and numbers.
fn kind(e: &anyhow::Error) -> String {
    let s = e.to_string();
    s.split(':').next().unwrap_or(&s).trim().to_string()
}

impl Stats {
    pub(super) fn new() -> Stats {
        Stats::default()
    }
    pub(super) fn inflight(&self) -> usize {
        self.inflight.load(Ordering::Relaxed)
    }
    pub(super) fn started(&self) {
        self.inflight.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn finished(&self, took: Duration, err: Option<anyhow::Error>) {
        self.inflight.fetch_sub(1, Ordering::Relaxed);
        match err {
            None => {
                self.done.fetch_add(1, Ordering::Relaxed);
                let ms = took.as_secs_f64() * 1000.0;
                if let Ok(mut t) = self.times.lock() {
                    t.0.push(ms);
                    t.1.push(ms);
                }
            }
            Some(e) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let k = kind(&e);
                if let Ok(mut m) = self.samples.lock() {
                    m.entry(k.clone()).or_insert_with(|| format!("{e:#}"));
                }
                if let Ok(mut m) = self.errors.lock() {
                    *m.entry(k).or_default() += 1;
                }
            }
        }
    }

    pub(super) fn summary(&self, a: &AgentArgs, offered: Duration, total: Duration) -> Summary {
        let mut all = self.times.lock().map(|t| t.0.clone()).unwrap_or_default();
        all.sort_by(|x, y| x.total_cmp(y));
        Summary {
            agents: a.agents,
            runinterval: a.runinterval,
            offered_rate: a.agents as f64 / a.runinterval,
            seconds: offered.as_secs_f64(),
            wall: total.as_secs_f64(),
            runs: self.done.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            p50: pct(&all, 0.50),
            p90: pct(&all, 0.90),
            p99: pct(&all, 0.99),
            max: all.last().copied().unwrap_or(0.0),
            errors: self.errors.lock().map(|m| m.clone()).unwrap_or_default(),
            samples: self.samples.lock().map(|m| m.clone()).unwrap_or_default(),
        }
    }
}

/// A line on stderr every second: runs/s, p50/p99 of the last second, errors, in flight.
pub(super) fn progress(stats: Arc<Stats>, start: Instant) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_done = 0;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let mut window = stats
                .times
                .lock()
                .map(|mut t| std::mem::take(&mut t.1))
                .unwrap_or_default();
            window.sort_by(|x, y| x.total_cmp(y));
            let done = stats.done.load(Ordering::Relaxed);
            eprintln!(
                "  {:>5.0}s  {:>6} runs/s  p50 {:>7.1} ms  p99 {:>7.1} ms  in flight {:>5}  failed {}  dropped {}",
                start.elapsed().as_secs_f64(),
                done - last_done,
                pct(&window, 0.5),
                pct(&window, 0.99),
                stats.inflight(),
                stats.failed.load(Ordering::Relaxed),
                stats.dropped.load(Ordering::Relaxed),
            );
            last_done = done;
        }
    })
}

/// The figures of one bench run.
pub(super) struct Summary {
    agents: u64,
    runinterval: f64,
    offered_rate: f64,
    seconds: f64,
    wall: f64,
    runs: u64,
    failed: u64,
    dropped: u64,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
    errors: BTreeMap<String, u64>,
    samples: BTreeMap<String, String>,
}

impl Summary {
    pub(super) fn line(&self) -> String {
        format!(
            "agents {} runinterval {}s: offered {:.1} runs/s for {:.0} s; {} runs ({:.1}/s), p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms; failed {}{}, dropped by the client {}",
            self.agents,
            self.runinterval,
            self.offered_rate,
            self.seconds,
            self.runs,
            self.runs as f64 / self.wall.max(0.001),
            self.p50,
            self.p90,
            self.p99,
            self.max,
            self.failed,
            if self.errors.is_empty() {
                String::new()
            } else {
                format!(" {:?} (first of each: {:?})", self.errors, self.samples)
            },
            self.dropped
        )
    }

    pub(super) fn to_json(&self) -> String {
        serde_json::json!({
            "agents": self.agents, "runinterval": self.runinterval,
            "offered_rate": self.offered_rate, "seconds": self.seconds, "wall": self.wall,
            "runs": self.runs, "runs_per_s": self.runs as f64 / self.wall.max(0.001),
            "failed": self.failed, "dropped": self.dropped, "p50_ms": self.p50,
            "p90_ms": self.p90, "p99_ms": self.p99, "max_ms": self.max, "errors": self.errors,
            "error_samples": self.samples,
        })
        .to_string()
    }
}
