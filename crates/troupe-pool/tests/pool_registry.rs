//! Master registration and discovery over a real 3-member etcd cluster: registrations of two
//! hosts are discovered, a clean stop removes its master at once, a killed process's master
//! goes when its lease expires, registrations come back after the cluster restarts, and
//! garbage under `masters/` is skipped and reported. Skipped with a notice when `etcd` is not
//! installed (TROUPE_REQUIRE_ETCD=1 makes that a failure).

mod common;

use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{EtcdCluster, TempDir};
use troupe_pool::{
    read_masters, Discovery, DiscoverySettings, MasterInfo, Registration, RegistrationSettings,
    Snapshot,
};
use troupe_store::Store;

const CHILD_ENV: &str = "TROUPE_TEST_REGISTRY_CHILD";

fn settings(ttl: u64) -> RegistrationSettings {
    RegistrationSettings {
        ttl: Duration::from_secs(ttl),
        keepalive: Duration::from_millis(500),
    }
}

fn fast() -> DiscoverySettings {
    DiscoverySettings {
        resync: Duration::from_millis(500),
    }
}

fn info(host: &str, addr: &str) -> MasterInfo {
    let mut m = MasterInfo::new(host, addr);
    m.code_versions.insert("production".into(), "c0ffee".into());
    m
}

/// Waits until the latest snapshot delivered satisfies `f`, at most `limit`; the time it took.
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

fn discover(store: &Store) -> (Discovery, mpsc::Receiver<Snapshot>) {
    let (tx, rx) = mpsc::channel();
    let d = Discovery::start(store, fast(), move |s| {
        let _ = tx.send(s.clone());
    })
    .expect("discovery");
    (d, rx)
}

fn addrs(s: &Snapshot) -> Vec<String> {
    s.masters.iter().map(|m| m.addr.clone()).collect()
}

#[test]
fn two_hosts_are_discovered_and_a_clean_stop_removes_at_once() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    // A long TTL: a master gone within it was removed by its stop, not by expiry.
    let a = Registration::start(
        &cluster.store(&[0]),
        info("alpha", "http://127.0.0.1:18140"),
        settings(30),
    )
    .expect("register a");
    let b = Registration::start(
        &cluster.store(&[1]),
        info("beta", "https://127.0.0.1:18141"),
        settings(30),
    )
    .expect("register b");
    assert_eq!(a.key(), "masters/alpha/127.0.0.1:18140");
    let (d, rx) = discover(&cluster.store(&[2]));
    let mut last = Snapshot::default();
    let took = wait_snapshot(&rx, &mut last, Duration::from_secs(10), |s| {
        s.masters.len() == 2
    })
    .unwrap_or_else(|| panic!("both masters discovered; last {last:?}"));
    eprintln!("both registrations discovered in {took:?}");
    assert!(a.registered() && b.registered());
    let (local, remote) = last.split_local("alpha");
    assert_eq!(local.len(), 1);
    assert_eq!(local[0].addr, "http://127.0.0.1:18140");
    assert!(!local[0].tls());
    assert_eq!(remote[0].host, "beta");
    assert!(remote[0].tls());
    assert_eq!(remote[0].host_port(), "127.0.0.1:18141");
    assert_eq!(remote[0].pid, std::process::id());
    assert_eq!(
        remote[0]
            .code_versions
            .get("production")
            .map(String::as_str),
        Some("c0ffee")
    );
    assert!(last.code_mismatches().is_empty());

    // A change of code version is put again and seen as a mismatch between the hosts.
    b.update(|m| {
        m.code_versions.insert("production".into(), "beef".into());
    });
    wait_snapshot(&rx, &mut last, Duration::from_secs(10), |s| {
        !s.code_mismatches().is_empty()
    })
    .unwrap_or_else(|| panic!("the new code version is seen; last {last:?}"));
    let mismatch = last.code_mismatches();
    assert_eq!(mismatch[0].environment, "production");
    assert_eq!(
        mismatch[0].versions.get("beef"),
        Some(&vec!["beta https://127.0.0.1:18141".to_string()]),
        "{mismatch:?}"
    );
    assert_eq!(mismatch[0].versions.len(), 2, "{mismatch:?}");

    drop(a);
    let gone = wait_snapshot(&rx, &mut last, Duration::from_secs(10), |s| {
        addrs(s) == ["https://127.0.0.1:18141"]
    })
    .unwrap_or_else(|| panic!("the stopped master disappears; last {last:?}"));
    eprintln!("a cleanly stopped master disappeared in {gone:?} (lease TTL 30 s)");
    assert!(gone < Duration::from_secs(10));
    assert_eq!(d.snapshot(), last);
    assert!(d.last_error().is_none());
}

/// The child of `a_killed_process_disappears_when_its_lease_expires`: registers and waits to
/// be killed.
#[test]
#[ignore = "run as a child process by a_killed_process_disappears_when_its_lease_expires"]
fn child_registers_and_waits() {
    let endpoints = std::env::var(CHILD_ENV).expect("run only as a child");
    let store = Store::open(&troupe_store::StoreConfig::Etcd {
        endpoints: endpoints.split(',').map(String::from).collect(),
        prefix: troupe_store::DEFAULT_ETCD_PREFIX.into(),
        ca_cert: None,
        client_cert: None,
    })
    .expect("store");
    let _r = Registration::start(&store, info("gamma", "http://127.0.0.1:18142"), settings(3))
        .expect("register");
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn a_killed_process_disappears_when_its_lease_expires() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let endpoints: Vec<String> = cluster.all().iter().map(|&i| cluster.endpoint(i)).collect();
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "child_registers_and_waits",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, endpoints.join(","))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start the child");
    let (_d, rx) = discover(&cluster.store(&[0]));
    let mut last = Snapshot::default();
    let found = wait_snapshot(&rx, &mut last, Duration::from_secs(10), |s| {
        s.masters.len() == 1
    });
    if found.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the child's registration is discovered; last {last:?}");
    }
    assert_eq!(last.masters[0].pid, child.id());
    child.kill().expect("SIGKILL the child");
    child.wait().expect("reap the child");
    let killed = Instant::now();
    let gone = wait_snapshot(&rx, &mut last, Duration::from_secs(3 + 7), |s| {
        s.masters.is_empty()
    })
    .unwrap_or_else(|| panic!("the killed master's lease expires; last {last:?}"));
    eprintln!(
        "a SIGKILLed master disappeared {:?} after the kill (lease TTL 3 s)",
        killed.elapsed()
    );
    // Its key lived on until the lease expired: it was not removed by a clean stop.
    assert!(gone >= Duration::from_millis(1000), "gone after {gone:?}");
}

