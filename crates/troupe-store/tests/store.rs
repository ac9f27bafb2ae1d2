//! The store interface against both backends: a temp directory and a real 3-member etcd
//! cluster (skipped with a notice when `etcd` is not installed, failing with
//! TROUPE_REQUIRE_ETCD=1).

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{EtcdCluster, TempDir};
use troupe_store::{Compare, Op, Store, StoreConfig, StoreError, WatchEvent};

fn dir_store(dir: &TempDir) -> Store {
    Store::open(&StoreConfig::Dir {
        path: dir.path().to_path_buf(),
    })
    .expect("dir store")
}

// ---- cases, run against each backend ----

fn case_get_put_list_delete(s: &Store) {
    assert_eq!(s.get("ca_crt.pem").expect("get"), None);
    s.put("ca_crt.pem", b"CA").expect("put");
    s.put("signed/b.example.pem", b"B").expect("put");
    s.put("signed/a.example.pem", b"A").expect("put");
    s.put("requests/c.example.pem", b"C").expect("put");
    s.put("signedx", b"not in signed/").expect("put");
    let e = s.get("ca_crt.pem").expect("get").expect("present");
    assert_eq!(e.value, b"CA");
    assert_eq!(e.key, "ca_crt.pem");
    let listed: Vec<(String, Vec<u8>)> = s
        .list("signed/")
        .expect("list")
        .into_iter()
        .map(|e| (e.key, e.value))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("signed/a.example.pem".into(), b"A".to_vec()),
            ("signed/b.example.pem".into(), b"B".to_vec())
        ]
    );
    assert_eq!(s.list("").expect("list all").len(), 5);
    s.put("ca_crt.pem", b"CA2").expect("overwrite");
    let e2 = s.get("ca_crt.pem").expect("get").expect("present");
    assert_eq!(e2.value, b"CA2");
    assert_ne!(e2.version, e.version, "a change changes the version");
    assert!(s.delete("signed/a.example.pem").expect("delete"));
    assert!(!s.delete("signed/a.example.pem").expect("delete again"));
    assert_eq!(s.get("signed/a.example.pem").expect("get"), None);
    assert_eq!(s.list("signed/").expect("list").len(), 1);
    for bad in [
        "/etc/passwd",
        "../x",
        "signed/../../x",
        "a//b",
        "",
        ".hidden",
        "signed/.x.tmp",
    ] {
        match s.put(bad, b"x") {
            Err(StoreError::BadKey { .. }) => {}
            other => panic!("key {bad:?} accepted: {other:?}"),
        }
    }
}

fn case_cas_conflict(s: &Store) {
    assert!(s.create("serial", b"1").expect("create"));
    assert!(
        !s.create("serial", b"9").expect("create again"),
        "create-if-absent refuses an existing key"
    );
    let v1 = s.get("serial").expect("get").expect("present").version;
    assert!(s.put_if_version("serial", b"2", v1).expect("cas"));
    assert!(
        !s.put_if_version("serial", b"3", v1).expect("stale cas"),
        "a stale version loses"
    );
    assert_eq!(s.get("serial").expect("get").expect("present").value, b"2");
    // A multi-key transaction applies all or nothing.
    let v2 = s.get("serial").expect("get").expect("present").version;
    let ok = s
        .txn(
            &[
                Compare::Version("serial".into(), v2),
                Compare::Absent("signed/n.pem".into()),
            ],
            &[
                Op::Put("serial".into(), b"3".to_vec()),
                Op::Put("signed/n.pem".into(), b"N".to_vec()),
            ],
        )
        .expect("txn");
    assert!(ok);
    let lost = s
        .txn(
            &[Compare::Version("serial".into(), v2)],
            &[
                Op::Put("serial".into(), b"4".to_vec()),
                Op::Put("signed/m.pem".into(), b"M".to_vec()),
            ],
        )
        .expect("txn");
    assert!(!lost);
    assert_eq!(
        s.get("signed/m.pem").expect("get"),
        None,
        "no operation of a failed transaction is applied"
    );
    assert_eq!(s.get("serial").expect("get").expect("present").value, b"3");
    assert!(s
        .txn(
            &[Compare::Value("serial".into(), b"3".to_vec())],
            &[Op::Delete("signed/n.pem".into())]
        )
        .expect("txn"));
    assert_eq!(s.get("signed/n.pem").expect("get"), None);
}

