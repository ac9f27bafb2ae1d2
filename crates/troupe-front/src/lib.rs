//! `troupe front`: TLS termination for Puppet agents and balancing over a pool of masters.
//! It verifies optional client certificates against the CA and CRL, strips identity headers a
//! client sent and sets `X-Client-Verify`, `X-Client-DN` and `X-Client-Cert` for the masters,
//! balances (round robin or least outstanding requests) over healthy masters with active
//! checks and passive ejection, retries a request on another master only when that is safe
//! (`retry`), abandons requests on a master found stalled and sends them to another,
//! bounds what clients may hold (`limits`), answers 503 + `Retry-After` when no master can
//! take the request, drains on SIGTERM, answers its own health (`health`), and serves a
//! status page and Prometheus metrics to admin addresses. The masters may change while it
//! runs (`State::set_backends`), local ones preferred.

mod accesslog;
pub mod backend;
pub mod console;
mod dial;
mod health;
pub mod identity;
mod lifecycle;
mod limits;
mod listen;
mod masters;
pub mod pool;
mod proxy;
mod queue;
mod respond;
pub mod retry;
mod status;
pub mod tls;
pub mod upstream;
pub mod verdicts;

use backend::{Backend, Balance};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use tls::BoxError;

/// A master: its address, whether the front speaks TLS to it, and whether it is local (on
/// this host or site: preferred; remote masters take requests only when no local one can).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendSpec {
    pub addr: SocketAddr,
    pub tls: bool,
    pub local: bool,
}

