//! `troupe master` in a pool on an etcd store: once it listens it registers itself
//! (`masters/<pool_host>/<ADDR:PORT>` under a lease, see `troupe_pool::registry`) with the
//! version of each environment's code, kept current by a thread; SIGTERM withdraws the
//! registration before the connections are drained. On a `dir` store nothing is registered.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use troupe_master::{Config, Listening};
use troupe_pool::{MasterInfo, Registration, RegistrationSettings};
use troupe_store::Store;

/// Checks the pool settings of a master's config: `advertise` is a URL whose scheme matches
/// `plain_http`, `pool_host` is a valid name, the lease outlives its keep-alive.
pub(crate) fn check(c: &Config) -> Result<()> {
    if let Some(a) = &c.advertise {
        let (tls, _) =
            troupe_pool::registry::parse_advertise(a).map_err(|e| anyhow!("advertise: {e}"))?;
        if tls == c.plain_http {
            bail!(
                "advertise = {a}, but this master serves {} (plain_http = {})",
                if c.plain_http { "plain HTTP" } else { "HTTPS" },
                c.plain_http
            );
        }
    }
    if let Some(h) = &c.pool_host {
        troupe_pool::registry::valid_host(h).map_err(|e| anyhow!("pool_host '{h}': {e}"))?;
    }
    if c.registration_keepalive >= c.registration_ttl {
        bail!(
            "registration_keepalive ({:?}) must be shorter than registration_ttl ({:?})",
            c.registration_keepalive,
            c.registration_ttl
        );
    }
    Ok(())
}

/// `advertise`, or the URL of the address bound when it is not a wildcard.
pub(crate) fn advertise(c: &Config, bound: SocketAddr, tls: bool) -> Option<String> {
    if let Some(a) = &c.advertise {
        return Some(a.clone());
    }
    if bound.ip().is_unspecified() {
        return None;
    }
    Some(format!("{}://{bound}", if tls { "https" } else { "http" }))
}

/// The registration and the thread that keeps its code versions current; dropping it
/// withdraws the registration.
pub(crate) struct Registered {
    reg: Arc<Registration>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        tracing::info!("withdrawing the registration {}", self.reg.key());
        // The last reference: dropping it revokes the lease.
    }
}

/// Registers the master when its config names an etcd store; `None` on a `dir` store or
/// without an address to advertise (logged).
pub(crate) fn register(c: &Config, l: &Listening) -> Option<Registered> {
    let store = match &c.shared {
        Some(s) => match &s.store {
            Store::Etcd(_) => s.store.clone(),
            Store::Dir(_) => return None,
        },
        None => return None,
    };
    let Some(addr) = advertise(c, l.addr, l.tls) else {
        tracing::warn!(
            "not registered in the pool: listen = {} is a wildcard address; set advertise = {}://ADDRESS:{} (the address fronts reach this master at)",
            l.addr,
            if l.tls { "https" } else { "http" },
            l.addr.port()
        );
        return None;
    };
    let host = c
        .pool_host
        .clone()
        .unwrap_or_else(crate::master_cmd::default_certname);
    let settings = RegistrationSettings {
        ttl: c.registration_ttl,
        keepalive: c.registration_keepalive,
    };
    let reg = match Registration::start(&store, MasterInfo::new(&host, &addr), settings) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            tracing::warn!("not registered in the pool: {e}");
            return None;
        }
    };
    tracing::info!(
        "registering as {} (lease {:?})",
        reg.key(),
        c.registration_ttl
    );
    let stop = Arc::new(AtomicBool::new(false));
    let (r, s, versions) = (reg.clone(), stop.clone(), l.code_versions.clone());
    let period = c.code_version_refresh.max(Duration::from_millis(200));
    let thread = std::thread::Builder::new()
        .name("troupe-code-versions".into())
        .spawn(move || {
            let mut next = Instant::now();
            while !s.load(Ordering::SeqCst) {
                if Instant::now() >= next {
                    let now: std::collections::BTreeMap<String, String> = versions
                        .all()
                        .into_iter()
                        .filter_map(|(env, v)| v.ok().map(|id| (env, id)))
                        .collect();
                    r.update(|m| m.code_versions = now);
                    next = Instant::now() + period;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
        .ok();
    Some(Registered { reg, stop, thread })
}
