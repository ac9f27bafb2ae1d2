//! The CA end to end on a scratch directory: bootstrap, CSR intake and policy, autosign,
//! signing with Puppet's extensions, revocation and the CRL, status, clean, and serials
//! allocated without collision by concurrent signers.

use rcgen::{CertificateParams, CustomExtension, DistinguishedName, DnType, KeyPair, SanType};
use std::path::PathBuf;
use troupe_ca::{Autosign, Ca, Settings};
use x509_parser::prelude::*;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("troupe-ca-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn settings(dir: &PathBuf) -> Settings {
    let mut s = Settings::new(dir, "puppet.example.test");
    s.keylength = 2048;
    s
}

fn csr(cn: &str, sans: &[&str], exts: &[(&[u64], &str)]) -> String {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut p = CertificateParams::default();
    p.distinguished_name = DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    for s in sans {
        p.subject_alt_names
            .push(SanType::DnsName((*s).try_into().expect("dns")));
    }
    for (oid, v) in exts {
        let mut der = vec![0x0c, v.len() as u8];
        der.extend_from_slice(v.as_bytes());
        p.custom_extensions
            .push(CustomExtension::from_oid_content(oid, der));
    }
    p.serialize_request(&key).expect("csr").pem().expect("pem")
}

#[test]
fn csr_lifecycle_follows_puppetserver() {
    let dir = scratch("lifecycle");
    let ca = Ca::open_or_init(settings(&dir)).expect("init");
    for f in [
        "ca_crt.pem",
        "ca_key.pem",
        "ca_crl.pem",
        "serial",
        "inventory.txt",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
    // Pending, then a duplicate is refused with Puppet's words.
    assert_eq!(
        ca.submit_csr("node1.example.test", &csr("node1.example.test", &[], &[])),
        Ok(false)
    );
    let st = ca
        .status("node1.example.test")
        .expect("status")
        .expect("some");
    assert_eq!(st["state"], "requested");
    let dup = ca
        .submit_csr("node1.example.test", &csr("node1.example.test", &[], &[]))
        .expect_err("dup");
    assert_eq!(dup.status, 400);
    assert_eq!(
        dup.message,
        "node1.example.test already has a requested certificate; ignoring certificate request"
    );
    // Name mismatch.
    let e = ca
        .submit_csr("node2.example.test", &csr("evil.example.test", &[], &[]))
        .expect_err("mismatch");
    assert_eq!(
        e.message,
        "Instance name \"evil.example.test\" does not match requested key \"node2.example.test\""
    );
    // Garbage.
    assert_eq!(
        ca.submit_csr("x", "not a csr").expect_err("garbage").status,
        400
    );

    let pem = ca.sign("node1.example.test", None).expect("sign");
    let st = ca
        .status("node1.example.test")
        .expect("status")
        .expect("some");
    assert_eq!(st["state"], "signed");
    assert_eq!(st["serial_number"], 2);
    assert_eq!(
        st["dns_alt_names"],
        serde_json::json!(["DNS:node1.example.test"])
    );
    // The certificate verifies against the CA.
    let ca_pem = ca.ca_cert_pem().expect("ca");
    let (_, ca_der) = x509_parser::pem::parse_x509_pem(ca_pem.as_bytes()).expect("pem");
    let (_, ca_cert) = X509Certificate::from_der(&ca_der.contents).expect("der");
    let (_, der) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).expect("pem");
    let (_, cert) = X509Certificate::from_der(&der.contents).expect("der");
    cert.verify_signature(Some(ca_cert.public_key()))
        .expect("verifies");
    assert!(
        cert.extended_key_usage()
            .expect("eku")
            .expect("some")
            .critical
    );

    // Revocation lands on the CRL and in the status.
    ca.revoke(&["node1.example.test".into()]).expect("revoke");
    assert_eq!(ca.revoked_serials().expect("crl"), vec![2]);
    assert_eq!(
        ca.status("node1.example.test").expect("s").expect("some")["state"],
        "revoked"
    );
    let e = ca
        .submit_csr("node1.example.test", &csr("node1.example.test", &[], &[]))
        .expect_err("revoked");
    assert!(
        e.message.contains("already has a revoked certificate"),
        "{}",
        e.message
    );

    // Clean revokes and deletes; unknown names are reported.
    let msg = ca
        .clean(&["node1.example.test".into(), "ghost".into()])
        .expect("clean");
    assert_eq!(
        msg,
        "The following certs do not exist and cannot be revoked: [\"ghost\"]"
    );
    assert!(ca.status("node1.example.test").expect("s").is_none());
    let inv = std::fs::read_to_string(dir.join("inventory.txt")).expect("inventory");
    assert!(
        inv.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("0x0002 ") && l.ends_with(" /CN=node1.example.test")),
        "{inv}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn autosign_and_extension_policy() {
    let dir = scratch("autosign");
    let glob = dir.with_extension("autosign.conf");
    std::fs::write(&glob, "# agents\n*.example.test\n").expect("write");
    let mut s = settings(&dir);
    s.autosign = Autosign::parse(glob.to_str().unwrap_or_default());
    let ca = Ca::open_or_init(s).expect("init");
    const PP_ROLE: &[u64] = &[1, 3, 6, 1, 4, 1, 34380, 1, 1, 13];
    const PP_AUTH: &[u64] = &[1, 3, 6, 1, 4, 1, 34380, 1, 3, 1];
    assert_eq!(
        ca.submit_csr(
            "web1.example.test",
            &csr("web1.example.test", &[], &[(PP_ROLE, "webserver")])
        ),
        Ok(true)
    );
    let pem = ca.cert_pem("web1.example.test").expect("signed");
    let (_, der) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).expect("pem");
    let ext = troupe_ca::trusted_extensions(&der.contents);
    assert_eq!(ext.get("pp_role"), Some(&serde_json::json!("webserver")));
    // Outside the glob: pending.
    assert_eq!(
        ca.submit_csr("db1.other.test", &csr("db1.other.test", &[], &[])),
        Ok(false)
    );
    // Extra alt names and authorization extensions are refused, the CSR stays pending.
    let e = ca
        .submit_csr(
            "alt.example.test",
            &csr(
                "alt.example.test",
                &["alt.example.test", "www.example.test"],
                &[],
            ),
        )
        .expect_err("san");
    assert!(e.message.starts_with("CSR 'alt.example.test' contains extra subject alternative names (DNS:alt.example.test, DNS:www.example.test), which are disallowed."), "{}", e.message);
    assert_eq!(
        ca.status("alt.example.test").expect("s").expect("some")["state"],
        "requested"
    );
    let e = ca
        .submit_csr(
            "auth.example.test",
            &csr("auth.example.test", &[], &[(PP_AUTH, "x")]),
        )
        .expect_err("auth");
    assert!(
        e.message.contains("contains an authorization extension"),
        "{}",
        e.message
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&glob);
}

