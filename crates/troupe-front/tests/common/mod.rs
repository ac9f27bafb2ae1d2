//! Shared by the hostile-input tests of the front: a throwaway PKI (CA, front certificate, a
//! node's client certificate, a CRL), real TCP backends on 127.0.0.1 that record what they
//! receive, and a TLS client that speaks raw HTTP/1.1 to the front.
#![allow(dead_code)]

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, SerialNumber,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use troupe_front::{BackendSpec, Config};

pub const NODE: &str = "node1.example.test";

/// Certificates in a temp dir, removed on drop.
pub struct Pki {
    pub dir: PathBuf,
    issuer: Issuer<'static, KeyPair>,
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tmpdir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "troupe-front-hostile-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

impl Pki {
    /// A CA, the front's certificate, `NODE`'s client certificate and a CRL valid from
    /// `this_update` to `next_update`.
    pub fn new(tag: &str, this_update: OffsetDateTime, next_update: OffsetDateTime) -> Pki {
        let dir = tmpdir(tag);
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.distinguished_name
            .push(DnType::CommonName, "Puppet CA: test");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).expect("CA cert");
        std::fs::write(dir.join("ca.pem"), ca_cert.pem()).expect("write");
        let issuer = Issuer::new(ca, ca_key);
        let pki = Pki { dir, issuer };
        pki.issue(
            "front",
            "front.example.test",
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        pki.issue("node", NODE, &[NODE], ExtendedKeyUsagePurpose::ClientAuth);
        pki.write_crl(this_update, next_update);
        pki
    }

    /// A client certificate `admin.pem`/`admin.key` for `cn` with Puppet's CA-admin extension
    /// (`pp_cli_auth` = `true`) when `cli_auth`.
    pub fn issue_admin(&self, file: &str, cn: &str, cli_auth: bool) {
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::new(vec![cn.to_string()]).expect("params");
        p.distinguished_name.push(DnType::CommonName, cn);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        if cli_auth {
            p.custom_extensions
                .push(rcgen::CustomExtension::from_oid_content(
                    &[1, 3, 6, 1, 4, 1, 34380, 1, 3, 39],
                    vec![0x0c, 4, b't', b'r', b'u', b'e'],
                ));
        }
        let cert = p.signed_by(&key, &self.issuer).expect("sign");
        std::fs::write(self.dir.join(format!("{file}.pem")), cert.pem()).expect("write");
        std::fs::write(self.dir.join(format!("{file}.key")), key.serialize_pem()).expect("write");
    }

    /// Sends `raw` on a new connection with the client certificate `file` (`issue_admin`).
    pub async fn send_as(&self, front: SocketAddr, file: &str, raw: &[u8]) -> Reply {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(self.dir.join("ca.pem")).expect("ca") {
            roots.add(c.expect("ca cert")).expect("root");
        }
        let chain = CertificateDer::pem_file_iter(self.dir.join(format!("{file}.pem")))
            .expect("cert")
            .collect::<Result<Vec<_>, _>>()
            .expect("cert");
        let key = PrivateKeyDer::from_pem_file(self.dir.join(format!("{file}.key"))).expect("key");
        let c = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .expect("client auth");
        let tcp = TcpStream::connect(front).await.expect("connect");
        let name = ServerName::try_from("localhost").expect("name");
        let mut s = tokio_rustls::TlsConnector::from(Arc::new(c))
            .connect(name, tcp)
            .await
            .expect("TLS");
        s.write_all(raw).await.expect("write");
        s.flush().await.expect("flush");
        read_reply(&mut s).await.expect("a response")
    }

    /// A CRL valid for a year, issued a day ago.
    pub fn fresh(tag: &str) -> Pki {
        let now = OffsetDateTime::now_utc();
        Pki::new(
            tag,
            now - time::Duration::days(1),
            now + time::Duration::days(365),
        )
    }

    fn issue(&self, file: &str, cn: &str, sans: &[&str], eku: ExtendedKeyUsagePurpose) {
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .expect("params");
        p.distinguished_name.push(DnType::CommonName, cn);
        p.extended_key_usages = vec![eku];
        let cert = p.signed_by(&key, &self.issuer).expect("sign");
        std::fs::write(self.dir.join(format!("{file}.pem")), cert.pem()).expect("write");
        std::fs::write(self.dir.join(format!("{file}.key")), key.serialize_pem()).expect("write");
    }

    pub fn write_crl(&self, this_update: OffsetDateTime, next_update: OffsetDateTime) {
        let crl = CertificateRevocationListParams {
            this_update,
            next_update,
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: vec![],
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&self.issuer)
        .expect("CRL");
        std::fs::write(self.dir.join("crl.pem"), crl.pem().expect("CRL PEM")).expect("write");
    }

