//! Hostile identity: forged identity headers, duplicate or conflicting ones, authorization of
//! a node's own objects, an expired CRL.

mod common;
use common::*;

const ADMIN: &str = "admin.example.test";
const FRONT: &str = "front.example.test";

/// Every CA-administration request a forged admin identity might try: none may succeed.
fn assert_no_ca_admin(send: impl Fn(&str, &str, &[u8]) -> Option<Resp>) {
    for (method, path, body) in [
        (
            "PUT",
            "/puppet-ca/v1/certificate_status/victim.example.test",
            &br#"{"desired_state":"revoked"}"#[..],
        ),
        (
            "PUT",
            "/puppet-ca/v1/certificate_status/victim.example.test",
            &br#"{"desired_state":"signed"}"#[..],
        ),
        (
            "DELETE",
            "/puppet-ca/v1/certificate_status/victim.example.test",
            &b""[..],
        ),
        ("GET", "/puppet-ca/v1/certificate_statuses/all", &b""[..]),
        (
            "PUT",
            "/puppet-ca/v1/clean",
            &br#"{"certnames":["victim.example.test"]}"#[..],
        ),
    ] {
        let status = send(method, path, body).map(|r| r.status);
        assert_eq!(
            status,
            Some(403),
            "{method} {path} with a forged admin identity"
        );
    }
}

