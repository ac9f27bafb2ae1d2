//! Hostile input and faults against the CA: secrets on disk, the states a crash leaves, CSR
//! intake (size, cap, malformed and forged requests, names, extensions, alt names), the CRL
//! (revocation read by OpenSSL, freshness, lifetime bounds) and serials under concurrency.
//! One test per attack; each works on its own scratch directory.

use rcgen::{
    CertificateParams, CertificateRevocationListParams, CustomExtension, DistinguishedName, DnType,
    Issuer, KeyIdMethod, KeyPair, SanType, SerialNumber,
};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use troupe_ca::{Autosign, Ca, CrlFreshness, Settings};
use x509_parser::prelude::*;

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let d = std::env::temp_dir().join(format!("troupe-ca-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    Scratch(d)
}

fn settings(dir: &Path) -> Settings {
    let mut s = Settings::new(dir, "puppet.example.test");
    s.keylength = 2048;
    s
}

fn csr_with(cn: &str, sans: &[SanType], exts: &[(&[u64], &str)]) -> String {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut p = CertificateParams::default();
    p.distinguished_name = DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.subject_alt_names = sans.to_vec();
    for (oid, v) in exts {
        let mut der = vec![0x0c, v.len() as u8];
        der.extend_from_slice(v.as_bytes());
        p.custom_extensions
            .push(CustomExtension::from_oid_content(oid, der));
    }
    p.serialize_request(&key).expect("csr").pem().expect("pem")
}

fn csr(cn: &str) -> String {
    csr_with(cn, &[], &[])
}

fn dns(n: &str) -> SanType {
    SanType::DnsName(n.try_into().expect("dns"))
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("metadata").permissions().mode() & 0o7777
}

fn cert_der(pem: &str) -> Vec<u8> {
    x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .expect("pem")
        .1
        .contents
}

fn serial_of(pem: &str) -> u64 {
    let der = cert_der(pem);
    let (_, c) = X509Certificate::from_der(&der).expect("cert");
    c.serial.to_u64_digits().first().copied().unwrap_or(0)
}

fn inventory(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("inventory.txt")).expect("inventory")
}

/// A CRL signed by the CA in `dir`, with the given dates.
fn crl_signed_by(dir: &Path, this: ::time::OffsetDateTime, next: ::time::OffsetDateTime) -> String {
    let key = KeyPair::from_pem(&std::fs::read_to_string(dir.join("ca_key.pem")).expect("key"))
        .expect("key");
    let ca = std::fs::read_to_string(dir.join("ca_crt.pem")).expect("ca");
    let issuer = Issuer::from_ca_cert_pem(&ca, &key).expect("issuer");
    CertificateRevocationListParams {
        this_update: this,
        next_update: next,
        crl_number: SerialNumber::from_slice(&[7]),
        issuing_distribution_point: None,
        revoked_certs: vec![],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)
    .expect("crl")
    .pem()
    .expect("pem")
}

// ---- Secrets --------------------------------------------------------------------------------

#[test]
fn ca_key_is_created_readable_by_owner_and_group_only() {
    let d = scratch("keymode");
    Ca::open_or_init(settings(&d.0)).expect("init");
    assert_eq!(mode(&d.0.join("ca_key.pem")), 0o640);
}

#[test]
fn a_world_readable_ca_key_is_tightened_and_reported() {
    let d = scratch("loosekey");
    Ca::open_or_init(settings(&d.0)).expect("init");
    let key = d.0.join("ca_key.pem");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let ca = Ca::open_or_init(settings(&d.0)).expect("reopen");
    assert_eq!(mode(&key), 0o640);
    assert!(
        ca.repairs()
            .iter()
            .any(|r| r.contains(&key.display().to_string()) && r.contains("0666")),
        "{:?}",
        ca.repairs()
    );
    // A key already tighter than Puppet's mode is left alone and not reported.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let ca = Ca::open_or_init(settings(&d.0)).expect("reopen");
    assert_eq!(mode(&key), 0o600);
    assert!(ca.repairs().is_empty(), "{:?}", ca.repairs());
}

