//! `troupe front`: flags, or a config file of `name = value` lines; flags add to / override it.

use anyhow::{anyhow, bail, Result};
use clap::Args;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use troupe_front::backend::Balance;
use troupe_front::tls::Files;
use troupe_front::{BackendSpec, Config};

#[derive(Debug, Args)]
pub struct FrontArgs {
    /// A config file: listen, listen_on_stdin, backend and remote_backend (repeatable), health_listen, keepalive_timeout, drain_timeout, drain_linger, discover, pool_host, vrrp_state_file, ssldir, certname, cert, key, ca, crl,
    /// balance, check_interval, stall_timeout, backend_timeout, queue_timeout, rise, fall, max_in_flight, retry_after, admin, admin_allow, access_log, the
    /// limits below, and the store settings (store = etcd://..., store_ca_cert, store_cert,
    /// store_key, store_prefix, join_secret_file): the pool's files are then kept in the
    /// ssldir (default /var/lib/troupe/ssl) from the store, and certname defaults to the pool's.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on (repeatable; default 0.0.0.0:8140).
    #[arg(long)]
    listen: Vec<SocketAddr>,
    /// A master: ADDR:PORT (plain HTTP) or https://ADDR:PORT (TLS, checked against the CA;
    /// the front presents its certificate). Repeatable.
    #[arg(long)]
    backend: Vec<BackendSpec>,
    /// A remote master (same forms as --backend): used only when no local master can take a
    /// request. Repeatable.
    #[arg(long)]
    remote_backend: Vec<BackendSpec>,
    /// A plain-HTTP address (meant for loopback) that answers only GET /troupe/health: 200
    /// when this front can serve, else 503 with the reason.
    #[arg(long)]
    health_listen: Option<SocketAddr>,
    /// The name TLS masters' certificates must carry (default: their IP address).
    #[arg(long)]
    backend_server_name: Option<String>,
    /// Puppet's ssldir, for certs/<certname>.pem, private_keys/<certname>.pem, certs/ca.pem, crl.pem.
    #[arg(long)]
    ssldir: Option<PathBuf>,
    #[arg(long)]
    certname: Option<String>,
    /// Explicit paths instead of --ssldir/--certname.
    #[arg(long)]
    cert: Option<PathBuf>,
    #[arg(long)]
    key: Option<PathBuf>,
    #[arg(long = "ca-cert")]
    ca: Option<PathBuf>,
    #[arg(long)]
    crl: Option<PathBuf>,
    /// round-robin or least-outstanding (default).
    #[arg(long)]
    balance: Option<String>,
    /// Seconds between health checks of each master (default 0.25).
    #[arg(long)]
    check_interval: Option<f64>,
    /// Seconds a health check may go unanswered before the master counts as stalled: down at
    /// once, its requests in flight sent to another master (default 0.5).
    #[arg(long)]
    stall_timeout: Option<f64>,
    /// Seconds a master may take to answer a request, compiles included (default 300).
    #[arg(long)]
    backend_timeout: Option<f64>,
    /// Seconds a request waits for a slot when every master that is up is saturated, before
    /// it is answered 503 (default 30).
    #[arg(long)]
    queue_timeout: Option<f64>,
    #[arg(long)]
    rise: Option<u32>,
    #[arg(long)]
    fall: Option<u32>,
    /// Requests a master may have in flight before it counts as saturated.
    #[arg(long)]
    max_in_flight: Option<usize>,
    #[arg(long)]
    retry_after: Option<u64>,
    /// An address allowed to see /troupe/status and /metrics (repeatable; default 127.0.0.1).
    #[arg(long)]
    admin: Vec<IpAddr>,
    /// A network (ADDR/PREFIX) whose clients are administrators too: status, metrics and the
    /// pool console (repeatable).
    #[arg(long)]
    admin_allow: Vec<troupe_front::console::auth::Net>,
    /// Access log in combined format, plus TLS protocol and cipher, backend and duration.
    #[arg(long)]
    access_log: Option<PathBuf>,
    /// Client connections open at once (default 10000).
    #[arg(long)]
    max_connections: Option<usize>,
    /// Client connections open at once from one address (default 100).
    #[arg(long)]
    max_connections_per_source: Option<usize>,
    /// Connections kept for clients with a verified certificate (default 1000).
    #[arg(long)]
    reserved_connections: Option<usize>,
    /// Seconds a client may take for the TLS handshake (default 5).
    #[arg(long)]
    handshake_timeout: Option<f64>,
    /// Seconds a client may take to send its request headers (default 10).
    #[arg(long)]
    header_timeout: Option<f64>,
    /// Seconds a request body may take, plus one per body_min_rate bytes (default 20).
    #[arg(long)]
    body_timeout: Option<f64>,
    /// Bytes a second a request body must keep up (default 500).
    #[arg(long)]
    body_min_rate: Option<u64>,
    /// Largest request body from a verified client, bytes (default 67108864).
    #[arg(long)]
    max_body_size: Option<usize>,
    /// Largest request body from other clients, bytes (default 65536).
    #[arg(long)]
    max_anonymous_body_size: Option<usize>,
    /// Request body bytes buffered at once, all clients (default 536870912).
    #[arg(long)]
    max_buffered_size: Option<usize>,
    /// Seconds a request that made two masters fail is refused (default 600).
    #[arg(long)]
    quarantine_ttl: Option<f64>,
    /// Most such requests remembered (default 4096).
    #[arg(long)]
    quarantine_entries: Option<usize>,
}

