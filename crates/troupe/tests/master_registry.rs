//! `troupe master` processes on a real 3-member etcd store register themselves for the pool's
//! fronts: discovered with their advertised address, host and code versions (the same as
//! their status page's, and changed by a code change without a restart); SIGTERM withdraws a
//! registration at once, SIGKILL leaves it until its lease expires. Skipped when etcd is not
//! installed (TROUPE_REQUIRE_ETCD=1 makes that a failure).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use troupe_pool::{Discovery, DiscoverySettings, Snapshot};
use troupe_store::testing::{EtcdCluster, TempDir};
use troupe_store::Secret;

mod common;
use common::{start_listening, Proc as Master};

fn get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// Starts `troupe master` with `conf` and extra settings; returns it and its address.
fn master(d: &Path, name: &str, conf: &str) -> (Master, String) {
    let dir = d.join(name);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = dir.join("master.conf");
    std::fs::write(&file, conf).expect("conf");
    start_listening(
        Command::new(env!("CARGO_BIN_EXE_troupe"))
            .arg("master")
            .arg("--config")
            .arg(&file)
            .arg("--codedir")
            .arg(d.join("code"))
            .arg("--ssldir")
            .arg(dir.join("ssl"))
            .args(["--listen", "127.0.0.1:0", "--plain-http"]),
    )
}

fn wait_snapshot(
    rx: &mpsc::Receiver<Snapshot>,
    last: &mut Snapshot,
    limit: Duration,
    f: impl Fn(&Snapshot) -> bool,
) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if f(last) {
            return Some(start.elapsed());
        }
        let left = limit.checked_sub(start.elapsed())?;
        if let Ok(s) = rx.recv_timeout(left) {
            *last = s;
        }
    }
}

fn has(s: &Snapshot, addr: &str) -> bool {
    s.masters.iter().any(|m| m.addr == format!("http://{addr}"))
}

#[test]
fn masters_register_with_their_code_versions_and_withdraw_on_sigterm() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let dir = TempDir::new("master-registry");
    let d = dir.path();
    let secret_file = d.join("join.secret");
    Secret::generate()
        .expect("secret")
        .write_file(&secret_file)
        .expect("write the secret");
    let env = d.join("code/environments/production");
    std::fs::create_dir_all(env.join("manifests")).expect("mkdir");
    std::fs::write(env.join("manifests/site.pp"), "notify { 'a': }\n").expect("site.pp");
    let base = format!(
        "store = {}\njoin_secret_file = {}\nkeylength = 2048\ncertname = puppet.example.test\ncode_version_refresh = 300ms\n",
        cluster.store_setting(),
        secret_file.display()
    );
    let (tx, rx) = mpsc::channel();
    let _d = Discovery::start(
        &cluster.store(&[2]),
        DiscoverySettings {
            resync: Duration::from_millis(500),
        },
        move |s| {
            let _ = tx.send(s.clone());
        },
    )
    .expect("discovery");
    let mut last = Snapshot::default();

    // A: a long lease, so that its prompt disappearance is the SIGTERM's doing.
    let (a, addr_a) = master(
        d,
        "a",
        &format!("{base}pool_host = host-a\nregistration_ttl = 30s\n"),
    );
    let (_b, addr_b) = master(d, "b", &format!("{base}pool_host = host-b\n"));
    wait_snapshot(&rx, &mut last, Duration::from_secs(15), |s| {
        has(s, &addr_a) && has(s, &addr_b) && s.masters.iter().all(|m| !m.code_versions.is_empty())
    })
    .unwrap_or_else(|| panic!("both masters register with code versions; last {last:?}"));
    let ma = last.masters.iter().find(|m| m.host == "host-a").expect("a");
    assert_eq!(ma.key(), format!("masters/host-a/{addr_a}"));
    assert_eq!(ma.pid, a.0.id());
    let status: serde_json::Value =
        serde_json::from_str(&get(&addr_a, "/status/v1/services")).expect("status");
    let v1 = status["master"]["status"]["code_versions"]["production"]
        .as_str()
        .expect("a version on the status page")
        .to_string();
    assert_eq!(ma.code_versions.get("production"), Some(&v1));
    assert!(last.code_mismatches().is_empty(), "{last:?}");

    // A code change reaches the registrations without a restart.
    std::fs::write(env.join("manifests/site.pp"), "notify { 'b': }\n").expect("site.pp");
    let took = wait_snapshot(&rx, &mut last, Duration::from_secs(10), |s| {
        s.masters.len() == 2
            && s.masters
                .iter()
                .all(|m| m.code_versions.get("production").is_some_and(|v| *v != v1))
    })
    .unwrap_or_else(|| panic!("the new code version is registered; last {last:?}"));
    eprintln!("a code change reached both registrations in {took:?}");

    let term = Command::new("kill")
        .args(["-TERM", &a.0.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(term.success());
    let gone = wait_snapshot(&rx, &mut last, Duration::from_secs(10), |s| {
        !has(s, &addr_a) && has(s, &addr_b)
    })
    .unwrap_or_else(|| panic!("a SIGTERMed master withdraws; last {last:?}"));
    eprintln!("a SIGTERMed master was withdrawn in {gone:?} (lease 30 s)");
    drop(a);

    // B, SIGKILLed, stays until its 3 s lease expires.
    drop(_b);
    let killed = Instant::now();
    wait_snapshot(&rx, &mut last, Duration::from_secs(3 + 7), |s| {
        s.masters.is_empty()
    })
    .unwrap_or_else(|| panic!("a SIGKILLed master's lease expires; last {last:?}"));
    eprintln!(
        "a SIGKILLed master disappeared {:?} after the kill (lease 3 s)",
        killed.elapsed()
    );
    assert!(killed.elapsed() >= Duration::from_secs(1));
}

#[test]
fn bad_pool_settings_are_refused_naming_them() {
    let dir = TempDir::new("master-registry-bad");
    for (conf, want) in [
        (
            "advertise = 10.0.0.1:8140\n",
            "advertise: '10.0.0.1:8140' must start with http://",
        ),
        (
            "advertise = https://10.0.0.1:8140\nplain_http = true\n",
            "advertise = https://10.0.0.1:8140, but this master serves plain HTTP",
        ),
        ("pool_host = a/b\n", "pool_host 'a/b': contains '/'"),
        (
            "registration_ttl = 1500ms\n",
            "'registration_ttl' must be whole seconds",
        ),
        (
            "registration_ttl = 2\nregistration_keepalive = 2s\n",
            "must be shorter than registration_ttl",
        ),
        (
            "code_version_refresh = soon\n",
            "setting 'code_version_refresh'",
        ),
    ] {
        let file = dir.path().join("bad.conf");
        std::fs::write(&file, conf).expect("conf");
        let out = Command::new(env!("CARGO_BIN_EXE_troupe"))
            .arg("master")
            .arg("--config")
            .arg(&file)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{conf}: {err}");
        assert!(err.contains(want), "{conf}: {err}");
    }
}
