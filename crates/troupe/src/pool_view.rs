//! What a front shows of the pool on its status page, built here (the store side) and handed
//! to the front as plain data (`troupe_front::pool::PoolView`, `State::set_pool_view`).
//!
//! On an etcd store each front publishes its host's summary under a lease (TTL 3 s, renewed
//! every second; the value is put again every second and at once when it changes):
//! `hosts/<pool_host>` = `{"host", "front": {"listen", "health", "healthy", "draining"},
//! "vrrp": {"instances": [...], "updated"} or null, "time"}` (`vrrp` is the local `troupe vrrp`
//! state file, `vrrp_state_file`; `vrrp_error` says why it could not be read). Every second it
//! reads `hosts/` and `masters/` back: the hosts of the pool, their VIPs, their masters and
//! their code versions. The store is unreachable while these calls or the pool files' mirror
//! fail (since when, and the error, are shown). A front stopping revokes its lease, so its
//! host's summary goes at once; a dead one's after the TTL. On a `dir` store (or none) the
//! view is this host only.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use troupe_front::pool::{
    CodeMismatch, FrontSummary, HostView, MasterView, PoolView, StoreHealth, VrrpInstance,
};
use troupe_front::State;
use troupe_pool::{Mirror, Snapshot};
use troupe_store::{LeaseId, Store, StoreError};
use troupe_vrrp::state_file::VrrpState;

/// Where hosts publish their summaries.
pub const HOSTS_PREFIX: &str = "hosts/";
/// The lease of a host's summary.
const TTL: Duration = Duration::from_secs(3);
/// How often the lease is renewed, the summary put and the pool read.
const REFRESH: Duration = Duration::from_secs(1);
/// How often the local part (front health, VRRP state file) is looked at.
const TICK: Duration = Duration::from_millis(250);

/// What the view is built from.
pub struct Settings {
    /// This host (`pool_host`).
    pub host: String,
    /// The etcd store (publish and read); `None` on a `dir` store or without one.
    pub store: Option<Store>,
    /// `etcd`, `dir` or `none`.
    pub store_kind: &'static str,
    /// The pool files' mirror, whose errors count as the store being unreachable.
    pub mirror: Option<Arc<Mirror>>,
    /// `troupe vrrp`'s state file on this host.
    pub vrrp_state_file: Option<PathBuf>,
    pub pool_name: Option<String>,
}

/// The running view; dropping it stops the thread and withdraws this host's summary.
pub struct PoolViewer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for PoolViewer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts building the view for `state` (at once, then every 250 ms locally and every second
/// from the store).
pub fn start(state: Arc<State>, settings: Settings) -> std::io::Result<PoolViewer> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let thread = std::thread::Builder::new()
        .name("troupe-pool-view".into())
        .spawn(move || Worker::new(state, settings).run(&s))?;
    Ok(PoolViewer {
        stop,
        thread: Some(thread),
    })
}

/// This host's summary without its time (what "changed" compares).
pub fn summary(state: &State, vrrp_state_file: Option<&PathBuf>) -> Value {
    let (healthy, health) = state.health();
    let (vrrp, vrrp_error) = match vrrp_state_file.map(|p| VrrpState::read(p)) {
        None => (Value::Null, Value::Null),
        Some(Ok(v)) => (v.to_json(), Value::Null),
        Some(Err(e)) => (Value::Null, Value::String(e)),
    };
    json!({
        "front": {
            "listen": state.config.listen.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            "health": health,
            "healthy": healthy,
            "draining": state.draining.load(Ordering::SeqCst),
            "history": history(state),
        },
        "vrrp": vrrp,
        "vrrp_error": vrrp_error,
    })
}

/// The front's last hour for the other hosts' consoles: `[at, requests, errors, p50, p99]` per
/// completed minute with requests (so the summary changes once a minute at most).
fn history(state: &State) -> Value {
    use troupe_front::console::history::{now, Span};
    let this_minute = now() / 60 * 60;
    Value::Array(
        state
            .history
            .points(Span::Hour)
            .iter()
            .filter(|p| p.requests > 0 && p.at < this_minute)
            .map(|p| {
                json!([
                    p.at,
                    p.requests,
                    p.errors,
                    p.p50_ms.map(|v| v as u32),
                    p.p99_ms.map(|v| v as u32)
                ])
            })
            .collect(),
    )
}