#[derive(Default)]
pub(crate) struct Raw {
    pub(crate) listen: Vec<SocketAddr>,
    pub(crate) backend: Vec<BackendSpec>,
    pub(crate) health_listen: Option<SocketAddr>,
    pub(crate) listen_on_stdin: bool,
    pub(crate) drain_timeout: Option<f64>,
    pub(crate) drain_linger: Option<f64>,
    pub(crate) keepalive_timeout: Option<f64>,
    pub(crate) backend_server_name: Option<String>,
    pub(crate) ssldir: Option<PathBuf>,
    pub(crate) certname: Option<String>,
    pub(crate) cert: Option<PathBuf>,
    pub(crate) key: Option<PathBuf>,
    pub(crate) ca: Option<PathBuf>,
    pub(crate) crl: Option<PathBuf>,
    pub(crate) balance: Option<String>,
    pub(crate) check_interval: Option<f64>,
    pub(crate) stall_timeout: Option<f64>,
    pub(crate) backend_timeout: Option<f64>,
    pub(crate) queue_timeout: Option<f64>,
    pub(crate) rise: Option<u32>,
    pub(crate) fall: Option<u32>,
    pub(crate) max_in_flight: Option<usize>,
    pub(crate) retry_after: Option<u64>,
    pub(crate) admin: Vec<IpAddr>,
    /// `admin_allow`: networks whose clients are administrators (console, status, metrics).
    pub(crate) admin_allow: Vec<troupe_front::console::auth::Net>,
    pub(crate) access_log: Option<PathBuf>,
    pub(crate) max_connections: Option<usize>,
    pub(crate) max_connections_per_source: Option<usize>,
    pub(crate) reserved_connections: Option<usize>,
    pub(crate) handshake_timeout: Option<f64>,
    pub(crate) header_timeout: Option<f64>,
    pub(crate) body_timeout: Option<f64>,
    pub(crate) body_min_rate: Option<u64>,
    pub(crate) max_body_size: Option<usize>,
    pub(crate) max_anonymous_body_size: Option<usize>,
    pub(crate) max_buffered_size: Option<usize>,
    pub(crate) quarantine_ttl: Option<f64>,
    pub(crate) quarantine_entries: Option<usize>,
    pub(crate) store: troupe_store::StoreSettings,
    /// On an etcd store: balance over the pool's registered masters too (default true).
    pub(crate) discover: Option<bool>,
    /// The host name whose registered masters are local (default: the machine's host name).
    pub(crate) pool_host: Option<String>,
    /// `troupe vrrp`'s state file on this host, shown on the status page.
    pub(crate) vrrp_state_file: Option<PathBuf>,
}