#[test]
fn a_private_key_write_is_never_readable_by_others() {
    let d = scratch("writeprivate");
    std::fs::create_dir_all(&d.0).expect("mkdir");
    let keys = d.0.join("private_keys");
    assert_eq!(
        troupe_ca::ensure_private_dir(&keys, troupe_ca::PRIVATE_DIR_MODE).expect("dir"),
        None
    );
    assert_eq!(mode(&keys), 0o750);
    let k = keys.join("a.pem");
    troupe_ca::write_private(&k, b"secret", troupe_ca::PRIVATE_KEY_MODE).expect("write");
    assert_eq!(mode(&k), 0o640);
    // Overwriting an existing world-readable key replaces it with the private mode.
    std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    troupe_ca::write_private(&k, b"secret2", troupe_ca::STANDALONE_KEY_MODE).expect("write");
    assert_eq!(mode(&k), 0o600);
    // A key directory found open to everyone is tightened and reported.
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let said = troupe_ca::ensure_private_dir(&keys, troupe_ca::PRIVATE_DIR_MODE)
        .expect("dir")
        .expect("reported");
    assert!(said.contains("0777"), "{said}");
    assert_eq!(mode(&keys), 0o750);
}

// ---- Crash states ---------------------------------------------------------------------------

#[test]
fn a_torn_last_inventory_line_is_dropped_on_open() {
    let d = scratch("torn");
    let mut s = settings(&d.0);
    s.autosign = Autosign::All;
    let ca = Ca::open_or_init(s.clone()).expect("init");
    assert_eq!(
        ca.submit_csr("a.example.test", &csr("a.example.test")),
        Ok(true)
    );
    let whole = inventory(&d.0);
    // A crash in the middle of the next line's write.
    std::fs::write(
        d.0.join("inventory.txt"),
        format!("{whole}0x0003 2026-01-01T00:00:00UTC 20"),
    )
    .expect("write");
    let ca = Ca::open_or_init(s).expect("reopen");
    assert_eq!(inventory(&d.0), whole);
    assert!(
        ca.repairs()
            .iter()
            .any(|r| r.contains("inventory.txt") && r.contains("0x0003")),
        "{:?}",
        ca.repairs()
    );
    // The next line lands on a line of its own.
    assert_eq!(
        ca.submit_csr("b.example.test", &csr("b.example.test")),
        Ok(true)
    );
    let inv = inventory(&d.0);
    assert!(inv.ends_with(" /CN=b.example.test\n"), "{inv}");
    assert_eq!(inv.lines().count(), 3, "{inv}");
}

#[test]
fn a_garbage_last_inventory_line_is_dropped_on_open() {
    let d = scratch("garbage");
    Ca::open_or_init(settings(&d.0)).expect("init");
    let whole = inventory(&d.0);
    // A crash after the file grew but before its data reached the disk: NUL bytes.
    std::fs::write(d.0.join("inventory.txt"), format!("{whole}\0\0\0\0\0\0\n")).expect("write");
    let ca = Ca::open_or_init(settings(&d.0)).expect("reopen");
    assert_eq!(inventory(&d.0), whole);
    assert_eq!(ca.repairs().len(), 1, "{:?}", ca.repairs());
    // A whole inventory is left as it is.
    let ca = Ca::open_or_init(settings(&d.0)).expect("reopen");
    assert!(ca.repairs().is_empty(), "{:?}", ca.repairs());
    assert_eq!(inventory(&d.0), whole);
}