    pub fn files(&self) -> troupe_front::tls::Files {
        troupe_front::tls::Files {
            cert: self.dir.join("front.pem"),
            key: self.dir.join("front.key"),
            ca: self.dir.join("ca.pem"),
            crl: Some(self.dir.join("crl.pem")),
        }
    }

    /// A front configuration over `backends`, listening on an ephemeral port; health checks
    /// rare (backends start up).
    pub fn config(&self, backends: &[SocketAddr]) -> Config {
        let mut c = Config::new(
            vec![SocketAddr::from(([127, 0, 0, 1], 0))],
            backends
                .iter()
                .map(|a| BackendSpec {
                    addr: *a,
                    tls: false,
                    local: true,
                })
                .collect(),
            self.files(),
        );
        c.check_interval = Duration::from_secs(60);
        c.drain_timeout = Duration::from_secs(1);
        c.backend_timeout = Duration::from_secs(10);
        c
    }

    pub fn client_config(&self, with_cert: bool) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(self.dir.join("ca.pem")).expect("ca") {
            roots.add(c.expect("ca cert")).expect("root");
        }
        let b = rustls::ClientConfig::builder().with_root_certificates(roots);
        let c = if with_cert {
            let chain = CertificateDer::pem_file_iter(self.dir.join("node.pem"))
                .expect("node cert")
                .collect::<Result<Vec<_>, _>>()
                .expect("node cert");
            let key = PrivateKeyDer::from_pem_file(self.dir.join("node.key")).expect("node key");
            b.with_client_auth_cert(chain, key).expect("client auth")
        } else {
            b.with_no_client_auth()
        };
        Arc::new(c)
    }

    /// A TLS connection to the front, as `NODE` (`verified`) or anonymous.
    pub async fn connect(
        &self,
        front: SocketAddr,
        verified: bool,
    ) -> tokio_rustls::client::TlsStream<TcpStream> {
        self.try_connect(front, verified)
            .await
            .expect("TLS connection")
    }

    pub async fn try_connect(
        &self,
        front: SocketAddr,
        verified: bool,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
        let tcp = TcpStream::connect(front).await.map_err(|e| e.to_string())?;
        let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        tokio::time::timeout(
            Duration::from_secs(5),
            tokio_rustls::TlsConnector::from(self.client_config(verified)).connect(name, tcp),
        )
        .await
        .map_err(|_| "handshake timeout".to_string())?
        .map_err(|e| e.to_string())
    }

    /// Sends `raw` on a new connection and reads one response.
    pub async fn send(&self, front: SocketAddr, verified: bool, raw: &[u8]) -> Reply {
        let mut s = self.connect(front, verified).await;
        s.write_all(raw).await.expect("write");
        s.flush().await.expect("flush");
        read_reply(&mut s).await.expect("a response")
    }
}

/// A response as the client saw it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response (Content-Length framed, or to the end of the connection); None when the
/// connection closed before a whole head, or nothing came within 8 s.
pub async fn read_reply<S: AsyncRead + Unpin>(s: &mut S) -> Option<Reply> {
    tokio::time::timeout(Duration::from_secs(8), async {
        let mut buf = Vec::new();
        let mut piece = [0u8; 8192];
        loop {
            let mut hs = [httparse::EMPTY_HEADER; 64];
            let mut r = httparse::Response::new(&mut hs);
            if let Ok(httparse::Status::Complete(n)) = r.parse(&buf) {
                let status = r.code.unwrap_or(0);
                let headers: Vec<(String, String)> = r
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).to_string(),
                        )
                    })
                    .collect();
                let len = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.trim().parse::<usize>().ok());
                let mut body = buf[n..].to_vec();
                loop {
                    if len.is_some_and(|l| body.len() >= l) {
                        break;
                    }
                    match s.read(&mut piece).await {
                        Ok(0) | Err(_) => break,
                        Ok(k) => body.extend_from_slice(&piece[..k]),
                    }
                }
                return Some(Reply {
                    status,
                    headers,
                    body: String::from_utf8_lossy(&body).to_string(),
                });
            }
            match s.read(&mut piece).await {
                Ok(0) | Err(_) => return None,
                Ok(k) => buf.extend_from_slice(&piece[..k]),
            }
        }
    })
    .await
    .ok()
    .flatten()
}

