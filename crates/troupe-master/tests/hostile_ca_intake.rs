//! Hostile input at the master's CA door: a flood of distinct certificate requests fills the
//! pending queue only up to `max_pending_csrs` (then 503 + Retry-After), and the master's own
//! private key is kept with Puppet's modes, tightened when an older install left it loose.

mod common;

use common::*;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

fn csr(cn: &str) -> String {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut p = CertificateParams::default();
    p.distinguished_name = DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.serialize_request(&key).expect("csr").pem().expect("pem")
}

fn put_csr(addr: std::net::SocketAddr, name: &str) -> Resp {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let path = format!("/puppet-ca/v1/certificate_request/{name}");
    s.write_all(&request(
        "PUT",
        &path,
        &[("Content-Type", "text/plain")],
        csr(name).as_bytes(),
    ))
    .expect("write");
    let mut out = vec![];
    let _ = s.read_to_end(&mut out);
    parse(&out).expect("response")
}

#[test]
fn csr_flood_of_distinct_names_stops_at_max_pending_csrs() {
    let dir = Scratch::new("pending-cap");
    let mut c = config(dir.path(), false);
    c.max_pending_csrs = 2;
    c.limits.csr_rate_limit = 1000;
    let m = start(c);
    for i in 0..2 {
        let r = put_csr(m.addr, &format!("flood{i}.example.test"));
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = put_csr(m.addr, "flood2.example.test");
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("max_pending_csrs"), "{}", r.body);
    assert!(
        r.header("retry-after")
            .is_some_and(|v| v.parse::<u64>().is_ok_and(|n| n >= 1)),
        "no Retry-After: {r:?}"
    );
    // The refusal is the cap, not the names: nothing of flood2 was stored.
    let mut s = TcpStream::connect(m.addr).expect("connect");
    s.write_all(&request(
        "GET",
        "/puppet-ca/v1/certificate_request/flood2.example.test",
        &[],
        b"",
    ))
    .expect("write");
    let mut out = vec![];
    let _ = s.read_to_end(&mut out);
    assert_eq!(parse(&out).expect("response").status, 404);
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("metadata").permissions().mode() & 0o7777
}

#[test]
fn master_private_key_has_puppets_modes_and_loose_ones_are_tightened() {
    let dir = Scratch::new("key-modes");
    let keydir = dir.path().join("ssl/private_keys");
    let key = keydir.join(format!("{MASTER}.pem"));
    drop(start(config(dir.path(), true)));
    assert_eq!(mode(&keydir), 0o750);
    assert_eq!(mode(&key), 0o640);
    // An older install left them readable by everyone: the next start tightens them.
    std::fs::set_permissions(&keydir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    drop(start(config(dir.path(), true)));
    assert_eq!(mode(&keydir), 0o750);
    assert_eq!(mode(&key), 0o640);
}
