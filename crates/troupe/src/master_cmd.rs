//! `troupe master`: flags, or a config file with Puppet's setting names; flags win.

use anyhow::{anyhow, bail, Result};
use clap::Args;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use troupe_master::Config;

#[derive(Debug, Args)]
pub struct MasterArgs {
    /// A config file of `setting = value` lines (Puppet's names: codedir, ssldir, certname,
    /// dns_alt_names, autosign, ca_ttl, ...; and the store settings: store = etcd://...,
    /// join_secret_file, store_ca_cert, store_cert, store_key, store_prefix); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on (default 0.0.0.0:8140).
    #[arg(long)]
    listen: Option<SocketAddr>,
    #[arg(long)]
    codedir: Option<PathBuf>,
    #[arg(long)]
    environmentpath: Option<PathBuf>,
    /// Colon-separated module directories shared by every environment.
    #[arg(long)]
    basemodulepath: Option<String>,
    #[arg(long)]
    hiera_config: Option<PathBuf>,
    /// How long an environment's code is reused without looking at the disk after its last
    /// compile (Puppet's `environment_timeout`: 0, seconds, 30s/3m/2h/1d/1y, unlimited);
    /// `DELETE /puppet-admin-api/v1/environment-cache` flushes it.
    #[arg(long)]
    environment_timeout: Option<String>,
    /// Puppet's ssldir: certs/, private_keys/, crl.pem (and ca/ unless --cadir says otherwise).
    #[arg(long)]
    ssldir: Option<PathBuf>,
    /// The CA directory (default <ssldir>/ca).
    #[arg(long)]
    cadir: Option<PathBuf>,
    /// Run without a CA (another master, or an external CA, issues certificates).
    #[arg(long)]
    no_ca: bool,
    /// `true`, `false`, a whitelist file of names and `*.domain` globs, or an executable.
    #[arg(long)]
    autosign: Option<String>,
    /// This master's certificate name.
    #[arg(long)]
    certname: Option<String>,
    /// Comma-separated alt names for this master's certificate (`DNS:` is implied; `IP:` allowed).
    #[arg(long)]
    dns_alt_names: Option<String>,
    /// Lifetime of issued certificates (Puppet durations: 5y, 30d, 12h, 60m, 3600s or seconds).
    #[arg(long)]
    ca_ttl: Option<String>,
    /// Lifetime of each CRL; it is re-issued when a quarter is left.
    #[arg(long)]
    crl_ttl: Option<String>,
    /// RSA key size for keys the CA generates.
    #[arg(long)]
    keylength: Option<usize>,
    /// Pending certificate requests kept at most; further new ones get 503 + Retry-After.
    #[arg(long)]
    max_pending_csrs: Option<usize>,
    /// Serve plain HTTP (behind a front) instead of HTTPS.
    #[arg(long)]
    plain_http: bool,
    /// An address whose X-Client-* identity headers are trusted (repeatable). Over plain HTTP
    /// it may impersonate any node (never a CA administrator); over HTTPS it only narrows
    /// --trusted-front to these addresses.
    #[arg(long = "trusted-proxy")]
    trusted_proxy: Vec<IpAddr>,
    /// Where reports are stored (default <ssldir>/../reports).
    #[arg(long)]
    reportdir: Option<PathBuf>,
    /// Compile worker threads (default: the number of cores).
    #[arg(long)]
    workers: Option<usize>,
    /// Catalog requests that may wait for a worker before 503 + Retry-After.
    #[arg(long)]
    max_queued: Option<usize>,
    /// Wall time one compile may take (60s, 500ms, 2m; 0: unlimited). Default 60s.
    #[arg(long)]
    compile_timeout: Option<String>,
    /// Memory one compile may hold (1g, 512m; 0: unlimited). Default 1g.
    #[arg(long)]
    compile_memory_limit: Option<String>,
    /// Where the pool's fronts reach this master: http://HOST:PORT or https://HOST:PORT
    /// (default: from --listen unless it is a wildcard address). Used on an etcd store.
    #[arg(long)]
    advertise: Option<String>,
    /// The host name masters are grouped by in the pool (default: this machine's host name).
    #[arg(long)]
    pool_host: Option<String>,
    /// Puppet's code_id_command: prints the code id of the environment given as its argument.
    #[arg(long)]
    code_id_command: Option<PathBuf>,
    #[command(flatten)]
    limits: Box<LimitArgs>,
}