/// One allocation as the CA will do it: serial, certificate and inventory line in one step.
fn allocate(s: &Store, who: &str) -> u64 {
    for _ in 0..100_000 {
        let serial = s.get("serial").expect("get serial").expect("serial exists");
        let n: u64 = String::from_utf8_lossy(&serial.value)
            .trim()
            .parse()
            .expect("serial number");
        let inv = s.get("inventory.txt").expect("get inventory");
        let mut lines = inv.as_ref().map(|e| e.value.clone()).unwrap_or_default();
        lines.extend_from_slice(format!("0x{n:04X} {who}\n").as_bytes());
        let inv_cmp = match &inv {
            Some(e) => Compare::Version("inventory.txt".into(), e.version),
            None => Compare::Absent("inventory.txt".into()),
        };
        let ok = s
            .txn(
                &[Compare::Version("serial".into(), serial.version), inv_cmp],
                &[
                    Op::Put("serial".into(), format!("{}\n", n + 1).into_bytes()),
                    Op::Put(
                        format!("signed/{who}.pem"),
                        format!("serial {n}").into_bytes(),
                    ),
                    Op::Put("inventory.txt".into(), lines),
                ],
            )
            .expect("txn");
        if ok {
            return n;
        }
    }
    panic!("{who}: no allocation after 100000 attempts");
}

fn case_concurrent_serials(a: &Store, b: &Store) {
    a.put("serial", b"1\n").expect("put serial");
    let threads_per_client = 4;
    let per_thread = 25;
    let mut handles = Vec::new();
    for (c, store) in [a, b].into_iter().enumerate() {
        for t in 0..threads_per_client {
            let store = store.clone();
            handles.push(std::thread::spawn(move || {
                (0..per_thread)
                    .map(|i| allocate(&store, &format!("c{c}-t{t}-{i}")))
                    .collect::<Vec<u64>>()
            }));
        }
    }
    let serials: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("allocator thread"))
        .collect();
    assert_eq!(serials.len(), 200);
    let distinct: BTreeSet<u64> = serials.iter().copied().collect();
    assert_eq!(distinct.len(), 200, "two allocations got one serial");
    assert_eq!(
        distinct,
        (1..=200).collect::<BTreeSet<u64>>(),
        "serials 1..=200, no gap"
    );
    assert_eq!(
        b.get("serial").expect("get").expect("present").value,
        b"201\n"
    );
    let certs = a.list("signed/").expect("list");
    assert_eq!(certs.len(), 200);
    let inventory = String::from_utf8(b.get("inventory.txt").expect("get").expect("present").value)
        .expect("utf8");
    let lines: BTreeSet<&str> = inventory.lines().collect();
    assert_eq!(lines.len(), 200, "every allocation has its inventory line");
    for cert in &certs {
        let who = cert
            .key
            .trim_start_matches("signed/")
            .trim_end_matches(".pem");
        let n: u64 = String::from_utf8_lossy(&cert.value)
            .trim_start_matches("serial ")
            .parse()
            .expect("n");
        assert!(
            lines.contains(format!("0x{n:04X} {who}").as_str()),
            "inventory names {who} with serial {n}"
        );
    }
}

fn case_watch(writer: &Store, watcher: Store) {
    let w = watcher.watch("signed/").expect("watch");
    drop(watcher); // the watch outlives the store value it came from
    writer.put("requests/x.pem", b"not watched").expect("put");
    writer.put("signed/w.example.pem", b"W").expect("put");
    let ev = w
        .recv_timeout(Duration::from_secs(1))
        .expect("the put is seen within 1 s");
    assert_eq!(
        ev,
        WatchEvent::Put {
            key: "signed/w.example.pem".into(),
            value: b"W".to_vec()
        }
    );
    writer.delete("signed/w.example.pem").expect("delete");
    let ev = w
        .recv_timeout(Duration::from_secs(1))
        .expect("the delete is seen within 1 s");
    assert_eq!(
        ev,
        WatchEvent::Delete {
            key: "signed/w.example.pem".into()
        }
    );
    assert_eq!(w.try_recv(), None, "nothing outside the prefix");
}