#[test]
fn stale_temp_files_of_interrupted_writes_are_removed_on_open() {
    let d = scratch("temps");
    Ca::open_or_init(settings(&d.0)).expect("init");
    let stale = [
        d.0.join(".serial.tmp4242.0"),
        d.0.join(".ca_crl.pem.tmp17.3"),
        d.0.join("signed").join(".n1.example.test.pem.tmp99.12"),
        d.0.join("requests").join(".n2.example.test.pem.tmp5.1"),
    ];
    for f in &stale {
        std::fs::write(f, "partial").expect("write");
    }
    let kept = [d.0.join(".keep"), d.0.join("requests").join("notes.tmp1.2")];
    for f in &kept {
        std::fs::write(f, "mine").expect("write");
    }
    let ca = Ca::open_or_init(settings(&d.0)).expect("reopen");
    for f in &stale {
        assert!(!f.exists(), "{} left", f.display());
    }
    for f in &kept {
        assert!(f.exists(), "{} removed", f.display());
    }
    assert!(d.0.join(".troupe-ca.lock").exists());
    assert_eq!(ca.repairs().len(), stale.len(), "{:?}", ca.repairs());
}

#[test]
fn a_pending_csr_that_autosign_accepts_is_signed_on_open() {
    let d = scratch("rejudge");
    // Stored, then the process died before autosign signed it (autosign was on).
    let ca = Ca::open_or_init(settings(&d.0)).expect("init");
    assert_eq!(
        ca.submit_csr("stuck.example.test", &csr("stuck.example.test")),
        Ok(false)
    );
    assert_eq!(
        ca.submit_csr(
            "alts.example.test",
            &csr_with("alts.example.test", &[dns("www.example.test")], &[])
        ),
        Ok(false)
    );
    assert_eq!(ca.submit_csr("other.test", &csr("other.test")), Ok(false));
    let glob = d.0.join("autosign.conf");
    std::fs::write(&glob, "*.example.test\n").expect("write");
    let mut s = settings(&d.0);
    s.autosign = Autosign::parse(glob.to_str().expect("utf8"));
    let ca = Ca::open_or_init(s).expect("reopen");
    let state = |n: &str| ca.status(n).expect("status").expect("some")["state"].clone();
    assert_eq!(state("stuck.example.test"), "signed");
    // The signing policy still holds (extra alt names), and the glob still decides.
    assert_eq!(state("alts.example.test"), "requested");
    assert_eq!(state("other.test"), "requested");
    assert!(
        ca.repairs()
            .iter()
            .any(|r| r.contains("stuck.example.test")),
        "{:?}",
        ca.repairs()
    );
    assert!(!d.0.join("requests/stuck.example.test.pem").exists());
}

#[test]
fn a_serial_file_behind_the_inventory_never_hands_out_a_serial_twice() {
    let d = scratch("serial");
    let mut s = settings(&d.0);
    s.autosign = Autosign::All;
    let ca = Ca::open_or_init(s.clone()).expect("init");
    assert_eq!(
        ca.submit_csr("a.example.test", &csr("a.example.test")),
        Ok(true)
    );
    assert_eq!(serial_of(&ca.cert_pem("a.example.test").expect("cert")), 2);
    // `serial` rolled back (restored from an older copy, or lost with its directory entry).
    std::fs::write(d.0.join("serial"), "0002").expect("write");
    let ca = Ca::open_or_init(s).expect("reopen");
    assert!(
        ca.repairs().iter().any(|r| r.starts_with("serial")),
        "{:?}",
        ca.repairs()
    );
    assert_eq!(
        ca.submit_csr("b.example.test", &csr("b.example.test")),
        Ok(true)
    );
    assert_eq!(serial_of(&ca.cert_pem("b.example.test").expect("cert")), 3);
}

