//! `troupe master`: the Puppet v3 HTTP API (node, catalog, report, file serving, environments,
//! status) and the CA v1 API, standalone over HTTPS (rustls; client certificate optional,
//! CRL enforced) or behind a front over plain HTTP, trusting identity headers only from
//! configured proxy addresses (plain HTTP) or from the front's certificate (HTTPS).

mod admin;
mod api;
mod auth;
mod checksums;
mod classify;
pub mod code_version;
mod compress;
pub mod files;
pub mod http_client;
mod identity;
pub mod limits;
pub mod pool;
pub mod puppetdb;
pub mod report_processors;
mod report_retention;
mod report_yaml;
pub mod reports;
mod respond;
mod server;
mod tls;
mod validate;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use troupe_ca::Ca;

/// Everything `troupe master` is configured with (flags or the config file).
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub codedir: PathBuf,
    pub environmentpath: Option<PathBuf>,
    pub basemodulepath: Option<Vec<PathBuf>>,
    pub hiera_config: Option<PathBuf>,
    /// Puppet's `environment_timeout`: how long an environment's code is reused without
    /// looking at the disk after its last compile (default 0: every compile looks).
    pub environment_timeout: troupe_compiler::EnvironmentTimeout,
    pub ssldir: PathBuf,
    /// The CA directory; `None` disables the CA on this master.
    pub cadir: Option<PathBuf>,
    pub certname: String,
    pub dns_alt_names: Vec<String>,
    pub autosign: String,
    pub ca_ttl: i64,
    pub crl_ttl: i64,
    pub allow_subject_alt_names: bool,
    pub allow_authorization_extensions: bool,
    pub keylength: usize,
    /// `max_pending_csrs`: pending certificate requests kept at most.
    pub max_pending_csrs: usize,
    /// The pool's shared store (etcd, `store = etcd://...`) with this host's join secret:
    /// the CA lives there instead of `cadir`.
    pub shared: Option<troupe_store::Shared>,
    pub plain_http: bool,
    pub trusted_proxies: Vec<IpAddr>,
    /// Certnames whose verified client certificate may carry identity headers (HTTPS only).
    pub trusted_fronts: Vec<String>,
    pub reportdir: PathBuf,
    /// Connection, timeout, rate and report limits.
    pub limits: limits::Settings,
    pub workers: usize,
    pub max_queued: usize,
    /// Seconds a rejected agent is told to wait.
    pub retry_after: u64,
    /// Wall time one compile may take (`compile_timeout`; `None`: unlimited).
    pub compile_timeout: Option<std::time::Duration>,
    /// Memory one compile may hold (`compile_memory_limit`; `None`: unlimited).
    pub compile_memory_limit: Option<u64>,
    /// Puppet's `code_id_command`: prints the code id of the environment it is given.
    pub code_id_command: Option<PathBuf>,
    /// At most this many Ruby helpers run module functions written only in Ruby (0: none;
    /// such functions then fail naming themselves).
    pub ruby_helpers: usize,
    /// The Ruby interpreter the helpers run (Puppet's library must be on its load path).
    pub ruby: PathBuf,
    /// How long a computed code version is reused (`code_version_refresh`).
    pub code_version_refresh: std::time::Duration,
    /// `advertise`: where the pool's fronts reach this master (`http://HOST:PORT` or
    /// `https://HOST:PORT`); default derived from `listen` unless it is a wildcard.
    pub advertise: Option<String>,
    /// `pool_host`: the host name masters are grouped by (default: the machine's host name).
    pub pool_host: Option<String>,
    /// `registration_ttl`: how long a dead master stays registered in an etcd store.
    pub registration_ttl: std::time::Duration,
    /// `registration_keepalive`: how often the registration's lease is renewed.
    pub registration_keepalive: std::time::Duration,
    /// Puppet's `node_terminus`: `plain` (the default) or `exec` (run `external_nodes`).
    pub node_terminus: String,
    /// Puppet's `external_nodes`: the classifier command (`none` by default).
    pub external_nodes: String,
    /// How long the classifier may take for one node.
    pub external_nodes_timeout: std::time::Duration,
    /// Puppet's `reports`: the report processors (`store`, `http`; `none`).
    pub reports: String,
    /// Puppet's `reporturl`: where the `http` processor posts reports.
    pub reporturl: String,
    /// Puppet's `storeconfigs`: facts and catalogs go to PuppetDB and `<<| |>>` collects
    /// from it.
    pub storeconfigs: bool,
    /// Puppet's `storeconfigs_backend`: only `puppetdb`.
    pub storeconfigs_backend: String,
    /// The PuppetDB terminus's `puppetdb.conf` (default: beside the ssldir, Puppet's
    /// `$confdir/puppetdb.conf`).
    pub puppetdb_conf: Option<PathBuf>,
    /// Where commands wait for PuppetDB (default: `puppetdb-queue` beside the reportdir).
    pub puppetdb_queue: Option<PathBuf>,
    /// Commands kept waiting at most; past it the oldest is dropped.
    pub puppetdb_queue_limit: usize,
}