fn case_lease(s: &Store) {
    let short = s.lease_grant(Duration::from_secs(1)).expect("grant");
    let kept = s.lease_grant(Duration::from_secs(2)).expect("grant");
    s.put_leased("masters/a", b"A", short).expect("leased put");
    s.put_leased("masters/b", b"B", kept).expect("leased put");
    let keeper = s.keep_alive(kept, Duration::from_secs(2)).expect("keeper");
    assert!(s.get("masters/a").expect("get").is_some());
    let deadline = Instant::now() + Duration::from_secs(15);
    while s.get("masters/a").expect("get").is_some() {
        assert!(
            Instant::now() < deadline,
            "a leased key outlived its TTL by far"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Outlive the kept lease's TTL too, so only the keeper keeps it.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        s.get("masters/b").expect("get").is_some(),
        "a kept-alive lease keeps its key"
    );
    assert!(!keeper.lost());
    match s.lease_keepalive(short) {
        Err(StoreError::LeaseNotFound(_)) => {}
        other => panic!("keepalive of an expired lease: {other:?}"),
    }
    match s.put_leased("masters/c", b"C", short) {
        Err(StoreError::LeaseNotFound(_)) => {}
        other => panic!("put with an expired lease: {other:?}"),
    }
    drop(keeper);
    assert_eq!(
        s.get("masters/b").expect("get"),
        None,
        "dropping the keeper revokes the lease"
    );
    match s.lease_keepalive(kept) {
        Err(StoreError::LeaseNotFound(_)) => {}
        other => panic!("keepalive of a revoked lease: {other:?}"),
    }
}

// ---- dir backend ----

#[test]
fn dir_get_put_list_delete() {
    let d = TempDir::new("dir");
    case_get_put_list_delete(&dir_store(&d));
}

#[test]
fn dir_keys_are_the_puppet_ca_layout() {
    let d = TempDir::new("dir");
    let s = dir_store(&d);
    for key in [
        "ca_crt.pem",
        "signed/node1.pem",
        "requests/node2.pem",
        "serial",
        "inventory.txt",
        "ca_crl.pem",
    ] {
        s.put(key, key.as_bytes()).expect("put");
        assert_eq!(
            std::fs::read(d.path().join(key)).expect("the key is that file"),
            key.as_bytes()
        );
    }
    std::fs::write(d.path().join("signed/byhand.pem"), b"H").expect("write by hand");
    assert_eq!(
        s.get("signed/byhand.pem")
            .expect("get")
            .expect("a file is a key")
            .value,
        b"H"
    );
    let leftovers: Vec<_> = std::fs::read_dir(d.path().join("signed"))
        .expect("read dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file is left behind");
}

#[test]
fn dir_files_keep_their_mode_and_new_ones_are_not_world_readable() {
    use std::os::unix::fs::PermissionsExt;
    let d = TempDir::new("dir");
    let s = dir_store(&d);
    let mode = |k: &str| {
        std::fs::metadata(d.path().join(k))
            .expect("stat")
            .permissions()
            .mode()
            & 0o777
    };
    s.put("signed/n.pem", b"N").expect("put");
    assert_eq!(mode("signed/n.pem"), 0o640);
    std::fs::write(d.path().join("ca_key.pem"), b"old").expect("write");
    std::fs::set_permissions(
        d.path().join("ca_key.pem"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");
    s.put("ca_key.pem", b"new").expect("put");
    assert_eq!(
        mode("ca_key.pem"),
        0o600,
        "replacing a private file keeps it private"
    );
    std::fs::set_permissions(
        d.path().join("signed/n.pem"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    s.put("signed/n.pem", b"N2").expect("put");
    assert_eq!(mode("signed/n.pem"), 0o644);
}

#[test]
fn dir_cas_conflict() {
    let d = TempDir::new("dir");
    case_cas_conflict(&dir_store(&d));
}

#[test]
fn dir_200_concurrent_serials_two_clients() {
    let d = TempDir::new("dir");
    case_concurrent_serials(&dir_store(&d), &dir_store(&d));
}

#[test]
fn dir_watch_sees_put_within_1s() {
    let d = TempDir::new("dir");
    case_watch(&dir_store(&d), dir_store(&d));
}

#[test]
fn dir_lease_put_expires_after_ttl() {
    let d = TempDir::new("dir");
    case_lease(&dir_store(&d));
}

// ---- etcd backend (3 real members) ----

#[test]
fn etcd_get_put_list_delete() {
    let Some(c) = EtcdCluster::start(3) else {
        return;
    };
    case_get_put_list_delete(&c.store(&c.all()));
}

#[test]
fn etcd_cas_conflict() {
    let Some(c) = EtcdCluster::start(3) else {
        return;
    };
    case_cas_conflict(&c.store(&c.all()));
}

#[test]
fn etcd_200_concurrent_serials_two_clients() {
    let Some(c) = EtcdCluster::start(3) else {
        return;
    };
    case_concurrent_serials(&c.store(&[0]), &c.store(&[1, 2]));
}

#[test]
fn etcd_watch_sees_put_within_1s() {
    let Some(c) = EtcdCluster::start(3) else {
        return;
    };
    case_watch(&c.store(&[0]), c.store(&[2]));
}

#[test]
fn etcd_lease_put_expires_after_ttl() {
    let Some(c) = EtcdCluster::start(3) else {
        return;
    };
    case_lease(&c.store(&c.all()));
}

#[test]
fn etcd_unavailable_when_all_members_stopped_then_recovers() {
    let Some(mut c) = EtcdCluster::start(3) else {
        return;
    };
    let s = c.store(&c.all());
    s.put("serial", b"7").expect("put");
    let w = c.store(&[1]).watch("signed/").expect("watch");
    c.stop_all();
    let err = s.get("serial").expect_err("no member is up");
    assert!(err.is_unavailable(), "{err:?}");
    assert!(
        err.to_string().starts_with("the CA store is unavailable: "),
        "{err}"
    );
    let err = s.create("signed/x.pem", b"X").expect_err("no member is up");
    assert!(err.is_unavailable(), "{err:?}");
    c.start_all();
    let deadline = Instant::now() + Duration::from_secs(20);
    let value = loop {
        match s.get("serial") {
            Ok(v) => break v,
            Err(e) => assert!(
                Instant::now() < deadline,
                "the same client did not recover: {e}"
            ),
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        value.expect("kept").value,
        b"7",
        "data survived the restart"
    );
    assert!(s
        .create("signed/x.pem", b"X")
        .expect("create after recovery"));
    let ev = w
        .recv_timeout(Duration::from_secs(10))
        .expect("a watch made before the outage resumes after it");
    assert_eq!(
        ev,
        WatchEvent::Put {
            key: "signed/x.pem".into(),
            value: b"X".to_vec()
        }
    );
}

/// An allocation that survives errors as the CA must: the certificate's key is the request's
/// name, so a transaction whose answer was lost is recognised on retry, never applied twice.
fn allocate_retrying(s: &Store, who: &str) -> u64 {
    let cert = format!("signed/{who}.pem");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "{who}: no allocation within 60 s"
        );
        let attempt = (|| -> Result<Option<u64>, StoreError> {
            if let Some(done) = s.get(&cert)? {
                let n = String::from_utf8_lossy(&done.value)
                    .trim_start_matches("serial ")
                    .parse()
                    .expect("n");
                return Ok(Some(n));
            }
            let serial = s.get("serial")?.expect("serial exists");
            let n: u64 = String::from_utf8_lossy(&serial.value)
                .trim()
                .parse()
                .expect("serial number");
            let inv = s.get("inventory.txt")?;
            let mut lines = inv.as_ref().map(|e| e.value.clone()).unwrap_or_default();
            lines.extend_from_slice(format!("0x{n:04X} {who}\n").as_bytes());
            let inv_cmp = match &inv {
                Some(e) => Compare::Version("inventory.txt".into(), e.version),
                None => Compare::Absent("inventory.txt".into()),
            };
            let ok = s.txn(
                &[
                    Compare::Version("serial".into(), serial.version),
                    inv_cmp,
                    Compare::Absent(cert.clone()),
                ],
                &[
                    Op::Put("serial".into(), format!("{}\n", n + 1).into_bytes()),
                    Op::Put(cert.clone(), format!("serial {n}").into_bytes()),
                    Op::Put("inventory.txt".into(), lines),
                ],
            )?;
            Ok(ok.then_some(n))
        })();
        match attempt {
            Ok(Some(n)) => return n,
            Ok(None) => {}
            Err(e) => {
                assert!(e.is_unavailable(), "{e:?}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

#[test]
fn etcd_member_lost_mid_allocation_no_serial_reused_or_lost() {
    let Some(mut c) = EtcdCluster::start(3) else {
        return;
    };
    let (a, b) = (c.store(&[0, 1, 2]), c.store(&[2, 1, 0]));
    a.put("serial", b"1\n").expect("put serial");
    let mut handles = Vec::new();
    for (ci, store) in [&a, &b].into_iter().enumerate() {
        for t in 0..2 {
            let store = store.clone();
            handles.push(std::thread::spawn(move || {
                (0..25)
                    .map(|i| allocate_retrying(&store, &format!("c{ci}-t{t}-{i}")))
                    .collect::<Vec<u64>>()
            }));
        }
    }
    // Kill a member once the burst is under way.
    let watcher = c.store(&[1]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n: u64 = watcher
            .get("serial")
            .ok()
            .flatten()
            .map(|e| String::from_utf8_lossy(&e.value).trim().parse().expect("n"))
            .unwrap_or(0);
        if n > 20 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    c.stop(0);
    let serials: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("allocator thread"))
        .collect();
    let distinct: BTreeSet<u64> = serials.iter().copied().collect();
    assert_eq!(
        distinct,
        (1..=100).collect::<BTreeSet<u64>>(),
        "100 distinct serials, none lost"
    );
    assert_eq!(
        b.get("serial").expect("get").expect("present").value,
        b"101\n"
    );
    assert_eq!(
        b.list("signed/").expect("list").len(),
        100,
        "no certificate issued twice"
    );
    let inventory = String::from_utf8(b.get("inventory.txt").expect("get").expect("present").value)
        .expect("utf8");
    assert_eq!(
        inventory.lines().count(),
        100,
        "one inventory line per certificate"
    );
}