#[test]
fn serial_allocation_never_repeats_across_processes_sharing_the_directory() {
    if let Ok(dir) = std::env::var("TROUPE_CA_HOSTILE_CHILD") {
        // The child: sign a few requests in the shared directory.
        let mut s = settings(Path::new(&dir));
        s.autosign = Autosign::All;
        let ca = Ca::open_or_init(s).expect("open");
        let tag = std::env::var("TROUPE_CA_HOSTILE_TAG").unwrap_or_default();
        for i in 0..4 {
            let n = format!("p{tag}-{i}.example.test");
            assert_eq!(ca.submit_csr(&n, &csr(&n)), Ok(true));
        }
        return;
    }
    let d = scratch("processes");
    Ca::open_or_init(settings(&d.0)).expect("init");
    let exe = std::env::current_exe().expect("exe");
    let children: Vec<_> = (0..3)
        .map(|t| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "serial_allocation_never_repeats_across_processes_sharing_the_directory",
                    "--test-threads=1",
                ])
                .env("TROUPE_CA_HOSTILE_CHILD", &d.0)
                .env("TROUPE_CA_HOSTILE_TAG", t.to_string())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for mut c in children {
        assert!(c.wait().expect("wait").success());
    }
    let ca = Ca::open_or_init(settings(&d.0)).expect("open");
    let mut serials: Vec<u64> = ca
        .statuses(Some("signed"))
        .expect("statuses")
        .iter()
        .filter_map(|s| s["serial_number"].as_u64())
        .collect();
    serials.sort();
    assert_eq!(serials, (2..14).collect::<Vec<u64>>());
    let inv = inventory(&d.0);
    assert_eq!(inv.lines().count(), 13, "{inv}");
}

// ---- CSR intake -----------------------------------------------------------------------------

#[test]
fn a_csr_over_64_kib_is_refused_before_it_is_parsed() {
    let d = scratch("big");
    let mut s = settings(&d.0);
    s.autosign = Autosign::All;
    let ca = Ca::open_or_init(s).expect("init");
    let big = format!("{}{}", csr("big.example.test"), "A".repeat(70_000));
    let e = ca
        .submit_csr("big.example.test", &big)
        .expect_err("too big");
    assert_eq!(e.status, 413);
    assert!(e.message.contains("65536"), "{}", e.message);
    assert!(ca.status("big.example.test").expect("status").is_none());
}

#[test]
fn pending_requests_are_capped() {
    let d = scratch("cap");
    let mut s = settings(&d.0);
    s.max_pending_csrs = 3;
    s.allow_duplicate_certs = true;
    let ca = Ca::open_or_init(s).expect("init");
    for i in 0..3 {
        let n = format!("n{i}.example.test");
        assert_eq!(ca.submit_csr(&n, &csr(&n)), Ok(false));
    }
    let e = ca
        .submit_csr("n3.example.test", &csr("n3.example.test"))
        .expect_err("capped");
    assert!(e.is_pending_cap());
    assert_eq!(e.status, 503);
    assert!(e.message.contains("max_pending_csrs"), "{}", e.message);
    assert!(ca.status("n3.example.test").expect("status").is_none());
    // Replacing a pending request of the same name does not count twice.
    assert_eq!(
        ca.submit_csr("n1.example.test", &csr("n1.example.test")),
        Ok(false)
    );
    // Signing one makes room.
    ca.sign("n0.example.test", None).expect("sign");
    assert_eq!(
        ca.submit_csr("n3.example.test", &csr("n3.example.test")),
        Ok(false)
    );
}

#[test]
fn malformed_csrs_are_refused_with_400() {
    let d = scratch("malformed");
    let mut s = settings(&d.0);
    s.autosign = Autosign::All;
    let ca = Ca::open_or_init(s).expect("init");
    let good = csr("m.example.test");
    let body: String = good.lines().filter(|l| !l.starts_with("-----")).collect();
    let no_cn = {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let mut p = CertificateParams::default();
        p.distinguished_name = DistinguishedName::new();
        p.distinguished_name.push(DnType::OrganizationName, "x");
        p.serialize_request(&key).expect("csr").pem().expect("pem")
    };
    let cases = [
        String::new(),
        "not a csr".to_string(),
        "-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n".into(),
        format!(
            "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
            &body[..body.len() / 2]
        ),
        "-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n".into(),
        ca.ca_cert_pem().expect("ca"),
        no_cn,
    ];
    for (i, pem) in cases.iter().enumerate() {
        let e = ca.submit_csr("m.example.test", pem).expect_err("malformed");
        assert_eq!(e.status, 400, "case {i}: {}", e.message);
    }
    assert!(ca.status("m.example.test").expect("status").is_none());
}

