//! The CA over a real 3-member etcd cluster, two "hosts" (each a `Ca` with its own cadir) on
//! one store: concurrent signing with unique serials, revocation seen by the other host, one
//! creator of the CA, a member killed mid-burst, a host without the join secret. Skipped when
//! etcd is not installed (TROUPE_REQUIRE_ETCD=1 makes that a failure).

mod common;

use common::*;
use std::collections::BTreeSet;
use std::sync::Arc;
use troupe_ca::Ca;
use troupe_store::testing::EtcdCluster;

/// Submits `names` (autosigned) over the hosts, `threads` threads per host; returns the errors.
fn burst(hosts: &[Arc<Ca>], names: &[String], threads: usize) -> Vec<(String, troupe_ca::CaError)> {
    let mut handles = vec![];
    let workers = hosts.len() * threads;
    for w in 0..workers {
        let ca = hosts[w % hosts.len()].clone();
        let mine: Vec<String> = names.iter().skip(w).step_by(workers).cloned().collect();
        handles.push(std::thread::spawn(move || {
            let mut errors = vec![];
            for n in mine {
                let pem = csr(&n);
                match ca.submit_csr(&n, &pem) {
                    Ok(true) => {}
                    Ok(false) => errors.push((
                        n,
                        troupe_ca::CaError {
                            status: 0,
                            message: "not autosigned".into(),
                        },
                    )),
                    Err(e) => errors.push((n, e)),
                }
            }
            errors
        }));
    }
    handles
        .into_iter()
        .flat_map(|h| h.join().expect("worker"))
        .collect()
}

/// Every signed certificate verifies against the CA, their serials are distinct, and the
/// inventory lists the CA's serial and theirs (and those of cleaned certificates), each once.
/// Returns the number of certificates.
fn check_consistent(ca: &Ca) -> usize {
    let ca_pem = ca.ca_cert_pem().expect("CA cert");
    let mut serials = BTreeSet::new();
    for (_, pem) in ca.certificates().expect("certificates") {
        let s = verified_serial(&ca_pem, &pem);
        assert!(serials.insert(s), "serial {s} issued twice");
    }
    let inv = inventory_serials(&ca.inventory().expect("inventory"));
    let inv_set: BTreeSet<u64> = inv.iter().copied().collect();
    assert_eq!(inv.len(), inv_set.len(), "an inventory serial repeats");
    let mut want = serials.clone();
    want.insert(1);
    assert!(
        want.is_subset(&inv_set),
        "certificates missing from the inventory: {:?}",
        want.difference(&inv_set).collect::<Vec<_>>()
    );
    serials.len()
}

#[test]
fn two_hosts_sign_200_concurrent_csrs_with_distinct_serials() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let dir = scratch("ca-200");
    let store = store_at(&cluster, "/t200/");
    let secret = secret();
    // Both hosts start at once on the empty store: one creates the CA, the other opens it.
    let (a, b) = std::thread::scope(|s| {
        let ha = s.spawn(|| open(host(dir.path(), "a", &store, Some(&secret))));
        let hb = s.spawn(|| open(host(dir.path(), "b", &store, Some(&secret))));
        (ha.join().expect("a"), hb.join().expect("b"))
    });
    assert_eq!(a.ca_cert_pem(), b.ca_cert_pem(), "one CA for both hosts");
    let hosts = [Arc::new(a), Arc::new(b)];
    let names: Vec<String> = (0..200)
        .map(|i| format!("node{i:03}.example.test"))
        .collect();
    let errors = burst(&hosts, &names, 4);
    assert!(errors.is_empty(), "{errors:?}");
    for ca in &hosts {
        assert_eq!(check_consistent(ca), 200);
        assert_eq!(ca.inventory().expect("inventory").lines().count(), 201);
    }
    // The serial key is past every serial.
    let serial = store.get("serial").expect("get").expect("serial");
    assert_eq!(String::from_utf8_lossy(&serial.value), "00CA");

    // Revoke on A: B's CRL lists it; a duplicate request is refused on B.
    let victim = "node007.example.test".to_string();
    let serial = hosts[0].status(&victim).expect("status").expect("known")["serial_number"]
        .as_u64()
        .expect("serial");
    hosts[0]
        .revoke(std::slice::from_ref(&victim))
        .expect("revoke");
    let crl = hosts[1].crl_pem().expect("crl");
    assert!(hosts[1].revoked_serials().expect("crl").contains(&serial));
    assert!(troupe_ca::is_revoked(
        &der(&hosts[1].cert_pem(&victim).expect("cert")),
        &crl
    ));
    let again = hosts[1].submit_csr(&victim, &csr(&victim));
    assert_eq!(again.map_err(|e| e.status), Err(400));
    // Clean on B removes it for A.
    hosts[1]
        .clean(std::slice::from_ref(&victim))
        .expect("clean");
    assert_eq!(hosts[0].cert_pem(&victim), None);
    assert_eq!(check_consistent(&hosts[0]), 199);
}

