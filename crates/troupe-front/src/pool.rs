//! The pool section of the status page: every host of the pool (its front's health, its VRRP
//! instances and the VIPs it holds, its masters with their code versions and whether this
//! front sees them up), code-version mismatches between masters, the CA store's health and the
//! pool certificate's name; and its metrics. The front knows nothing of the store: whoever
//! runs it (`troupe front` on a store) builds a plain-data [`PoolView`] and hands it over with
//! `State::set_pool_view`; this module only renders it.

use serde_json::{json, Value as J};
use std::collections::BTreeMap;
use std::fmt::Write;

/// What the front shows of the pool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolView {
    /// This front's host (`pool_host`).
    pub this_host: String,
    /// The pool certificate's name, when known.
    pub pool_name: Option<String>,
    pub store: StoreHealth,
    /// Every host known, sorted by name; this host is always there.
    pub hosts: Vec<HostView>,
    /// Environments whose code version differs between masters.
    pub mismatches: Vec<CodeMismatch>,
    /// Unix seconds when the view was built.
    pub updated: u64,
}

/// The CA store as this host sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreHealth {
    /// `etcd`, `dir` or `none`.
    pub kind: String,
    pub reachable: bool,
    /// Unix seconds since it has been unreachable.
    pub unavailable_since: Option<u64>,
    /// The last error while unreachable.
    pub error: Option<String>,
}

/// One host of the pool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostView {
    pub name: String,
    /// This front's own host.
    pub this: bool,
    /// Its front, as last published (`None`: no front summary).
    pub front: Option<FrontSummary>,
    /// Its VRRP instances (`None`: it runs none, or said nothing).
    pub vrrp: Option<Vec<VrrpInstance>>,
    /// Why its VRRP state could not be read, if so.
    pub vrrp_error: Option<String>,
    pub masters: Vec<MasterView>,
    /// Unix seconds of its last published summary.
    pub time: Option<u64>,
}

impl HostView {
    /// The VIPs of its instances in state MASTER.
    pub fn held(&self) -> Vec<&str> {
        self.vrrp
            .iter()
            .flatten()
            .filter(|i| i.state == "MASTER")
            .flat_map(|i| i.vips.iter().map(String::as_str))
            .collect()
    }
}

/// A front's summary of itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrontSummary {
    pub listen: Vec<String>,
    /// What `/troupe/health` says ("ok: 2 of 2 masters up").
    pub health: String,
    pub healthy: bool,
    pub draining: bool,
    /// Its last hour, per completed minute with requests (the console's charts of other
    /// hosts' fronts).
    pub history: Vec<Minute>,
}

/// One minute of a front's history as published: start (Unix s), requests, errors, p50 and
/// p99 in ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Minute {
    pub at: u64,
    pub requests: u32,
    pub errors: u32,
    pub p50_ms: Option<u32>,
    pub p99_ms: Option<u32>,
}

/// One VRRP instance of a host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VrrpInstance {
    pub name: String,
    pub vrid: u8,
    /// `MASTER`, `BACKUP`, `FAULT` or `INIT`.
    pub state: String,
    pub priority: u8,
    pub vips: Vec<String>,
}

/// A registered master.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MasterView {
    /// `http://ADDR:PORT` or `https://ADDR:PORT`.
    pub addr: String,
    pub pid: u32,
    pub started: u64,
    pub code_versions: BTreeMap<String, String>,
    pub version: String,
}

/// One environment compiled from different code by different masters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeMismatch {
    pub environment: String,
    /// Each version, with the masters (`host addr`) that report it.
    pub versions: BTreeMap<String, Vec<String>>,
}

impl PoolView {
    pub fn masters(&self) -> usize {
        self.hosts.iter().map(|h| h.masters.len()).sum()
    }

    fn mismatched(&self, env: &str) -> bool {
        self.mismatches.iter().any(|m| m.environment == env)
    }
}

