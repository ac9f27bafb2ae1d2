//! The bounded compile pool: a fixed set of worker threads (the evaluator is single-threaded
//! per compile) fed by a bounded queue. A full queue is back-pressure: the caller answers 503
//! with `Retry-After` instead of piling up work.
//!
//! No compile can take the pool down. Each runs within a budget (`compile_timeout`,
//! `compile_memory_limit`, and cancellation when its agent goes away) on a worker with a
//! large stack; a failing, over-budget or panicking compile answers its own request with
//! the message and the worker goes on. A worker stuck past its deadline (plus a grace) in
//! something that cannot check the budget — a hung `generate()` command, a pathological
//! regular expression — is wedged: a watchdog answers its request, replaces it with a new
//! thread, and the abandoned thread exits when its compile eventually returns.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use troupe_compiler::{
    compile_json_with, load_facts, Budget, CompileRequest, ParseCache, Settings,
};

/// Each worker's stack. Deep code grows the stack on the heap as it goes (see
/// `troupe_eval::limits::grow`); this only has to hold the deepest stretch between two
/// growth points, with room to spare in debug builds.
const WORKER_STACK: usize = 32 * 1024 * 1024;

type Reply = tokio::sync::oneshot::Sender<Result<String, String>>;

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
    /// Classes and parameters from the external node classifier.
    pub node: troupe_eval::NodeData,
    pub reply: Reply,
    /// Set when the result is no longer wanted (the agent closed the connection).
    pub cancel: Arc<AtomicBool>,
    /// With storeconfigs: the facts (when the agent sent them) and the catalog go to
    /// PuppetDB.
    pub store: Option<StoreJob>,
}

/// What a compile sends to PuppetDB.
#[derive(Debug)]
pub struct StoreJob {
    pub pdb: Arc<crate::puppetdb::PuppetDb>,
    pub transaction_uuid: Option<String>,
    pub job_id: Option<String>,
    /// The agent sent these facts (not the node's cached ones): PuppetDB gets them.
    pub facts_sent: bool,
}

#[derive(Debug, Default)]
pub struct Stats {
    pub busy: AtomicUsize,
    pub queued: AtomicUsize,
    pub completed: AtomicU64,
    pub failed: AtomicU64,
    pub rejected: AtomicU64,
    pub total_us: AtomicU64,
    /// Wedged workers replaced by new threads.
    pub replaced: AtomicU64,
}

/// What one compile may spend.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    pub timeout: Option<Duration>,
    pub memory: Option<u64>,
}

impl Limits {
    /// How long past its deadline a compile may run before its worker counts as wedged:
    /// a checkpoint comes every few hundred expressions, so a live compile stops well
    /// within this.
    fn grace(&self) -> Option<Duration> {
        self.timeout
            .map(|t| (t / 4).clamp(Duration::from_secs(1), Duration::from_secs(30)))
    }
}

/// The compile a worker is running, shared with the watchdog.
#[derive(Debug)]
struct Running {
    started: Instant,
    certname: String,
    cancel: Arc<AtomicBool>,
    /// Taken by whoever answers: the worker when done, the watchdog when it gives up.
    reply: Option<Reply>,
}

#[derive(Debug, Default)]
struct Slot {
    running: Mutex<Option<Running>>,
    /// Set by the watchdog: the thread exits when its compile returns.
    abandoned: AtomicBool,
}

#[derive(Debug)]
struct Shared {
    rx: Mutex<Receiver<Job>>,
    settings: Arc<Settings>,
    cache: Arc<ParseCache>,
    stats: Arc<Stats>,
    limits: Limits,
    slots: Mutex<Vec<Arc<Slot>>>,
    spawned: AtomicUsize,
}

#[derive(Debug, Clone)]
pub struct Pool {
    tx: SyncSender<Job>,
    pub workers: usize,
    pub queue_limit: usize,
    pub stats: Arc<Stats>,
}