fn parse_history(v: Option<&Value>) -> Vec<troupe_front::pool::Minute> {
    let n = |x: &Value| x.as_u64().and_then(|v| u32::try_from(v).ok());
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let m = m.as_array()?;
            Some(troupe_front::pool::Minute {
                at: m.first()?.as_u64()?,
                requests: n(m.get(1)?)?,
                errors: n(m.get(2)?)?,
                p50_ms: m.get(3).and_then(n),
                p99_ms: m.get(4).and_then(n),
            })
        })
        .take(60)
        .collect()
}

/// A published summary read back (`hosts/<host>`); the error says what is wrong.
pub fn parse_summary(key: &str, value: &[u8]) -> Result<HostView, String> {
    let v: Value =
        serde_json::from_slice(value).map_err(|e| format!("{key}: not a host summary ({e})"))?;
    let host = key.strip_prefix(HOSTS_PREFIX).unwrap_or(key);
    if v.get("host").and_then(Value::as_str) != Some(host) {
        return Err(format!("{key}: the summary does not name host {host}"));
    }
    let front = match v.get("front") {
        Some(f) if f.is_object() => Some(FrontSummary {
            listen: f
                .get("listen")
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .filter_map(|a| a.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            health: f
                .get("health")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            healthy: f.get("healthy").and_then(Value::as_bool).unwrap_or(false),
            draining: f.get("draining").and_then(Value::as_bool).unwrap_or(false),
            history: parse_history(f.get("history")),
        }),
        _ => None,
    };
    let (vrrp, mut vrrp_error) = match v.get("vrrp") {
        None | Some(Value::Null) => (None, None),
        Some(x) => match VrrpState::parse(&x.to_string()) {
            Ok(s) => (Some(instances(&s)), None),
            Err(e) => (None, Some(format!("{key}: vrrp: {e}"))),
        },
    };
    if let Some(e) = v.get("vrrp_error").and_then(Value::as_str) {
        vrrp_error = Some(e.to_string());
    }
    Ok(HostView {
        name: host.to_string(),
        front,
        vrrp,
        vrrp_error,
        time: v.get("time").and_then(Value::as_u64),
        ..HostView::default()
    })
}

fn instances(s: &VrrpState) -> Vec<VrrpInstance> {
    s.instances
        .iter()
        .map(|i| VrrpInstance {
            name: i.name.clone(),
            vrid: i.vrid,
            state: i.state.clone(),
            priority: i.priority,
            vips: i.vips.clone(),
        })
        .collect()
}

/// The view: this host (from `own`, fresh), the hosts that published a summary, and the hosts
/// of registered masters, sorted by name, with their masters and the code mismatches.
pub fn build(
    this: &str,
    own: HostView,
    published: Vec<HostView>,
    snap: &Snapshot,
    store: StoreHealth,
    pool_name: Option<String>,
    now: u64,
) -> PoolView {
    let mut hosts: BTreeMap<String, HostView> = BTreeMap::new();
    for h in published {
        if !h.name.eq_ignore_ascii_case(this) {
            hosts.insert(h.name.clone(), h);
        }
    }
    hosts.insert(
        this.to_string(),
        HostView {
            name: this.to_string(),
            this: true,
            ..own
        },
    );
    for m in &snap.masters {
        let key = hosts
            .keys()
            .find(|k| k.eq_ignore_ascii_case(&m.host))
            .cloned()
            .unwrap_or_else(|| m.host.clone());
        let h = hosts.entry(key.clone()).or_insert_with(|| HostView {
            name: key,
            ..HostView::default()
        });
        h.masters.push(MasterView {
            addr: m.addr.clone(),
            pid: m.pid,
            started: m.started,
            code_versions: m.code_versions.clone(),
            version: m.version.clone(),
        });
    }
    PoolView {
        this_host: this.to_string(),
        pool_name,
        store,
        hosts: hosts.into_values().collect(),
        mismatches: snap
            .code_mismatches()
            .into_iter()
            .map(|m| CodeMismatch {
                environment: m.environment,
                versions: m.versions,
            })
            .collect(),
        updated: now,
    }
}

struct Worker {
    state: Arc<State>,
    s: Settings,
    lease: Option<LeaseId>,
    /// The summary last put (without time).
    put: Option<Value>,
    next_refresh: Instant,
    published: Vec<HostView>,
    snap: Snapshot,
    /// The last round's store error.
    store_error: Option<String>,
    /// The error shown (the store's or the mirror's) and since when (Unix seconds).
    error: Option<(String, u64)>,
}

impl Worker {
    fn new(state: Arc<State>, s: Settings) -> Worker {
        Worker {
            state,
            s,
            lease: None,
            put: None,
            next_refresh: Instant::now(),
            published: Vec::new(),
            snap: Snapshot::default(),
            store_error: None,
            error: None,
        }
    }

    fn run(mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::SeqCst) {
            self.step();
            std::thread::sleep(TICK);
        }
        if let (Some(store), Some(l)) = (&self.s.store, self.lease) {
            let key = format!("{HOSTS_PREFIX}{}", self.s.host);
            if store.lease_revoke(l).is_err() {
                let _ = store.delete(&key);
            }
        }
    }

    fn step(&mut self) {
        let own = summary(&self.state, self.s.vrrp_state_file.as_ref());
        let now = troupe_front::pool::unix_now();
        if let Some(store) = self.s.store.clone() {
            let due = Instant::now() >= self.next_refresh;
            let changed = self.put.as_ref() != Some(&own);
            if due || changed {
                // One failed call ends the round: an unreachable store costs one timeout.
                let mut r = self.publish(&store, &own, now, due);
                if due {
                    self.next_refresh = Instant::now() + REFRESH;
                    if r.is_ok() {
                        r = self.read(&store);
                    }
                }
                if let Err(StoreError::LeaseNotFound(_)) = r {
                    self.lease = None;
                }
                self.store_error = r.err().map(|e| e.to_string());
            }
        }
        // The store's verdict stands between rounds; the mirror's errors count too.
        let mirror_error = self.s.mirror.as_ref().and_then(|m| m.last_error());
        match self.store_error.clone().or(mirror_error) {
            Some(e) => {
                if self.error.is_none() {
                    tracing::warn!("the pool view cannot read the store: {e}");
                }
                let since = self.error.as_ref().map(|x| x.1).unwrap_or(now);
                self.error = Some((e, since));
            }
            None => {
                if self.error.take().is_some() {
                    tracing::info!("the pool view reads the store again");
                }
            }
        }
        let store = StoreHealth {
            kind: self.s.store_kind.to_string(),
            reachable: self.error.is_none(),
            unavailable_since: self.error.as_ref().map(|x| x.1),
            error: self.error.as_ref().map(|x| x.0.clone()),
        };
        let mut own_view = parse_summary(
            &format!("{HOSTS_PREFIX}{}", self.s.host),
            with_time(&own, &self.s.host, now).to_string().as_bytes(),
        )
        .unwrap_or_default();
        own_view.time = Some(now);
        let view = build(
            &self.s.host,
            own_view,
            self.published.clone(),
            &self.snap,
            store,
            self.s.pool_name.clone(),
            now,
        );
        self.state.set_pool_view(view);
    }

    fn publish(
        &mut self,
        store: &Store,
        own: &Value,
        now: u64,
        renew: bool,
    ) -> Result<(), StoreError> {
        let key = format!("{HOSTS_PREFIX}{}", self.s.host);
        let lease = match self.lease {
            Some(l) => {
                if renew {
                    store.lease_keepalive(l)?;
                }
                l
            }
            None => {
                let l = store.lease_grant(TTL)?;
                self.lease = Some(l);
                l
            }
        };
        let value = with_time(own, &self.s.host, now).to_string();
        store.put_leased(&key, value.as_bytes(), lease)?;
        self.put = Some(own.clone());
        Ok(())
    }

    fn read(&mut self, store: &Store) -> Result<(), StoreError> {
        let mut published = Vec::new();
        for e in store.list(HOSTS_PREFIX)? {
            match parse_summary(&e.key, &e.value) {
                Ok(h) => published.push(h),
                Err(why) => tracing::debug!("skipping {why}"),
            }
        }
        self.snap = troupe_pool::read_masters(store).map_err(|e| match e {
            troupe_pool::PoolError::Store(s) => s,
            other => StoreError::Unavailable(other.to_string()),
        })?;
        self.published = published;
        Ok(())
    }
}

