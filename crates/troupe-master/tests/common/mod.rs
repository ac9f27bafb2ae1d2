//! Shared pieces of the hostile-input tests: a scratch directory, a real master on an
//! ephemeral loopback port, certificates issued by the master's CA, and raw HTTP/1.1 over TCP
//! or TLS (so that tests can send what a well-behaved client never would).
#![allow(dead_code)]

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use troupe_master::Config;

/// A scratch directory, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "troupe-hostile-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("scratch dir");
        Scratch(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub const MASTER: &str = "master.example.test";

/// A config for a master in `dir`: code with a `production` environment holding a module
/// `site` (with `files/`), a CA, reports in `dir/reports`, plain HTTP unless `tls`.
pub fn config(dir: &Path, tls: bool) -> Config {
    let code = dir.join("code");
    let env = code.join("environments/production");
    std::fs::create_dir_all(env.join("manifests")).expect("env");
    std::fs::create_dir_all(env.join("modules/site/files")).expect("module");
    std::fs::write(env.join("manifests/site.pp"), "notify { 'hi': }\n").expect("site.pp");
    let mut c = Config::new(code, dir.join("ssl"), MASTER.into());
    c.listen = "127.0.0.1:0".parse().expect("addr");
    c.cadir = Some(dir.join("ca"));
    c.basemodulepath = Some(vec![]);
    c.dns_alt_names = vec!["localhost".into()];
    c.keylength = 2048;
    c.reportdir = dir.join("reports");
    c.plain_http = !tls;
    c.workers = 1;
    c.max_queued = 4;
    c.limits.report_min_free = troupe_master::limits::FreeSpace::Bytes(0);
    c
}

pub fn start(c: Config) -> troupe_master::Server {
    troupe_master::start(c).unwrap_or_else(|e| panic!("master did not start: {e}"))
}

/// A certificate and key (PEM) for `cn`, issued by the CA in `cadir`; with `cli_auth`, the
/// certificate carries `pp_cli_auth: true` (a CA administrator's).
pub fn issue(cadir: &Path, cn: &str, cli_auth: bool) -> (String, String) {
    static SERIAL: AtomicU64 = AtomicU64::new(0x7000_0000);
    let ca_pem = std::fs::read_to_string(cadir.join("ca_crt.pem")).expect("ca cert");
    let ca_key = rcgen::KeyPair::from_pem(
        &std::fs::read_to_string(cadir.join("ca_key.pem")).expect("ca key"),
    )
    .expect("ca key parses");
    let issuer = rcgen::Issuer::from_ca_cert_pem(&ca_pem, ca_key).expect("issuer");
    let key = rcgen::KeyPair::generate().expect("key");
    let mut p = rcgen::CertificateParams::new(vec![cn.to_string()]).expect("params");
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, cn.to_string());
    p.serial_number = Some(rcgen::SerialNumber::from(
        SERIAL.fetch_add(1, Ordering::SeqCst),
    ));
    p.not_before = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    p.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(30);
    p.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    p.use_authority_key_identifier_extension = true;
    if cli_auth {
        p.custom_extensions
            .push(rcgen::CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 4, 1, 34380, 1, 3, 39],
                vec![0x0c, 4, b't', b'r', b'u', b'e'],
            ));
    }
    let cert = p.signed_by(&key, &issuer).expect("signed");
    (cert.pem(), key.serialize_pem())
}

/// A response: status, lower-cased headers, body.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses one response from `raw` (Content-Length framing or up to the end).
pub fn parse(raw: &[u8]) -> Option<Resp> {
    let text = String::from_utf8_lossy(raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let body = match len {
        Some(n) => body.get(..n).unwrap_or(body).to_string(),
        None => body.to_string(),
    };
    Some(Resp {
        status,
        headers,
        body,
    })
}

/// Builds a request with `Connection: close`.
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || matches!(method, "PUT" | "POST") {
        r.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    r.push_str("\r\n");
    let mut b = r.into_bytes();
    b.extend_from_slice(body);
    b
}

fn read_all(r: &mut impl Read) -> Vec<u8> {
    let mut out = vec![];
    let mut buf = [0u8; 16384];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    out
}

/// Sends raw bytes over plain TCP and reads until the server closes.
pub fn raw(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let _ = s.write_all(bytes);
    read_all(&mut s)
}

/// One plain-HTTP request.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let raw = raw(addr, &request(method, path, headers, body));
    parse(&raw).unwrap_or_else(|| panic!("no response to {method} {path}: {raw:?}"))
}

/// Identity headers a front would send for `cn` (with its certificate when given).
pub fn front_headers(cn: &str, cert_pem: Option<&str>) -> Vec<(String, String)> {
    let mut h = vec![
        ("X-Client-Verify".to_string(), "SUCCESS".to_string()),
        ("X-Client-DN".to_string(), format!("CN={cn}")),
    ];
    if let Some(pem) = cert_pem {
        let enc = percent_encoding::utf8_percent_encode(pem, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
        h.push(("X-Client-Cert".to_string(), enc));
    }
    h
}

pub fn refs(h: &[(String, String)]) -> Vec<(&str, &str)> {
    h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// A TLS client trusting the CA in `ssldir/certs/ca.pem`, presenting `client` (cert, key PEM).
pub fn tls_client(ssldir: &Path, client: Option<&(String, String)>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ssldir.join("certs/ca.pem")).expect("ca.pem") {
        roots.add(c.expect("ca cert")).expect("root");
    }
    let b = rustls::ClientConfig::builder().with_root_certificates(roots);
    let c = match client {
        Some((cert, key)) => {
            let chain: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(cert.as_bytes())
                    .collect::<Result<_, _>>()
                    .expect("chain");
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key");
            b.with_client_auth_cert(chain, key).expect("client auth")
        }
        None => b.with_no_client_auth(),
    };
    Arc::new(c)
}

/// An open TLS connection (handshake done) to the master at `addr`.
pub fn tls_connect(
    addr: SocketAddr,
    cfg: &Arc<rustls::ClientConfig>,
) -> std::io::Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
    let tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(20)))?;
    let name = ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(cfg.clone(), name).map_err(std::io::Error::other)?;
    let mut s = rustls::StreamOwned::new(conn, tcp);
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock)?;
    }
    Ok(s)
}

/// One request over TLS; None when the connection failed or was closed without a response.
pub fn https(
    addr: SocketAddr,
    cfg: &Arc<rustls::ClientConfig>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<Resp> {
    let mut s = tls_connect(addr, cfg).ok()?;
    s.write_all(&request(method, path, headers, body)).ok()?;
    let raw = read_all(&mut s);
    parse(&raw)
}