/// Trusted fronts and the connection, rate and report limits.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Certname of a front whose verified client certificate may carry identity headers
    /// (HTTPS masters; repeatable or comma-separated).
    #[arg(long = "trusted-front")]
    trusted_front: Vec<String>,
    /// Client connections open at once (default 4096).
    #[arg(long)]
    max_connections: Option<String>,
    /// Connections without a verified certificate / from untrusted addresses (default 1024).
    #[arg(long)]
    max_anonymous_connections: Option<String>,
    /// Connections one address may hold; trusted proxies are exempt (default 256).
    #[arg(long)]
    max_connections_per_source: Option<String>,
    /// Time to finish the TLS handshake (default 5s).
    #[arg(long)]
    handshake_timeout: Option<String>,
    /// Time to send a request's headers (default 10s).
    #[arg(long)]
    header_read_timeout: Option<String>,
    /// Time to send a request body (default 60s).
    #[arg(long)]
    body_timeout: Option<String>,
    /// Certificate requests per source address per minute (default 30; 0: no limit).
    #[arg(long)]
    csr_rate_limit: Option<String>,
    /// Largest report (default 32MiB).
    #[arg(long)]
    report_max_size: Option<String>,
    /// Reports per node per minute (default 10; 0: no limit).
    #[arg(long)]
    report_rate_limit: Option<String>,
    /// Reports kept per node (default 100; 0: all).
    #[arg(long)]
    report_keep: Option<String>,
    /// How long reports are kept (default 14d; 0: for ever).
    #[arg(long)]
    report_ttl: Option<String>,
    /// Free space kept on the report volume, a size or a percentage (default 1GiB).
    #[arg(long)]
    report_min_free: Option<String>,
}

/// Sets a limit setting; false when `key` is not one.
fn set_limit(l: &mut troupe_master::limits::Settings, key: &str, v: &str) -> Result<bool> {
    use troupe_master::limits::{parse_size, FreeSpace};
    let num = || -> Result<usize> {
        v.trim()
            .parse()
            .map_err(|_| anyhow!("setting '{key}' must be a number, not '{v}'"))
    };
    let secs = || -> Result<u64> {
        let d = duration(v).map_err(|e| anyhow!("setting '{key}': {e}"))?;
        u64::try_from(d).map_err(|_| anyhow!("setting '{key}' must not be negative"))
    };
    let per_minute = || -> Result<u32> {
        v.trim()
            .parse()
            .map_err(|_| anyhow!("setting '{key}' must be a number per minute, not '{v}'"))
    };
    match key {
        "max_connections" => l.max_connections = num()?.max(1),
        "max_anonymous_connections" => l.max_anonymous_connections = num()?,
        "max_connections_per_source" => l.max_connections_per_source = num()?.max(1),
        "handshake_timeout" => l.handshake_timeout = secs()?.max(1),
        "header_read_timeout" => l.header_read_timeout = secs()?.max(1),
        "body_timeout" => l.body_timeout = secs()?.max(1),
        "csr_rate_limit" => l.csr_rate_limit = per_minute()?,
        "report_rate_limit" => l.report_rate_limit = per_minute()?,
        "report_max_size" => {
            l.report_max_size = parse_size(v)
                .map_err(|e| anyhow!("setting '{key}': {e}"))?
                .try_into()
                .map_err(|_| anyhow!("setting '{key}': '{v}' is too large"))?
        }
        "report_keep" => l.report_keep = num()?,
        "report_ttl" => l.report_ttl = secs()?,
        "report_min_free" => {
            l.report_min_free = FreeSpace::parse(v).map_err(|e| anyhow!("setting '{key}': {e}"))?
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// `5y`, `30d`, `12h`, `60m`, `3600s`, `3600`.
pub fn duration(s: &str) -> Result<i64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| anyhow!("'{s}' is not a duration (e.g. 5y, 30d, 12h, 3600)"))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        "y" => 31_536_000,
        _ => bail!("'{s}' is not a duration (e.g. 5y, 30d, 12h, 3600)"),
    };
    Ok(n * mult)
}