fn read_file(path: &std::path::Path, r: &mut Raw) -> Result<()> {
    crate::settings_file::read(path, |k, v| {
        if r.store.set(k, v) {
            return Ok(());
        }
        set(r, k, v)
    })
}

/// Takes one front setting (not a store setting); `troupe node` shares it.
pub(crate) fn set(r: &mut Raw, k: &str, v: &str) -> Result<()> {
    {
        let bad = |what: &str| anyhow!("setting '{k}' must be {what}, not '{v}'");
        match k {
            "listen" => r.listen.push(v.parse().map_err(|_| bad("ADDR:PORT"))?),
            "backend" => r.backend.push(
                v.parse()
                    .map_err(|_| bad("ADDR:PORT or https://ADDR:PORT"))?,
            ),
            "remote_backend" => r.backend.push(
                v.parse::<BackendSpec>()
                    .map(|b| BackendSpec { local: false, ..b })
                    .map_err(|_| bad("ADDR:PORT or https://ADDR:PORT"))?,
            ),
            "health_listen" => r.health_listen = Some(v.parse().map_err(|_| bad("ADDR:PORT"))?),
            "listen_on_stdin" => r.listen_on_stdin = v.parse().map_err(|_| bad("true or false"))?,
            "drain_timeout" => {
                r.drain_timeout = Some(seconds(v).ok_or_else(|| bad("a number of seconds"))?)
            }
            "keepalive_timeout" => {
                r.keepalive_timeout = Some(seconds(v).ok_or_else(|| bad("a number of seconds"))?)
            }
            "drain_linger" => {
                r.drain_linger = Some(
                    v.parse::<f64>()
                        .ok()
                        .filter(|s| s.is_finite() && (0.0..=60.0).contains(s))
                        .ok_or_else(|| bad("a number of seconds from 0 to 60"))?,
                )
            }
            "discover" => r.discover = Some(v.parse().map_err(|_| bad("true or false"))?),
            "pool_host" => {
                troupe_pool::registry::valid_host(v)
                    .map_err(|e| anyhow!("setting 'pool_host': {e}"))?;
                r.pool_host = Some(v.into());
            }
            "vrrp_state_file" => r.vrrp_state_file = Some(v.into()),
            "backend_server_name" => r.backend_server_name = Some(v.into()),
            "ssldir" => r.ssldir = Some(v.into()),
            "certname" => r.certname = Some(v.into()),
            "cert" => r.cert = Some(v.into()),
            "key" => r.key = Some(v.into()),
            "ca" => r.ca = Some(v.into()),
            "crl" => r.crl = Some(v.into()),
            "balance" => r.balance = Some(v.into()),
            "check_interval" => {
                r.check_interval = Some(v.parse().map_err(|_| bad("a number of seconds"))?)
            }
            "stall_timeout" => {
                r.stall_timeout = Some(seconds(v).ok_or_else(|| bad("a number of seconds"))?)
            }
            "backend_timeout" => {
                r.backend_timeout = Some(seconds(v).ok_or_else(|| bad("a number of seconds"))?)
            }
            "queue_timeout" => {
                r.queue_timeout = Some(seconds(v).ok_or_else(|| bad("a number of seconds"))?)
            }
            "rise" => r.rise = Some(v.parse().map_err(|_| bad("a count"))?),
            "fall" => r.fall = Some(v.parse().map_err(|_| bad("a count"))?),
            "max_in_flight" => r.max_in_flight = Some(v.parse().map_err(|_| bad("a count"))?),
            "retry_after" => {
                r.retry_after = Some(v.parse().map_err(|_| bad("a number of seconds"))?)
            }
            "admin" => r.admin.push(v.parse().map_err(|_| bad("an IP address"))?),
            "admin_allow" => {
                for n in v.split(',').filter(|n| !n.trim().is_empty()) {
                    r.admin_allow.push(
                        n.parse()
                            .map_err(|e: String| anyhow!("setting 'admin_allow': {e}"))?,
                    );
                }
            }
            "access_log" => r.access_log = Some(v.into()),
            "max_connections" => r.max_connections = Some(v.parse().map_err(|_| bad("a count"))?),
            "max_connections_per_source" => {
                r.max_connections_per_source = Some(v.parse().map_err(|_| bad("a count"))?)
            }
            "reserved_connections" => {
                r.reserved_connections = Some(v.parse().map_err(|_| bad("a count"))?)
            }
            "handshake_timeout" => {
                r.handshake_timeout = Some(seconds(v).ok_or_else(|| bad("a number of seconds"))?)
            }
            "header_timeout" => {
                r.header_timeout = Some(seconds(v).ok_or_else(|| bad("a number of seconds"))?)
            }
            "body_timeout" => {
                r.body_timeout = Some(seconds(v).ok_or_else(|| bad("a number of seconds"))?)
            }
            "body_min_rate" => {
                r.body_min_rate = Some(v.parse().map_err(|_| bad("a number of bytes a second"))?)
            }
            "max_body_size" => {
                r.max_body_size = Some(v.parse().map_err(|_| bad("a number of bytes"))?)
            }
            "max_anonymous_body_size" => {
                r.max_anonymous_body_size = Some(v.parse().map_err(|_| bad("a number of bytes"))?)
            }
            "max_buffered_size" => {
                r.max_buffered_size = Some(v.parse().map_err(|_| bad("a number of bytes"))?)
            }
            "quarantine_ttl" => {
                r.quarantine_ttl = Some(seconds(v).ok_or_else(|| bad("a number of seconds"))?)
            }
            "quarantine_entries" => {
                r.quarantine_entries = Some(v.parse().map_err(|_| bad("a count"))?)
            }
            other => bail!("unknown setting '{other}'"),
        }
        Ok(())
    }
}

