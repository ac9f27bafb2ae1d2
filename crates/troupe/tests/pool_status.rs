//! The pool on the fronts' status pages, as processes on a real 3-member etcd store: two hosts,
//! each a `troupe master` (registered) and a `troupe front` (publishing its host's summary),
//! host A with a VRRP state file. A's page shows both hosts, the VIP A holds, both masters on
//! one code version and the store reachable; a code change on host B only is shown as a
//! mismatch (JSON, red HTML naming both hosts, `troupe_pool_code_version_mismatch 1`);
//! B's front stopped withdraws its summary at once. Skipped without `etcd`
//! (TROUPE_REQUIRE_ETCD=1 makes that a failure).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use troupe_store::testing::{EtcdCluster, TempDir};
use troupe_vrrp::state_file::{InstanceState, VrrpState};

const TROUPE: &str = env!("CARGO_BIN_EXE_troupe");

mod common;
use common::{start_listening, Proc};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `troupe master` registered as `host`, with its own code directory; returns it and its address.
fn master(d: &Path, host: &str, store: &str) -> (Proc, String) {
    let dir = d.join(host);
    let site = dir.join("code/environments/production/manifests");
    std::fs::create_dir_all(&site).expect("mkdir");
    std::fs::write(site.join("site.pp"), "notify { 'same': }\n").expect("site.pp");
    let file = dir.join("master.conf");
    std::fs::write(
        &file,
        format!("{store}pool_host = {host}\nkeylength = 2048\ncode_version_refresh = 300ms\nworkers = 1\n"),
    )
    .expect("conf");
    start_listening(
        Command::new(TROUPE)
            .arg("master")
            .arg("--config")
            .arg(&file)
            .arg("--codedir")
            .arg(dir.join("code"))
            .arg("--ssldir")
            .arg(dir.join("mssl"))
            .args(["--listen", "127.0.0.1:0", "--plain-http"])
            .stdin(Stdio::null()),
    )
}

/// `troupe front` for `host` on `port`, over `backend`.
fn front(d: &Path, host: &str, store: &str, port: u16, backend: &str, extra: &str) -> Proc {
    let dir = d.join(host);
    let file = dir.join("front.conf");
    std::fs::write(
        &file,
        format!(
            "{store}pool_host = {host}\nssldir = {}\nlisten = 127.0.0.1:{port}\nbackend = {backend}\ncheck_interval = 0.2\nrise = 1\n{extra}",
            dir.join("fssl").display()
        ),
    )
    .expect("front.conf");
    let log = std::fs::File::create(dir.join("front.log")).expect("log");
    Proc(
        Command::new(TROUPE)
            .args(["front", "--config"])
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start troupe front"),
    )
}

