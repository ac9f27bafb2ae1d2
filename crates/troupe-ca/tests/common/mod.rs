//! Helpers of the shared-store CA tests: hosts (a CA with its own cadir over one store),
//! CSRs, and checks of certificates against the CA.

#![allow(dead_code)]

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use std::path::{Path, PathBuf};
use troupe_ca::{Autosign, Ca, CaError, Settings};
use troupe_store::testing::{EtcdCluster, TempDir};
use troupe_store::{Secret, Shared, Store, StoreConfig};
use x509_parser::prelude::*;

/// A client of every member of `cluster`, keys under `prefix` (one CA per prefix).
pub fn store_at(cluster: &EtcdCluster, prefix: &str) -> Store {
    let config = StoreConfig::Etcd {
        endpoints: cluster.all().iter().map(|&i| cluster.endpoint(i)).collect(),
        prefix: prefix.to_string(),
        ca_cert: None,
        client_cert: None,
    };
    Store::open(&config).expect("etcd client")
}

/// The settings of a host: its own cadir (`dir/name`), the store, the secret when given.
pub fn host(dir: &Path, name: &str, store: &Store, secret: Option<&Secret>) -> Settings {
    let mut s = Settings::new(dir.join(name), "puppet.example.test");
    s.keylength = 2048;
    s.autosign = Autosign::All;
    s.shared = Some(Shared {
        store: store.clone(),
        secret: secret.cloned(),
    });
    s
}

/// A dir-mode CA's settings in `dir`.
pub fn dir_settings(dir: &Path) -> Settings {
    let mut s = Settings::new(dir, "puppet.example.test");
    s.keylength = 2048;
    s
}

pub fn secret() -> Secret {
    Secret::generate().expect("secret")
}

/// A CSR (ECDSA P-256: fast) for `cn`.
pub fn csr(cn: &str) -> String {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut p = CertificateParams::default();
    p.distinguished_name = DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.serialize_request(&key).expect("csr").pem().expect("pem")
}

/// The DER of the first PEM block.
pub fn der(pem: &str) -> Vec<u8> {
    x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
        .next()
        .expect("a PEM block")
        .expect("PEM")
        .contents
}

/// The serial of a certificate (PEM), after checking its signature against the CA (PEM).
pub fn verified_serial(ca_pem: &str, cert_pem: &str) -> u64 {
    let ca_der = der(ca_pem);
    let (_, ca) = X509Certificate::from_der(&ca_der).expect("CA cert");
    let cert_der = der(cert_pem);
    let (_, c) = X509Certificate::from_der(&cert_der).expect("cert");
    c.verify_signature(Some(ca.public_key()))
        .expect("signed by the CA");
    c.serial.to_u64_digits().first().copied().unwrap_or(0)
}

/// The serials of an inventory (`0x0002 ...` lines).
pub fn inventory_serials(text: &str) -> Vec<u64> {
    text.lines()
        .map(|l| {
            let hex = l
                .split(' ')
                .next()
                .and_then(|h| h.strip_prefix("0x"))
                .expect("an inventory line");
            u64::from_str_radix(hex, 16).expect("hex serial")
        })
        .collect()
}

/// True for the 503 of an unavailable store.
pub fn is_outage(e: &CaError) -> bool {
    e.status == 503 && e.message.starts_with("the CA store is unavailable: ")
}

/// Runs `openssl verify -CAfile ca cert` (files written to `dir`); its output and success.
pub fn openssl_verify(dir: &Path, ca_pem: &str, cert_pem: &str) -> (bool, String) {
    let ca = dir.join("verify-ca.pem");
    let cert = dir.join("verify-cert.pem");
    std::fs::write(&ca, ca_pem).expect("write");
    std::fs::write(&cert, cert_pem).expect("write");
    let out = std::process::Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(&ca)
        .arg(&cert)
        .output()
        .expect("openssl runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Opens a host's CA (expecting success).
pub fn open(s: Settings) -> Ca {
    Ca::open_or_init(s).expect("open the CA")
}

pub fn scratch(what: &str) -> TempDir {
    TempDir::new(what)
}

pub fn path(t: &TempDir) -> PathBuf {
    t.path().to_path_buf()
}
