//! Masters register themselves in the store so that every front of the pool finds them.
//!
//! Key contract (relative; etcd adds its prefix): `masters/<host>/<ADDR:PORT>`, one key per
//! running master, put under a lease of `ttl` kept alive every `keepalive`. Its value is a
//! JSON object ([`MasterInfo`]): `host`, `addr` (`http://ADDR:PORT` or `https://ADDR:PORT`),
//! `pid`, `started` (Unix seconds), `code_versions` (`{environment: id}`) and `version` (the
//! troupe version). A clean stop revokes the lease (the key goes at once); a master that dies
//! leaves its key until the lease expires. After a store outage or a lost lease the
//! registration grants a new lease and puts its key again by itself.
//!
//! On a `dir` store registration is a no-op: a `dir` store is one host's, and that host's
//! fronts balance over the local instances they are configured with.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use troupe_store::{LeaseId, Store, StoreError};

use crate::{PoolError, Result};

/// The prefix every registration lives under.
pub const MASTERS_PREFIX: &str = "masters/";
/// Default lease TTL of a registration.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3);
/// Default keep-alive period.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(1);
/// How often a registered master checks that its key is still there.
const CHECK_KEY: Duration = Duration::from_secs(5);
const TICK: Duration = Duration::from_millis(50);

/// What a master says about itself in its registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterInfo {
    /// The host the master runs on (`pool_host`); masters of one host share it.
    pub host: String,
    /// `http://ADDR:PORT` or `https://ADDR:PORT`: where fronts reach it.
    pub addr: String,
    pub pid: u32,
    /// Unix seconds when it started.
    pub started: u64,
    /// The version of the code it compiles, per environment.
    pub code_versions: BTreeMap<String, String>,
    /// The troupe version it runs.
    pub version: String,
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Splits `http://ADDR:PORT` / `https://ADDR:PORT` into (tls, `ADDR:PORT`); the port is
/// required, no path is allowed.
pub fn parse_advertise(url: &str) -> std::result::Result<(bool, String), String> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(format!(
            "'{url}' must start with http:// or https:// (http://HOST:PORT)"
        ));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let bad = |why: &str| Err(format!("'{url}': {why} (http://HOST:PORT)"));
    if rest.is_empty() || rest.contains('/') || rest.contains('@') || rest.contains('?') {
        return bad("only a host and a port may follow the scheme");
    }
    let Some((host, port)) = rest.rsplit_once(':') else {
        return bad("a port is required");
    };
    if host.is_empty() || host.contains(char::is_whitespace) || host.starts_with('.') {
        return bad("no host");
    }
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return bad("an IPv6 address goes in brackets");
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok((tls, rest.to_string())),
        _ => bad("the port must be a number from 1 to 65535"),
    }
}

/// Checks a `pool_host` name: one store key component.
pub fn valid_host(host: &str) -> std::result::Result<(), String> {
    if host.is_empty() {
        return Err("empty".into());
    }
    if host.len() > 253 {
        return Err("longer than 253 bytes".into());
    }
    if host.starts_with('.') {
        return Err("starts with '.'".into());
    }
    if let Some(c) = host
        .chars()
        .find(|c| *c == '/' || c.is_whitespace() || c.is_control())
    {
        return Err(format!("contains {c:?}"));
    }
    Ok(())
}