#[test]
fn registrations_come_back_after_the_cluster_restarts() {
    let Some(mut cluster) = EtcdCluster::start(3) else {
        return;
    };
    let store = cluster.store(&cluster.all());
    let r = Registration::start(&store, info("alpha", "http://127.0.0.1:18143"), settings(3))
        .expect("register");
    let (d, rx) = discover(&cluster.store(&cluster.all()));
    let mut last = Snapshot::default();
    wait_snapshot(&rx, &mut last, Duration::from_secs(10), |s| {
        s.masters.len() == 1
    })
    .unwrap_or_else(|| panic!("registered; last {last:?}"));

    cluster.stop_all();
    let down = Instant::now();
    // Longer than the TTL, so the lease may be lost; discovery keeps the last-known set.
    let deadline = Instant::now() + Duration::from_secs(10);
    while (d.last_error().is_none() || r.registered()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(d.last_error().is_some(), "discovery notices the outage");
    assert!(!r.registered(), "the registration notices the outage");
    std::thread::sleep(Duration::from_secs(4).saturating_sub(down.elapsed()));
    assert_eq!(d.snapshot().masters.len(), 1, "the last-known set is kept");

    let back = Instant::now();
    cluster.start_all();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !(r.registered() && d.last_error().is_none()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(r.registered(), "registered again after the restart");
    assert!(d.last_error().is_none(), "discovery recovers");
    eprintln!(
        "registered again {:?} after the cluster was started again (its start included)",
        back.elapsed()
    );
    let snap = read_masters(&store).expect("read");
    assert_eq!(addrs(&snap), ["http://127.0.0.1:18143"]);

    // A key removed by hand while the lease lives is put back.
    assert!(store.delete(r.key()).expect("delete"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.get(r.key()).expect("get").is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(store.get(r.key()).expect("get").is_some(), "put back");
}

#[test]
fn garbage_under_masters_is_skipped_and_reported() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let store = cluster.store(&cluster.all());
    store
        .put("masters/junk/1.2.3.4:1", b"\xff not json")
        .expect("put");
    store
        .put(
            "masters/liar/127.0.0.1:2",
            br#"{"host":"other","addr":"http://127.0.0.1:2"}"#,
        )
        .expect("put");
    store.put("masters/arr/127.0.0.1:3", b"[1,2]").expect("put");
    store
        .put(
            "masters/bad/127.0.0.1:4",
            br#"{"host":"bad","addr":"ftp://127.0.0.1:4"}"#,
        )
        .expect("put");
    let _r = Registration::start(&store, info("alpha", "http://127.0.0.1:18144"), settings(3))
        .expect("register");
    let (d, rx) = discover(&store);
    let mut last = Snapshot::default();
    wait_snapshot(&rx, &mut last, Duration::from_secs(10), |s| {
        s.masters.len() == 1
    })
    .unwrap_or_else(|| panic!("the good registration is discovered; last {last:?}"));
    assert_eq!(addrs(&last), ["http://127.0.0.1:18144"]);
    let invalid: Vec<&str> = last.invalid.iter().map(|(_, why)| why.as_str()).collect();
    assert_eq!(invalid.len(), 4, "{invalid:?}");
    assert!(
        invalid[0]
            .starts_with("masters/arr/127.0.0.1:3: not a master registration (not a JSON object)"),
        "{invalid:?}"
    );
    assert!(
        invalid[1].contains("'addr' 'ftp://127.0.0.1:4' must start with http://"),
        "{invalid:?}"
    );
    assert!(
        invalid[2].starts_with("masters/junk/1.2.3.4:1: not a master registration (not JSON"),
        "{invalid:?}"
    );
    assert!(
        invalid[3].contains("names masters/other/127.0.0.1:2"),
        "{invalid:?}"
    );
    assert!(d.last_error().is_none());
}

#[test]
fn a_dir_store_registers_nothing_and_has_no_discovery() {
    let dir = TempDir::new("registry-dir");
    let store = Store::Dir(troupe_store::DirStore::open(dir.path()).expect("dir store"));
    let r = Registration::start(&store, info("alpha", "http://127.0.0.1:18145"), settings(3))
        .expect("a no-op");
    std::thread::sleep(Duration::from_millis(200));
    assert!(!r.registered());
    assert!(store.list("masters/").expect("list").is_empty());
    let e = Discovery::start(&store, fast(), |_| {}).expect_err("refused");
    assert!(e.to_string().contains("needs an etcd store"), "{e}");
    let e = Registration::start(&store, info("a/b", "http://127.0.0.1:1"), settings(3))
        .expect_err("a host with a slash");
    assert!(e.to_string().contains("pool_host 'a/b'"), "{e}");
    let e =
        Registration::start(&store, info("a", "127.0.0.1:1"), settings(3)).expect_err("no scheme");
    assert!(e.to_string().contains("must start with http://"), "{e}");
}
