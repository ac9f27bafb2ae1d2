//! `troupe master --config` with its CA in a real 3-member etcd store, as a process: agents'
//! CSRs are autosigned through the Puppet CA API; with all of etcd stopped a CSR gets 503
//! `the CA store is unavailable: ...` with `Retry-After: 30` while the CA certificate and the
//! CRL are still served (cached); after etcd restarts, signing works again by itself. Skipped
//! when etcd is not installed (TROUPE_REQUIRE_ETCD=1 makes that a failure).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};
use troupe_store::testing::{EtcdCluster, TempDir};
use troupe_store::Secret;

mod common;
use common::start_listening;

/// One HTTP/1.1 request (identity headers from a trusted proxy); status, head, body.
fn request(addr: &str, method: &str, path: &str, body: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nX-Client-Verify: NONE\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

fn csr(dir: &std::path::Path, cn: &str) -> String {
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
fn a_master_with_its_ca_in_etcd_answers_503_while_etcd_is_down() {
    let Some(mut cluster) = EtcdCluster::start(3) else {
        return;
    };
    let dir = TempDir::new("master-ca-store");
    let d = dir.path();
    let secret_file = d.join("join.secret");
    Secret::generate()
        .expect("secret")
        .write_file(&secret_file)
        .expect("write the secret");
    std::fs::create_dir_all(d.join("code/environments/production/manifests")).expect("mkdir");
    let conf = d.join("master.conf");
    std::fs::write(
        &conf,
        format!(
            "store = {}\njoin_secret_file = {}\nautosign = true\nkeylength = 2048\ncertname = puppet.example.test\n",
            cluster.store_setting(),
            secret_file.display()
        ),
    )
    .expect("conf");
    let (master, addr) = start_listening(
        Command::new(env!("CARGO_BIN_EXE_troupe"))
            .arg("master")
            .arg("--config")
            .arg(&conf)
            .arg("--codedir")
            .arg(d.join("code"))
            .arg("--ssldir")
            .arg(d.join("ssl"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--plain-http",
                "--trusted-proxy",
                "127.0.0.1",
            ]),
    );

    let put = |name: &str| {
        request(
            &addr,
            "PUT",
            &format!("/puppet-ca/v1/certificate_request/{name}?environment=production"),
            &csr(d, name),
        )
    };
    let (st, _, body) = put("node1.example.test");
    assert_eq!(st, 200, "{body}");
    let (st, _, cert) = request(
        &addr,
        "GET",
        "/puppet-ca/v1/certificate/node1.example.test",
        "",
    );
    assert_eq!(st, 200, "{cert}");
    assert!(cert.contains("BEGIN CERTIFICATE"));
    let (_, _, ca_before) = request(&addr, "GET", "/puppet-ca/v1/certificate/ca", "");

    cluster.stop_all();
    let (st, head, body) = put("node2.example.test");
    assert_eq!(st, 503, "{head}\n{body}");
    assert!(body.starts_with("the CA store is unavailable: "), "{body}");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 30"),
        "{head}"
    );
    let (st, _, ca) = request(&addr, "GET", "/puppet-ca/v1/certificate/ca", "");
    assert_eq!((st, &ca), (200, &ca_before));
    let (st, _, crl) = request(
        &addr,
        "GET",
        "/puppet-ca/v1/certificate_revocation_list/ca",
        "",
    );
    assert_eq!(st, 200, "{crl}");
    assert!(crl.contains("BEGIN X509 CRL"));

    cluster.start_all();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (st, _, body) = put("node3.example.test");
        if st == 200 {
            break;
        }
        assert!(st == 503 && Instant::now() < deadline, "{st}: {body}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let (st, _, _) = request(
        &addr,
        "GET",
        "/puppet-ca/v1/certificate/node3.example.test",
        "",
    );
    assert_eq!(st, 200);
    drop(master);
    drop(cluster);
}