impl MasterInfo {
    /// A master of this process (pid, start time now, this troupe's version).
    pub fn new(host: &str, addr: &str) -> MasterInfo {
        MasterInfo {
            host: host.to_string(),
            addr: addr.to_string(),
            pid: std::process::id(),
            started: unix_now(),
            code_versions: BTreeMap::new(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// Served over HTTPS.
    pub fn tls(&self) -> bool {
        self.addr.starts_with("https://")
    }

    /// `ADDR:PORT`, without the scheme.
    pub fn host_port(&self) -> &str {
        self.addr
            .split_once("://")
            .map(|(_, r)| r)
            .unwrap_or(&self.addr)
    }

    /// Its key: `masters/<host>/<ADDR:PORT>`.
    pub fn key(&self) -> String {
        format!("{MASTERS_PREFIX}{}/{}", self.host, self.host_port())
    }

    /// True when it runs on `host` (a front's own `pool_host`).
    pub fn is_local(&self, host: &str) -> bool {
        self.host.eq_ignore_ascii_case(host)
    }

    /// Advertised on a loopback address (`127.0.0.0/8`, `[::1]`, `localhost`): reachable only
    /// from its own host.
    pub fn is_loopback(&self) -> bool {
        let host = self
            .host_port()
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// Whether a front on `host` can reach it: its own host's masters, and other hosts' unless
    /// they advertise a loopback address.
    pub fn usable_from(&self, host: &str) -> bool {
        self.is_local(host) || !self.is_loopback()
    }

    /// The stored value.
    pub fn to_json(&self) -> Vec<u8> {
        json!({
            "host": self.host,
            "addr": self.addr,
            "pid": self.pid,
            "started": self.started,
            "code_versions": self.code_versions,
            "version": self.version,
        })
        .to_string()
        .into_bytes()
    }

    /// A registration read back from `key`, checked: the value is a JSON object with a host
    /// and an address that match the key. The error says what is wrong.
    pub fn parse(key: &str, value: &[u8]) -> std::result::Result<MasterInfo, String> {
        let v: Value = serde_json::from_slice(value)
            .map_err(|e| format!("{key}: not a master registration (not JSON: {e})"))?;
        let Value::Object(o) = v else {
            return Err(format!(
                "{key}: not a master registration (not a JSON object)"
            ));
        };
        let text = |f: &str| match o.get(f) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(format!("{key}: the registration has no '{f}' text")),
        };
        let num = |f: &str| o.get(f).and_then(Value::as_u64).unwrap_or(0);
        let host = text("host")?;
        let addr = text("addr")?;
        parse_advertise(&addr).map_err(|e| format!("{key}: 'addr' {e}"))?;
        let mut code_versions = BTreeMap::new();
        match o.get("code_versions") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (env, id) in m {
                    let Value::String(id) = id else {
                        return Err(format!("{key}: 'code_versions'.{env} is not text"));
                    };
                    code_versions.insert(env.clone(), id.clone());
                }
            }
            Some(_) => return Err(format!("{key}: 'code_versions' is not an object")),
        }
        let info = MasterInfo {
            host,
            addr,
            pid: u32::try_from(num("pid")).unwrap_or(0),
            started: num("started"),
            code_versions,
            version: o
                .get("version")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        };
        if info.key() != key {
            return Err(format!(
                "{key}: the registration names {} (host {}, addr {}), not this key",
                info.key(),
                info.host,
                info.addr
            ));
        }
        Ok(info)
    }
}

/// Lease timing of a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationSettings {
    /// The lease TTL (whole seconds, at least 1): how long a dead master stays listed.
    pub ttl: Duration,
    /// How often the lease is renewed (well under `ttl`).
    pub keepalive: Duration,
}

impl Default for RegistrationSettings {
    fn default() -> Self {
        RegistrationSettings {
            ttl: DEFAULT_TTL,
            keepalive: DEFAULT_KEEPALIVE,
        }
    }
}

/// A master's registration, kept by a background thread; dropping it revokes the lease.
#[derive(Debug)]
pub struct Registration {
    key: String,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    info: Mutex<MasterInfo>,
    dirty: AtomicBool,
    registered: AtomicBool,
    stop: AtomicBool,
}