impl Pool {
    /// A pool without compile limits.
    pub fn new(
        workers: usize,
        queue_limit: usize,
        settings: Arc<Settings>,
        cache: Arc<ParseCache>,
    ) -> Pool {
        Pool::start(workers, queue_limit, settings, cache, Limits::default())
    }

    pub fn start(
        workers: usize,
        queue_limit: usize,
        settings: Arc<Settings>,
        cache: Arc<ParseCache>,
        limits: Limits,
    ) -> Pool {
        let (tx, rx) = sync_channel::<Job>(queue_limit);
        let stats = Arc::new(Stats::default());
        let shared = Arc::new(Shared {
            rx: Mutex::new(rx),
            settings,
            cache,
            stats: stats.clone(),
            limits,
            slots: Mutex::new(Vec::new()),
            spawned: AtomicUsize::new(0),
        });
        for _ in 0..workers.max(1) {
            spawn_worker(&shared);
        }
        if let Some(timeout) = limits.timeout {
            let shared = shared.clone();
            let _ = std::thread::Builder::new()
                .name("compile-watchdog".into())
                .spawn(move || watchdog(shared, timeout));
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

fn spawn_worker(shared: &Arc<Shared>) {
    let slot = Arc::new(Slot::default());
    if let Ok(mut slots) = shared.slots.lock() {
        slots.push(slot.clone());
    }
    let i = shared.spawned.fetch_add(1, Ordering::SeqCst);
    let s = shared.clone();
    let _ = std::thread::Builder::new()
        .name(format!("compile-{i}"))
        .stack_size(WORKER_STACK)
        .spawn(move || worker(s, slot));
}

fn worker(shared: Arc<Shared>, slot: Arc<Slot>) {
    let stats = &shared.stats;
    loop {
        let job = {
            let Ok(guard) = shared.rx.lock() else { return };
            match guard.recv() {
                Ok(j) => j,
                Err(_) => return,
            }
        };
        stats.queued.fetch_sub(1, Ordering::SeqCst);
        stats.busy.fetch_add(1, Ordering::SeqCst);
        let start = Instant::now();
        let Job {
            environment,
            certname,
            facts,
            extensions,
            server_facts,
            node,
            reply,
            cancel,
            store,
        } = job;
        if let Ok(mut r) = slot.running.lock() {
            *r = Some(Running {
                started: start,
                certname: certname.clone(),
                cancel: cancel.clone(),
                reply: Some(reply),
            });
        }
        let work = Work {
            environment: &environment,
            certname: &certname,
            facts: &facts,
            extensions: &extensions,
            server_facts: &server_facts,
            node: &node,
            store: store.as_ref(),
        };
        let budget = Budget {
            timeout: shared.limits.timeout,
            memory_limit: shared.limits.memory,
            cancel: Some(cancel),
            memory_probe: Some(troupe_alloc::thread_net_bytes),
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            compile_one(&shared.settings, &shared.cache, &work, &budget)
        }))
        .unwrap_or_else(|_| Err(format!("the compile of {certname} failed: internal error")));
        stats
            .total_us
            .fetch_add(start.elapsed().as_micros() as u64, Ordering::SeqCst);
        if result.is_ok() {
            stats.completed.fetch_add(1, Ordering::SeqCst);
        } else {
            stats.failed.fetch_add(1, Ordering::SeqCst);
        }
        stats.busy.fetch_sub(1, Ordering::SeqCst);
        let reply = match slot.running.lock() {
            Ok(mut r) => r.take().and_then(|r| r.reply),
            Err(_) => None,
        };
        if let Some(reply) = reply {
            let _ = reply.send(result);
        }
        if slot.abandoned.load(Ordering::SeqCst) {
            // The watchdog answered this request and started a replacement.
            return;
        }
    }
}

/// Every so often: a worker whose compile has run past its deadline plus the grace is
/// wedged; its agent gets the deadline's error, and a new worker takes its place.
fn watchdog(shared: Arc<Shared>, timeout: Duration) {
    let grace = shared.limits.grace().unwrap_or(Duration::from_secs(1));
    let tick = (timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    loop {
        std::thread::sleep(tick);
        let slots: Vec<Arc<Slot>> = match shared.slots.lock() {
            Ok(s) => s.clone(),
            Err(_) => return,
        };
        for slot in slots {
            let wedged = {
                let Ok(mut r) = slot.running.lock() else {
                    continue;
                };
                match r.as_mut() {
                    Some(run) if run.reply.is_some() && run.started.elapsed() > timeout + grace => {
                        run.cancel.store(true, Ordering::SeqCst);
                        slot.abandoned.store(true, Ordering::SeqCst);
                        let msg = format!(
                            "{}; its worker did not stop and was replaced",
                            troupe_eval::limits::Exceeded::Deadline(timeout).message(&run.certname)
                        );
                        if let Some(reply) = run.reply.take() {
                            let _ = reply.send(Err(msg));
                        }
                        true
                    }
                    _ => false,
                }
            };
            if wedged {
                if let Ok(mut slots) = shared.slots.lock() {
                    slots.retain(|s| !Arc::ptr_eq(s, &slot));
                }
                shared.stats.replaced.fetch_add(1, Ordering::SeqCst);
                spawn_worker(&shared);
            }
        }
    }
}

/// The parts of a job a compile reads.
struct Work<'a> {
    environment: &'a str,
    certname: &'a str,
    facts: &'a str,
    extensions: &'a serde_json::Value,
    server_facts: &'a [(String, String)],
    node: &'a troupe_eval::NodeData,
    store: Option<&'a StoreJob>,
}

fn compile_one(
    settings: &Settings,
    cache: &ParseCache,
    job: &Work<'_>,
    budget: &Budget,
) -> Result<String, String> {
    let facts = load_facts(job.facts)?;
    let producer_ts = job.store.map(|_| crate::puppetdb::commands::now_wire());
    if let (Some(st), Some(ts)) = (job.store, &producer_ts) {
        if st.facts_sent {
            submit_facts(st, job, ts);
        }
    }
    let req = CompileRequest {
        environment: job.environment,
        certname: job.certname,
        facts,
        extensions: troupe_eval::value::from_json(job.extensions),
        server_facts: job.server_facts,
        node: job.node.clone(),
    };
    let (uuid, version) = uuid_and_version();
    let out = compile_json_with(settings, cache, &req, &uuid, version, budget);
    if let (Some(st), Some(mut payload), Some(ts)) = (job.store, out.puppetdb, &producer_ts) {
        crate::puppetdb::commands::finish_catalog(
            &mut payload,
            st.transaction_uuid.as_deref(),
            st.job_id.as_deref(),
            None,
            &st.pdb.producer,
            ts,
        );
        st.pdb
            .submit(crate::puppetdb::commands::CATALOG, job.certname, &payload);
    }
    out.json
}

/// `replace facts` for the facts the agent sent, with its `$trusted`.
fn submit_facts(st: &StoreJob, job: &Work<'_>, producer_ts: &str) {
    let Ok(facts) = serde_json::from_str::<serde_json::Value>(job.facts) else {
        return;
    };
    let trusted =
        troupe_compiler::trusted_for(job.certname, troupe_eval::value::from_json(job.extensions));
    let payload = crate::puppetdb::commands::facts(
        job.certname,
        &facts,
        troupe_eval::catalog::value_to_json(&trusted),
        job.environment,
        &st.pdb.producer,
        producer_ts,
    );
    st.pdb
        .submit(crate::puppetdb::commands::FACTS, job.certname, &payload);
}

/// A random (v4) catalog UUID and the `version` (seconds since the epoch), as puppetserver.
pub(crate) fn uuid_and_version() -> (String, serde_json::Value) {
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