#[test]
fn a_csr_with_a_forged_signature_is_not_signed() {
    let d = scratch("forged");
    let mut s = settings(&d.0);
    s.autosign = Autosign::All;
    let ca = Ca::open_or_init(s).expect("init");
    let mut der = cert_der(&csr("f.example.test"));
    let last = der.len() - 1;
    der[last] ^= 0x55;
    let forged = troupe_ca::pem_encode("CERTIFICATE REQUEST", &der);
    let e = ca
        .submit_csr("f.example.test", &forged)
        .expect_err("forged");
    assert_eq!(e.status, 400);
    assert!(e.message.contains("does not correspond"), "{}", e.message);
    assert!(ca.cert_pem("f.example.test").is_none());
}

#[test]
fn a_csr_for_another_name_than_the_url_is_refused() {
    let d = scratch("mismatch");
    let mut s = settings(&d.0);
    s.autosign = Autosign::All;
    let ca = Ca::open_or_init(s).expect("init");
    let e = ca
        .submit_csr("mine.example.test", &csr("admin.example.test"))
        .expect_err("mismatch");
    assert_eq!(e.status, 400);
    assert!(e.message.contains("does not match"), "{}", e.message);
    for bad in ["../../etc/passwd", "UPPER.example.test", "*.example.test"] {
        assert_eq!(
            ca.submit_csr(bad, &csr(bad)).expect_err("bad name").status,
            400,
            "{bad}"
        );
    }
    assert!(ca.statuses(None).expect("statuses").is_empty());
}

#[test]
fn disallowed_extensions_are_refused() {
    const PP_CLI_AUTH: &[u64] = &[1, 3, 6, 1, 4, 1, 34380, 1, 3, 39];
    const PP_AUTH: &[u64] = &[1, 3, 6, 1, 4, 1, 34380, 1, 3, 1];
    const OTHER: &[u64] = &[1, 2, 3, 4, 5];
    let d = scratch("exts");
    let mut s = settings(&d.0);
    s.autosign = Autosign::All;
    s.allow_authorization_extensions = true;
    let ca = Ca::open_or_init(s).expect("init");
    let e = ca
        .submit_csr(
            "x.example.test",
            &csr_with("x.example.test", &[], &[(OTHER, "v")]),
        )
        .expect_err("other");
    assert!(
        e.message.contains("not permitted: 1.2.3.4.5"),
        "{}",
        e.message
    );
    // pp_cli_auth is never granted through a request, even with authorization extensions on.
    let e = ca
        .submit_csr(
            "y.example.test",
            &csr_with("y.example.test", &[], &[(PP_CLI_AUTH, "true")]),
        )
        .expect_err("cli auth");
    assert!(
        e.message.contains("1.3.6.1.4.1.34380.1.3.39"),
        "{}",
        e.message
    );
    assert!(ca.cert_pem("y.example.test").is_none());
    assert_eq!(
        ca.submit_csr(
            "z.example.test",
            &csr_with("z.example.test", &[], &[(PP_AUTH, "ok")])
        ),
        Ok(true)
    );
}

#[test]
fn dns_alt_names_follow_the_policy() {
    let d = scratch("alts");
    let mut s = settings(&d.0);
    s.autosign = Autosign::All;
    let ca = Ca::open_or_init(s.clone()).expect("init");
    // Only its own name as alt name: fine.
    assert_eq!(
        ca.submit_csr(
            "own.example.test",
            &csr_with("own.example.test", &[dns("own.example.test")], &[])
        ),
        Ok(true)
    );
    let ip = SanType::IpAddress("10.0.0.9".parse().expect("ip"));
    for (n, sans) in [
        ("dns.example.test", vec![dns("puppet")]),
        ("ip.example.test", vec![ip.clone()]),
    ] {
        let e = ca
            .submit_csr(n, &csr_with(n, &sans, &[]))
            .expect_err("alt names");
        assert!(
            e.message.contains("extra subject alternative names"),
            "{}",
            e.message
        );
        assert!(ca.cert_pem(n).is_none());
    }
    // With alt names allowed, they are signed into the certificate.
    let _ = std::fs::remove_file(d.0.join("requests/dns.example.test.pem"));
    s.allow_subject_alt_names = true;
    let ca = Ca::open_or_init(s).expect("reopen");
    // The pending ip.example.test request was re-judged on open and signed.
    let st = ca.status("ip.example.test").expect("status").expect("some");
    assert_eq!(st["state"], "signed");
    assert_eq!(
        ca.submit_csr(
            "dns.example.test",
            &csr_with("dns.example.test", &[dns("puppet")], &[])
        ),
        Ok(true)
    );
    let st = ca
        .status("dns.example.test")
        .expect("status")
        .expect("some");
    assert_eq!(
        st["dns_alt_names"],
        serde_json::json!(["DNS:dns.example.test", "DNS:puppet"])
    );
}