impl Registration {
    /// Registers `info` in `store` and keeps it registered until dropped. Returns at once: the
    /// first registration is made by the thread (a store that is away now is retried). On a
    /// `dir` store nothing is registered (see the module's note).
    pub fn start(
        store: &Store,
        info: MasterInfo,
        settings: RegistrationSettings,
    ) -> Result<Registration> {
        parse_advertise(&info.addr).map_err(|e| PoolError::Invalid(format!("advertise: {e}")))?;
        let key = info.key();
        valid_host(&info.host)
            .map_err(|e| PoolError::Invalid(format!("pool_host '{}': {e}", info.host)))?;
        let shared = Arc::new(Shared {
            info: Mutex::new(info),
            dirty: AtomicBool::new(true),
            registered: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let thread = match store {
            Store::Dir(_) => None,
            Store::Etcd(_) => {
                let worker = Worker {
                    store: store.clone(),
                    key: key.clone(),
                    shared: shared.clone(),
                    settings,
                };
                Some(
                    std::thread::Builder::new()
                        .name("troupe-registration".into())
                        .spawn(move || worker.run())
                        .map_err(|e| {
                            PoolError::Io(format!("cannot start the registration thread: {e}"))
                        })?,
                )
            }
        };
        Ok(Registration {
            key,
            shared,
            thread,
        })
    }

    /// The key it registers.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// True while its key is in the store (as far as the last store call knows); always false
    /// on a `dir` store.
    pub fn registered(&self) -> bool {
        self.shared.registered.load(Ordering::SeqCst)
    }

    /// Changes what is registered (e.g. new code versions); put at the next keep-alive tick.
    pub fn update(&self, f: impl FnOnce(&mut MasterInfo)) {
        let mut info = self.shared.info.lock().unwrap_or_else(|p| p.into_inner());
        let before = info.clone();
        f(&mut info);
        if *info != before {
            self.shared.dirty.store(true, Ordering::SeqCst);
        }
    }

    /// What is registered.
    pub fn info(&self) -> MasterInfo {
        self.shared
            .info
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Worker {
    store: Store,
    key: String,
    shared: Arc<Shared>,
    settings: RegistrationSettings,
}

impl Worker {
    fn stopped(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }

    /// Grants a lease and puts the key with it.
    fn register(&self) -> std::result::Result<LeaseId, StoreError> {
        let lease = self.store.lease_grant(self.settings.ttl)?;
        self.shared.dirty.store(false, Ordering::SeqCst);
        let value = self.value();
        if let Err(e) = self.store.put_leased(&self.key, &value, lease) {
            self.shared.dirty.store(true, Ordering::SeqCst);
            let _ = self.store.lease_revoke(lease);
            return Err(e);
        }
        Ok(lease)
    }

    fn value(&self) -> Vec<u8> {
        self.shared
            .info
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .to_json()
    }

    /// One step with a lease: renew it, put a changed value, check the key now and then.
    fn keep(&self, lease: LeaseId, check: &mut Instant) -> std::result::Result<(), StoreError> {
        self.store.lease_keepalive(lease)?;
        if self.shared.dirty.swap(false, Ordering::SeqCst) {
            if let Err(e) = self.store.put_leased(&self.key, &self.value(), lease) {
                self.shared.dirty.store(true, Ordering::SeqCst);
                return Err(e);
            }
        } else if check.elapsed() >= CHECK_KEY {
            *check = Instant::now();
            if self.store.get(&self.key)?.is_none() {
                // Deleted by hand while the lease lives: put it back.
                self.store.put_leased(&self.key, &self.value(), lease)?;
            }
        }
        Ok(())
    }

    fn run(self) {
        let mut lease: Option<LeaseId> = None;
        let mut failing: Option<String> = None;
        let mut check = Instant::now();
        let mut next = Instant::now();
        while !self.stopped() {
            if Instant::now() < next {
                std::thread::sleep(TICK.min(next - Instant::now()));
                continue;
            }
            next = Instant::now() + self.settings.keepalive;
            let r = match lease {
                None => self.register().map(|l| {
                    lease = Some(l);
                    check = Instant::now();
                }),
                Some(l) => self.keep(l, &mut check),
            };
            match r {
                Ok(()) => {
                    self.shared.registered.store(true, Ordering::SeqCst);
                    if failing.take().is_some() {
                        tracing::info!("registered again as {}", self.key);
                    }
                }
                Err(e) => {
                    if let StoreError::LeaseNotFound(_) = e {
                        // Expired while the store was away: a new lease at once.
                        lease = None;
                        next = Instant::now();
                    }
                    self.shared.registered.store(false, Ordering::SeqCst);
                    let msg = e.to_string();
                    if failing.is_none() {
                        tracing::warn!(
                            "cannot keep the registration {} ({msg}); retrying",
                            self.key
                        );
                    }
                    failing = Some(msg);
                }
            }
        }
        if let Some(l) = lease {
            // A clean stop: the key goes now, not after the TTL.
            if self.store.lease_revoke(l).is_err() {
                let _ = self.store.delete(&self.key);
            }
        }
        self.shared.registered.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertise_urls_are_checked() {
        assert_eq!(
            parse_advertise("http://10.0.0.1:8141"),
            Ok((false, "10.0.0.1:8141".into()))
        );
        assert_eq!(
            parse_advertise("https://m1.example.test:8140/"),
            Ok((true, "m1.example.test:8140".into()))
        );
        assert_eq!(
            parse_advertise("https://[::1]:8140"),
            Ok((true, "[::1]:8140".into()))
        );
        for bad in [
            "10.0.0.1:8140",
            "http://10.0.0.1",
            "http://10.0.0.1:0",
            "http://10.0.0.1:99999",
            "http://:8140",
            "http://h:8140/path",
            "http://::1:8140",
        ] {
            let e = parse_advertise(bad).expect_err(bad);
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn a_registration_round_trips_and_must_match_its_key() {
        let mut m = MasterInfo::new("host-a", "https://10.0.0.1:8141");
        m.code_versions.insert("production".into(), "abc".into());
        let back = MasterInfo::parse(&m.key(), &m.to_json()).expect("parse");
        assert_eq!(back, m);
        assert_eq!(m.key(), "masters/host-a/10.0.0.1:8141");
        assert!(m.tls() && m.is_local("HOST-A") && !m.is_local("host-b"));
        assert!(!m.is_loopback() && m.usable_from("host-b"));
        for addr in [
            "http://127.0.0.2:8141",
            "http://[::1]:8141",
            "http://LOCALHOST:1",
        ] {
            let l = MasterInfo::new("host-a", addr);
            assert!(l.is_loopback(), "{addr}");
            assert!(
                l.usable_from("host-a") && !l.usable_from("host-b"),
                "{addr}"
            );
        }
        let e = MasterInfo::parse("masters/host-b/10.0.0.1:8141", &m.to_json()).expect_err("key");
        assert!(e.contains("not this key"), "{e}");
        let e = MasterInfo::parse(
            "masters/x/y:1",
            br#"{"host":"x","addr":"http://y:1","code_versions":{"p":1}}"#,
        )
        .expect_err("code version not text");
        assert!(e.contains("'code_versions'.p is not text"), "{e}");
        let e = MasterInfo::parse("masters/x/y:1", br#"{"addr":"http://y:1"}"#).expect_err("host");
        assert!(e.contains("no 'host' text"), "{e}");
    }
}
