//! The etcd backend's client TLS settings against a real etcd member that requires client
//! certificates.

mod common;

use std::path::Path;

use common::{EtcdCluster, TempDir, Tls};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use troupe_store::{Store, StoreError, StoreSettings};

fn issue(
    dir: &Path,
    issuer: &Issuer<'_, KeyPair>,
    name: &str,
    eku: ExtendedKeyUsagePurpose,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("params");
    p.distinguished_name.push(DnType::CommonName, name);
    p.extended_key_usages = vec![eku];
    let cert = p.signed_by(&key, issuer).expect("sign");
    let (c, k) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&c, cert.pem()).expect("write cert");
    std::fs::write(&k, key.serialize_pem()).expect("write key");
    (c, k)
}

fn pki(dir: &Path) -> Tls {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.distinguished_name
        .push(DnType::CommonName, "etcd test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).expect("CA cert");
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, ca_cert.pem()).expect("write CA");
    let issuer = Issuer::new(ca, ca_key);
    let (server_cert, server_key) =
        issue(dir, &issuer, "server", ExtendedKeyUsagePurpose::ServerAuth);
    let (client_cert, client_key) =
        issue(dir, &issuer, "client", ExtendedKeyUsagePurpose::ClientAuth);
    Tls {
        ca: ca_path,
        server_cert,
        server_key,
        client_cert,
        client_key,
    }
}

fn settings(store: &str, tls: &Tls, with_client_cert: bool) -> StoreSettings {
    let mut s = StoreSettings::default();
    s.set("store", store);
    s.set("store_ca_cert", &tls.ca.display().to_string());
    if with_client_cert {
        s.set("store_cert", &tls.client_cert.display().to_string());
        s.set("store_key", &tls.client_key.display().to_string());
    }
    s.set("store_prefix", "/pool-a");
    s
}

#[test]
fn etcd_tls_client_certificate_from_settings() {
    let dir = TempDir::new("pki");
    let tls = pki(dir.path());
    let Some(c) = EtcdCluster::start_with(1, Some(tls.clone())) else {
        return;
    };
    let store = format!("etcd://{}", c.endpoint(0));

    let config = settings(&store, &tls, true)
        .to_config(Path::new("/unused"))
        .expect("config");
    let s = Store::open(&config).expect("open");
    s.put("ca_crl.pem", b"CRL").expect("put over TLS");
    assert_eq!(
        s.get("ca_crl.pem").expect("get").expect("present").value,
        b"CRL"
    );
    // store_prefix keeps pools apart: the cluster helper's client uses the default prefix.
    assert_eq!(c.store(&[0]).get("ca_crl.pem").expect("get"), None);

    // Without a client certificate the member refuses the connection.
    let config = settings(&store, &tls, false)
        .to_config(Path::new("/unused"))
        .expect("config");
    let err = Store::open(&config)
        .and_then(|s| s.get("ca_crl.pem"))
        .expect_err("no client certificate");
    assert!(err.is_unavailable(), "{err:?}");

    // A CA file that cannot be read is named.
    let mut bad = settings(&store, &tls, true);
    bad.set("store_ca_cert", "/nonexistent/ca.pem");
    let err = Store::open(&bad.to_config(Path::new("/unused")).expect("config"))
        .expect_err("missing CA file");
    assert!(
        matches!(&err, StoreError::Config(m) if m.contains("store_ca_cert = \"/nonexistent/ca.pem\"")),
        "{err}"
    );
}