fn fetch(port: u16, path: &str) -> String {
    let out = Command::new("curl")
        .args(["-sk", "--max-time", "3"])
        .arg(format!("https://127.0.0.1:{port}{path}"))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn pool(port: u16) -> Value {
    serde_json::from_str::<Value>(&fetch(port, "/troupe/status?format=json"))
        .map(|v| v["pool"].clone())
        .unwrap_or(Value::Null)
}

fn wait(limit: Duration, port: u16, f: impl Fn(&Value) -> bool) -> (Option<Duration>, Value) {
    let start = Instant::now();
    let mut last = Value::Null;
    while start.elapsed() < limit {
        last = pool(port);
        if f(&last) {
            return (Some(start.elapsed()), last);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (None, last)
}

fn host<'a>(p: &'a Value, name: &str) -> &'a Value {
    p["hosts"]
        .as_array()
        .and_then(|h| h.iter().find(|h| h["name"] == name))
        .unwrap_or(&Value::Null)
}

#[test]
fn the_status_page_shows_the_pool_and_a_code_mismatch_between_hosts() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let dir = TempDir::new("pool-status");
    let d = dir.path();
    let p = |f: &str| -> PathBuf { d.join(f) };
    let setting = cluster.store_setting();
    let init = Command::new(TROUPE)
        .args(["pool", "--store", &setting, "--cadir"])
        .arg(p("ca"))
        .arg("--ssldir")
        .arg(p("ssl"))
        .args(["init", "--secret-out"])
        .arg(p("join.secret"))
        .args(["--keylength", "2048"])
        .output()
        .expect("troupe pool init");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let store = format!(
        "store = {setting}\njoin_secret_file = {}\n",
        p("join.secret").display()
    );
    let (_ma, addr_a) = master(d, "host-a", &store);
    let (_mb, addr_b) = master(d, "host-b", &store);
    let state_file = p("vrrp.json");
    VrrpState {
        instances: vec![InstanceState {
            name: "VI_1".into(),
            vrid: 51,
            state: "MASTER".into(),
            priority: 150,
            vips: vec!["10.0.0.21/24".into()],
        }],
        updated: 1,
    }
    .write(&state_file)
    .expect("state file");
    let (pa, pb) = (free_port(), free_port());
    let _fa = front(
        d,
        "host-a",
        &store,
        pa,
        &addr_a,
        &format!("vrrp_state_file = {}\n", state_file.display()),
    );
    let fb = front(d, "host-b", &store, pb, &addr_b, "");
    let logs = || {
        ["host-a", "host-b"]
            .map(|h| std::fs::read_to_string(d.join(h).join("front.log")).unwrap_or_default())
            .join("\n---\n")
    };

    let (ready, v) = wait(Duration::from_secs(20), pa, |v| {
        v["masters"] == 2
            && host(v, "host-b")["front"]["healthy"] == true
            && host(v, "host-a")["masters"][0]["seen"] == "up"
            && v["hosts"].as_array().is_some_and(|h| {
                h.iter()
                    .all(|h| h["masters"][0]["code_versions"]["production"].is_string())
            })
    });
    assert!(
        ready.is_some(),
        "A's page shows both hosts: {v:#}\n{}",
        logs()
    );
    assert_eq!(v["this_host"], "host-a");
    assert_eq!(v["pool_name"], "puppet");
    assert_eq!(v["store"]["reachable"], true, "{v:#}");
    assert_eq!(v["store"]["kind"], "etcd");
    let names: Vec<&str> = v["hosts"]
        .as_array()
        .map(|h| h.iter().filter_map(|h| h["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["host-a", "host-b"], "{v:#}");
    let (a, b) = (host(&v, "host-a"), host(&v, "host-b"));
    assert_eq!(a["this"], true);
    assert_eq!(a["vips_held"], serde_json::json!(["10.0.0.21/24"]), "{v:#}");
    assert_eq!(a["vrrp"][0]["state"], "MASTER");
    assert_eq!(b["vrrp"], Value::Null);
    assert_eq!(a["masters"][0]["addr"], format!("http://{addr_a}"));
    assert_eq!(b["masters"][0]["addr"], format!("http://{addr_b}"));
    // B's master listens on loopback: A's front cannot use it (another host's loopback), and
    // says so.
    assert_eq!(b["masters"][0]["seen"], "unused", "{v:#}");
    assert_eq!(
        a["masters"][0]["code_versions"], b["masters"][0]["code_versions"],
        "{v:#}"
    );
    assert_eq!(v["code_mismatches"], serde_json::json!([]));
    let metrics = fetch(pa, "/metrics");
    for want in [
        "troupe_pool_hosts 2\n",
        "troupe_pool_masters 2\n",
        "troupe_pool_store_up 1\n",
        "troupe_pool_code_version_mismatch{environment=\"production\"} 0\n",
    ] {
        assert!(metrics.contains(want), "{want:?} in\n{metrics}");
    }

    // A code change on host B only.
    std::fs::write(
        d.join("host-b/code/environments/production/manifests/site.pp"),
        "notify { 'changed on b': }\n",
    )
    .expect("site.pp");
    let (shown, v) = wait(Duration::from_secs(10), pa, |v| {
        v["code_mismatches"][0]["environment"] == "production"
    });
    let took = shown.unwrap_or_else(|| panic!("the mismatch is shown: {v:#}"));
    eprintln!("a code change on host B showed on host A's page after {took:?}");
    let versions = v["code_mismatches"][0]["versions"]
        .as_object()
        .expect("versions");
    let who: Vec<String> = versions.values().map(|w| w.to_string()).collect();
    assert_eq!(versions.len(), 2, "{v:#}");
    assert!(
        who.iter().any(|w| w.contains("host-a")) && who.iter().any(|w| w.contains("host-b")),
        "{who:?}"
    );
    let html = fetch(pa, "/troupe/status");
    assert!(
        html.contains("<div class=\"mismatch\" data-env=\"production\"><b>Code version mismatch in environment production:</b>"),
        "{html}"
    );
    assert_eq!(html.matches("class=\"code mismatch\"").count(), 2, "{html}");
    assert!(fetch(pa, "/metrics")
        .contains("troupe_pool_code_version_mismatch{environment=\"production\"} 1\n"));

    // B's front stopped: its summary is withdrawn at once (not after the 3 s lease).
    let term = Command::new("kill")
        .args(["-TERM", &fb.0.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(term.success());
    let (gone, v) = wait(Duration::from_secs(10), pa, |v| {
        host(v, "host-b")["front"].is_null() && host(v, "host-b")["masters"][0].is_object()
    });
    let gone = gone.unwrap_or_else(|| panic!("B's summary goes: {v:#}"));
    eprintln!("host B's front summary withdrawn {gone:?} after SIGTERM");
    drop(fb);
}