/// HTML text: `& < > " '` escaped.
pub(crate) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A Prometheus label value.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub(crate) fn when(t: u64) -> String {
    let Ok(d) = time::OffsetDateTime::from_unix_timestamp(t as i64) else {
        return t.to_string();
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// How this front sees a master: `up`, `down`, or `unused` (not among its masters).
pub type Seen<'a> = &'a dyn Fn(&str) -> &'static str;

pub fn json(v: &PoolView, seen: Seen) -> J {
    json!({
        "this_host": v.this_host,
        "pool_name": v.pool_name,
        "store": {
            "kind": v.store.kind,
            "reachable": v.store.reachable,
            "unavailable_since": v.store.unavailable_since,
            "error": v.store.error,
        },
        "hosts": v.hosts.iter().map(|h| json!({
            "name": h.name,
            "this": h.this,
            "front": h.front.as_ref().map(|f| json!({
                "listen": f.listen,
                "health": f.health,
                "healthy": f.healthy,
                "draining": f.draining,
            })),
            "vrrp": h.vrrp.as_ref().map(|list| list.iter().map(|i| json!({
                "name": i.name,
                "vrid": i.vrid,
                "state": i.state,
                "priority": i.priority,
                "vips": i.vips,
            })).collect::<Vec<_>>()),
            "vrrp_error": h.vrrp_error,
            "vips_held": h.held(),
            "time": h.time,
            "masters": h.masters.iter().map(|m| json!({
                "addr": m.addr,
                "pid": m.pid,
                "started": m.started,
                "code_versions": m.code_versions,
                "version": m.version,
                "seen": seen(&m.addr),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "masters": v.masters(),
        "code_mismatches": v.mismatches.iter().map(|m| json!({
            "environment": m.environment,
            "versions": m.versions,
        })).collect::<Vec<_>>(),
        "updated": v.updated,
    })
}

/// The pool section of the HTML page.
pub fn html(v: &PoolView, seen: Seen, now: u64) -> String {
    let mut o = String::new();
    let _ = write!(o, "<h2>Pool</h2>\n<p id=\"pool-summary\">");
    if let Some(n) = &v.pool_name {
        let _ = write!(
            o,
            "Pool certificate <b id=\"pool-name\">{}</b> &middot; ",
            esc(n)
        );
    }
    let _ = write!(
        o,
        "{} hosts &middot; {} masters &middot; ",
        v.hosts.len(),
        v.masters()
    );
    let s = &v.store;
    if s.reachable {
        let _ = write!(
            o,
            "CA store ({}): <span id=\"store\" class=\"up\" data-reachable=\"true\">reachable</span>",
            esc(&s.kind)
        );
    } else {
        let since = s.unavailable_since.unwrap_or(now);
        let _ = write!(
            o,
            "CA store ({}): <span id=\"store\" class=\"down\" data-reachable=\"false\">unavailable since {} ({} s)</span>: {}",
            esc(&s.kind),
            when(since),
            now.saturating_sub(since),
            esc(s.error.as_deref().unwrap_or("")),
        );
    }
    o.push_str("</p>\n");
    for m in &v.mismatches {
        let _ = write!(
            o,
            "<div class=\"mismatch\" data-env=\"{}\"><b>Code version mismatch in environment {}:</b><ul>",
            esc(&m.environment),
            esc(&m.environment)
        );
        for (id, who) in &m.versions {
            let _ = write!(
                o,
                "<li><code>{}</code> on {}</li>",
                esc(id),
                esc(&who.join(", "))
            );
        }
        o.push_str("</ul></div>\n");
    }
    o.push_str("<table id=\"pool-hosts\"><tr><th>Host</th><th>Front</th><th>VIPs held</th><th>VRRP instances</th><th>Summary</th></tr>\n");
    for h in &v.hosts {
        let (front_class, front) = match &h.front {
            Some(f) if f.draining => ("down", format!("draining ({})", esc(&f.health))),
            Some(f) => (if f.healthy { "up" } else { "down" }, esc(&f.health)),
            None => ("down", "no front summary".to_string()),
        };
        let vrrp = match (&h.vrrp, &h.vrrp_error) {
            (_, Some(e)) => format!("<span class=\"down\">{}</span>", esc(e)),
            (Some(list), None) => list
                .iter()
                .map(|i| {
                    format!(
                        "<span class=\"vrrp\" data-instance=\"{}\" data-state=\"{}\">{} (VRID {}) <b>{}</b> priority {}: {}</span>",
                        esc(&i.name),
                        esc(&i.state),
                        esc(&i.name),
                        i.vrid,
                        esc(&i.state),
                        i.priority,
                        esc(&i.vips.join(", "))
                    )
                })
                .collect::<Vec<_>>()
                .join("<br>"),
            (None, None) => "none".to_string(),
        };
        let _ = writeln!(
            o,
            "<tr class=\"host\" data-host=\"{}\" data-this=\"{}\"><td class=\"addr\">{}{}</td><td class=\"{front_class}\">{front}</td><td class=\"vips-held\">{}</td><td class=\"addr\">{vrrp}</td><td>{}</td></tr>",
            esc(&h.name),
            h.this,
            esc(&h.name),
            if h.this { " (this host)" } else { "" },
            esc(&h.held().join(", ")),
            h.time.map(|t| format!("{} s ago", now.saturating_sub(t))).unwrap_or_else(|| "none".into()),
        );
    }
    o.push_str("</table>\n<table id=\"pool-masters\"><tr><th>Host</th><th>Master</th><th>PID</th><th>Started</th><th>Code versions</th><th>troupe</th><th>Seen from here</th></tr>\n");
    for h in &v.hosts {
        for m in &h.masters {
            let state = seen(&m.addr);
            let codes = m
                .code_versions
                .iter()
                .map(|(env, id)| {
                    let bad = v.mismatched(env);
                    format!(
                        "<span class=\"code{}\" data-env=\"{}\" data-id=\"{}\">{}: <code>{}</code></span>",
                        if bad { " mismatch" } else { "" },
                        esc(env),
                        esc(id),
                        esc(env),
                        esc(id)
                    )
                })
                .collect::<Vec<_>>()
                .join("<br>");
            let _ = writeln!(
                o,
                "<tr class=\"master\" data-host=\"{}\" data-state=\"{state}\"><td class=\"addr\">{}</td><td class=\"addr\">{}</td><td>{}</td><td>{}</td><td class=\"addr\">{codes}</td><td>{}</td><td class=\"{state}\">{}</td></tr>",
                esc(&h.name),
                esc(&h.name),
                esc(&m.addr),
                m.pid,
                when(m.started),
                esc(&m.version),
                state.to_uppercase(),
            );
        }
    }
    o.push_str("</table>\n");
    o
}

/// The pool metrics.
pub fn metrics(v: &PoolView) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# HELP troupe_pool_hosts Hosts of the pool this front knows.\n# TYPE troupe_pool_hosts gauge\ntroupe_pool_hosts {}",
        v.hosts.len()
    );
    let _ = writeln!(
        o,
        "# HELP troupe_pool_masters Masters registered in the pool.\n# TYPE troupe_pool_masters gauge\ntroupe_pool_masters {}",
        v.masters()
    );
    let _ = writeln!(
        o,
        "# HELP troupe_pool_store_up Whether the pool's store answers.\n# TYPE troupe_pool_store_up gauge\ntroupe_pool_store_up {}",
        u8::from(v.store.reachable)
    );
    let envs: std::collections::BTreeSet<&str> = v
        .hosts
        .iter()
        .flat_map(|h| &h.masters)
        .flat_map(|m| m.code_versions.keys().map(String::as_str))
        .collect();
    let _ = writeln!(o, "# HELP troupe_pool_code_version_mismatch 1 when masters compile an environment from different code.\n# TYPE troupe_pool_code_version_mismatch gauge");
    for env in envs {
        let _ = writeln!(
            o,
            "troupe_pool_code_version_mismatch{{environment=\"{}\"}} {}",
            label(env),
            u8::from(v.mismatched(env))
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master(addr: &str, env: &str, id: &str) -> MasterView {
        MasterView {
            addr: addr.into(),
            pid: 42,
            started: 1_764_748_800,
            code_versions: [(env.to_string(), id.to_string())].into(),
            version: "0.1.0".into(),
        }
    }

    fn view() -> PoolView {
        PoolView {
            this_host: "hosta".into(),
            pool_name: Some("puppet.example.test".into()),
            store: StoreHealth {
                kind: "etcd".into(),
                reachable: true,
                ..StoreHealth::default()
            },
            hosts: vec![
                HostView {
                    name: "hosta".into(),
                    this: true,
                    front: Some(FrontSummary {
                        listen: vec!["0.0.0.0:8140".into()],
                        health: "ok: 4 of 4 masters up".into(),
                        healthy: true,
                        draining: false,
                        history: vec![],
                    }),
                    vrrp: Some(vec![
                        VrrpInstance {
                            name: "puppet1".into(),
                            vrid: 51,
                            state: "MASTER".into(),
                            priority: 101,
                            vips: vec!["10.0.0.21/24".into()],
                        },
                        VrrpInstance {
                            name: "puppet2".into(),
                            vrid: 52,
                            state: "BACKUP".into(),
                            priority: 100,
                            vips: vec!["10.0.0.22/24".into()],
                        },
                    ]),
                    masters: vec![master("http://10.0.0.11:18140", "production", "aaa")],
                    time: Some(1_764_748_800),
                    ..HostView::default()
                },
                HostView {
                    name: "hostb".into(),
                    masters: vec![master("http://10.0.0.12:18140", "production", "aaa")],
                    ..HostView::default()
                },
            ],
            mismatches: vec![],
            updated: 1_764_748_801,
        }
    }

    fn seen(addr: &str) -> &'static str {
        if addr.contains("10.0.0.11") {
            "up"
        } else {
            "down"
        }
    }

    #[test]
    fn hosts_vips_and_masters_are_shown_and_strings_escaped() {
        let mut v = view();
        v.hosts[1].name = "<script>alert('x')</script>".into();
        v.hosts[1].masters[0].version = "\"&".into();
        v.store = StoreHealth {
            kind: "etcd".into(),
            reachable: false,
            unavailable_since: Some(1_764_748_790),
            error: Some("the CA store is unavailable: <deadline>".into()),
        };
        let h = html(&v, &seen, 1_764_748_800);
        assert!(!h.contains("<script>"), "{h}");
        assert!(
            h.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
            "{h}"
        );
        assert!(h.contains("<td>&quot;&amp;</td>"), "{h}");
        assert!(h.contains("unavailable since 2025-12-03 07:59:50 UTC (10 s)</span>: the CA store is unavailable: &lt;deadline&gt;"), "{h}");
        assert!(
            h.contains("<td class=\"vips-held\">10.0.0.21/24</td>"),
            "{h}"
        );
        assert!(h.contains("data-host=\"hosta\" data-this=\"true\"><td class=\"addr\">hosta (this host)</td><td class=\"up\">ok: 4 of 4 masters up</td>"), "{h}");
        assert!(
            h.contains("data-instance=\"puppet2\" data-state=\"BACKUP\""),
            "{h}"
        );
        assert!(
            h.contains("<tr class=\"master\" data-host=\"hosta\" data-state=\"up\">"),
            "{h}"
        );
        assert!(h.contains("data-state=\"down\">"), "{h}");
        assert!(!h.contains("class=\"mismatch\""), "no mismatch yet: {h}");
        assert!(!h.contains("class=\"code mismatch\""), "{h}");
        let j = json(&v, &seen);
        assert_eq!(j["hosts"][0]["vips_held"], json!(["10.0.0.21/24"]));
        assert_eq!(j["hosts"][1]["vips_held"], json!([]));
        assert_eq!(j["hosts"][0]["masters"][0]["seen"], "up");
        assert_eq!(j["masters"], 2);
        assert_eq!(j["store"]["reachable"], false);
    }

    #[test]
    fn a_code_mismatch_is_highlighted_with_which_hosts_have_which_id() {
        let mut v = view();
        v.hosts[1].masters[0]
            .code_versions
            .insert("production".into(), "bbb".into());
        v.mismatches = vec![CodeMismatch {
            environment: "production".into(),
            versions: [
                (
                    "aaa".to_string(),
                    vec!["hosta http://10.0.0.11:18140".to_string()],
                ),
                (
                    "bbb".to_string(),
                    vec!["hostb http://10.0.0.12:18140".to_string()],
                ),
            ]
            .into(),
        }];
        let h = html(&v, &seen, 1_764_748_800);
        assert!(h.contains("<div class=\"mismatch\" data-env=\"production\"><b>Code version mismatch in environment production:</b><ul><li><code>aaa</code> on hosta http://10.0.0.11:18140</li><li><code>bbb</code> on hostb http://10.0.0.12:18140</li></ul></div>"), "{h}");
        assert_eq!(h.matches("class=\"code mismatch\"").count(), 2, "{h}");
        let m = metrics(&v);
        assert!(
            m.contains("troupe_pool_code_version_mismatch{environment=\"production\"} 1\n"),
            "{m}"
        );
        assert!(m.contains("troupe_pool_hosts 2\n"), "{m}");
        assert!(m.contains("troupe_pool_masters 2\n"), "{m}");
        assert!(m.contains("troupe_pool_store_up 1\n"), "{m}");
        let m = metrics(&view());
        assert!(
            m.contains("troupe_pool_code_version_mismatch{environment=\"production\"} 0\n"),
            "{m}"
        );
        let j = json(&v, &seen);
        assert_eq!(
            j["code_mismatches"][0]["versions"]["bbb"],
            json!(["hostb http://10.0.0.12:18140"])
        );
    }
}