/// Compiles that may wait per worker before agents get 503 (`max_queued`): the front keeps up
/// to `max_in_flight` (64) requests on one master, so two workers hold a front's worth.
pub const QUEUE_PER_WORKER: usize = 32;

impl Config {
    pub fn new(codedir: PathBuf, ssldir: PathBuf, certname: String) -> Config {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Config {
            listen: SocketAddr::from(([0, 0, 0, 0], 8140)),
            reportdir: ssldir.parent().unwrap_or(&ssldir).join("reports"),
            cadir: Some(ssldir.join("ca")),
            codedir,
            environmentpath: None,
            basemodulepath: None,
            hiera_config: None,
            environment_timeout: Default::default(),
            ssldir,
            certname,
            dns_alt_names: vec![],
            autosign: "false".into(),
            ca_ttl: troupe_ca::FIVE_YEARS,
            crl_ttl: troupe_ca::FIVE_YEARS,
            allow_subject_alt_names: false,
            allow_authorization_extensions: false,
            keylength: 4096,
            max_pending_csrs: troupe_ca::DEFAULT_MAX_PENDING_CSRS,
            shared: None,
            plain_http: false,
            trusted_proxies: vec![],
            trusted_fronts: vec![],
            limits: limits::Settings::default(),
            workers,
            max_queued: workers * QUEUE_PER_WORKER,
            retry_after: 10,
            compile_timeout: Some(troupe_eval::limits::DEFAULT_TIMEOUT),
            compile_memory_limit: Some(troupe_eval::limits::DEFAULT_MEMORY_LIMIT),
            code_id_command: None,
            ruby_helpers: 2,
            ruby: PathBuf::from("ruby"),
            code_version_refresh: code_version::DEFAULT_REFRESH,
            advertise: None,
            pool_host: None,
            registration_ttl: std::time::Duration::from_secs(3),
            registration_keepalive: std::time::Duration::from_secs(1),
            node_terminus: "plain".into(),
            external_nodes: "none".into(),
            external_nodes_timeout: std::time::Duration::from_secs(30),
            reports: "store".into(),
            reporturl: "http://localhost:3000/reports/upload".into(),
            storeconfigs: false,
            storeconfigs_backend: "puppetdb".into(),
            puppetdb_conf: None,
            puppetdb_queue: None,
            puppetdb_queue_limit: 100_000,
        }
    }

    /// PuppetDB's settings when `storeconfigs` is on or `reports` names `puppetdb`.
    pub fn puppetdb_wanted(&self) -> bool {
        self.storeconfigs
            || report_processors::parse(&self.reports)
                .is_ok_and(|p| p.iter().any(|x| x == "puppetdb"))
    }

    /// `puppetdb.conf`'s path.
    pub fn puppetdb_conf_path(&self) -> PathBuf {
        self.puppetdb_conf.clone().unwrap_or_else(|| {
            self.ssldir
                .parent()
                .unwrap_or(&self.ssldir)
                .join("puppetdb.conf")
        })
    }

    /// The classifier command when `node_terminus = exec`; an error for a terminus troupe
    /// does not have or an `exec` without a fully qualified `external_nodes`.
    pub fn classifier(&self) -> Result<Option<&str>, String> {
        match self.node_terminus.as_str() {
            "plain" => Ok(None),
            "exec" => {
                let cmd = self.external_nodes.trim();
                if cmd.is_empty() || cmd == "none" {
                    Err("node_terminus = exec needs external_nodes (the classifier command)".into())
                } else if !cmd.starts_with('/') {
                    Err(format!(
                        "external_nodes = {cmd}: the classifier must be a fully qualified command"
                    ))
                } else {
                    Ok(Some(cmd))
                }
            }
            other => Err(format!(
                "node_terminus = {other}: troupe knows 'plain' and 'exec' (an external node classifier)"
            )),
        }
    }