/// A non-negative, finite number of seconds.
fn seconds(v: &str) -> Option<f64> {
    v.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0)
}

/// The default ssldir of a front on a shared store.
const DEFAULT_SSLDIR: &str = "/var/lib/troupe/ssl";

/// The config, and on a shared store the running mirror of the pool's files (keep it for as
/// long as the front runs).
#[cfg(test)]
pub fn config(a: FrontArgs) -> Result<(Config, Option<Arc<troupe_pool::Mirror>>)> {
    config_with_pool(a).map(|(c, m, _, _, _)| (c, m))
}

/// Where a front on an etcd store discovers the pool's masters: the store and its `pool_host`.
type PoolDiscovery = Option<(troupe_store::Store, String)>;

/// [`config`], and on an etcd store with `discover` on, the store and host to discover the
/// pool's masters with; and what the status page's pool view is built from.
#[allow(clippy::type_complexity)]
fn config_with_pool(
    a: FrontArgs,
) -> Result<(
    Config,
    Option<Arc<troupe_pool::Mirror>>,
    PoolDiscovery,
    crate::pool_view::Settings,
    Option<Arc<crate::console_ca::FrontCa>>,
)> {
    let mut r = Raw::default();
    if let Some(f) = &a.config {
        read_file(f, &mut r)?;
    }
    // Only an etcd store matters to a front (`dir:` is one host: the ssldir as it is); the
    // other store settings without it are refused, naming them.
    let shared = match &a.config {
        Some(f) => r
            .store
            .open_shared()
            .map_err(|e| anyhow!("{}: {e}", f.display()))?,
        None => None,
    };
    r.listen.extend(a.listen);
    r.backend.extend(a.backend);
    r.backend.extend(
        a.remote_backend
            .into_iter()
            .map(|b| BackendSpec { local: false, ..b }),
    );
    r.admin.extend(a.admin);
    r.admin_allow.extend(a.admin_allow);
    macro_rules! over {
        ($($f:ident),*) => { $( if a.$f.is_some() { r.$f = a.$f; } )* };
    }
    over!(
        backend_server_name,
        health_listen,
        stall_timeout,
        backend_timeout,
        queue_timeout
    );
    over!(
        ssldir,
        certname,
        cert,
        key,
        ca,
        crl,
        balance,
        check_interval,
        rise,
        fall,
        max_in_flight,
        retry_after,
        access_log
    );
    over!(
        max_connections,
        max_connections_per_source,
        reserved_connections,
        handshake_timeout,
        header_timeout,
        body_timeout,
        body_min_rate,
        max_body_size,
        max_anonymous_body_size,
        max_buffered_size,
        quarantine_ttl,
        quarantine_entries
    );
    let host = r
        .pool_host
        .clone()
        .unwrap_or_else(crate::master_cmd::default_certname);
    let discovery = match &shared {
        Some(sh) if r.discover.unwrap_or(true) => Some((sh.store.clone(), host.clone())),
        _ => None,
    };
    let mut view = crate::pool_view::Settings {
        host,
        store: shared.as_ref().map(|sh| sh.store.clone()),
        store_kind: match (&shared, &r.store.store) {
            (Some(_), _) => "etcd",
            (None, Some(_)) => "dir",
            (None, None) => "none",
        },
        mirror: None,
        vrrp_state_file: r.vrrp_state_file.clone(),
        pool_name: None,
    };
    let ca_console = crate::console_ca::FrontCa::for_front(
        &r.store,
        shared.as_ref(),
        r.ssldir
            .as_deref()
            .unwrap_or(std::path::Path::new(DEFAULT_SSLDIR)),
        r.certname.as_deref().unwrap_or(&view.host),
    );
    let (c, m) = finish(r, shared)?;
    let m = m.map(Arc::new);
    view.mirror = m.clone();
    view.pool_name = match &m {
        Some(m) => Some(m.name().to_string()),
        None => c
            .tls
            .cert
            .file_stem()
            .and_then(|n| n.to_str())
            .map(str::to_string),
    };
    Ok((c, m, discovery, view, ca_console))
}