impl std::str::FromStr for BackendSpec {
    type Err = String;
    /// `ADDR:PORT`, `http://ADDR:PORT` or `https://ADDR:PORT`; local.
    fn from_str(s: &str) -> Result<BackendSpec, String> {
        let (tls, rest) = match s.strip_prefix("https://") {
            Some(r) => (true, r),
            None => (false, s.strip_prefix("http://").unwrap_or(s)),
        };
        let addr = rest.trim_end_matches('/').parse().map_err(|_| {
            format!("backend '{s}': expected ADDR:PORT, http://ADDR:PORT or https://ADDR:PORT")
        })?;
        Ok(BackendSpec {
            addr,
            tls,
            local: true,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: Vec<SocketAddr>,
    pub backends: Vec<BackendSpec>,
    /// The name TLS backends' certificates are checked against (default: their IP address).
    pub backend_server_name: Option<String>,
    pub tls: tls::Files,
    pub balance: Balance,
    /// Time between the end of one health check of a master and the start of the next.
    pub check_interval: Duration,
    /// A health check not answered within this is a stall: the master is down at once (no
    /// `fall` count) and the requests in flight on it are abandoned (sent to another master
    /// when that is safe).
    pub stall_timeout: Duration,
    /// Consecutive successful checks that bring a master back.
    pub rise: u32,
    /// Consecutive failed checks or requests (refused, server errors) that take it down.
    pub fall: u32,
    /// Requests a master may have in flight before it counts as saturated.
    pub max_in_flight: usize,
    /// How long a request waits in the front's queue when every master that is up is
    /// saturated, before it is answered 503.
    pub queue_timeout: Duration,
    pub connect_timeout: Duration,
    /// How long a master may take to answer (catalog compiles included): the overall bound
    /// for a master that still answers its health checks.
    pub backend_timeout: Duration,
    pub retry_after: u64,
    /// Addresses allowed to see `/troupe/status`, `/metrics` and the console.
    pub admin: Vec<IpAddr>,
    /// Networks whose clients are administrators too (`admin_allow`), besides `admin`.
    pub admin_allow: Vec<console::auth::Net>,
    /// The pool's store, where the console keeps the masters' settings (drained, disabled,
    /// weight); `None`: this front's memory only.
    pub control_store: Option<troupe_store::Store>,
    pub access_log: Option<PathBuf>,
    pub max_header_bytes: usize,
    /// Client connections open at once; more are closed at accept.
    pub max_connections: usize,
    /// Client connections open at once from one address.
    pub max_connections_per_source: usize,
    /// Connections only clients with a verified certificate may use: connections without one
    /// are closed after the handshake once `max_connections - reserved_connections` are open.
    pub reserved_connections: usize,
    /// Largest request body from a client with a verified certificate.
    pub max_body_bytes: usize,
    /// Largest request body from any other client (a CSR is at most 64 KiB).
    pub max_anonymous_body_bytes: usize,
    /// Request bodies buffered at once, all requests together (anonymous ones: half of it).
    pub max_buffered_bytes: usize,
    /// How long a client may take to complete the TLS handshake.
    pub handshake_timeout: Duration,
    /// How long a client may take to send its request headers.
    pub header_timeout: Duration,
    /// How long a keep-alive connection may stay idle before the front closes it (cleanly,
    /// with TLS close_notify); longer than the agents' own 4 s, so they close first.
    pub keepalive_timeout: Duration,
    /// How long a request body may take, plus one second per `body_min_rate` bytes received.
    pub body_timeout: Duration,
    pub body_min_rate: u64,
    /// How long a request that killed masters is refused without being sent again.
    pub quarantine_ttl: Duration,
    /// Most such requests remembered at once.
    pub quarantine_entries: usize,
    /// Longest wait for in-flight requests on SIGTERM.
    pub drain_timeout: Duration,
    /// How long the front goes on accepting after SIGTERM (each new connection serves one
    /// request), while a VRRP speaker hands its addresses over: clients that have not yet
    /// learned the new owner are still served.
    pub drain_linger: Duration,
    /// The first `listen` socket is standard input, bound and held by a supervisor.
    pub listen_on_stdin: bool,
    /// A plain-HTTP listener (meant for loopback) answering only `GET /troupe/health`.
    pub health_listen: Option<SocketAddr>,
}

impl Config {
    pub fn new(listen: Vec<SocketAddr>, backends: Vec<BackendSpec>, tls: tls::Files) -> Config {
        Config {
            listen,
            backends,
            backend_server_name: None,
            tls,
            balance: Balance::LeastOutstanding,
            check_interval: Duration::from_millis(250),
            stall_timeout: Duration::from_millis(500),
            rise: 2,
            fall: 2,
            max_in_flight: 64,
            queue_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(2),
            backend_timeout: Duration::from_secs(300),
            retry_after: 10,
            admin: vec![IpAddr::from([127, 0, 0, 1])],
            admin_allow: vec![],
            control_store: None,
            access_log: None,
            max_header_bytes: 64 * 1024,
            max_connections: 10_000,
            max_connections_per_source: 100,
            reserved_connections: 1_000,
            max_body_bytes: 64 * 1024 * 1024,
            max_anonymous_body_bytes: 64 * 1024,
            max_buffered_bytes: 512 * 1024 * 1024,
            handshake_timeout: Duration::from_secs(5),
            header_timeout: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(20),
            body_min_rate: 500,
            quarantine_ttl: Duration::from_secs(600),
            quarantine_entries: 4096,
            drain_timeout: Duration::from_secs(60),
            drain_linger: Duration::from_millis(500),
            listen_on_stdin: false,
            health_listen: None,
        }
    }
}

#[derive(Debug)]
pub struct State {
    pub config: Config,
    /// The masters; replaced whole by `set_backends` (read with `backends()`).
    backends: RwLock<Arc<Vec<Arc<Backend>>>>,
    pub rr: AtomicUsize,
    pub tls: RwLock<tls::Tls>,
    /// For TLS to masters: the CA bundle, and the front's certificate as client certificate.
    pub client_tls: Option<Arc<rustls::ClientConfig>>,
    pub connections: AtomicUsize,
    pub in_flight: AtomicUsize,
    pub requests: AtomicU64,
    pub rejected: AtomicU64,
    pub tls_failures: AtomicU64,
    pub started: std::time::Instant,
    /// Bumped when certificates or the CRL are reloaded; older connections re-judge their
    /// client certificate on their next request.
    pub tls_generation: AtomicU64,
    /// Open client connections: in all, per source, and without a verified certificate.
    pub(crate) connection_limits: limits::Connections,
    /// Request bodies buffered at once.
    pub(crate) buffered: limits::Budget,
    /// Requests that killed masters.
    pub quarantine: retry::Quarantine,
    /// Requests waiting for a saturated master.
    pub queue: queue::Queue,
    pub access_log: Option<std::sync::Mutex<std::fs::File>>,
    /// Set when the front stops accepting: its health answers 503.
    pub draining: AtomicBool,
    /// The runtime the front runs on (health loops of masters added later run there too).
    runtime: tokio::runtime::Handle,
    /// Ends every background loop when the front stops.
    stop: tokio::sync::watch::Receiver<bool>,
    /// Set when draining begins: open connections finish their request (or their first one)
    /// and close; new ones serve one request.
    drain: tokio::sync::watch::Receiver<bool>,
    /// The pool as last handed over (`set_pool_view`), for the status page.
    pool: RwLock<Option<Arc<pool::PoolView>>>,
    /// The masters' settings made in the console (`console::control`).
    controls: RwLock<Arc<std::collections::BTreeMap<String, console::control::Control>>>,
    /// Requests, errors and latency of the front as a whole (the console's charts).
    pub history: console::history::History,
    /// This process's console form token.
    pub(crate) console_token: String,
    /// The CA, when the binary hands it over (`set_ca_console`).
    ca_console: RwLock<Option<Arc<dyn console::CaConsole>>>,
}

/// A front started by `start`: where it listens, and how to stop it.
#[derive(Debug)]
pub struct Front {
    pub addrs: Vec<SocketAddr>,
    /// Where `health_listen` is bound, if set.
    pub health_addr: Option<SocketAddr>,
    pub state: Arc<State>,
    stop: tokio::sync::watch::Sender<bool>,
    drain: tokio::sync::watch::Sender<bool>,
    accept_tasks: Vec<tokio::task::JoinHandle<()>>,
    health_task: Option<tokio::task::JoinHandle<()>>,
}

impl Front {
    /// Drains: the health answers 503 `draining`, open connections finish the request they
    /// are on (a new one its first request) and close; for `drain_linger` the front still
    /// accepts (one request per connection), then stops accepting and waits, up to the drain
    /// timeout, for the requests in flight (and a linger more for connections that have not
    /// sent theirs). The health listener closes last.
    pub async fn stop(self) {
        self.state.draining.store(true, Ordering::SeqCst);
        let _ = self.drain.send(true);
        tokio::time::sleep(self.state.config.drain_linger).await;
        let _ = self.stop.send(true);
        for t in self.accept_tasks {
            let _ = t.await;
        }
        // Requests in flight are waited for (up to the drain timeout); a connection that has
        // brought no request gets one more linger to bring it.
        let now = std::time::Instant::now();
        let (deadline, fresh) = (
            now + self.state.config.drain_timeout,
            now + self.state.config.drain_linger,
        );
        loop {
            let now = std::time::Instant::now();
            let idle = self.state.total_in_flight() == 0
                && (self.state.connections.load(Ordering::SeqCst) == 0 || now >= fresh);
            if idle || now >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if let Some(t) = self.health_task {
            t.abort();
        }
    }
}

/// Runs the front until SIGTERM or SIGINT, then drains.
pub fn run(config: Config) -> Result<(), BoxError> {
    run_with(config, |_| {})
}

/// `run`, calling `started` with the front's state once it serves (to change its masters
/// with `State::set_backends` from elsewhere, say).
pub fn run_with(config: Config, started: impl FnOnce(&Arc<State>)) -> Result<(), BoxError> {
    // One worker per CPU this process may run on (taskset/cgroups respected).
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let front = start(config).await?;
        started(&front.state);
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => {},
            _ = tokio::signal::ctrl_c() => {},
        }
        tracing::info!(
            "draining: {} requests in flight; accepting for {:.1} s more",
            front.state.total_in_flight(),
            front.state.config.drain_linger.as_secs_f64()
        );
        front.stop().await;
        tracing::info!("drained, exiting");
        Ok(())
    })
}

/// Binds the listeners and starts serving on the current tokio runtime.
pub async fn start(config: Config) -> Result<Front, BoxError> {
    if config.backends.is_empty() {
        return Err("give at least one --backend".into());
    }
    if config.listen.is_empty() {
        return Err("give at least one --listen address".into());
    }
    let tls = tls::Tls::load(&config.tls)?;
    if let Some(w) = tls.crl_warning(time::OffsetDateTime::now_utc()) {
        tracing::warn!("{w}");
    }
    // Built whenever it can be: a TLS master may also come later (`set_backends`).
    let client_tls = match tls::client_config(&config.tls) {
        Ok(c) => Some(c),
        Err(e) if config.backends.iter().any(|b| b.tls) => return Err(e),
        Err(_) => None,
    };
    let access_log = match &config.access_log {
        Some(p) => Some(std::sync::Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| format!("access log {}: {e}", p.display()))?,
        )),
        None => None,
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (drain_tx, drain_rx) = tokio::sync::watch::channel(false);
    let state = Arc::new(State {
        backends: RwLock::new(Arc::new(
            config
                .backends
                .iter()
                .map(|b| Arc::new(Backend::new(b, config.rise, config.fall)))
                .collect(),
        )),
        rr: AtomicUsize::new(0),
        tls: RwLock::new(tls),
        client_tls,
        connections: AtomicUsize::new(0),
        in_flight: AtomicUsize::new(0),
        requests: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
        tls_failures: AtomicU64::new(0),
        started: std::time::Instant::now(),
        tls_generation: AtomicU64::new(0),
        connection_limits: limits::Connections::new(&config),
        buffered: limits::Budget::new(config.max_buffered_bytes),
        quarantine: retry::Quarantine::new(config.quarantine_ttl, config.quarantine_entries),
        queue: queue::Queue::default(),
        access_log,
        draining: AtomicBool::new(false),
        runtime: tokio::runtime::Handle::current(),
        stop: stop_rx,
        drain: drain_rx,
        pool: RwLock::new(None),
        controls: RwLock::new(Arc::new(Default::default())),
        history: Default::default(),
        console_token: console::auth::new_token(),
        ca_console: RwLock::new(None),
        config,
    });
    // The masters' settings apply before the first request.
    if let Some(store) = state.config.control_store.clone() {
        match tokio::task::spawn_blocking(move || console::control::load(&store)).await {
            Ok(Ok(c)) => state.set_controls(c),
            Ok(Err(e)) => tracing::warn!("console: cannot read the masters' settings: {e}"),
            Err(e) => tracing::warn!("console: cannot read the masters' settings: {e}"),
        }
    }
    state.poll_controls();
    proxy::serve(state, stop_tx, drain_tx).await
}

