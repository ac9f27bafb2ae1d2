//! The shared CA against hostile or broken state: a store holding part of a CA or garbage
//! values, a full queue of pending requests, duplicates, and CA directories to import that
//! are broken. Every case is a clear error naming what is wrong; nothing panics.

mod common;

use common::*;
use troupe_ca::{Autosign, Ca, CaError};
use troupe_store::testing::EtcdCluster;

#[test]
fn broken_store_state_and_policies_are_clear_errors() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let dir = scratch("ca-hostile");
    let secret = secret();

    // Part of a CA: refused, naming what is there and what is missing.
    let store = store_at(&cluster, "/hpartial/");
    store.put("ca_crt.pem", b"x").expect("put");
    let e = Ca::open_or_init(host(dir.path(), "p", &store, Some(&secret))).expect_err("partial");
    assert!(
        e.message.contains("partial state") && e.message.contains("sealed/ca_key.pem"),
        "{e}"
    );

    // Pending cap, duplicates and re-judging of pending requests.
    let store = store_at(&cluster, "/hcap/");
    let mut s = host(dir.path(), "a", &store, Some(&secret));
    s.autosign = Autosign::Off;
    s.max_pending_csrs = 2;
    let a = open(s);
    for n in ["q1", "q2"] {
        let name = format!("{n}.example.test");
        assert_eq!(a.submit_csr(&name, &csr(&name)), Ok(false));
    }
    let e = a
        .submit_csr("q3.example.test", &csr("q3.example.test"))
        .expect_err("cap");
    assert!(e.is_pending_cap() && !e.is_store_unavailable(), "{e:?}");
    let e = a
        .submit_csr("q1.example.test", &csr("q1.example.test"))
        .expect_err("duplicate");
    assert_eq!(e.status, 400);
    assert!(
        e.message.contains("already has a requested certificate"),
        "{e}"
    );
    a.generate("srv.example.test", &[]).expect("generate");
    let e = a.generate("srv.example.test", &[]).expect_err("duplicate");
    assert_eq!(e.status, 409);
    // A host opening with autosign on signs what is pending.
    let b = open(host(dir.path(), "b", &store, Some(&secret)));
    assert_eq!(
        b.repairs()
            .iter()
            .filter(|r| r.contains("autosign accepts it; signed"))
            .count(),
        2,
        "{:?}",
        b.repairs()
    );
    assert!(a.cert_pem("q1.example.test").is_some());
    assert!(a.statuses(Some("requested")).expect("statuses").is_empty());
    // Delete without revoking, seen by the other host.
    assert_eq!(b.delete("q2.example.test"), Ok(true));
    assert_eq!(a.status("q2.example.test"), Ok(None));

    // Garbage values: a clear error, no panic.
    store.put("serial", b"not hex").expect("put");
    let e = a
        .submit_csr("g.example.test", &csr("g.example.test"))
        .err()
        .or_else(|| a.sign("g.example.test", None).err())
        .expect("garbage serial");
    assert!(e.message.contains("not a hex number"), "{e}");
    let e = Ca::open_or_init(host(dir.path(), "c", &store, Some(&secret))).expect_err("serial");
    assert!(e.message.contains("not a hex number"), "{e}");
    store.put("serial", b"0010").expect("put");
    store.put("sealed/ca_key.pem", b"garbage").expect("put");
    let fresh = open(host(dir.path(), "c", &store, Some(&secret)));
    let e = fresh
        .generate("x.example.test", &[])
        .expect_err("garbage key");
    assert!(e.message.contains("cannot unseal the CA key"), "{e}");
    store.put("ca_crl.pem", b"garbage").expect("put");
    let e: CaError = a.revoked_serials().expect_err("garbage CRL");
    assert!(e.message.contains("CRL"), "{e}");
    drop((a, b, fresh));
    drop(cluster);
}

#[test]
fn broken_directories_to_import_are_clear_errors() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let dir = scratch("ca-hostile-import");
    let secret = secret();
    let store = store_at(&cluster, "/himport/");
    let settings = || host(dir.path(), "a", &store, Some(&secret));

    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    let e = Ca::import_dir(settings(), &src).expect_err("empty dir");
    assert!(e.message.contains("ca_crt.pem"), "{e}");
    std::fs::write(src.join("ca_crt.pem"), "not a certificate").expect("write");
    std::fs::write(src.join("ca_key.pem"), "not a key").expect("write");
    let e = Ca::import_dir(settings(), &src).expect_err("garbage key");
    assert!(e.message.contains("ca_key.pem is not a private key"), "{e}");

    // A good CA, with a garbage serial and a garbage certificate.
    let good = dir.path().join("good");
    {
        let mut s = dir_settings(&good);
        s.autosign = Autosign::All;
        let old = Ca::open_or_init(s).expect("dir CA");
        assert_eq!(
            old.submit_csr("n.example.test", &csr("n.example.test")),
            Ok(true)
        );
    }
    std::fs::write(good.join("serial"), "zz").expect("write");
    let e = Ca::import_dir(settings(), &good).expect_err("garbage serial");
    assert!(e.message.contains("serial"), "{e}");
    std::fs::write(good.join("serial"), "0003").expect("write");
    std::fs::write(good.join("signed/bad.example.test.pem"), "garbage").expect("write");
    let e = Ca::import_dir(settings(), &good).expect_err("garbage cert");
    assert!(e.message.contains("signed/bad.example.test.pem"), "{e}");
    // Nothing was imported by the failed attempts: the store takes a good import.
    std::fs::remove_file(good.join("signed/bad.example.test.pem")).expect("rm");
    Ca::import_dir(settings(), &good).expect("import");
    // Not a shared store: refused.
    let e = Ca::import_dir(dir_settings(&dir.path().join("d")), &good).expect_err("dir");
    assert!(e.message.contains("needs a shared store"), "{e}");
    drop(cluster);
}
