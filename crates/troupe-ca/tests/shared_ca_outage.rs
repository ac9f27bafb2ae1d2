//! The shared CA while all of etcd is stopped: signing and revocation answer 503 with
//! `the CA store is unavailable: ...`, the CA certificate, the CRL and signed certificates are
//! served from the host's cache, a host (re)starting opens from its cache, and everything
//! recovers by itself when etcd is back, with no serial reused.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use troupe_ca::Ca;
use troupe_store::testing::EtcdCluster;

#[test]
fn with_all_of_etcd_stopped_changes_answer_503_then_recover() {
    let Some(mut cluster) = EtcdCluster::start(3) else {
        return;
    };
    let dir = scratch("ca-outage");
    let store = store_at(&cluster, "/toutage/");
    let secret = secret();
    let a = open(host(dir.path(), "a", &store, Some(&secret)));
    assert_eq!(
        a.submit_csr("before.example.test", &csr("before.example.test")),
        Ok(true)
    );
    let ca_pem = a.ca_cert_pem().expect("CA");
    let crl = a.crl_pem().expect("CRL");
    let before = a.cert_pem("before.example.test").expect("cert");

    cluster.stop_all();
    let e = a
        .submit_csr("during.example.test", &csr("during.example.test"))
        .expect_err("store down");
    assert!(is_outage(&e), "{e:?}");
    assert!(e.is_store_unavailable() && !e.is_pending_cap());
    // Found down once, the store is not asked again for a moment: the next change answers 503
    // at once instead of waiting out another timeout (an agent's CSR while etcd is down got no
    // answer within 10 s when each store call waited its own 3 s).
    let t = Instant::now();
    let e = a
        .revoke(&["before.example.test".into()])
        .expect_err("store down");
    assert!(is_outage(&e), "{e:?}");
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "the second change waited {:?} for a store known to be down",
        t.elapsed()
    );
    // Reads of what this host has seen still work, from its cache.
    assert_eq!(a.ca_cert_pem().as_ref(), Ok(&ca_pem));
    assert_eq!(a.crl_pem().as_ref(), Ok(&crl));
    assert_eq!(a.cert_pem("before.example.test").as_ref(), Some(&before));
    // A host restarting during the outage opens from its cache.
    let a2 = open(host(dir.path(), "a", &store, Some(&secret)));
    assert!(
        a2.repairs()
            .iter()
            .any(|r| r.starts_with("the CA store is unavailable")),
        "{:?}",
        a2.repairs()
    );
    assert_eq!(a2.ca_cert_pem().as_ref(), Ok(&ca_pem));
    drop(a2);

    cluster.start_all();
    // Recovery needs nothing but time: the first calls after the restart may still fail.
    let deadline = Instant::now() + Duration::from_secs(15);
    let signed = loop {
        match a.submit_csr("after.example.test", &csr("after.example.test")) {
            Ok(s) => break s,
            Err(e) if e.status == 503 && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200))
            }
            Err(e) => panic!("no recovery: {e:?}"),
        }
    };
    assert!(signed);
    a.revoke(&["before.example.test".into()]).expect("revoke");
    let serial = a
        .status("before.example.test")
        .expect("status")
        .expect("known")["serial_number"]
        .as_u64()
        .expect("serial");
    assert!(a.revoked_serials().expect("CRL").contains(&serial));
    // No serial reused, and the inventory agrees.
    let mut serials = BTreeSet::new();
    for (_, pem) in a.certificates().expect("certificates") {
        assert!(serials.insert(verified_serial(&ca_pem, &pem)));
    }
    let inv = inventory_serials(&a.inventory().expect("inventory"));
    assert_eq!(inv, vec![1, 2, 3]);
    assert_eq!(serials.into_iter().collect::<Vec<_>>(), vec![2, 3]);
    drop(a);
    drop(cluster);
}

#[test]
fn a_host_without_a_cache_cannot_open_while_the_store_is_down() {
    let Some(mut cluster) = EtcdCluster::start(3) else {
        return;
    };
    let dir = scratch("ca-outage-fresh");
    let store = store_at(&cluster, "/tfresh/");
    cluster.stop_all();
    let e = Ca::open_or_init(host(dir.path(), "fresh", &store, Some(&secret())))
        .expect_err("no store, no cache");
    assert!(is_outage(&e), "{e:?}");
}
