//! The pool console on a real 3-member etcd store: one master (host A), two fronts (hosts A and
//! B) both balancing over it. A drain made through front A's JSON API is kept in etcd: front B
//! applies it within seconds, and front A restarted starts with it; enable clears it everywhere.
//! Front A's console charts host B's front and shows the pool's CA (opened through the store
//! with the join secret). Skipped without `etcd` (TROUPE_REQUIRE_ETCD=1 makes that a failure).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use troupe_store::testing::{EtcdCluster, TempDir};

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

fn api(port: u16) -> Value {
    serde_json::from_str(&fetch(port, "/troupe/console/api")).unwrap_or(Value::Null)
}

fn post(port: u16, body: &str) -> Value {
    let out = Command::new("curl")
        .args([
            "-sk",
            "--max-time",
            "5",
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
        ])
        .arg(format!("https://127.0.0.1:{port}/troupe/console/api"))
        .output()
        .expect("curl");
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn state_of(v: &Value, master: &str) -> String {
    v["masters"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["master"] == master))
        .and_then(|m| m["state"].as_str())
        .unwrap_or("")
        .to_string()
}

fn until(limit: Duration, f: impl Fn() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

#[test]
fn a_drain_is_kept_in_etcd_and_every_front_applies_it() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let dir = TempDir::new("console-etcd");
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
    let (_ma, addr) = master(d, "host-a", &store);
    let m = format!("http://{addr}");
    let (pa, pb) = (free_port(), free_port());
    let fa = front(d, "host-a", &store, pa, &addr, "");
    std::fs::create_dir_all(d.join("host-b")).expect("mkdir");
    let _fb = front(d, "host-b", &store, pb, &addr, "");
    let logs = || {
        ["host-a", "host-b"]
            .map(|h| std::fs::read_to_string(d.join(h).join("front.log")).unwrap_or_default())
            .join("\n---\n")
    };
    let up = until(Duration::from_secs(20), || {
        state_of(&api(pa), &m) == "UP" && state_of(&api(pb), &m) == "UP"
    });
    assert!(up.is_some(), "both fronts use the master: {}", logs());

    let r = post(pa, &format!("{{\"action\":\"drain\",\"master\":\"{m}\"}}"));
    assert_eq!(r["ok"], true, "{r}");
    let seen = until(Duration::from_secs(5), || {
        state_of(&api(pb), &m) == "DRAINED"
    });
    let took = seen.unwrap_or_else(|| panic!("front B applies the drain: {}\n{}", api(pb), logs()));
    eprintln!("a drain through front A reached front B in {took:?}");
    assert_eq!(api(pb)["masters"][0]["set_by"], "127.0.0.1");

    // Front A restarted: still drained, from the store.
    drop(fa);
    let fa = front(d, "host-a", &store, pa, &addr, "");
    let back = until(Duration::from_secs(20), || {
        state_of(&api(pa), &m) == "DRAINED"
    });
    assert!(
        back.is_some(),
        "front A restarted keeps the drain: {}\n{}",
        api(pa),
        logs()
    );

    // Front A's console: host B's front charted, and the pool's CA through the store.
    let charted = until(Duration::from_secs(10), || {
        fetch(pa, "/troupe/console").contains("front on host-b (per minute)")
    });
    assert!(charted.is_some(), "{}", fetch(pa, "/troupe/console"));
    let ca = &api(pa)["ca"];
    assert!(ca["signed"].as_u64().is_some_and(|n| n >= 1), "{ca}");
    assert!(
        ca["crl_next_update"]
            .as_str()
            .is_some_and(|t| t.starts_with("20")),
        "{ca}"
    );

    let r = post(pb, &format!("{{\"action\":\"enable\",\"master\":\"{m}\"}}"));
    assert_eq!(r["ok"], true, "{r}");
    let seen = until(Duration::from_secs(5), || state_of(&api(pa), &m) == "UP");
    assert!(seen.is_some(), "enable through B reaches A: {}", api(pa));
    drop(fa);
}
