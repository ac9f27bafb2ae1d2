//! Test helpers for crates that test against a real store (the `testing` feature): a real
//! etcd cluster of N members on 127.0.0.1 (free ports, temp data dirs, members killed by PID),
//! and temp directories. With TROUPE_REQUIRE_ETCD=1 a missing `etcd` binary fails the test
//! instead of skipping it.
#![allow(clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::{Store, StoreConfig, DEFAULT_ETCD_PREFIX};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temp directory removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(what: &str) -> TempDir {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("troupe-test-{what}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where the `etcd` server binary is, if installed.
fn etcd_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("etcd"))
        .find(|p| p.is_file())
}

/// A running etcd cluster; members are killed by PID and their data removed on drop.
#[derive(Debug)]
pub struct EtcdCluster {
    bin: PathBuf,
    dir: TempDir,
    client_ports: Vec<u16>,
    peer_ports: Vec<u16>,
    children: Vec<Option<Child>>,
    /// With client TLS: the CA, server/client certificate and key files.
    tls: Option<Tls>,
}

/// PEM files for an etcd cluster with client TLS and client-certificate authentication.
#[derive(Debug, Clone)]
pub struct Tls {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

/// `n` ports free on 127.0.0.1, taken below the kernel's ephemeral range (32768 and up): a port
/// the kernel hands out for outgoing connections (etcd peers dialing each other, in another
/// test running at the same time) can be taken between this check and etcd's bind, and the
/// member then never starts. A process-wide cursor keeps two clusters of one test binary apart.
fn free_ports(n: usize) -> Vec<u16> {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 20000;
    const SPAN: u32 = 12000;
    static CURSOR: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = CURSOR.compare_exchange(
        u32::MAX,
        (std::process::id() * 97) % SPAN,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    let mut ports = Vec::with_capacity(n);
    for _ in 0..SPAN {
        if ports.len() == n {
            break;
        }
        let port = (LOW + CURSOR.fetch_add(1, Ordering::SeqCst) % SPAN) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            ports.push(port);
        }
    }
    assert_eq!(
        ports.len(),
        n,
        "no {n} free ports on 127.0.0.1 between {LOW} and {}",
        LOW + SPAN
    );
    ports
}

impl EtcdCluster {
    /// Starts a cluster of `n` members, or `None` (with a notice) when `etcd` is not installed.
    /// With TROUPE_REQUIRE_ETCD=1 a missing etcd fails the test instead.
    pub fn start(n: usize) -> Option<EtcdCluster> {
        EtcdCluster::start_with(n, None)
    }

    /// Like `start`, with client TLS (peers stay plain HTTP on loopback).
    pub fn start_with(n: usize, tls: Option<Tls>) -> Option<EtcdCluster> {
        let Some(bin) = etcd_binary() else {
            if std::env::var("TROUPE_REQUIRE_ETCD").as_deref() == Ok("1") {
                panic!("TROUPE_REQUIRE_ETCD=1 but no `etcd` binary on PATH (apt-get install etcd-server)");
            }
            eprintln!("NOTICE: skipping an etcd test: no `etcd` binary on PATH (apt-get install etcd-server)");
            return None;
        };
        let ports = free_ports(2 * n);
        let mut cluster = EtcdCluster {
            bin,
            dir: TempDir::new("etcd"),
            client_ports: ports[..n].to_vec(),
            peer_ports: ports[n..].to_vec(),
            children: (0..n).map(|_| None).collect(),
            tls,
        };
        cluster.start_all();
        Some(cluster)
    }

    pub fn endpoint(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.client_ports[i])
    }

    /// A client of the members `which` (each client its own connection).
    pub fn store(&self, which: &[usize]) -> Store {
        let config = StoreConfig::Etcd {
            endpoints: which.iter().map(|&i| self.endpoint(i)).collect(),
            prefix: DEFAULT_ETCD_PREFIX.to_string(),
            ca_cert: self.tls.as_ref().map(|t| t.ca.clone()),
            client_cert: self
                .tls
                .as_ref()
                .map(|t| (t.client_cert.clone(), t.client_key.clone())),
        };
        Store::open(&config).expect("etcd client")
    }

