//! `troupe ca --config FILE` as a process against a real 3-member etcd store: two hosts'
//! config files (one with the join secret, one without), `generate`, `list`, `sign`, `revoke`,
//! `clean` from either, and config errors that name the file and line. Skipped when etcd is not
//! installed (TROUPE_REQUIRE_ETCD=1 makes that a failure).

use std::path::Path;
use std::process::{Command, Output};
use troupe_store::testing::{EtcdCluster, TempDir};
use troupe_store::Secret;

fn troupe_ca(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_troupe"))
        .arg("ca")
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("troupe runs")
}

fn ok(config: &Path, args: &[&str]) -> String {
    let out = troupe_ca(config, args);
    assert!(
        out.status.success(),
        "troupe ca {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails(config: &Path, args: &[&str]) -> String {
    let out = troupe_ca(config, args);
    assert!(!out.status.success(), "troupe ca {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A CSR made by OpenSSL for `cn`.
fn csr(dir: &Path, cn: &str) -> String {
    let out = Command::new("openssl")
        .args([
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-keyout"])
        .arg(dir.join(format!("{cn}.key")))
        .args(["-subj", &format!("/CN={cn}")])
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn troupe_ca_works_from_any_host_against_an_etcd_store() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let dir = TempDir::new("ca-config");
    let d = dir.path();
    let secret_file = d.join("join.secret");
    Secret::generate()
        .expect("secret")
        .write_file(&secret_file)
        .expect("write the secret");
    let store = cluster.store_setting();
    let config = |host: &str, secret: bool| {
        let path = d.join(format!("{host}.conf"));
        let mut text = format!(
            "# host {host}\n[main]\nstore = {store}\nstore_prefix = /cacmd\ncertname = puppet.example.test\ncadir = {}\nssldir = {}\nkeylength = 2048\nca_ttl = 30d\n",
            d.join(host).join("ca").display(),
            d.join(host).join("ssl").display()
        );
        if secret {
            text.push_str(&format!("join_secret_file = {}\n", secret_file.display()));
        }
        std::fs::write(&path, text).expect("write config");
        path
    };
    let a = config("a", true);
    let b = config("b", false);

    let out = d.join("out");
    ok(
        &a,
        &[
            "generate",
            "srv.example.test",
            "--out",
            out.to_str().expect("utf-8"),
        ],
    );
    assert!(out.join("srv.example.test.pem").is_file());
    assert!(ok(&b, &["list", "--all"]).contains("srv.example.test"));

    // A request taken by host B's store (B cannot sign: no join secret).
    let mut s = troupe_ca::Settings::new(d.join("b").join("ca"), "puppet.example.test");
    s.shared = Some(troupe_store::Shared {
        store: {
            let mut st = troupe_store::StoreSettings::default();
            st.set("store", &store);
            st.set("store_prefix", "/cacmd");
            st.open_shared().expect("open").expect("etcd").store
        },
        secret: None,
    });
    let ca_b = troupe_ca::Ca::open_or_init(s).expect("open B");
    assert_eq!(
        ca_b.submit_csr("node1.example.test", &csr(d, "node1.example.test")),
        Ok(false)
    );
    assert!(ok(&a, &["list"]).contains("node1.example.test"));
    let said = fails(&b, &["sign", "node1.example.test"]);
    assert!(said.contains("join_secret_file"), "{said}");
    assert!(ok(&a, &["sign", "node1.example.test"]).contains("Successfully signed"));
    let listed = ok(&b, &["list", "--all"]);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("signed") && l.contains("node1.example.test")),
        "{listed}"
    );
    ok(&a, &["revoke", "node1.example.test"]);
    let listed = ok(&b, &["list", "--all"]);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("revoked") && l.contains("node1.example.test")),
        "{listed}"
    );
    assert!(ca_b.revoked_serials().expect("CRL").len() == 1);
    assert!(ok(&a, &["clean", "node1.example.test"]).contains("Successfully cleaned"));
    assert!(!ok(&b, &["list", "--all"]).contains("node1.example.test"));
    // The CA key never reaches a host's disk; the store holds it sealed.
    assert!(!d.join("a").join("ca").join("ca_key.pem").exists());
    drop(ca_b);
}

#[test]
fn troupe_ca_config_errors_name_the_file_and_line() {
    let dir = TempDir::new("ca-config-errors");
    let cases = [
        (
            "certname = puppet\nstore = zookeeper://x\n",
            "line 2",
            "expected dir:PATH",
        ),
        ("keylength = 1000\n", "line 1", "keylength '1000'"),
        ("\n\nbogus = 1\n", "line 3", "unknown setting 'bogus'"),
        ("ca_ttl = forever\n", "line 1", "ca_ttl"),
        (
            "store = dir:/x\nstore_prefix = /p\n",
            "",
            "applies only to an etcd store",
        ),
    ];
    for (i, (text, line, what)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.conf"));
        std::fs::write(&path, text).expect("write");
        let said = fails(&path, &["list"]);
        assert!(
            said.contains(&path.display().to_string())
                && said.contains(line)
                && said.contains(what),
            "{text:?}: {said}"
        );
    }
}