    pub fn ca_settings(&self, cadir: PathBuf) -> troupe_ca::Settings {
        let mut s = troupe_ca::Settings::new(cadir, &self.certname);
        s.ca_ttl = self.ca_ttl;
        s.crl_ttl = self.crl_ttl;
        s.autosign = troupe_ca::Autosign::parse(&self.autosign);
        s.allow_subject_alt_names = self.allow_subject_alt_names;
        s.allow_authorization_extensions = self.allow_authorization_extensions;
        s.keylength = self.keylength;
        s.max_pending_csrs = self.max_pending_csrs;
        s.shared = self.shared.clone();
        s
    }

    pub fn compiler_settings(&self) -> troupe_compiler::Settings {
        let mut s = troupe_compiler::Settings::new(&self.codedir);
        if let Some(e) = &self.environmentpath {
            s.environmentpath = e.clone();
        }
        if let Some(b) = &self.basemodulepath {
            s.basemodulepath = b.clone();
        }
        s.hiera_config = self.hiera_config.clone();
        s.environment_timeout = self.environment_timeout;
        s.ruby = (self.ruby_helpers > 0).then(|| {
            Arc::new(troupe_rubyhost::Pool::new(troupe_rubyhost::Config {
                ruby: self.ruby.clone(),
                max_helpers: self.ruby_helpers,
                ..Default::default()
            }))
        });
        s
    }
}

/// Shared server state.
#[derive(Debug)]
pub struct State {
    pub config: Config,
    pub ca: Option<Arc<Ca>>,
    pub compiler: Arc<troupe_compiler::Settings>,
    pub cache: Arc<troupe_compiler::ParseCache>,
    pub pool: pool::Pool,
    /// The version of the code of each environment.
    pub code_versions: Arc<code_version::CodeVersions>,
    pub started: std::time::Instant,
    /// Bumped when the TLS files (CRL) are reloaded; identities of older connections are
    /// checked against the new CRL on their next request.
    pub tls_generation: std::sync::atomic::AtomicU64,
    /// The CRL as last loaded (read once per reload, not per request).
    pub crl: RwLock<Arc<str>>,
    /// `nextUpdate` of the CRL as last loaded (Unix seconds; 0 when unknown).
    pub crl_next_update: std::sync::atomic::AtomicI64,
    /// Connection slots and rate limiters.
    pub limits: limits::Limits,
    /// The report processors (`reports`), their queue to `reporturl`, and report counts.
    pub report_processors: Vec<String>,
    pub report_http: Option<report_processors::HttpSender>,
    pub report_stats: Arc<report_processors::Stats>,
    /// PuppetDB (`storeconfigs`, `reports = puppetdb`).
    pub puppetdb: Option<Arc<puppetdb::PuppetDb>>,
}

/// The client, as far as the master trusts it.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub certname: Option<String>,
    /// The client certificate (DER), for `$trusted['extensions']` and extension-based rules.
    pub cert: Option<Vec<u8>>,
    /// Vouched for by a front's identity headers rather than by a TLS handshake with this
    /// master: never CA administration (`pp_cli_auth`).
    pub via_headers: bool,
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Opens the CA (creating it if need be), ensures this master's certificate, and serves until
/// SIGTERM or Ctrl-C.
pub fn run(config: Config) -> Result<(), BoxError> {
    run_with(config, |_| ())
}

/// A master that listens, as told to `run_with`'s hook.
#[derive(Debug, Clone)]
pub struct Listening {
    /// The address bound (the port chosen when `listen` asked for port 0).
    pub addr: SocketAddr,
    /// HTTPS (not `plain_http`).
    pub tls: bool,
    pub code_versions: Arc<code_version::CodeVersions>,
}