#[test]
fn a_csr_for_an_already_signed_name_is_refused() {
    let d = scratch("signedtwice");
    let mut s = settings(&d.0);
    s.autosign = Autosign::All;
    let ca = Ca::open_or_init(s).expect("init");
    assert_eq!(
        ca.submit_csr("s.example.test", &csr("s.example.test")),
        Ok(true)
    );
    let first = ca.cert_pem("s.example.test").expect("cert");
    let e = ca
        .submit_csr("s.example.test", &csr("s.example.test"))
        .expect_err("signed");
    assert_eq!(e.status, 400);
    assert!(
        e.message.contains("already has a signed certificate"),
        "{}",
        e.message
    );
    assert_eq!(ca.cert_pem("s.example.test").expect("cert"), first);
}

// ---- CRL ------------------------------------------------------------------------------------

#[test]
fn revocation_yields_a_crl_openssl_reads_with_the_serial_listed() {
    let d = scratch("crl");
    let mut s = settings(&d.0);
    s.autosign = Autosign::All;
    let ca = Ca::open_or_init(s).expect("init");
    for n in ["r1.example.test", "r2.example.test"] {
        assert_eq!(ca.submit_csr(n, &csr(n)), Ok(true));
    }
    ca.revoke(&["r2.example.test".into()]).expect("revoke");
    let crl = ca.crl_pem().expect("crl");
    let out = std::process::Command::new("openssl")
        .args(["crl", "-noout", "-text", "-in"])
        .arg(d.0.join("ca_crl.pem"))
        .output()
        .expect("openssl runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Serial Number: 03"), "{text}");
    assert!(!text.contains("Serial Number: 02"), "{text}");
    let der = cert_der(&crl);
    let (_, parsed) = CertificateRevocationList::from_der(&der).expect("crl");
    let listed: Vec<u64> = parsed
        .iter_revoked_certificates()
        .map(|r| r.serial().to_u64_digits().first().copied().unwrap_or(0))
        .collect();
    assert_eq!(listed, vec![3]);
    assert!(troupe_ca::is_revoked(
        &cert_der(&ca.cert_pem("r2.example.test").expect("cert")),
        &crl
    ));
    assert!(!troupe_ca::is_revoked(
        &cert_der(&ca.cert_pem("r1.example.test").expect("cert")),
        &crl
    ));
}

#[test]
fn a_crl_ttl_too_short_for_puppet_agents_is_refused() {
    let d = scratch("crlttl");
    let mut s = settings(&d.0);
    s.crl_ttl = 6 * 86_400;
    let e = Ca::open_or_init(s.clone()).expect_err("too short");
    assert!(
        e.message.contains("crl_ttl")
            && e.message.contains("7d")
            && e.message.contains("crl_refresh_interval"),
        "{}",
        e.message
    );
    assert!(!d.0.join("ca_key.pem").exists());
    s.crl_ttl = troupe_ca::MIN_CRL_TTL;
    Ca::open_or_init(s).expect("seven days is enough");
}