/// The front's config from its settings; with a shared store, starts the mirror of the pool's
/// files into the ssldir first.
pub(crate) fn finish(
    mut r: Raw,
    shared: Option<troupe_store::Shared>,
) -> Result<(Config, Option<troupe_pool::Mirror>)> {
    let control_store = crate::console_ca::control_store(&r.store, shared.as_ref())?;
    let mirror = match shared {
        Some(shared) => {
            let ssldir = r
                .ssldir
                .get_or_insert_with(|| PathBuf::from(DEFAULT_SSLDIR))
                .clone();
            let m = troupe_pool::Mirror::start(shared, &ssldir)
                .map_err(|e| anyhow!("the pool's files: {e}"))?;
            r.certname.get_or_insert_with(|| m.name().to_string());
            Some(m)
        }
        None => None,
    };
    let files = match (&r.cert, &r.key, &r.ca) {
        (Some(c), Some(k), Some(ca)) => Files {
            cert: c.clone(),
            key: k.clone(),
            ca: ca.clone(),
            crl: r.crl.clone(),
        },
        _ => {
            let ssldir = r.ssldir.clone().ok_or_else(|| {
                anyhow!("give --ssldir and --certname, or --cert, --key and --ca-cert")
            })?;
            let name = r
                .certname
                .clone()
                .ok_or_else(|| anyhow!("give --certname with --ssldir"))?;
            Files {
                cert: r
                    .cert
                    .clone()
                    .unwrap_or_else(|| ssldir.join("certs").join(format!("{name}.pem"))),
                key: r
                    .key
                    .clone()
                    .unwrap_or_else(|| ssldir.join("private_keys").join(format!("{name}.pem"))),
                ca: r.ca.clone().unwrap_or_else(|| ssldir.join("certs/ca.pem")),
                crl: r
                    .crl
                    .clone()
                    .or_else(|| Some(ssldir.join("crl.pem")).filter(|p| p.exists())),
            }
        }
    };
    let listen = if r.listen.is_empty() {
        vec![SocketAddr::from(([0, 0, 0, 0], 8140))]
    } else {
        std::mem::take(&mut r.listen)
    };
    let mut c = Config::new(listen, std::mem::take(&mut r.backend), files);
    limits(&mut c, &r)?;
    c.backend_server_name = r.backend_server_name;
    if let Some(b) = r.balance {
        c.balance = match b.as_str() {
            "round-robin" | "roundrobin" => Balance::RoundRobin,
            "least-outstanding" | "leastconn" => Balance::LeastOutstanding,
            other => bail!("balance '{other}': use round-robin or least-outstanding"),
        };
    }
    if let Some(s) = r.check_interval {
        c.check_interval = Duration::from_secs_f64(s.max(0.05));
    }
    c.health_listen = r.health_listen;
    if let Some(v) = r.rise {
        c.rise = v;
    }
    if let Some(v) = r.fall {
        c.fall = v;
    }
    if let Some(v) = r.max_in_flight {
        c.max_in_flight = v;
    }
    if let Some(v) = r.retry_after {
        c.retry_after = v;
    }
    if !r.admin.is_empty() {
        c.admin = r.admin;
    }
    c.admin_allow = r.admin_allow;
    c.control_store = control_store;
    c.access_log = r.access_log;
    Ok((c, mirror))
}