fn bool_value(key: &str, v: &str) -> Result<bool> {
    match v {
        "true" | "yes" => Ok(true),
        "false" | "no" => Ok(false),
        _ => bail!("setting '{key}' must be true or false, not '{v}'"),
    }
}

/// Which settings the config file gave (they win over the pool's defaults).
#[derive(Debug, Default)]
pub(crate) struct Given {
    pub(crate) cadir: bool,
    pub(crate) certname: bool,
    pub(crate) reportdir: bool,
    pub(crate) max_queued: bool,
}

/// Reads `key = value` lines into the config.
fn apply_file(
    c: &mut Config,
    path: &std::path::Path,
    given: &mut Given,
    store: &mut troupe_store::StoreSettings,
) -> Result<()> {
    crate::settings_file::read(path, |k, v| {
        if store.set(k, v) {
            return Ok(());
        }
        apply_setting(c, given, k, v)
    })
}

/// Applies one master setting (not a store setting) to the config; `troupe node` shares it.
pub(crate) fn apply_setting(c: &mut Config, given: &mut Given, k: &str, v: &str) -> Result<()> {
    {
        match k {
            "listen" => {
                c.listen = v
                    .parse()
                    .map_err(|_| anyhow!("setting 'listen' must be ADDR:PORT, not '{v}'"))?
            }
            "codedir" => c.codedir = v.into(),
            "environmentpath" => c.environmentpath = Some(v.into()),
            "basemodulepath" => c.basemodulepath = Some(v.split(':').map(PathBuf::from).collect()),
            "hiera_config" => c.hiera_config = Some(v.into()),
            "environment_timeout" => c.environment_timeout = environment_timeout(v)?,
            "ssldir" => {
                c.ssldir = v.into();
                // Reports go next to the ssldir unless a reportdir is given.
                if !given.reportdir {
                    c.reportdir = c.ssldir.parent().unwrap_or(&c.ssldir).join("reports");
                }
            }
            "cadir" => {
                c.cadir = Some(v.into());
                given.cadir = true;
            }
            "ca" => {
                if !bool_value(k, v)? {
                    c.cadir = None;
                    given.cadir = true;
                }
            }
            "certname" => {
                c.certname = v.into();
                given.certname = true;
            }
            "dns_alt_names" => c.dns_alt_names = split_list(v),
            "autosign" => c.autosign = v.into(),
            "ca_ttl" => c.ca_ttl = duration(v).map_err(|e| anyhow!("setting 'ca_ttl': {e}"))?,
            "crl_ttl" => c.crl_ttl = duration(v).map_err(|e| anyhow!("setting 'crl_ttl': {e}"))?,
            "keylength" => {
                c.keylength = v
                    .parse()
                    .map_err(|_| anyhow!("setting 'keylength' must be a number, not '{v}'"))?
            }
            "max_pending_csrs" => {
                c.max_pending_csrs = v.parse().map_err(|_| {
                    anyhow!("setting 'max_pending_csrs' must be a number, not '{v}'")
                })?
            }
            "plain_http" => c.plain_http = bool_value(k, v)?,
            "trusted_proxy" => {
                for a in split_list(v) {
                    c.trusted_proxies.push(a.parse().map_err(|_| {
                        anyhow!("setting 'trusted_proxy': '{a}' is not an IP address")
                    })?);
                }
            }
            "reportdir" => {
                c.reportdir = v.into();
                given.reportdir = true;
            }
            "workers" => {
                let n: usize = v
                    .parse()
                    .map_err(|_| anyhow!("setting 'workers' must be a number, not '{v}'"))?;
                c.workers = n.max(1);
                // The queue follows the workers unless it is set itself.
                if !given.max_queued {
                    c.max_queued = c.workers * troupe_master::QUEUE_PER_WORKER;
                }
            }
            "max_queued" => {
                c.max_queued = v
                    .parse()
                    .map_err(|_| anyhow!("setting 'max_queued' must be a number, not '{v}'"))?;
                given.max_queued = true;
            }
            "compile_timeout" => {
                c.compile_timeout = troupe_eval::limits::parse_timeout(v)
                    .map_err(|e| anyhow!("setting 'compile_timeout': {e}"))?
            }
            "compile_memory_limit" => {
                c.compile_memory_limit = troupe_eval::limits::parse_size(v)
                    .map_err(|e| anyhow!("setting 'compile_memory_limit': {e}"))?
            }
            "allow_subject_alt_names" => c.allow_subject_alt_names = bool_value(k, v)?,
            "allow_authorization_extensions" => {
                c.allow_authorization_extensions = bool_value(k, v)?
            }
            "trusted_front" => c.trusted_fronts.extend(split_list(v)),
            "advertise" => c.advertise = Some(v.trim().to_string()),
            "pool_host" => c.pool_host = Some(v.trim().to_string()),
            "code_id_command" => c.code_id_command = Some(v.trim().into()),
            "reports" => {
                troupe_master::report_processors::parse(v).map_err(|e| anyhow!("{e}"))?;
                c.reports = v.trim().to_string()
            }
            "reporturl" => c.reporturl = v.trim().to_string(),
            "storeconfigs" => c.storeconfigs = bool_value(k, v)?,
            "storeconfigs_backend" => c.storeconfigs_backend = v.trim().to_string(),
            "puppetdb_conf" => c.puppetdb_conf = Some(v.trim().into()),
            "puppetdb_queue" => c.puppetdb_queue = Some(v.trim().into()),
            "puppetdb_queue_limit" => {
                c.puppetdb_queue_limit = v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    anyhow!("setting 'puppetdb_queue_limit' must be a number above 0, not '{v}'")
                })?
            }
            "node_terminus" => c.node_terminus = v.trim().to_string(),
            "external_nodes" => c.external_nodes = v.trim().to_string(),
            "external_nodes_timeout" => {
                c.external_nodes_timeout = troupe_eval::limits::parse_timeout(v)
                    .map_err(|e| anyhow!("setting '{k}': {e}"))?
                    .ok_or_else(|| anyhow!("setting '{k}' must be more than 0"))?
            }
            "ruby" => c.ruby = v.trim().into(),
            "ruby_helpers" => {
                c.ruby_helpers = v
                    .parse()
                    .map_err(|_| anyhow!("setting 'ruby_helpers' must be a number, not '{v}'"))?
            }
            "code_version_refresh" | "registration_ttl" | "registration_keepalive" => {
                let d = troupe_eval::limits::parse_timeout(v)
                    .map_err(|e| anyhow!("setting '{k}': {e}"))?
                    .ok_or_else(|| anyhow!("setting '{k}' must be more than 0"))?;
                match k {
                    "code_version_refresh" => c.code_version_refresh = d,
                    "registration_ttl" => {
                        if d.subsec_nanos() != 0 {
                            bail!("setting 'registration_ttl' must be whole seconds (an etcd lease), not '{v}'");
                        }
                        c.registration_ttl = d
                    }
                    _ => c.registration_keepalive = d,
                }
            }
            other => {
                if !set_limit(&mut c.limits, other, v)? {
                    bail!("unknown setting '{other}'")
                }
            }
        }
        Ok(())
    }
}

fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

pub(crate) fn default_certname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_lowercase())
        .unwrap_or_else(|_| "puppet".into())
}

/// Puppet's `environment_timeout` forms, with Puppet's message for others.
fn environment_timeout(v: &str) -> Result<troupe_compiler::EnvironmentTimeout> {
    troupe_compiler::EnvironmentTimeout::parse(v, "environment_timeout").map_err(|e| anyhow!(e))
}

/// The config, and whether a certname was given (by the file or a flag).
pub fn config(a: MasterArgs) -> Result<(Config, bool)> {
    let mut c = Config::new(
        PathBuf::from("/etc/puppet/code"),
        PathBuf::from("/var/lib/troupe/ssl"),
        default_certname(),
    );
    let mut given = Given::default();
    let mut store = troupe_store::StoreSettings::default();
    if let Some(f) = &a.config {
        apply_file(&mut c, f, &mut given, &mut store)?;
        // `store = dir:PATH` is the CA directory; `store = etcd://...` puts the CA in etcd.
        store
            .to_config(std::path::Path::new(""))
            .map_err(|e| anyhow!("{}: {e}", f.display()))?;
        if let Some(dir) = store.dir_path() {
            c.cadir = Some(dir);
            given.cadir = true;
        }
        c.shared = store
            .open_shared()
            .map_err(|e| anyhow!("{}: {e}", f.display()))?;
    }
    let mut cadir_set = given.cadir;
    if let Some(v) = a.listen {
        c.listen = v;
    }
    if let Some(v) = a.codedir {
        c.codedir = v;
    }
    if a.environmentpath.is_some() {
        c.environmentpath = a.environmentpath;
    }
    if let Some(v) = a.basemodulepath {
        c.basemodulepath = Some(v.split(':').map(PathBuf::from).collect());
    }
    if a.hiera_config.is_some() {
        c.hiera_config = a.hiera_config;
    }
    if let Some(v) = &a.environment_timeout {
        c.environment_timeout = environment_timeout(v)?;
    }
    let ssldir_given = a.ssldir.is_some();
    if let Some(v) = a.ssldir {
        c.ssldir = v;
    }
    if let Some(v) = a.cadir {
        c.cadir = Some(v);
        cadir_set = true;
    }
    if !cadir_set {
        c.cadir = Some(c.ssldir.join("ca"));
    }
    if a.no_ca {
        c.cadir = None;
    }
    if let Some(v) = a.autosign {
        c.autosign = v;
    }
    if let Some(v) = a.certname {
        c.certname = v;
        given.certname = true;
    }
    if let Some(v) = a.dns_alt_names {
        c.dns_alt_names = split_list(&v);
    }
    if let Some(v) = a.ca_ttl {
        c.ca_ttl = duration(&v)?;
    }
    if let Some(v) = a.crl_ttl {
        c.crl_ttl = duration(&v)?;
    }
    if let Some(v) = a.keylength {
        c.keylength = v;
    }
    if let Some(v) = a.max_pending_csrs {
        c.max_pending_csrs = v;
    }
    c.plain_http |= a.plain_http;
    c.trusted_proxies.extend(a.trusted_proxy);
    if let Some(v) = a.reportdir {
        c.reportdir = v;
    } else if ssldir_given && !given.reportdir {
        c.reportdir = c.ssldir.parent().unwrap_or(&c.ssldir).join("reports");
    }
    if let Some(v) = a.workers {
        c.workers = v.max(1);
        if !given.max_queued {
            c.max_queued = c.workers * troupe_master::QUEUE_PER_WORKER;
        }
    }
    if let Some(v) = a.max_queued {
        c.max_queued = v;
    }
    if let Some(v) = a.compile_timeout {
        c.compile_timeout = troupe_eval::limits::parse_timeout(&v)
            .map_err(|e| anyhow!("--compile-timeout: {e}"))?;
    }
    if let Some(v) = a.compile_memory_limit {
        c.compile_memory_limit = troupe_eval::limits::parse_size(&v)
            .map_err(|e| anyhow!("--compile-memory-limit: {e}"))?;
    }
    let l = &a.limits;
    for f in &l.trusted_front {
        c.trusted_fronts.extend(split_list(f));
    }
    for (key, v) in [
        ("max_connections", &l.max_connections),
        ("max_anonymous_connections", &l.max_anonymous_connections),
        ("max_connections_per_source", &l.max_connections_per_source),
        ("handshake_timeout", &l.handshake_timeout),
        ("header_read_timeout", &l.header_read_timeout),
        ("body_timeout", &l.body_timeout),
        ("csr_rate_limit", &l.csr_rate_limit),
        ("report_max_size", &l.report_max_size),
        ("report_rate_limit", &l.report_rate_limit),
        ("report_keep", &l.report_keep),
        ("report_ttl", &l.report_ttl),
        ("report_min_free", &l.report_min_free),
    ] {
        if let Some(v) = v {
            set_limit(&mut c.limits, key, v)?;
        }
    }
    if a.advertise.is_some() {
        c.advertise = a.advertise;
    }
    if a.pool_host.is_some() {
        c.pool_host = a.pool_host;
    }
    if a.code_id_command.is_some() {
        c.code_id_command = a.code_id_command;
    }
    crate::master_registry::check(&c)?;
    c.classifier().map_err(|e| anyhow!("{e}"))?;
    troupe_ca::valid_name(&c.certname).map_err(|e| anyhow!("certname '{}': {e}", c.certname))?;
    Ok((c, given.certname))
}