/// `run`, calling `on_listening` once the listener is bound; what it returns is kept until
/// SIGTERM or Ctrl-C, and dropped (on a blocking thread) before the connections are drained —
/// a pool registration is withdrawn first.
pub fn run_with<G: Send + 'static>(
    config: Config,
    on_listening: impl FnOnce(&Listening) -> G,
) -> Result<(), BoxError> {
    let state = prepare(config)?;
    let listener = std::net::TcpListener::bind(state.config.listen)?;
    let listening = Listening {
        addr: listener.local_addr()?,
        tls: !state.config.plain_http,
        code_versions: state.code_versions.clone(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let guard = on_listening(&listening);
    let stop = async move {
        server::stop_signal().await;
        let _ = tokio::task::spawn_blocking(move || drop(guard)).await;
    };
    rt.block_on(server::serve(state, listener, stop))
}

/// A master serving on a background thread (tests, embedding); dropping it stops it.
#[derive(Debug)]
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// `run`, on a background thread: returns once the listener is bound (`addr` has the port
/// when `listen` asked for port 0).
pub fn start(config: Config) -> Result<Server, BoxError> {
    let state = prepare(config)?;
    let listener = std::net::TcpListener::bind(state.config.listen)?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let thread = std::thread::Builder::new()
        .name("troupe-master".into())
        .spawn(move || {
            let stop = async move {
                let _ = rx.await;
            };
            if let Err(e) = rt.block_on(server::serve(state, listener, stop)) {
                tracing::error!("{e}");
            }
            rt.shutdown_timeout(std::time::Duration::from_secs(5));
        })?;
    Ok(Server {
        addr,
        stop: Some(tx),
        thread: Some(thread),
    })
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn prepare(config: Config) -> Result<Arc<State>, BoxError> {
    // Reports must not fill the volume of the CA's files through the CA's own directories.
    for (what, dir) in [
        ("ssldir", Some(&config.ssldir)),
        ("cadir", config.cadir.as_ref()),
    ] {
        if dir.is_some_and(|d| config.reportdir.starts_with(d)) {
            return Err(format!(
                "the reportdir {} is inside the {what}; give reports a directory of their own",
                config.reportdir.display()
            )
            .into());
        }
    }
    let ca = match &config.cadir {
        Some(dir) => Some(Arc::new(Ca::open_or_init(config.ca_settings(dir.clone()))?)),
        None => None,
    };
    if !config.plain_http {
        tls::ensure_server_cert(&config, ca.as_deref())?;
    } else if !config.trusted_fronts.is_empty() {
        return Err("trusted_front needs HTTPS (a front's certificate cannot be seen over plain HTTP); use trusted_proxy".into());
    }
    if !config.plain_http && !config.trusted_proxies.is_empty() && config.trusted_fronts.is_empty()
    {
        tracing::warn!("with HTTPS, identity headers are honoured only from a certificate named by trusted_front; trusted_proxy alone trusts nobody");
    }
    let report_processors = report_processors::parse(&config.reports)?;
    let report_stats = Arc::new(report_processors::Stats::default());
    let report_http = if report_processors.iter().any(|p| p == "http") {
        let tls = if config.reporturl.starts_with("https://") {
            Some(tls::client_tls(&config, "reporturl")?)
        } else {
            None
        };
        Some(report_processors::HttpSender::start(
            &config.reporturl,
            tls,
            report_stats.clone(),
        )?)
    } else {
        None
    };
    let puppetdb = if config.puppetdb_wanted() {
        if config.storeconfigs_backend != "puppetdb" {
            return Err(format!(
                "storeconfigs_backend = {}: troupe stores configurations in PuppetDB only (puppetdb)",
                config.storeconfigs_backend
            )
            .into());
        }
        let conf = puppetdb::PdbConf::read(&config.puppetdb_conf_path())?;
        let tls = if conf.server_urls.iter().any(|t| t.tls) {
            Some(tls::client_tls(&config, "PuppetDB")?)
        } else {
            None
        };
        let queue = config.puppetdb_queue.clone().unwrap_or_else(|| {
            config
                .reportdir
                .parent()
                .unwrap_or(&config.reportdir)
                .join("puppetdb-queue")
        });
        Some(Arc::new(puppetdb::PuppetDb::start(
            conf,
            &queue,
            config.puppetdb_queue_limit,
            tls,
            config.certname.clone(),
        )?))
    } else {
        None
    };
    let mut compiler = config.compiler_settings();
    if config.storeconfigs {
        compiler.storeconfigs = puppetdb
            .clone()
            .map(|p| p as Arc<dyn troupe_eval::code::Storeconfigs>);
    }
    let compiler = Arc::new(compiler);
    let cache = Arc::new(troupe_compiler::ParseCache::default());
    let pool = pool::Pool::start(
        config.workers,
        config.max_queued,
        compiler.clone(),
        cache.clone(),
        pool::Limits {
            timeout: config.compile_timeout,
            memory: config.compile_memory_limit,
        },
    );
    let limits = limits::Limits::new(&config.limits);
    let code_versions = Arc::new(code_version::CodeVersions::new(
        compiler.clone(),
        config.code_id_command.clone(),
        config.code_version_refresh,
    ));
    Ok(Arc::new(State {
        code_versions,
        config,
        ca,
        compiler,
        cache,
        pool,
        started: std::time::Instant::now(),
        tls_generation: std::sync::atomic::AtomicU64::new(0),
        crl: RwLock::new(Arc::from("")),
        crl_next_update: std::sync::atomic::AtomicI64::new(0),
        limits,
        report_processors,
        report_http,
        report_stats,
        puppetdb,
    }))
}
