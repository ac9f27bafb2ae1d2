//! A front on an etcd store balances over every live master of the pool: its configured
//! masters (`backend`, `remote_backend`), plus each master registered in the store
//! (`masters/<pool_host>/<ADDR:PORT>`, under a lease: see `troupe_pool::registry`) that it can
//! reach. Masters of its own `pool_host` are local (preferred); other hosts' are remote (used
//! when no local master can take a request); other hosts' masters advertised on loopback are
//! left out. A host whose lease expires (its masters died or its link is down) drops out of
//! the set at once. `discover = false` keeps the configured masters only.

use anyhow::{anyhow, Result};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use troupe_front::{BackendSpec, Config};
use troupe_pool::{Discovery, DiscoverySettings, Snapshot};
use troupe_store::Store;

/// The masters to balance over: the configured ones, then the pool's usable ones not already
/// among them.
pub fn backends(fixed: &[BackendSpec], snap: &Snapshot, host: &str) -> Vec<BackendSpec> {
    let mut out = fixed.to_vec();
    for m in snap.masters.iter().filter(|m| m.usable_from(host)) {
        let Ok(addr) = m.host_port().parse::<SocketAddr>() else {
            continue;
        };
        let spec = BackendSpec {
            addr,
            tls: m.tls(),
            local: m.is_local(host),
        };
        if !out.iter().any(|b| b.addr == spec.addr && b.tls == spec.tls) {
            out.push(spec);
        }
    }
    out
}

/// Runs the front until SIGTERM with discovery of the pool's masters through `store`;
/// `started` is called first with the front's state once it serves.
pub fn run(
    config: Config,
    store: Store,
    host: String,
    started: impl FnOnce(&Arc<troupe_front::State>),
) -> Result<()> {
    let fixed = config.backends.clone();
    let running: Arc<Mutex<Option<Discovery>>> = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&running);
    troupe_front::run_with(config, move |state| {
        started(state);
        let state = Arc::clone(state);
        let mut last: Vec<BackendSpec> = Vec::new();
        let started = Discovery::start(&store, DiscoverySettings::default(), move |snap| {
            let specs = backends(&fixed, snap, &host);
            if specs == last {
                return;
            }
            let names: Vec<String> = specs
                .iter()
                .map(|b| {
                    let scheme = if b.tls { "https://" } else { "" };
                    let whose = if b.local { "" } else { " (remote)" };
                    format!("{scheme}{}{whose}", b.addr)
                })
                .collect();
            match state.set_backends(specs.clone()) {
                Ok(()) => {
                    tracing::info!(
                        registered = snap.masters.len(),
                        "the pool's masters: {} ({} registered)",
                        names.join(", "),
                        snap.masters.len()
                    );
                    last = specs;
                }
                Err(e) => tracing::error!("the pool's masters: {e}"),
            }
        });
        match started {
            Ok(d) => {
                if let Ok(mut s) = slot.lock() {
                    *s = Some(d);
                }
            }
            Err(e) => tracing::error!("no discovery of the pool's masters: {e}"),
        }
    })
    .map_err(|e| anyhow!("{e}"))?;
    drop(running);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use troupe_pool::MasterInfo;

    #[test]
    fn own_hosts_masters_are_local_others_remote_and_loopback_ones_only_local() {
        let snap = Snapshot {
            masters: vec![
                MasterInfo::new("hosta", "http://10.0.0.11:18140"),
                MasterInfo::new("hostb", "http://10.0.0.12:18140"),
                MasterInfo::new("hostb", "https://10.0.0.12:18141"),
                MasterInfo::new("hostb", "http://127.0.0.1:18142"),
                MasterInfo::new("hosta", "http://127.0.0.1:18143"),
            ],
            invalid: Vec::new(),
        };
        let fixed = vec![BackendSpec {
            addr: "10.0.0.11:18140".parse().expect("addr"),
            tls: false,
            local: true,
        }];
        let got = backends(&fixed, &snap, "hosta");
        let show: Vec<(String, bool, bool)> = got
            .iter()
            .map(|b| (b.addr.to_string(), b.tls, b.local))
            .collect();
        assert_eq!(
            show,
            [
                ("10.0.0.11:18140".to_string(), false, true),
                ("10.0.0.12:18140".to_string(), false, false),
                ("10.0.0.12:18141".to_string(), true, false),
                ("127.0.0.1:18143".to_string(), false, true),
            ]
        );
    }
}