    /// The `store` setting naming every member: `etcd://127.0.0.1:P1,127.0.0.1:P2,...`.
    pub fn store_setting(&self) -> String {
        let eps: Vec<String> = self.all().iter().map(|&i| self.endpoint(i)).collect();
        format!("etcd://{}", eps.join(","))
    }

    /// Whether member `i` runs (was not stopped).
    pub fn running(&self, i: usize) -> bool {
        self.children[i].is_some()
    }

    pub fn all(&self) -> Vec<usize> {
        (0..self.client_ports.len()).collect()
    }

    fn start_member(&mut self, i: usize) {
        let n = self.client_ports.len();
        let initial: Vec<String> = (0..n)
            .map(|j| format!("m{j}=http://127.0.0.1:{}", self.peer_ports[j]))
            .collect();
        let data = self.dir.path().join(format!("m{i}"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("m{i}.log")))
            .expect("etcd log file");
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let client = format!("{scheme}://127.0.0.1:{}", self.client_ports[i]);
        let peer = format!("http://127.0.0.1:{}", self.peer_ports[i]);
        let mut cmd = Command::new(&self.bin);
        if let Some(t) = &self.tls {
            cmd.arg("--cert-file")
                .arg(&t.server_cert)
                .arg("--key-file")
                .arg(&t.server_key);
            cmd.arg("--trusted-ca-file")
                .arg(&t.ca)
                .arg("--client-cert-auth");
        }
        let child = cmd
            .arg("--name")
            .arg(format!("m{i}"))
            .arg("--data-dir")
            .arg(&data)
            .args([
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
            ])
            .args([
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
            ])
            .args(["--initial-cluster", &initial.join(",")])
            .args([
                "--initial-cluster-token",
                "troupe-test",
                "--initial-cluster-state",
                "new",
            ])
            .args(["--log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start etcd");
        self.children[i] = Some(child);
    }

    /// Starts every stopped member and waits until the cluster answers.
    pub fn start_all(&mut self) {
        for i in 0..self.children.len() {
            if self.children[i].is_none() {
                self.start_member(i);
            }
        }
        self.wait_ready();
    }

    /// Stops (kills by PID) every member.
    pub fn stop_all(&mut self) {
        for i in 0..self.children.len() {
            self.stop(i);
        }
    }

    pub fn stop(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Waits until a linearizable read through every member succeeds.
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        for i in 0..self.client_ports.len() {
            if self.children[i].is_none() {
                continue;
            }
            let store = self.store(&[i]);
            loop {
                match store.get("ready-probe") {
                    Ok(_) => break,
                    Err(e) if Instant::now() > deadline => panic!(
                        "etcd member m{i} not ready: {e}; its log:\n{}",
                        std::fs::read_to_string(self.dir.path().join(format!("m{i}.log")))
                            .unwrap_or_default()
                    ),
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        }
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// Asserts that the CA's key is in the store only sealed (`sealed/ca_key.pem`), that no key of
/// the store holds a private key in plaintext, and that the CA certificate is there.
pub fn assert_private_keys_sealed(store: &Store) {
    let sealed = store
        .get("sealed/ca_key.pem")
        .expect("get")
        .expect("the CA key is sealed in the store");
    assert!(!String::from_utf8_lossy(&sealed.value).contains("PRIVATE KEY"));
    for e in store.list("").expect("list") {
        assert!(
            !String::from_utf8_lossy(&e.value).contains("PRIVATE KEY"),
            "a private key in plaintext under {}",
            e.key
        );
    }
    assert!(
        store.get("ca_crt.pem").expect("get").is_some(),
        "the CA certificate is in the store"
    );
}
