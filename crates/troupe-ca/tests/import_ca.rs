//! `Ca::import_dir`: a CA directory made by the dir-mode CA (puppetserver's layout), and one
//! made by OpenSSL with only `ca_crt.pem`, `ca_key.pem` and a signed certificate, moved into an
//! empty etcd store: every certificate stays valid (`openssl verify`), revocations and pending
//! requests come along, serials continue past the old ones, and a non-empty store is refused.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;
use troupe_ca::{Autosign, Ca};
use troupe_store::testing::EtcdCluster;

#[test]
fn import_of_a_puppet_layout_ca_keeps_every_certificate_valid() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let dir = scratch("ca-import");
    let src = dir.path().join("src");
    {
        let mut s = dir_settings(&src);
        s.autosign = Autosign::All;
        let old = Ca::open_or_init(s).expect("dir CA");
        for n in ["a", "b", "c"] {
            let name = format!("{n}.example.test");
            assert_eq!(old.submit_csr(&name, &csr(&name)), Ok(true));
        }
        old.generate("puppet.example.test", &[])
            .expect("server cert");
        old.revoke(&["b.example.test".into()]).expect("revoke");
    }
    {
        let old = Ca::open_or_init(dir_settings(&src)).expect("dir CA");
        assert_eq!(
            old.submit_csr("p.example.test", &csr("p.example.test")),
            Ok(false)
        );
    }
    let store = store_at(&cluster, "/timport/");
    let secret = secret();
    // Without the join secret, nothing is imported.
    let e = Ca::import_dir(host(dir.path(), "x", &store, None), &src).expect_err("no secret");
    assert!(e.message.contains("join_secret_file"), "{e}");

    let notes = Ca::import_dir(host(dir.path(), "a", &store, Some(&secret)), &src).expect("import");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("4 signed certificates and 1 pending")),
        "{notes:?}"
    );
    let mut settings = host(dir.path(), "a", &store, Some(&secret));
    settings.autosign = Autosign::Off;
    let a = open(settings);
    let ca_pem = std::fs::read_to_string(src.join("ca_crt.pem")).expect("ca");
    assert_eq!(a.ca_cert_pem().as_ref(), Ok(&ca_pem));
    for n in ["a", "b", "c", "puppet"] {
        let file = std::fs::read_to_string(src.join(format!("signed/{n}.example.test.pem")))
            .expect("old cert");
        let cert = a.cert_pem(&format!("{n}.example.test")).expect("imported");
        assert_eq!(cert, file);
        let (ok, said) = openssl_verify(dir.path(), &ca_pem, &cert);
        assert!(ok, "{n}: {said}");
    }
    assert_eq!(a.revoked_serials().expect("CRL"), vec![3]);
    assert_eq!(
        a.inventory().expect("inventory"),
        std::fs::read_to_string(src.join("inventory.txt")).expect("old inventory")
    );
    // The pending request came along; signing it continues the old serials.
    assert!(a.csr_pem("p.example.test").is_some());
    let cert = a.sign("p.example.test", None).expect("sign");
    assert_eq!(verified_serial(&ca_pem, &cert), 6);
    assert!(openssl_verify(dir.path(), &ca_pem, &cert).0);
    // The key is sealed, and a second import is refused.
    assert!(store.get("sealed/ca_key.pem").expect("get").is_some());
    let e =
        Ca::import_dir(host(dir.path(), "b", &store, Some(&secret)), &src).expect_err("not empty");
    assert_eq!(e.status, 409);
    assert!(e.message.contains("needs an empty store"), "{e}");
    drop(a);
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn import_of_an_openssl_made_ca_makes_the_rest() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let dir = scratch("ca-import-openssl");
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("signed")).expect("mkdir");
    openssl(
        &src,
        &["genrsa", "-traditional", "-out", "ca_key.pem", "2048"],
    );
    openssl(
        &src,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca_key.pem",
            "-subj",
            "/CN=Old CA",
            "-days",
            "3650",
            "-set_serial",
            "1",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-addext",
            "subjectKeyIdentifier=hash",
            "-out",
            "ca_crt.pem",
        ],
    );
    openssl(
        &src,
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-subj",
            "/CN=old.example.test",
            "-out",
            "leaf.csr",
        ],
    );
    openssl(
        &src,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca_crt.pem",
            "-CAkey",
            "ca_key.pem",
            "-set_serial",
            "16",
            "-days",
            "365",
            "-out",
            "signed/old.example.test.pem",
        ],
    );
    let store = store_at(&cluster, "/topenssl/");
    let secret = secret();
    let notes = Ca::import_dir(host(dir.path(), "a", &store, Some(&secret)), &src).expect("import");
    for want in [
        "made an empty CRL",
        "made from the certificates",
        "serial set to 0011",
    ] {
        assert!(notes.iter().any(|n| n.contains(want)), "{want}: {notes:?}");
    }
    let a = open(host(dir.path(), "a", &store, Some(&secret)));
    let ca_pem = a.ca_cert_pem().expect("CA");
    let old = a.cert_pem("old.example.test").expect("imported");
    assert!(openssl_verify(dir.path(), &ca_pem, &old).0);
    assert_eq!(
        inventory_serials(&a.inventory().expect("inventory")),
        vec![1, 16]
    );
    let new = a
        .submit_csr("new.example.test", &csr("new.example.test"))
        .and_then(|_| a.cert_pem("new.example.test").ok_or_else(unreachable_err))
        .expect("signed");
    assert_eq!(verified_serial(&ca_pem, &new), 17);
    // Revoking the old certificate: OpenSSL sees it revoked in the CA's CRL.
    a.revoke(&["old.example.test".into()]).expect("revoke");
    std::fs::write(dir.path().join("crl.pem"), a.crl_pem().expect("crl")).expect("write");
    std::fs::write(dir.path().join("ca.pem"), &ca_pem).expect("write");
    std::fs::write(dir.path().join("old.pem"), &old).expect("write");
    let out = Command::new("openssl")
        .args([
            "verify",
            "-crl_check",
            "-CAfile",
            "ca.pem",
            "-CRLfile",
            "crl.pem",
            "old.pem",
        ])
        .current_dir(dir.path())
        .output()
        .expect("openssl");
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("revoked"), "{said}");
    // The key in the source directory must match the certificate.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    std::fs::copy(src.join("ca_crt.pem"), other.join("ca_crt.pem")).expect("copy");
    openssl(&other, &["genrsa", "-out", "ca_key.pem", "2048"]);
    let store2 = store_at(&cluster, "/tmismatch/");
    let e = Ca::import_dir(host(dir.path(), "m", &store2, Some(&secret)), &other)
        .expect_err("mismatched key");
    assert!(e.message.contains("is not the key of ca_crt.pem"), "{e}");
    drop(a);
}

fn unreachable_err() -> troupe_ca::CaError {
    troupe_ca::CaError {
        status: 500,
        message: "no certificate after autosign".into(),
    }
}