#[test]
fn concurrent_signers_never_share_a_serial() {
    let dir = scratch("concurrent");
    let mut s = settings(&dir);
    s.autosign = Autosign::All;
    Ca::open_or_init(s.clone()).expect("init");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                let ca = Ca::open_or_init(s).expect("open");
                for i in 0..4 {
                    let n = format!("n{t}-{i}.example.test");
                    assert_eq!(ca.submit_csr(&n, &csr(&n, &[], &[])), Ok(true));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let ca = Ca::open_or_init(s).expect("open");
    let mut serials: Vec<u64> = ca
        .statuses(Some("signed"))
        .expect("statuses")
        .iter()
        .filter_map(|s| s["serial_number"].as_u64())
        .collect();
    serials.sort();
    assert_eq!(serials, (2..34).collect::<Vec<u64>>());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn autosign_command_gets_the_name_and_the_csr() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("command");
    let script = dir.with_extension("policy.sh");
    // Approve names starting with "ok" whose CSR arrives on stdin.
    std::fs::write(
        &script,
        "#!/bin/sh\ngrep -q 'BEGIN CERTIFICATE REQUEST' || exit 3\ncase \"$1\" in ok*) exit 0;; *) exit 1;; esac\n",
    )
    .expect("write");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut s = settings(&dir);
    s.autosign = Autosign::parse(script.to_str().unwrap_or_default());
    assert!(matches!(s.autosign, Autosign::Command(_)));
    let ca = Ca::open_or_init(s).expect("init");
    assert_eq!(
        ca.submit_csr("ok1.example.test", &csr("ok1.example.test", &[], &[])),
        Ok(true)
    );
    assert_eq!(
        ca.submit_csr("no1.example.test", &csr("no1.example.test", &[], &[])),
        Ok(false)
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&script);
}

#[test]
fn the_crl_is_reissued_before_it_expires() {
    use rcgen::{CertificateRevocationListParams, Issuer, KeyIdMethod, SerialNumber};
    let dir = scratch("crlttl");
    let ca = Ca::open_or_init(settings(&dir)).expect("init");
    let number = |pem: &str| {
        let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).expect("pem");
        let (_, crl) = CertificateRevocationList::from_der(&p.contents).expect("crl");
        crl.crl_number()
            .and_then(|n| n.to_u64_digits().first().copied())
            .unwrap_or(0)
    };
    let first = ca.crl_pem().expect("crl");
    assert_eq!(number(&first), 0);
    assert_eq!(ca.refresh_crl_if_due(), Ok(false));
    // A CRL (signed by this CA) with one day left, far less than a quarter of crl_ttl.
    let key = KeyPair::from_pem(&std::fs::read_to_string(dir.join("ca_key.pem")).expect("key"))
        .expect("key");
    let issuer = Issuer::from_ca_cert_pem(&ca.ca_cert_pem().expect("ca"), &key).expect("issuer");
    let t = ::time::OffsetDateTime::now_utc();
    let old = CertificateRevocationListParams {
        this_update: t - ::time::Duration::days(30),
        next_update: t + ::time::Duration::days(1),
        crl_number: SerialNumber::from_slice(&[5]),
        issuing_distribution_point: None,
        revoked_certs: vec![],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)
    .expect("crl")
    .pem()
    .expect("pem");
    std::fs::write(dir.join("ca_crl.pem"), &old).expect("write");
    assert!(matches!(
        ca.crl_freshness(),
        Ok(troupe_ca::CrlFreshness::ExpiringSoon { .. })
    ));
    assert_eq!(ca.refresh_crl_if_due(), Ok(true));
    let second = ca.crl_pem().expect("crl");
    assert_eq!(number(&second), 6);
    assert!(matches!(
        ca.crl_freshness(),
        Ok(troupe_ca::CrlFreshness::Fresh { .. })
    ));
    assert_eq!(ca.refresh_crl_if_due(), Ok(false));
    assert!(ca.revoked_serials().expect("serials").is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A CA directory as puppetserver leaves it (PKCS#1 key, OpenSSL-made certificate and CRL,
/// `serial`, `inventory.txt`) is used as it is: troupe signs with it and revokes into its CRL.
#[test]
fn an_existing_openssl_made_ca_directory_works_as_is() {
    use std::process::Command;
    let dir = scratch("existing");
    std::fs::create_dir_all(dir.join("signed")).expect("mkdir");
    std::fs::create_dir_all(dir.join("requests")).expect("mkdir");
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["genrsa", "-traditional", "-out", "ca_key.pem", "2048"]);
    assert!(std::fs::read_to_string(dir.join("ca_key.pem"))
        .unwrap_or_default()
        .starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    run(&[
        "req",
        "-x509",
        "-new",
        "-key",
        "ca_key.pem",
        "-subj",
        "/CN=Puppet CA: old.example.test",
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
    ]);
    std::fs::write(dir.join("index.txt"), "").expect("index");
    std::fs::write(dir.join("crlnumber"), "00\n").expect("crlnumber");
    std::fs::write(
        dir.join("openssl.cnf"),
        "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\ndefault_crl_days = 3650\n",
    )
    .expect("cnf");
    run(&[
        "ca",
        "-config",
        "openssl.cnf",
        "-gencrl",
        "-keyfile",
        "ca_key.pem",
        "-cert",
        "ca_crt.pem",
        "-out",
        "ca_crl.pem",
    ]);
    std::fs::write(dir.join("serial"), "0002").expect("serial");
    std::fs::write(
        dir.join("inventory.txt"),
        "0x0001 2020-01-01T00:00:00UTC 2030-01-01T00:00:00UTC /CN=Puppet CA: old.example.test\n",
    )
    .expect("inv");

    let mut s = settings(&dir);
    s.autosign = Autosign::All;
    let ca = Ca::open_or_init(s).expect("open the existing CA");
    assert_eq!(
        ca.submit_csr("agent.example.test", &csr("agent.example.test", &[], &[])),
        Ok(true)
    );
    run(&[
        "verify",
        "-CAfile",
        "ca_crt.pem",
        "signed/agent.example.test.pem",
    ]);
    ca.revoke(&["agent.example.test".into()]).expect("revoke");
    assert_eq!(ca.revoked_serials().expect("crl"), vec![2]);
    let out = Command::new("openssl")
        .args([
            "verify",
            "-crl_check",
            "-CAfile",
            "ca_crt.pem",
            "-CRLfile",
            "ca_crl.pem",
            "signed/agent.example.test.pem",
        ])
        .current_dir(&dir)
        .output()
        .expect("openssl");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success() && said.contains("revoked"), "{said}");
    let _ = std::fs::remove_dir_all(&dir);
}
