//! The bounded compile pool: a fixed set of worker threads (the evaluator is single-threaded
//! per compile) fed by a bounded queue. A full queue is back-pressure: the caller answers 503
//! with `Retry-After` instead of piling up work.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use troupe_compiler::{compile_json, load_facts, CompileRequest, ParseCache, Settings};

/// One catalog to compile.
#[derive(Debug)]
pub struct Job {
    pub environment: String,
    pub certname: String,
    /// The agent's facts object (JSON text).
    pub facts: String,
    /// `$trusted['extensions']`.
    pub extensions: serde_json::Value,
    pub server_facts: Vec<(String, String)>,
    pub reply: tokio::sync::oneshot::Sender<Result<String, String>>,
}

#[derive(Debug, Default)]
pub struct Stats {
    pub busy: AtomicUsize,
    pub queued: AtomicUsize,
    pub completed: AtomicU64,
    pub failed: AtomicU64,
    pub rejected: AtomicU64,
    pub total_us: AtomicU64,
}

#[derive(Debug, Clone)]
pub struct Pool {
    tx: SyncSender<Job>,
    pub workers: usize,
    pub queue_limit: usize,
    pub stats: Arc<Stats>,
}

impl Pool {
    pub fn new(
        workers: usize,
        queue_limit: usize,
        settings: Arc<Settings>,
        cache: Arc<ParseCache>,
    ) -> Pool {
        let (tx, rx) = sync_channel::<Job>(queue_limit);
        let rx = Arc::new(Mutex::new(rx));
        let stats = Arc::new(Stats::default());
        for i in 0..workers.max(1) {
            let rx = rx.clone();
            let settings = settings.clone();
            let cache = cache.clone();
            let stats = stats.clone();
            let _ = std::thread::Builder::new()
                .name(format!("compile-{i}"))
                .spawn(move || worker(rx, settings, cache, stats));
        }
        Pool {
            tx,
            workers: workers.max(1),
            queue_limit,
            stats,
        }
    }

    /// Queues a job; false when the queue is full (or the pool is gone).
    pub fn submit(&self, job: Job) -> bool {
        self.stats.queued.fetch_add(1, Ordering::SeqCst);
        match self.tx.try_send(job) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.stats.queued.fetch_sub(1, Ordering::SeqCst);
                self.stats.rejected.fetch_add(1, Ordering::SeqCst);
                false
            }
        }
    }
}

fn worker(
    rx: Arc<Mutex<Receiver<Job>>>,
    settings: Arc<Settings>,
    cache: Arc<ParseCache>,
    stats: Arc<Stats>,
) {
    loop {
        let job = {
            let Ok(guard) = rx.lock() else { return };
            match guard.recv() {
                Ok(j) => j,
                Err(_) => return,
            }
        };
        stats.queued.fetch_sub(1, Ordering::SeqCst);
        stats.busy.fetch_add(1, Ordering::SeqCst);
        let start = Instant::now();
        let result = compile_one(&settings, &cache, &job);
        stats
            .total_us
            .fetch_add(start.elapsed().as_micros() as u64, Ordering::SeqCst);
        if result.is_ok() {
            stats.completed.fetch_add(1, Ordering::SeqCst);
        } else {
            stats.failed.fetch_add(1, Ordering::SeqCst);
        }
        stats.busy.fetch_sub(1, Ordering::SeqCst);
        let _ = job.reply.send(result);
    }
}

fn compile_one(settings: &Settings, cache: &ParseCache, job: &Job) -> Result<String, String> {
    let facts = load_facts(&job.facts)?;
    let req = CompileRequest {
        environment: &job.environment,
        certname: &job.certname,
        facts,
        extensions: troupe_eval::value::from_json(&job.extensions),
        server_facts: &job.server_facts,
    };
    let (uuid, version) = uuid_and_version();
    compile_json(settings, cache, &req, &uuid, version).json
}

/// A random (v4) catalog UUID and the `version` (seconds since the epoch), as puppetserver.
fn uuid_and_version() -> (String, serde_json::Value) {
    let mut b = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut b);
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let uuid = format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    );
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    (uuid, serde_json::Value::from(secs))
}
