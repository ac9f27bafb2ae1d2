//! The pool end to end, as processes on one etcd cluster: `troupe pool init` on host A,
//! `troupe pool join` on host B with only the endpoints and the secret file, then
//! `troupe master --config` and `troupe front --config` on host B serving TLS with the pool
//! certificate from the store; a certificate revoked on host A is refused by B's front and
//! master within about a second (measured and printed). Skipped with a notice without
//! `etcd` (TROUPE_REQUIRE_ETCD=1 makes that a failure).

#[path = "../../troupe-pool/tests/common/mod.rs"]
mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{EtcdCluster, TempDir};

const TROUPE: &str = env!("CARGO_BIN_EXE_troupe");
const AGENT: &str = "agent1.example.test";

/// A child process killed (by its PID) on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn troupe(args: &[&str]) -> Output {
    Command::new(TROUPE)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run troupe")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn spawn(args: &[&str], log: &Path) -> Proc {
    let log = std::fs::File::create(log).expect("log file");
    Proc(
        Command::new(TROUPE)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start troupe"),
    )
}

/// The HTTP status of a GET with the agent's certificate (`000` when TLS failed).
fn get(port: u16, ca: &Path, cert: &Path, key: &Path) -> String {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "3",
        ])
        .arg("--cacert")
        .arg(ca)
        .arg("--cert")
        .arg(cert)
        .arg("--key")
        .arg(key)
        .arg(format!("https://127.0.0.1:{port}/puppet/v3/environments"))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The certificate a TLS server presents (PEM), through `openssl s_client`.
fn served_cert(port: u16) -> String {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::null())
        .output()
        .expect("openssl s_client");
    let s = String::from_utf8_lossy(&out.stdout);
    let begin = s
        .find("-----BEGIN CERTIFICATE-----")
        .expect("a certificate");
    let end = s.find("-----END CERTIFICATE-----").expect("its end") + 25;
    pem_body(s[begin..end].as_bytes())
}

/// The base64 body of the first certificate in `pem` (to compare certificates).
fn pem_body(pem: &[u8]) -> String {
    String::from_utf8_lossy(pem)
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect()
}

fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn host_b_serves_the_pool_certificate_and_refuses_a_revoked_agent_within_a_second() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let a = TempDir::new("proc-a");
    let b = TempDir::new("proc-b");
    let p = |d: &TempDir, f: &str| -> PathBuf { d.path().join(f) };
    let s = |x: &PathBuf| x.to_str().expect("utf-8 path").to_string();
    let (ep_a, ep_b) = (
        format!("etcd://{}", cluster.endpoint(0)),
        format!("etcd://{},{}", cluster.endpoint(1), cluster.endpoint(2)),
    );

    // Host A: init.
    let init = [
        "pool",
        "--store",
        &ep_a,
        "--cadir",
        &s(&p(&a, "ca")),
        "--ssldir",
        &s(&p(&a, "ssl")),
        "init",
        "--secret-out",
        &s(&p(&a, "join.secret")),
        "--keylength",
        "2048",
        "--dns-alt-names",
        "localhost,IP:127.0.0.1",
    ];
    let o = troupe(&init);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("Created the pool 'puppet'") && out.contains("troupe pool join --store"),
        "{out}"
    );
    let store_a = cluster.store(&[0]);
    troupe_store::testing::assert_private_keys_sealed(&store_a);
    let o = troupe(&init);
    assert!(
        o.status.success() && text(&o).contains("already holds the pool 'puppet'"),
        "{}",
        text(&o)
    );

    // Host B: the endpoints and the secret file, nothing else.
    std::fs::copy(p(&a, "join.secret"), p(&b, "join.secret")).expect("copy the secret");
    let o = troupe(&[
        "pool",
        "--store",
        &ep_b,
        "--join-secret-file",
        &s(&p(&b, "join.secret")),
        "--ssldir",
        &s(&p(&b, "joined")),
        "join",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let wrong = format!("troupe-join-v1:{}", "ab".repeat(32));
    let o = troupe(&[
        "pool",
        "--store",
        &ep_b,
        "--token",
        &wrong,
        "--ssldir",
        &s(&p(&b, "x")),
        "join",
    ]);
    assert!(
        !o.status.success() && text(&o).contains("not this pool's"),
        "{}",
        text(&o)
    );
    let o = troupe(&[
        "pool",
        "--store",
        &ep_b,
        "--join-secret-file",
        &s(&p(&b, "join.secret")),
        "show",
    ]);
    assert!(text(&o).contains("pool name:     puppet"), "{}", text(&o));

    // Host B: a master and a front, each with the store settings in its config.
    std::fs::create_dir_all(p(&b, "code/environments/production/manifests")).expect("codedir");
    let (mport, fport) = (free_port(), free_port());
    let store_lines = format!(
        "store = {ep_b}\njoin_secret_file = {}\n",
        p(&b, "join.secret").display()
    );
    std::fs::write(
        p(&b, "master.conf"),
        format!(
            "{store_lines}ssldir = {}\ncodedir = {}\nreportdir = {}\nlisten = 127.0.0.1:{mport}\nkeylength = 2048\ntrusted_front = puppet\nworkers = 1\n",
            p(&b, "mssl").display(), p(&b, "code").display(), p(&b, "reports").display()
        ),
    )
    .expect("master.conf");
    std::fs::write(
        p(&b, "front.conf"),
        format!(
            "{store_lines}ssldir = {}\nlisten = 127.0.0.1:{fport}\nbackend = https://127.0.0.1:{mport}\ncheck_interval = 0.2\nrise = 1\n",
            p(&b, "fssl").display()
        ),
    )
    .expect("front.conf");
    let _master = spawn(
        &["master", "--config", &s(&p(&b, "master.conf"))],
        &p(&b, "master.log"),
    );
    let _front = spawn(
        &["front", "--config", &s(&p(&b, "front.conf"))],
        &p(&b, "front.log"),
    );

    // An agent certificate from the pool's CA, issued on host A.
    let secret = troupe_store::Secret::read_file(&p(&a, "join.secret")).expect("secret");
    let mut settings = troupe_ca::Settings::new(p(&a, "ca"), "puppet");
    settings.keylength = 2048;
    settings.shared = Some(troupe_store::Shared {
        store: store_a.clone(),
        secret: Some(secret),
    });
    let ca = troupe_ca::Ca::open_or_init(settings).expect("the pool's CA");
    let (cert, key) = ca
        .generate_with(AGENT, &[], true, false)
        .expect("agent cert");
    let (cert_f, key_f) = (p(&b, "agent.pem"), p(&b, "agent.key"));
    std::fs::write(&cert_f, cert).expect("write");
    std::fs::write(&key_f, key).expect("write");
    let ca_f = p(&b, "fssl/certs/ca.pem");

    let logs = || {
        format!(
            "master log:\n{}\nfront log:\n{}",
            std::fs::read_to_string(p(&b, "master.log")).unwrap_or_default(),
            std::fs::read_to_string(p(&b, "front.log")).unwrap_or_default()
        )
    };
    wait_until(Duration::from_secs(20), || {
        get(fport, &ca_f, &cert_f, &key_f) == "200"
    })
    .unwrap_or_else(|| panic!("the front never served the agent: {}", logs()));
    assert_eq!(get(mport, &ca_f, &cert_f, &key_f), "200", "{}", logs());
    // Both serve the pool certificate from the store.
    let pool_crt = store_a
        .get("pool/crt.pem")
        .expect("get")
        .expect("pool cert")
        .value;
    assert_eq!(
        served_cert(fport),
        pem_body(&pool_crt),
        "the front's certificate"
    );
    assert_eq!(
        served_cert(mport),
        pem_body(&pool_crt),
        "the master's certificate"
    );

    // Revoke on host A; B's front and master refuse the agent within about a second.
    ca.revoke(&[AGENT.to_string()]).expect("revoke");
    troupe_store::testing::assert_private_keys_sealed(&store_a);
    let t0 = Instant::now();
    let (mut front_t, mut master_t) = (None, None);
    while t0.elapsed() < Duration::from_secs(5) && (front_t.is_none() || master_t.is_none()) {
        if front_t.is_none() && get(fport, &ca_f, &cert_f, &key_f) != "200" {
            front_t = Some(t0.elapsed());
        }
        if master_t.is_none() && get(mport, &ca_f, &cert_f, &key_f) != "200" {
            master_t = Some(t0.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let (f, m) = (
        front_t.unwrap_or_else(|| panic!("the front still serves the revoked agent: {}", logs())),
        master_t.unwrap_or_else(|| panic!("the master still serves the revoked agent: {}", logs())),
    );
    eprintln!("revocation written on host A -> refused by host B's front in {f:?}, by its master in {m:?}");
    assert_eq!(
        get(fport, &ca_f, &cert_f, &key_f),
        "403",
        "front: X-Client-Verify FAILED"
    );
    assert!(
        f < Duration::from_secs(3) && m < Duration::from_secs(3),
        "{f:?} {m:?}"
    );
}

#[test]
fn two_init_processes_on_two_hosts_make_one_pool() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let hosts: Vec<TempDir> = (0..2).map(|i| TempDir::new(&format!("race-{i}"))).collect();
    let children: Vec<Child> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            Command::new(TROUPE)
                .args([
                    "pool",
                    "--store",
                    &format!("etcd://{}", cluster.endpoint(i)),
                ])
                .arg("--cadir")
                .arg(h.path().join("ca"))
                .args(["init", "--keylength", "2048", "--secret-out"])
                .arg(h.path().join("join.secret"))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start troupe pool init")
        })
        .collect();
    let outs: Vec<String> = children
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().expect("wait");
            assert!(o.status.success(), "{}", text(&o));
            text(&o)
        })
        .collect();
    let created = outs
        .iter()
        .filter(|o| o.contains("Created the pool"))
        .count();
    let already = outs
        .iter()
        .filter(|o| o.contains("already holds the pool"))
        .count();
    assert_eq!((created, already), (1, 1), "{outs:?}");
    let secrets = hosts
        .iter()
        .filter(|h| h.path().join("join.secret").exists())
        .count();
    assert_eq!(secrets, 1, "only the winner wrote a secret");
    let winner = outs.iter().position(|o| o.contains("Created")).unwrap_or(0);
    let id = troupe_store::Secret::read_file(&hosts[winner].path().join("join.secret"))
        .expect("secret")
        .id();
    assert!(
        outs.iter().all(|o| o.contains(&id)),
        "both name the pool's secret id: {outs:?}"
    );
}