/// The connection, body and quarantine limits.
fn limits(c: &mut Config, r: &Raw) -> Result<()> {
    let secs = |name: &str, v: f64| -> Result<Duration> {
        if !v.is_finite() || v <= 0.0 {
            bail!("{name} must be a positive number of seconds, not {v}");
        }
        Duration::try_from_secs_f64(v)
            .map_err(|_| anyhow!("{name} must be a number of seconds a clock can hold, not {v}"))
    };
    if let Some(v) = r.max_connections {
        c.max_connections = v;
    }
    if let Some(v) = r.max_connections_per_source {
        c.max_connections_per_source = v;
    }
    c.reserved_connections = r
        .reserved_connections
        .unwrap_or(c.max_connections / 10)
        .min(c.max_connections);
    if let Some(v) = r.handshake_timeout {
        c.handshake_timeout = secs("handshake_timeout", v)?;
    }
    if let Some(v) = r.header_timeout {
        c.header_timeout = secs("header_timeout", v)?;
    }
    if let Some(v) = r.body_timeout {
        c.body_timeout = secs("body_timeout", v)?;
    }
    if let Some(v) = r.body_min_rate {
        c.body_min_rate = v;
    }
    if let Some(v) = r.max_body_size {
        c.max_body_bytes = v;
    }
    if let Some(v) = r.max_anonymous_body_size {
        c.max_anonymous_body_bytes = v;
    }
    if let Some(v) = r.max_buffered_size {
        c.max_buffered_bytes = v;
    }
    if c.max_buffered_bytes < c.max_body_bytes {
        bail!(
            "max_buffered_size ({}) is smaller than max_body_size ({}): the largest request could never be taken",
            c.max_buffered_bytes,
            c.max_body_bytes
        );
    }
    if let Some(v) = r.quarantine_ttl {
        c.quarantine_ttl = secs("quarantine_ttl", v)?;
    }
    if let Some(v) = r.stall_timeout {
        c.stall_timeout = secs("stall_timeout", v)?;
    }
    if let Some(v) = r.backend_timeout {
        c.backend_timeout = secs("backend_timeout", v)?;
    }
    if let Some(v) = r.queue_timeout {
        // 0: no queue (a request that finds every master saturated is answered 503 at once).
        c.queue_timeout = if v == 0.0 {
            Duration::ZERO
        } else {
            secs("queue_timeout", v)?
        };
    }
    if let Some(v) = r.quarantine_entries {
        c.quarantine_entries = v.max(1);
    }
    if let Some(v) = r.drain_timeout {
        c.drain_timeout = secs("drain_timeout", v)?;
    }
    if let Some(v) = r.keepalive_timeout {
        c.keepalive_timeout = secs("keepalive_timeout", v)?;
    }
    if let Some(v) = r.drain_linger {
        c.drain_linger = Duration::from_secs_f64(v);
    }
    c.listen_on_stdin = r.listen_on_stdin;
    Ok(())
}