#[test]
fn plain_http_trusted_address_forging_an_admin_certificate_cannot_sign_or_revoke() {
    let dir = Scratch::new("forge-plain");
    let mut c = config(dir.path(), false);
    c.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    let cadir = c.cadir.clone().expect("cadir");
    let m = start(c);
    // The admin certificate is public (anyone can GET it from the CA): forge with it.
    let (admin_cert, _) = issue(&cadir, ADMIN, true);
    let forged = front_headers(ADMIN, Some(&admin_cert));
    assert_no_ca_admin(|method, path, body| Some(http(m.addr, method, path, &refs(&forged), body)));
    // The same headers do identify a node for the node's own objects (a trusted address may
    // impersonate any node, nothing more).
    let r = http(
        m.addr,
        "GET",
        &format!("/puppet/v3/node/{ADMIN}?environment=production"),
        &refs(&forged),
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn https_connection_without_the_fronts_certificate_has_its_identity_headers_ignored() {
    let dir = Scratch::new("forge-tls");
    let mut c = config(dir.path(), true);
    // Even from a trusted address, headers need the front's certificate.
    c.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    c.trusted_fronts = vec![FRONT.into()];
    let (cadir, ssldir) = (c.cadir.clone().expect("cadir"), c.ssldir.clone());
    let m = start(c);
    let node1 = issue(&cadir, "node1.example.test", false);
    let (admin_cert, _) = issue(&cadir, ADMIN, true);
    let as_node1 = tls_client(&ssldir, Some(&node1));
    let anonymous = tls_client(&ssldir, None);
    let claim_node2 = front_headers("node2.example.test", None);
    for (who, cfg) in [("node1", &as_node1), ("anonymous", &anonymous)] {
        let r = https(
            m.addr,
            cfg,
            "GET",
            "/puppet/v3/node/node2.example.test?environment=production",
            &refs(&claim_node2),
            b"",
        );
        assert_eq!(
            r.map(|r| r.status),
            Some(403),
            "{who} claiming node2 by headers"
        );
        let forged = front_headers(ADMIN, Some(&admin_cert));
        assert_no_ca_admin(|method, path, body| {
            https(m.addr, cfg, method, path, &refs(&forged), body)
        });
    }
    // node1's own certificate still counts.
    let r = https(
        m.addr,
        &as_node1,
        "GET",
        "/puppet/v3/node/node1.example.test?environment=production",
        &refs(&claim_node2),
        b"",
    );
    assert_eq!(r.map(|r| r.status), Some(200));
}

#[test]
fn https_fronts_certificate_carries_identity_headers_but_never_ca_administration() {
    let dir = Scratch::new("front-tls");
    let mut c = config(dir.path(), true);
    c.trusted_fronts = vec![FRONT.into()];
    let (cadir, ssldir) = (c.cadir.clone().expect("cadir"), c.ssldir.clone());
    let m = start(c);
    let front = tls_client(&ssldir, Some(&issue(&cadir, FRONT, false)));
    let node2 = front_headers("node2.example.test", None);
    let r = https(
        m.addr,
        &front,
        "GET",
        "/puppet/v3/node/node2.example.test?environment=production",
        &refs(&node2),
        b"",
    );
    assert_eq!(
        r.map(|r| r.status),
        Some(200),
        "the front vouches for node2"
    );
    // Without headers the front's connection is nobody, not the front.
    let r = https(
        m.addr,
        &front,
        "GET",
        &format!("/puppet/v3/node/{FRONT}?environment=production"),
        &[],
        b"",
    );
    assert_eq!(r.map(|r| r.status), Some(403));
    let admin = issue(&cadir, ADMIN, true);
    let forged = front_headers(ADMIN, Some(&admin.0));
    assert_no_ca_admin(|method, path, body| {
        https(m.addr, &front, method, path, &refs(&forged), body)
    });
    // The admin's own TLS certificate does administer the CA.
    let as_admin = tls_client(&ssldir, Some(&admin));
    let r = https(
        m.addr,
        &as_admin,
        "GET",
        "/puppet-ca/v1/certificate_statuses/all",
        &[],
        b"",
    );
    assert_eq!(r.map(|r| r.status), Some(200));
}

#[test]
fn duplicate_identity_headers_make_the_client_anonymous() {
    let dir = Scratch::new("dup-headers");
    let mut c = config(dir.path(), false);
    c.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    let m = start(c);
    let path = "/puppet/v3/node/node1.example.test?environment=production";
    let ok = http(
        m.addr,
        "GET",
        path,
        &refs(&front_headers("node1.example.test", None)),
        b"",
    );
    assert_eq!(ok.status, 200);
    for headers in [
        vec![
            ("X-Client-Verify", "SUCCESS"),
            ("X-Client-DN", "CN=node1.example.test"),
            ("X-Client-DN", "CN=node2.example.test"),
        ],
        vec![
            ("X-Client-Verify", "SUCCESS"),
            ("X-Client-Verify", "NONE"),
            ("X-Client-DN", "CN=node1.example.test"),
        ],
        vec![
            ("X-Client-Verify", "FAILED:revoked"),
            ("X-Client-DN", "CN=node1.example.test"),
        ],
    ] {
        let r = http(m.addr, "GET", path, &headers, b"");
        assert_eq!(r.status, 403, "{headers:?}");
    }
}

#[test]
fn identity_header_dn_conflicting_with_the_certificate_makes_the_client_anonymous() {
    let dir = Scratch::new("dn-cert");
    let mut c = config(dir.path(), false);
    c.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    let cadir = c.cadir.clone().expect("cadir");
    let m = start(c);
    let (node2_cert, _) = issue(&cadir, "node2.example.test", false);
    let mut h = front_headers("node1.example.test", Some(&node2_cert));
    let r = http(
        m.addr,
        "GET",
        "/puppet/v3/node/node1.example.test?environment=production",
        &refs(&h),
        b"",
    );
    assert_eq!(r.status, 403);
    h.retain(|(k, _)| k != "X-Client-DN");
    let r = http(
        m.addr,
        "GET",
        "/puppet/v3/node/node2.example.test?environment=production",
        &refs(&h),
        b"",
    );
    assert_eq!(r.status, 200, "the certificate alone names node2");
}

#[test]
fn untrusted_address_identity_headers_are_ignored() {
    let dir = Scratch::new("untrusted");
    let c = config(dir.path(), false);
    let m = start(c);
    let r = http(
        m.addr,
        "GET",
        "/puppet/v3/node/node1.example.test?environment=production",
        &refs(&front_headers("node1.example.test", None)),
        b"",
    );
    assert_eq!(r.status, 403);
}

#[test]
fn node_fetching_another_nodes_node_catalog_or_report_is_refused() {
    let dir = Scratch::new("own-objects");
    let mut c = config(dir.path(), false);
    c.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    let m = start(c);
    let me = front_headers("node1.example.test", None);
    let me = refs(&me);
    let report = br#"{"host":"node2.example.test","transaction_uuid":"aa-1"}"#;
    for (method, path, body) in [
        (
            "GET",
            "/puppet/v3/node/node2.example.test?environment=production",
            &b""[..],
        ),
        (
            "GET",
            "/puppet/v3/catalog/node2.example.test?environment=production",
            &b""[..],
        ),
        (
            "POST",
            "/puppet/v3/catalog/node2.example.test",
            &b"environment=production"[..],
        ),
        (
            "PUT",
            "/puppet/v3/report/node2.example.test?environment=production",
            &report[..],
        ),
        ("PUT", "/puppet/v3/catalog/node1.example.test", &b""[..]),
        (
            "GET",
            "/puppet/v3/node/node2.example.test/../node1.example.test",
            &b""[..],
        ),
    ] {
        let r = http(m.addr, method, path, &me, body);
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
    }
    let anon: &[(&str, &str)] = &[];
    for path in [
        "/puppet/v3/node/node1.example.test?environment=production",
        "/puppet/v3/catalog/node1.example.test?environment=production",
        "/puppet/v3/file_metadatas/plugins?environment=production",
    ] {
        assert_eq!(
            http(m.addr, "GET", path, anon, b"").status,
            403,
            "anonymous {path}"
        );
    }
    let r = http(
        m.addr,
        "GET",
        "/puppet/v3/node/node1.example.test?environment=production",
        &me,
        b"",
    );
    assert_eq!(r.status, 200);
    assert!(!dir.path().join("reports/node2.example.test").exists());
}

#[test]
fn expired_crl_refuses_client_certificates() {
    // A master without a CA of its own, given an ssldir whose CRL has expired.
    let dir = Scratch::new("expired-crl");
    let mut c = config(dir.path(), true);
    let cadir = dir.path().join("external-ca");
    let mut cs = c.ca_settings(cadir.clone());
    cs.keylength = 2048;
    let ca = troupe_ca::Ca::open_or_init(cs).expect("ca");
    let ssl = c.ssldir.clone();
    for d in ["certs", "private_keys"] {
        std::fs::create_dir_all(ssl.join(d)).expect("ssldir");
    }
    let (mcert, mkey) = issue(&cadir, "localhost", false);
    c.certname = "localhost".into();
    std::fs::write(ssl.join("certs/localhost.pem"), mcert).expect("cert");
    std::fs::write(ssl.join("private_keys/localhost.pem"), mkey).expect("key");
    std::fs::write(ssl.join("certs/ca.pem"), ca.ca_cert_pem().expect("ca pem")).expect("ca");
    let ca_key = rcgen::KeyPair::from_pem(
        &std::fs::read_to_string(cadir.join("ca_key.pem")).expect("ca key"),
    )
    .expect("key");
    let issuer =
        rcgen::Issuer::from_ca_cert_pem(&ca.ca_cert_pem().expect("pem"), ca_key).expect("issuer");
    let now = time::OffsetDateTime::now_utc();
    let crl = rcgen::CertificateRevocationListParams {
        this_update: now - time::Duration::days(2),
        next_update: now - time::Duration::days(1),
        crl_number: rcgen::SerialNumber::from(9u64),
        issuing_distribution_point: None,
        revoked_certs: vec![],
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)
    .expect("crl");
    std::fs::write(ssl.join("crl.pem"), crl.pem().expect("crl pem")).expect("crl");
    c.cadir = None;
    let m = start(c);
    let node1 = issue(&cadir, "node1.example.test", false);
    let as_node1 = tls_client(&ssl, Some(&node1));
    let r = https(
        m.addr,
        &as_node1,
        "GET",
        "/puppet/v3/node/node1.example.test?environment=production",
        &[],
        b"",
    );
    assert!(
        r.as_ref().is_none_or(|r| r.status == 403),
        "a client certificate was accepted against an expired CRL: {r:?}"
    );
    // Anonymous clients still reach what is open to them.
    let r = https(
        m.addr,
        &tls_client(&ssl, None),
        "GET",
        "/status/v1/simple",
        &[],
        b"",
    );
    assert_eq!(r.map(|r| r.status), Some(200));
}