/// Whether the peer closes the connection (EOF or reset) within `within`.
pub async fn closed_within<S: AsyncRead + Unpin>(s: &mut S, within: Duration) -> bool {
    let mut piece = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match s.read(&mut piece).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

/// How a test backend behaves after reading a whole request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Answers 200 `ok`.
    Normal,
    /// Closes the connection without a byte of answer, as a master that died would.
    Dying,
    /// Answers its first request (keeping the connection open), then dies on every other.
    OnceThenDying,
    /// Answers 503 with Retry-After, as a master whose CA store is down or whose compile pool
    /// is full.
    Unavailable,
    /// A saturated master: each request takes `BUSY_REQUEST` (answered concurrently), and
    /// a health check is answered only after `BUSY_CHECK`, queued behind the work.
    Busy,
    /// Answers 200 `ok`, after `SLOW_REQUEST` when the request head contains `slow`.
    Slow,
}

/// How long a `Kind::Slow` master takes over a request whose head contains `slow`.
pub const SLOW_REQUEST: Duration = Duration::from_millis(1500);

/// How long a `Kind::Busy` master takes per request.
pub const BUSY_REQUEST: Duration = Duration::from_millis(100);
/// How long a `Kind::Busy` master takes to answer a health check.
pub const BUSY_CHECK: Duration = Duration::from_millis(900);

/// A master stand-in on 127.0.0.1: records the heads of the requests it received (health
/// checks answered 200 and not recorded).
#[derive(Debug, Clone)]
pub struct Backend {
    pub addr: SocketAddr,
    pub heads: Arc<Mutex<Vec<String>>>,
    /// Health checks answered.
    pub checks: Arc<AtomicUsize>,
}

impl Backend {
    pub async fn start(kind: Kind) -> Backend {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        let heads = Arc::new(Mutex::new(Vec::new()));
        let checks = Arc::new(AtomicUsize::new(0));
        let (h, c) = (heads.clone(), checks.clone());
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                tokio::spawn(serve(s, kind, h.clone(), c.clone()));
            }
        });
        Backend {
            addr,
            heads,
            checks,
        }
    }

    pub fn hits(&self) -> usize {
        self.heads.lock().map(|h| h.len()).unwrap_or(0)
    }

    pub fn last(&self) -> String {
        self.heads
            .lock()
            .ok()
            .and_then(|h| h.last().cloned())
            .unwrap_or_default()
    }
}

/// Reads one request: its head (as text) and body; None at the end of the connection.
async fn read_request<S: AsyncRead + Unpin>(
    s: &mut S,
    buf: &mut Vec<u8>,
) -> Option<(String, Vec<u8>)> {
    let mut piece = [0u8; 16384];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end + 4]).to_string();
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                match s.read(&mut piece).await {
                    Ok(0) | Err(_) => return None,
                    Ok(k) => buf.extend_from_slice(&piece[..k]),
                }
            }
            let body = buf[end + 4..end + 4 + len].to_vec();
            buf.drain(..end + 4 + len);
            return Some((head, body));
        }
        match s.read(&mut piece).await {
            Ok(0) | Err(_) => return None,
            Ok(k) => buf.extend_from_slice(&piece[..k]),
        }
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    kind: Kind,
    heads: Arc<Mutex<Vec<String>>>,
    checks: Arc<AtomicUsize>,
) {
    let mut buf = Vec::new();
    while let Some((head, _body)) = read_request(&mut s, &mut buf).await {
        if head.starts_with("GET /status/v1/simple ") {
            checks.fetch_add(1, Ordering::SeqCst);
            if kind == Kind::Busy {
                tokio::time::sleep(BUSY_CHECK).await;
            }
            let _ = s
                .write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nrunning",
                )
                .await;
            return;
        }
        let slow = head.contains("slow");
        let seen = heads
            .lock()
            .map(|mut h| {
                h.push(head);
                h.len()
            })
            .unwrap_or(0);
        if kind == Kind::Dying || (kind == Kind::OnceThenDying && seen > 1) {
            return;
        }
        if kind == Kind::Unavailable {
            let _ = s
                .write_all(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 30\r\nContent-Type: text/plain\r\nContent-Length: 32\r\n\r\nthe CA store is unavailable: xyz")
                .await;
            continue;
        }
        if kind == Kind::Busy {
            tokio::time::sleep(BUSY_REQUEST).await;
        }
        if kind == Kind::Slow && slow {
            tokio::time::sleep(SLOW_REQUEST).await;
        }
        if s.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
        )
        .await
        .is_err()
        {
            return;
        }
    }
}

/// An address nothing listens on.
pub async fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let a = l.local_addr().expect("addr");
    drop(l);
    a
}

/// A catalog request as an agent sends it.
pub fn catalog_request(body: &str) -> Vec<u8> {
    format!(
        "POST /puppet/v3/catalog/{NODE}?environment=production HTTP/1.1\r\nHost: puppet\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
