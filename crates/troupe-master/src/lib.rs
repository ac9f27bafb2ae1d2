//! `troupe master`: the Puppet v3 HTTP API (node, catalog, report, file serving, environments,
//! status) and the CA v1 API, standalone over HTTPS (rustls; client certificate optional,
//! CRL enforced) or behind a front over plain HTTP, trusting identity headers only from
//! configured proxy addresses.

mod api;
mod auth;
pub mod files;
pub mod pool;
mod tls;

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
    pub plain_http: bool,
    pub trusted_proxies: Vec<IpAddr>,
    pub reportdir: PathBuf,
    pub workers: usize,
    pub max_queued: usize,
    /// Seconds a rejected agent is told to wait.
    pub retry_after: u64,
    /// Wall time one compile may take (`compile_timeout`; `None`: unlimited).
    pub compile_timeout: Option<std::time::Duration>,
    /// Memory one compile may hold (`compile_memory_limit`; `None`: unlimited).
    pub compile_memory_limit: Option<u64>,
}

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
            ssldir,
            certname,
            dns_alt_names: vec![],
            autosign: "false".into(),
            ca_ttl: troupe_ca::FIVE_YEARS,
            crl_ttl: troupe_ca::FIVE_YEARS,
            allow_subject_alt_names: false,
            allow_authorization_extensions: false,
            keylength: 4096,
            plain_http: false,
            trusted_proxies: vec![],
            workers,
            max_queued: workers * 8,
            retry_after: 10,
            compile_timeout: Some(troupe_eval::limits::DEFAULT_TIMEOUT),
            compile_memory_limit: Some(troupe_eval::limits::DEFAULT_MEMORY_LIMIT),
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
    pub started: std::time::Instant,
    /// Bumped when the TLS files (CRL) are reloaded; identities of older connections are
    /// checked against the new CRL on their next request.
    pub tls_generation: std::sync::atomic::AtomicU64,
    /// The CRL as last loaded (read once per reload, not per request).
    pub crl: RwLock<Arc<str>>,
    /// Client connections open at once.
    pub connection_slots: Arc<tokio::sync::Semaphore>,
}

/// The client, as far as the master trusts it.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub certname: Option<String>,
    /// The client certificate (DER), for `$trusted['extensions']` and extension-based rules.
    pub cert: Option<Vec<u8>>,
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Opens the CA (creating it if need be), ensures this master's certificate, and serves.
pub fn run(config: Config) -> Result<(), BoxError> {
    let ca = match &config.cadir {
        Some(dir) => Some(Arc::new(Ca::open_or_init(config.ca_settings(dir.clone()))?)),
        None => None,
    };
    if !config.plain_http {
        tls::ensure_server_cert(&config, ca.as_deref())?;
    }
    let compiler = Arc::new(config.compiler_settings());
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
    let state = Arc::new(State {
        config,
        ca,
        compiler,
        cache,
        pool,
        started: std::time::Instant::now(),
        tls_generation: std::sync::atomic::AtomicU64::new(0),
        crl: RwLock::new(Arc::from("")),
        connection_slots: Arc::new(tokio::sync::Semaphore::new(4096)),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(api::serve(state))
}