pub fn run(a: FrontArgs) -> Result<ExitCode> {
    let (c, _mirror, discovery, view, ca_console) = config_with_pool(a)?;
    // The pool view lives as long as the front (dropped after the drain: this host's summary
    // is withdrawn then).
    let viewer: Arc<Mutex<Option<crate::pool_view::PoolViewer>>> = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&viewer);
    let started = move |state: &Arc<troupe_front::State>| {
        if let Some(ca) = ca_console {
            state.set_ca_console(ca);
        }
        match crate::pool_view::start(Arc::clone(state), view) {
            Ok(v) => {
                if let Ok(mut s) = slot.lock() {
                    *s = Some(v);
                }
            }
            Err(e) => tracing::error!("no pool view on the status page: {e}"),
        }
    };
    match discovery {
        Some((store, host)) => crate::front_discovery::run(c, store, host, started)?,
        None => troupe_front::run_with(c, started).map_err(|e| anyhow!("{e}"))?,
    }
    drop(viewer);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        front: FrontArgs,
    }

    fn file(name: &str, text: &str) -> PathBuf {
        let p =
            std::env::temp_dir().join(format!("troupe-front-conf-{}-{name}", std::process::id()));
        let _ = std::fs::write(&p, text);
        p
    }

    #[test]
    fn config_file_and_flags_combine() {
        let p = file(
            "ok",
            "# front\nlisten = 127.0.0.1:8140\nbackend = 127.0.0.1:18140\nbackend = https://10.0.0.2:8140\ncert = /c.pem\nkey = /k.pem\nca = /ca.pem\nbalance = round-robin\nrise = 3\nadmin = 10.0.0.9\nadmin_allow = 10.1.0.0/16, 192.0.2.7\nbody_timeout = 7.5\nmax_anonymous_body_size = 1000\nquarantine_ttl = 60\n",
        );
        let cli = Cli::parse_from([
            "x",
            "--config",
            p.to_str().unwrap_or_default(),
            "--backend",
            "127.0.0.1:18141",
            "--fall",
            "4",
            "--max-connections-per-source",
            "9",
            "--max-connections",
            "50",
        ]);
        let (c, _) = config(cli.front).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.backends.len(), 3);
        assert!(c.backends[1].tls);
        assert!(c.backends.iter().all(|b| b.local));
        assert_eq!(c.check_interval, Duration::from_millis(250));
        assert_eq!(c.stall_timeout, Duration::from_millis(500));
        assert_eq!(c.backend_timeout, Duration::from_secs(300));
        assert_eq!(c.health_listen, None);
        assert_eq!((c.rise, c.fall), (3, 4));
        assert_eq!(c.balance, Balance::RoundRobin);
        assert_eq!(c.body_timeout, Duration::from_millis(7500));
        assert_eq!(c.max_anonymous_body_bytes, 1000);
        assert_eq!(c.quarantine_ttl, Duration::from_secs(60));
        assert_eq!(
            (
                c.max_connections,
                c.max_connections_per_source,
                c.reserved_connections
            ),
            (50, 9, 5)
        );
        assert_eq!(c.handshake_timeout, Duration::from_secs(5));
        assert_eq!(
            c.admin,
            vec!["10.0.0.9"
                .parse::<IpAddr>()
                .unwrap_or(IpAddr::from([0, 0, 0, 0]))]
        );
        assert_eq!(c.admin_allow.len(), 2);
        assert!(c.admin_allow[0].contains(IpAddr::from([10, 1, 2, 3])));
        assert!(c.control_store.is_none(), "no store: memory only");
        let _ = std::fs::remove_file(p);
        let bad = file(
            "admin-allow",
            "admin_allow = 10.0.0.0/40\nbackend = 127.0.0.1:1\n",
        );
        let cli = Cli::parse_from(["x", "--config", bad.to_str().unwrap_or_default()]);
        let e = config(cli.front).expect_err("a bad prefix").to_string();
        assert!(e.contains("admin_allow") && e.contains("0 to 32"), "{e}");
        let _ = std::fs::remove_file(bad);
    }

    #[test]
    fn health_listen_stall_timeout_and_remote_backends() {
        let p = file(
            "health",
            "backend = 127.0.0.1:18140\nremote_backend = https://10.0.0.2:8140\nhealth_listen = 127.0.0.1:8141\nstall_timeout = 0.8\nbackend_timeout = 120\nqueue_timeout = 5\ncheck_interval = 0.1\ncert = /c.pem\nkey = /k.pem\nca = /ca.pem\n",
        );
        let cli = Cli::parse_from([
            "x",
            "--config",
            p.to_str().unwrap_or_default(),
            "--remote-backend",
            "10.0.0.3:8140",
        ]);
        let (c, _) = config(cli.front).unwrap_or_else(|e| panic!("{e}"));
        let locals: Vec<(bool, bool)> = c.backends.iter().map(|b| (b.tls, b.local)).collect();
        assert_eq!(locals, vec![(false, true), (true, false), (false, false)]);
        assert_eq!(c.health_listen, "127.0.0.1:8141".parse().ok());
        assert_eq!(c.stall_timeout, Duration::from_millis(800));
        assert_eq!(c.backend_timeout, Duration::from_secs(120));
        assert_eq!(c.queue_timeout, Duration::from_secs(5));
        assert_eq!(c.check_interval, Duration::from_millis(100));
        for (text, want) in [
            ("stall_timeout = 0\n", "stall_timeout must be a positive number of seconds"),
            ("stall_timeout = 1e300\n", "stall_timeout must be a number of seconds a clock can hold, not 1000000000"),
            ("queue_timeout = -1\n", "line 1: setting 'queue_timeout' must be a number of seconds"),
            ("health_listen = localhost\n", "line 1: setting 'health_listen' must be ADDR:PORT, not 'localhost'"),
            ("remote_backend = nowhere\n", "line 1: setting 'remote_backend' must be ADDR:PORT or https://ADDR:PORT, not 'nowhere'"),
        ] {
            let q = file("health-bad", &format!("{text}backend = 127.0.0.1:1\ncert = /c\nkey = /k\nca = /ca\n"));
            let cli = Cli::parse_from(["x", "--config", q.to_str().unwrap_or_default()]);
            let e = config(cli.front)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(want), "{text}: {e}");
            let _ = std::fs::remove_file(q);
        }
        let _ = std::fs::remove_file(p);
    }

    #[test]
    fn config_errors_name_file_line_and_setting() {
        let p = file("bad", "backend = 127.0.0.1:1\nrise = lots\n");
        let cli = Cli::parse_from(["x", "--config", p.to_str().unwrap_or_default()]);
        let e = config(cli.front)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.ends_with("line 2: setting 'rise' must be a count, not 'lots'"),
            "{e}"
        );
        let p2 = file("unknown", "colour = blue\n");
        let cli = Cli::parse_from(["x", "--config", p2.to_str().unwrap_or_default()]);
        let e = config(cli.front)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.ends_with("line 1: unknown setting 'colour'"), "{e}");
        let _ = std::fs::remove_file(p);
        let _ = std::fs::remove_file(p2);
    }

    #[test]
    fn store_settings_are_checked() {
        let p = file(
            "store",
            "backend = 127.0.0.1:1\nssldir = /s\ncertname = f\nstore_ca_cert = /ca.pem\n",
        );
        let cli = Cli::parse_from(["x", "--config", p.to_str().unwrap_or_default()]);
        let e = config(cli.front)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("store_ca_cert = \"/ca.pem\" applies only to an etcd store"),
            "{e}"
        );
        let p2 = file("store-bad", "store = etcd://h1\n");
        let cli = Cli::parse_from(["x", "--config", p2.to_str().unwrap_or_default()]);
        let e = config(cli.front)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("endpoint \"h1\" is not HOST:PORT"), "{e}");
        let _ = std::fs::remove_file(p);
        let _ = std::fs::remove_file(p2);
    }
}