/// The summary as stored: with the host's name and the time.
fn with_time(own: &Value, host: &str, now: u64) -> Value {
    let mut v = own.clone();
    if let Value::Object(o) = &mut v {
        o.insert("host".into(), Value::String(host.to_string()));
        o.insert("time".into(), Value::from(now));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use troupe_pool::MasterInfo;

    #[test]
    fn summaries_and_registrations_make_one_host_list() {
        let b = br#"{"host":"hostb","front":{"listen":["0.0.0.0:8140"],"health":"ok: 2 of 4 masters up","healthy":true,"draining":false,"history":[[600,120,2,20,500],[660,60,0,null,null],"junk"]},"vrrp":{"instances":[{"name":"puppet2","vrid":52,"state":"MASTER","priority":101,"vips":["10.0.0.22/24"]}],"updated":5},"time":7}"#;
        let hb = parse_summary("hosts/hostb", b).expect("summary");
        assert_eq!(hb.held(), ["10.0.0.22/24"]);
        assert_eq!(
            hb.front.as_ref().map(|f| f.health.as_str()),
            Some("ok: 2 of 4 masters up")
        );
        let h = &hb.front.as_ref().expect("front").history;
        assert_eq!(h.len(), 2);
        assert_eq!(
            (
                h[0].at,
                h[0].requests,
                h[0].errors,
                h[0].p50_ms,
                h[0].p99_ms
            ),
            (600, 120, 2, Some(20), Some(500))
        );
        assert_eq!(h[1].p99_ms, None);
        let e = parse_summary("hosts/hostc", b).expect_err("wrong host");
        assert!(e.contains("does not name host hostc"), "{e}");
        let e = parse_summary("hosts/x", b"{").expect_err("garbage");
        assert!(e.starts_with("hosts/x: not a host summary"), "{e}");
        let mut m1 = MasterInfo::new("hosta", "http://10.0.0.11:18140");
        m1.code_versions.insert("production".into(), "aaa".into());
        let mut m2 = MasterInfo::new("hostb", "http://10.0.0.12:18140");
        m2.code_versions.insert("production".into(), "bbb".into());
        let m3 = MasterInfo::new("hostc", "http://10.0.0.13:18140");
        let snap = Snapshot {
            masters: vec![m1, m2, m3],
            invalid: vec![],
        };
        let own = HostView {
            vrrp: Some(vec![]),
            ..HostView::default()
        };
        // A stale copy of this host's own summary in the store does not replace the fresh one.
        let stale = HostView {
            name: "hosta".into(),
            vrrp: None,
            ..HostView::default()
        };
        let health = StoreHealth {
            kind: "etcd".into(),
            reachable: true,
            ..StoreHealth::default()
        };
        let v = build("hosta", own, vec![hb, stale], &snap, health, None, 9);
        let names: Vec<(&str, bool, usize)> = v
            .hosts
            .iter()
            .map(|h| (h.name.as_str(), h.this, h.masters.len()))
            .collect();
        assert_eq!(
            names,
            [("hosta", true, 1), ("hostb", false, 1), ("hostc", false, 1)]
        );
        assert_eq!(v.hosts[0].vrrp, Some(vec![]));
        assert_eq!(v.mismatches.len(), 1);
        assert_eq!(v.mismatches[0].environment, "production");
        assert_eq!(
            v.mismatches[0].versions.get("bbb"),
            Some(&vec!["hostb http://10.0.0.12:18140".to_string()])
        );
    }
}