impl State {
    pub fn log_access(&self, line: &str) {
        if let Some(f) = &self.access_log {
            if let Ok(mut f) = f.lock() {
                use std::io::Write;
                let _ = writeln!(f, "{line}");
            }
        }
    }

    pub fn up_backends(&self) -> usize {
        self.backends().iter().filter(|b| b.is_up()).count()
    }

    /// The masters now (a snapshot: `set_backends` does not change it).
    pub fn backends(&self) -> Arc<Vec<Arc<Backend>>> {
        match self.backends.read() {
            Ok(b) => b.clone(),
            Err(e) => e.into_inner().clone(),
        }
    }

    pub fn total_in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Whether the front can serve, and the line `/troupe/health` answers.
    pub fn health(&self) -> (bool, String) {
        health::verdict(self)
    }

    /// Replaces what the status page shows of the pool (callable from any thread).
    pub fn set_pool_view(&self, view: pool::PoolView) {
        let mut g = match self.pool.write() {
            Ok(g) => g,
            Err(e) => e.into_inner(),
        };
        *g = Some(Arc::new(view));
    }

    /// The pool as last handed over, if ever.
    pub fn pool_view(&self) -> Option<Arc<pool::PoolView>> {
        match self.pool.read() {
            Ok(g) => g.clone(),
            Err(e) => e.into_inner().clone(),
        }
    }

    /// How this front sees a master (`http://ADDR:PORT` or `https://ADDR:PORT`): `up`,
    /// `down`, or `unused` when it is not among its masters.
    pub fn master_seen(&self, addr: &str) -> &'static str {
        let (tls, rest) = match addr.strip_prefix("https://") {
            Some(r) => (true, r),
            None => (false, addr.strip_prefix("http://").unwrap_or(addr)),
        };
        match self
            .backends()
            .iter()
            .find(|b| b.tls == tls && b.addr.to_string() == rest)
        {
            Some(b) if b.is_up() => "up",
            Some(_) => "down",
            None => "unused",
        }
    }
}