pub fn run(a: MasterArgs) -> Result<ExitCode> {
    let (mut c, certname_given) = config(a)?;
    // On a shared store the mirror keeps the ssldir in step with it (CA certificate, CRL, pool
    // certificate and key); the master serves with the pool certificate unless a certname
    // was given.
    if let Some(shared) = &c.shared {
        first_start(&c, shared, certname_given)?;
    }
    let _mirror = match &c.shared {
        Some(shared) => {
            let m = troupe_pool::Mirror::start(shared.clone(), &c.ssldir)
                .map_err(|e| anyhow!("the pool's files: {e}"))?;
            if !certname_given {
                c.certname = m.name().to_string();
            }
            Some(m)
        }
        None => None,
    };
    // On an etcd store the master registers itself once it listens, for the pool's fronts.
    let pool = c.clone();
    troupe_master::run_with(c, move |l| crate::master_registry::register(&pool, l))
        .map_err(|e| anyhow!("{e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// The first start on an empty shared store, with this host's join secret and a CA: creates
/// the pool as `troupe pool init` does (the CA, and the pool certificate for the certname given,
/// or `puppet`, with `dns_alt_names`), under the pool lock, so exactly one host of several
/// starting at once does it and the others use what it made.
fn first_start(c: &Config, shared: &troupe_store::Shared, certname_given: bool) -> Result<()> {
    let (Some(secret), Some(cadir)) = (&shared.secret, &c.cadir) else {
        return Ok(());
    };
    let pool = troupe_pool::PoolStore::from(shared.clone());
    match pool.state() {
        Err(troupe_pool::PoolError::NotInitialized) => {}
        _ => return Ok(()),
    }
    let name = if certname_given {
        c.certname.clone()
    } else {
        "puppet".to_string()
    };
    let outcome = troupe_pool::init(
        &pool,
        troupe_pool::InitOptions {
            name,
            alt_names: c.dns_alt_names.clone(),
            ecdsa: true,
            import: None,
            ca: c.ca_settings(cadir.clone()),
            secret: secret.clone(),
            secret_out: None,
        },
    )
    .map_err(|e| anyhow!("creating the pool on the empty store: {e}"))?;
    if let troupe_pool::InitOutcome::Created {
        name, secret_id, ..
    } = outcome
    {
        tracing::info!(
            pool = %name,
            "the store was empty: created the pool's CA and the pool certificate for {name} (join secret id {secret_id})"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!(
            "troupe-master-conf-{}-{}",
            std::process::id(),
            text.len()
        ));
        let _ = std::fs::write(&p, text);
        p
    }

    #[test]
    fn reports_follow_the_ssldir_unless_a_reportdir_is_given() {
        let mut c = Config::new("/x".into(), "/var/lib/troupe/ssl".into(), "z".into());
        let p = file("ssldir = /srv/a/ssl\n");
        apply_file(&mut c, &p, &mut Given::default(), &mut Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.reportdir, PathBuf::from("/srv/a/reports"));
        let mut c = Config::new("/x".into(), "/var/lib/troupe/ssl".into(), "z".into());
        let p = file("reportdir = /srv/r\nssldir = /srv/a/ssl\n");
        apply_file(&mut c, &p, &mut Given::default(), &mut Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.reportdir, PathBuf::from("/srv/r"));
    }

    #[test]
    fn the_compile_queue_follows_the_workers_unless_it_is_set() {
        let queue = |text: &str| {
            let mut c = Config::new("/x".into(), "/y".into(), "z".into());
            let p = file(text);
            apply_file(&mut c, &p, &mut Given::default(), &mut Default::default())
                .unwrap_or_else(|e| panic!("{e}"));
            let _ = std::fs::remove_file(p);
            (c.workers, c.max_queued)
        };
        let per = troupe_master::QUEUE_PER_WORKER;
        assert_eq!(queue("workers = 4\n"), (4, 4 * per));
        assert_eq!(queue("workers = 0\n"), (1, per));
        assert_eq!(queue("max_queued = 7\nworkers = 4\n"), (4, 7));
        assert_eq!(queue("workers = 4\nmax_queued = 7\n"), (4, 7));
    }

    #[test]
    fn config_file_sets_compile_limits() {
        let mut c = Config::new("/x".into(), "/y".into(), "z".into());
        assert_eq!(c.compile_timeout, Some(std::time::Duration::from_secs(60)));
        assert_eq!(c.compile_memory_limit, Some(1 << 30));
        let p = file("compile_timeout = 90s\ncompile_memory_limit = 512m\n");
        apply_file(&mut c, &p, &mut Given::default(), &mut Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.compile_timeout, Some(std::time::Duration::from_secs(90)));
        assert_eq!(c.compile_memory_limit, Some(512 << 20));
        let _ = std::fs::remove_file(p);
        let p = file("compile_timeout = never\n");
        let e = apply_file(&mut c, &p, &mut Given::default(), &mut Default::default())
            .expect_err("refused");
        assert!(e.to_string().contains("compile_timeout"), "{e}");
        let _ = std::fs::remove_file(p);
    }

    #[test]
    fn config_file_sets_the_environment_timeout() {
        use troupe_compiler::EnvironmentTimeout as T;
        let mut c = Config::new("/x".into(), "/y".into(), "z".into());
        assert_eq!(c.compiler_settings().environment_timeout, T::Seconds(0));
        for (v, want) in [
            ("3m", T::Seconds(180)),
            ("unlimited", T::Unlimited),
            ("0", T::Seconds(0)),
        ] {
            let p = file(&format!("environment_timeout = {v}\n"));
            apply_file(&mut c, &p, &mut Given::default(), &mut Default::default())
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(c.compiler_settings().environment_timeout, want, "{v}");
            let _ = std::fs::remove_file(p);
        }
        let p = file("environment_timeout = soon\n");
        let e = apply_file(&mut c, &p, &mut Given::default(), &mut Default::default())
            .expect_err("refused");
        assert!(
            e.to_string().contains(
                "Invalid 'time to live' format '\"soon\"' for parameter: environment_timeout"
            ),
            "{e}"
        );
        let _ = std::fs::remove_file(p);
    }

    #[test]
    fn config_file_sizes_the_ruby_helpers() {
        let mut c = Config::new("/x".into(), "/y".into(), "z".into());
        let pool = c.compiler_settings().ruby.expect("helpers by default");
        assert_eq!(pool.config().max_helpers, 2);
        assert_eq!(pool.config().ruby, PathBuf::from("ruby"));
        let p = file(
            "ruby = /opt/ruby/bin/ruby
ruby_helpers = 4
",
        );
        apply_file(&mut c, &p, &mut Given::default(), &mut Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let pool = c.compiler_settings().ruby.expect("helpers");
        assert_eq!(pool.config().max_helpers, 4);
        assert_eq!(pool.config().ruby, PathBuf::from("/opt/ruby/bin/ruby"));
        let _ = std::fs::remove_file(p);
        let p = file(
            "ruby_helpers = 0
",
        );
        apply_file(&mut c, &p, &mut Given::default(), &mut Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(c.compiler_settings().ruby.is_none(), "0 turns them off");
        let _ = std::fs::remove_file(p);
        let p = file(
            "ruby_helpers = many
",
        );
        let e = apply_file(&mut c, &p, &mut Given::default(), &mut Default::default())
            .expect_err("refused");
        assert!(
            e.to_string()
                .contains("setting 'ruby_helpers' must be a number"),
            "{e}"
        );
        let _ = std::fs::remove_file(p);
    }

    #[test]
    fn config_file_sets_puppet_settings() {
        let p = file("[server]\n# comment\ncodedir = /srv/code\nssldir=/srv/ssl\ncertname = m1.example.test\ndns_alt_names = puppet, localhost\nautosign = true\nca_ttl = 30d\ntrusted_proxy = 127.0.0.1, 10.0.0.1\nplain_http = yes\n");
        let mut c = Config::new("/x".into(), "/y".into(), "z".into());
        let mut given = Given::default();
        apply_file(&mut c, &p, &mut given, &mut Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.codedir, PathBuf::from("/srv/code"));
        assert_eq!(c.certname, "m1.example.test");
        assert_eq!(c.dns_alt_names, vec!["puppet", "localhost"]);
        assert_eq!(c.ca_ttl, 30 * 86400);
        assert_eq!(c.trusted_proxies.len(), 2);
        assert!(c.plain_http);
        let _ = std::fs::remove_file(p);
    }

    #[test]
    fn config_file_sets_limits() {
        let p = file("trusted_front = front1.example.test, front2.example.test\nreport_max_size = 8MiB\nreport_min_free = 5%\nreport_ttl = 7d\nreport_keep = 20\ncsr_rate_limit = 0\nhandshake_timeout = 3\nmax_connections_per_source = 16\n");
        let mut c = Config::new("/x".into(), "/y".into(), "z".into());
        apply_file(&mut c, &p, &mut Given::default(), &mut Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.trusted_fronts,
            vec!["front1.example.test", "front2.example.test"]
        );
        assert_eq!(c.limits.report_max_size, 8 << 20);
        assert_eq!(
            c.limits.report_min_free,
            troupe_master::limits::FreeSpace::Percent(5.0)
        );
        assert_eq!(c.limits.report_ttl, 7 * 86400);
        assert_eq!(c.limits.report_keep, 20);
        assert_eq!(c.limits.csr_rate_limit, 0);
        assert_eq!(c.limits.handshake_timeout, 3);
        assert_eq!(c.limits.max_connections_per_source, 16);
        let p2 = file("report_min_free = lots\n");
        let e = apply_file(&mut c, &p2, &mut Given::default(), &mut Default::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("setting 'report_min_free'"), "{e}");
        let _ = std::fs::remove_file(p);
        let _ = std::fs::remove_file(p2);
    }

    #[test]
    fn config_errors_name_the_key_and_line() {
        let p = file("codedir = /srv/code\nca_ttl = forever\n");
        let mut c = Config::new("/x".into(), "/y".into(), "z".into());
        let e = apply_file(&mut c, &p, &mut Given::default(), &mut Default::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.ends_with(
                "line 2: setting 'ca_ttl': 'forever' is not a duration (e.g. 5y, 30d, 12h, 3600)"
            ),
            "{e}"
        );
        let p2 = file("bogus_setting = 1\n");
        let e = apply_file(&mut c, &p2, &mut Given::default(), &mut Default::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.ends_with("line 1: unknown setting 'bogus_setting'"),
            "{e}"
        );
        let _ = std::fs::remove_file(p);
        let _ = std::fs::remove_file(p2);
    }
}