#[test]
fn an_absurd_ttl_is_an_error_not_a_crash() {
    let d = scratch("absurd");
    for (ca_ttl, crl_ttl, what) in [
        (i64::MAX, troupe_ca::FIVE_YEARS, "ca_ttl"),
        (troupe_ca::FIVE_YEARS, i64::MAX, "crl_ttl"),
        (-5, troupe_ca::FIVE_YEARS, "ca_ttl"),
    ] {
        let mut s = settings(&d.0);
        s.ca_ttl = ca_ttl;
        s.crl_ttl = crl_ttl;
        let e = Ca::open_or_init(s).expect_err("absurd");
        assert!(e.message.starts_with(what), "{}", e.message);
    }
    let mut s = settings(&d.0);
    s.max_pending_csrs = 0;
    assert!(Ca::open_or_init(s).is_err());
}

#[test]
fn crl_freshness_tells_fresh_expiring_and_expired_apart() {
    let d = scratch("freshness");
    let ca = Ca::open_or_init(settings(&d.0)).expect("init");
    let now = ::time::OffsetDateTime::now_utc();
    let day = ::time::Duration::days(1);
    let fresh = ca.crl_pem().expect("crl");
    assert!(matches!(
        troupe_ca::crl_freshness(&fresh, now),
        Ok(CrlFreshness::Fresh { next_update: Some(n), .. }) if n > now + day * 365
    ));
    let soon = crl_signed_by(&d.0, now - day * 9, now + day);
    assert!(matches!(
        troupe_ca::crl_freshness(&soon, now),
        Ok(CrlFreshness::ExpiringSoon { next_update, .. }) if next_update > now
    ));
    let expired = crl_signed_by(&d.0, now - day * 10, now - day);
    let f = troupe_ca::crl_freshness(&expired, now).expect("freshness");
    assert!(f.is_expired(), "{f:?}");
    // A bundle is as fresh as its stalest CRL; no CRL at all is an error.
    assert!(troupe_ca::crl_freshness(&format!("{fresh}{expired}"), now)
        .expect("bundle")
        .is_expired());
    assert!(troupe_ca::crl_freshness("garbage", now).is_err());
    // The CA's own CRL, expired on disk, is re-issued by the periodic refresh.
    std::fs::write(d.0.join("ca_crl.pem"), &expired).expect("write");
    assert!(ca.crl_freshness().expect("freshness").is_expired());
    assert_eq!(ca.refresh_crl_if_due(), Ok(true));
    assert!(matches!(ca.crl_freshness(), Ok(CrlFreshness::Fresh { .. })));
}

#[test]
fn an_expired_crl_is_reissued_when_the_ca_opens() {
    let d = scratch("expiredopen");
    Ca::open_or_init(settings(&d.0)).expect("init");
    let now = ::time::OffsetDateTime::now_utc();
    let day = ::time::Duration::days(1);
    std::fs::write(
        d.0.join("ca_crl.pem"),
        crl_signed_by(&d.0, now - day * 10, now - day),
    )
    .expect("write");
    let ca = Ca::open_or_init(settings(&d.0)).expect("reopen");
    assert!(
        ca.repairs().iter().any(|r| r.contains("ca_crl.pem")),
        "{:?}",
        ca.repairs()
    );
    assert!(matches!(ca.crl_freshness(), Ok(CrlFreshness::Fresh { .. })));
}

// ---- Generated certificates -----------------------------------------------------------------

#[test]
fn generate_issues_without_pp_cli_auth_unless_asked() {
    let d = scratch("generate");
    let ca = Ca::open_or_init(settings(&d.0)).expect("init");
    let cli_auth = |pem: &str| {
        troupe_ca::trusted_extensions(&cert_der(pem))
            .get("1.3.6.1.4.1.34380.1.3.39")
            .cloned()
    };
    let (pool, _) = ca
        .generate_with("pool.example.test", &[], true, false)
        .expect("pool");
    assert_eq!(cli_auth(&pool), None);
    let (admin, _) = ca
        .generate_with("admin.example.test", &[], true, true)
        .expect("admin");
    assert_eq!(cli_auth(&admin), Some(serde_json::json!("true")));
}