#[test]
fn a_member_killed_mid_burst_leaves_no_reused_serial() {
    let Some(mut cluster) = EtcdCluster::start(3) else {
        return;
    };
    let dir = scratch("ca-kill");
    let store = store_at(&cluster, "/tkill/");
    let secret = secret();
    let a = Arc::new(open(host(dir.path(), "a", &store, Some(&secret))));
    let b = Arc::new(open(host(dir.path(), "b", &store, Some(&secret))));
    let hosts = [a.clone(), b.clone()];
    let names: Vec<String> = (0..40)
        .map(|i| format!("kill{i:02}.example.test"))
        .collect();
    let killer = {
        let a = a.clone();
        std::thread::spawn(move || {
            // Kill once signing is well under way.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while a.statuses(Some("signed")).map(|v| v.len()).unwrap_or(0) < 8
                && std::time::Instant::now() < deadline
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let leader = leader_index(&cluster).unwrap_or(0);
            cluster.stop(leader);
            (cluster, leader)
        })
    };
    let t0 = std::time::Instant::now();
    let errors = burst(&hosts, &names, 3);
    let (cluster, killed) = killer.join().expect("killer");
    eprintln!(
        "burst of {} over a killed member m{killed}: {:?}, {} errors",
        names.len(),
        t0.elapsed(),
        errors.len()
    );
    assert!(!cluster.running(killed));
    // Losing one member of three keeps quorum: at most the calls in flight fail, with a 503.
    for (n, e) in &errors {
        assert!(e.status == 503, "{n}: {e:?}");
    }
    let signed = check_consistent(&a);
    assert_eq!(check_consistent(&b), signed);
    assert!(
        signed + errors.len() >= names.len(),
        "{signed} signed, {errors:?}"
    );
    // A request that failed mid-signing can be signed afterwards: no half-issued certificate.
    for (n, _) in &errors {
        if a.cert_pem(n).is_none() && a.csr_pem(n).is_some() {
            a.sign(n, None).expect("sign after the failover");
        }
    }
    check_consistent(&a);
    // The hosts go first: their lock leases are revoked while the cluster still runs.
    drop(hosts);
    drop(a);
    drop(b);
    drop(cluster);
}

/// The index of the current leader, asked with `etcdctl endpoint status` when installed.
fn leader_index(cluster: &EtcdCluster) -> Option<usize> {
    let eps: Vec<String> = cluster.all().iter().map(|&i| cluster.endpoint(i)).collect();
    let out = std::process::Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .args([
            "--endpoints",
            &eps.join(","),
            "endpoint",
            "status",
            "-w",
            "json",
        ])
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v.as_array()?.iter().position(|m| {
        m["Status"]["leader"].as_u64().is_some()
            && m["Status"]["leader"] == m["Status"]["header"]["member_id"]
    })
}

#[test]
fn a_host_without_the_join_secret_takes_csrs_but_cannot_sign() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let dir = scratch("ca-nosecret");
    let store = store_at(&cluster, "/tsecret/");
    // On an empty store, a host without the secret cannot create the CA.
    let e = Ca::open_or_init(host(dir.path(), "b0", &store, None)).expect_err("no secret");
    assert_eq!(e.status, 503);
    assert!(e.message.contains("join_secret_file"), "{e}");

    let secret = secret();
    let a = open(host(dir.path(), "a", &store, Some(&secret)));
    let b = open(host(dir.path(), "b", &store, None));
    assert!(!b.can_sign() && a.can_sign());
    assert_eq!(b.ca_cert_pem(), a.ca_cert_pem());
    // B stores the request (autosign is on, but B cannot sign); A signs it.
    assert_eq!(
        b.submit_csr("n1.example.test", &csr("n1.example.test")),
        Ok(false)
    );
    let e = b.sign("n1.example.test", None).expect_err("no secret");
    assert_eq!(e.status, 503);
    assert!(e.message.contains("join_secret_file"), "{e}");
    let e = b.generate("srv.example.test", &[]).expect_err("no secret");
    assert_eq!(e.status, 503);
    assert!(b.crl_pem().is_ok());
    a.sign("n1.example.test", None).expect("A signs");
    assert!(b.cert_pem("n1.example.test").is_some());
    // Revocation also needs the key (a new CRL is signed).
    assert_eq!(
        b.revoke(&["n1.example.test".into()]).map_err(|e| e.status),
        Err(503)
    );
    // A wrong secret cannot unseal the key.
    let c = open(host(dir.path(), "c", &store, Some(&common::secret())));
    assert_eq!(
        b.submit_csr("n2.example.test", &csr("n2.example.test")),
        Ok(false)
    );
    let e = c.sign("n2.example.test", None).expect_err("wrong secret");
    assert!(e.message.contains("cannot unseal the CA key"), "{e}");
    // The key is sealed in the store, never in plaintext, and never in a cadir.
    let sealed = store
        .get("sealed/ca_key.pem")
        .expect("get")
        .expect("sealed");
    assert!(!String::from_utf8_lossy(&sealed.value).contains("PRIVATE KEY"));
    assert_eq!(store.get("ca_key.pem").expect("get"), None);
    for h in ["a", "b", "c"] {
        assert!(!dir.path().join(h).join("ca_key.pem").exists());
    }
}
