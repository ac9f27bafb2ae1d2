//! `troupe node --check`: the roles a checked config would start, in plain words.

use std::fmt::Write;

use super::config::NodeConfig;
use troupe_front::backend::Balance;
use troupe_store::StoreConfig;
use troupe_vrrp::config::{Check, CheckKind, Instance};

/// The summary printed by `--check`, one role per paragraph.
pub fn summary(c: &NodeConfig) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}: the configuration is valid", c.file.display());
    let name = match &c.certname {
        Some(n) => n.clone(),
        None => match c.store_config {
            StoreConfig::Etcd { .. } => "the pool's name, from the store".to_string(),
            StoreConfig::Dir { .. } => "this host's name".to_string(),
        },
    };
    let _ = writeln!(s, "pool: certname {name}, ssldir {}", c.ssldir.display());
    let _ = writeln!(s, "CA store: {}", store(c));
    if let Some(f) = &c.front {
        let listen = list(f.config.listen.iter());
        let backends = list(f.config.backends.iter().map(|b| {
            if b.tls {
                format!("https://{}", b.addr)
            } else {
                b.addr.to_string()
            }
        }));
        let whose = if f.local_backends {
            " (the local master instances)"
        } else {
            ""
        };
        let balance = match f.config.balance {
            Balance::RoundRobin => "round-robin",
            Balance::LeastOutstanding => "least-outstanding",
        };
        let _ = writeln!(s, "front: TLS on {listen}");
        let _ = writeln!(s, "  backends{whose}: {backends}");
        let _ = writeln!(
            s,
            "  balance {balance}, health check every {} ms",
            f.config.check_interval.as_millis()
        );
    }
    if let Some(m) = &c.master {
        let n = m.addrs.len();
        let plural = if n == 1 { "instance" } else { "instances" };
        let how = if m.config.plain_http {
            format!(
                "plain HTTP, identity headers trusted from {}",
                list(m.config.trusted_proxies.iter())
            )
        } else {
            "HTTPS".to_string()
        };
        let _ = writeln!(s, "masters: {n} {plural} ({how})");
        for (i, a) in m.addrs.iter().enumerate() {
            let _ = writeln!(s, "  instance {}: {a}", i + 1);
        }
        let _ = writeln!(s, "  code in {}", m.config.codedir.display());
        let ca = match (&m.config.cadir, &c.store_config) {
            (None, _) => "no CA (another host signs)".to_string(),
            (Some(_), StoreConfig::Etcd { .. }) => "the CA in the store".to_string(),
            (Some(d), StoreConfig::Dir { .. }) => format!("the CA in {}", d.display()),
        };
        let _ = writeln!(
            s,
            "  {} compile workers each; {ca}; autosign {}",
            m.config.workers, m.config.autosign
        );
    }
    for i in &c.vrrp.instances {
        instance(&mut s, i);
    }
    for k in &c.vrrp.checks {
        check(&mut s, k);
    }
    s
}

fn list<T: ToString>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

fn store(c: &NodeConfig) -> String {
    match &c.store_config {
        StoreConfig::Dir { path } => format!("directory {} (this host only)", path.display()),
        StoreConfig::Etcd {
            endpoints,
            prefix,
            ca_cert,
            client_cert,
        } => {
            let mut s = format!("etcd at {} (key prefix {prefix}", endpoints.join(", "));
            match ca_cert {
                Some(ca) => {
                    let _ = write!(s, ", TLS checked against {}", ca.display());
                }
                None => s.push_str(", no TLS"),
            }
            if let Some((cert, _)) = client_cert {
                let _ = write!(s, ", client certificate {}", cert.display());
            }
            match &c.store.join_secret_file {
                Some(f) => {
                    let _ = write!(s, ", join secret in {f})");
                }
                None => s.push_str(", no join secret: the CA and pool keys stay sealed)"),
            }
            s
        }
    }
}

fn instance(s: &mut String, i: &Instance) {
    let vips = list(i.addresses.iter().map(|(a, p)| format!("{a}/{p}")));
    let _ = writeln!(
        s,
        "vrrp {}: interface {}, virtual router {}, priority {}, VRRPv{}",
        i.name, i.interface, i.vrid, i.priority, i.version
    );
    let _ = writeln!(
        s,
        "  VIPs {vips}; advertisement every {} ms",
        u64::from(i.advert_cs) * 10
    );
    if !i.unicast_peers.is_empty() {
        let _ = writeln!(s, "  unicast peers {}", list(i.unicast_peers.iter()));
    }
    if !i.tracks.is_empty() {
        let _ = writeln!(s, "  follows the checks {}", i.tracks.join(", "));
    }
}

fn check(s: &mut String, k: &Check) {
    let what = match &k.kind {
        CheckKind::Process(n) => format!("a process named {n} runs"),
        CheckKind::Pidfile(p) => format!("the process in {} is alive", p.display()),
        CheckKind::Http(u) => format!("GET {u} answers 2xx"),
        CheckKind::Script(c) => format!("the command `{c}` exits 0"),
        CheckKind::Interface(i) => format!("interface {i} is up"),
    };
    let effect = match k.weight {
        0 => "a failure puts the instances that follow it in fault".to_string(),
        w if w > 0 => format!("priority +{w} while it passes"),
        w => format!("priority {w} while it fails"),
    };
    let _ = writeln!(
        s,
        "check {}: {what}; every {} ms, timeout {} ms, {effect}",
        k.name, k.interval_ms, k.timeout_ms
    );
}
