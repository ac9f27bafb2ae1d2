//! Who the client is: its TLS client certificate (judged again after each CRL reload, and
//! nobody once the CRL has expired), or the identity headers of a trusted front.
//!
//! Identity headers (`X-Client-Verify`, `X-Client-DN`, `X-Client-Cert`) are honoured only
//! - over HTTPS, on a connection whose verified client certificate is named by `trusted_front`
//!   (and, when `trusted_proxy` is set, from one of those addresses too);
//! - over plain HTTP, from a `trusted_proxy` address.
//!
//! A header identity never carries CA administration (`pp_cli_auth`): a front vouches for
//! nodes, not for CA administrators.

use crate::{Identity, State};
use hyper::header::HeaderMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// A connection's client certificate and its standing against the CRL.
#[derive(Debug)]
pub struct TlsPeer {
    ident: Identity,
    /// The reload generation it was last judged at.
    judged_at: AtomicU64,
    revoked: AtomicBool,
}

impl TlsPeer {
    pub fn anonymous() -> TlsPeer {
        TlsPeer::new(Identity::default(), 0)
    }

    pub fn new(ident: Identity, generation: u64) -> TlsPeer {
        TlsPeer {
            ident,
            judged_at: AtomicU64::new(generation),
            revoked: AtomicBool::new(false),
        }
    }

    /// The verified client certificate of a finished handshake (rustls checked it against the
    /// CA and the CRL), or anonymous.
    pub fn from_tls(conn: &rustls::ServerConnection, generation: u64) -> TlsPeer {
        let ident = match conn.peer_certificates().and_then(|c| c.first()) {
            Some(cert) => Identity {
                certname: troupe_ca::cert_cn(cert.as_ref()),
                cert: Some(cert.as_ref().to_vec()),
                via_headers: false,
            },
            None => Identity::default(),
        };
        TlsPeer::new(ident, generation)
    }

    pub fn has_cert(&self) -> bool {
        self.ident.cert.is_some()
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The TLS identity, judged again against the current CRL once after each reload (keep-alive
/// connections outlive revocations); nobody once the CRL has expired (fail closed).
pub fn current_tls(state: &State, peer: &TlsPeer) -> Identity {
    let Some(der) = &peer.ident.cert else {
        return Identity::default();
    };
    let next_update = state.crl_next_update.load(Ordering::SeqCst);
    if next_update != 0 && next_update < now_secs() {
        return Identity::default();
    }
    let now = state.tls_generation.load(Ordering::SeqCst);
    if peer.judged_at.load(Ordering::SeqCst) != now {
        let crl = state
            .crl
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|_| Arc::from(""));
        peer.revoked
            .store(troupe_ca::is_revoked(der, &crl), Ordering::SeqCst);
        peer.judged_at.store(now, Ordering::SeqCst);
    }
    if peer.revoked.load(Ordering::SeqCst) {
        Identity::default()
    } else {
        peer.ident.clone()
    }
}

/// Whether this connection may speak for clients with identity headers.
pub fn trusted_sender(state: &State, peer: &SocketAddr, tls: &Identity) -> bool {
    let ip = peer.ip().to_canonical();
    let from_proxy = state
        .config
        .trusted_proxies
        .iter()
        .any(|t| t.to_canonical() == ip);
    if state.config.plain_http {
        return from_proxy;
    }
    let front = tls
        .certname
        .as_deref()
        .is_some_and(|n| state.config.trusted_fronts.iter().any(|f| f == n));
    front && (state.config.trusted_proxies.is_empty() || from_proxy)
}

const IDENTITY_HEADERS: [&str; 3] = ["x-client-verify", "x-client-dn", "x-client-cert"];

/// The identity a trusted front's headers give (None when the sender is not trusted: the
/// headers are then ignored). From a trusted sender the headers are the only identity: without
/// them, or with conflicting ones, the client is anonymous, never the front itself.
pub fn from_headers(trusted: bool, headers: &HeaderMap) -> Option<Identity> {
    if !trusted {
        return None;
    }
    // A header given twice is ambiguous: which one did the front set?
    if IDENTITY_HEADERS
        .iter()
        .any(|n| headers.get_all(*n).iter().count() > 1)
    {
        return Some(Identity::default());
    }
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    if h("x-client-verify").as_deref() != Some("SUCCESS") {
        return Some(Identity::default());
    }
    let cert = h("x-client-cert").and_then(|pem| {
        let pem = percent_encoding::percent_decode_str(&pem)
            .decode_utf8_lossy()
            .to_string();
        let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
        Some(p.contents)
    });
    let dn_name = h("x-client-dn").and_then(|dn| dn_cn(&dn));
    let cert_name = cert.as_deref().and_then(troupe_ca::cert_cn);
    let certname = match (dn_name, cert_name) {
        (Some(d), Some(c)) if d != c => return Some(Identity::default()),
        (Some(d), _) => Some(d),
        (None, c) => c,
    };
    let certname = certname.filter(|n| troupe_ca::valid_name(n).is_ok() && n.len() <= 255);
    if certname.is_none() {
        return Some(Identity::default());
    }
    Some(Identity {
        certname,
        cert,
        via_headers: true,
    })
}

/// The identity of a request: the front's headers when this connection may send them, else
/// the connection's own certificate.
pub fn of_request(
    state: &State,
    peer: &SocketAddr,
    tls_peer: &TlsPeer,
    headers: &HeaderMap,
) -> (Identity, bool) {
    let tls = current_tls(state, tls_peer);
    let trusted = trusted_sender(state, peer, &tls);
    match from_headers(trusted, headers) {
        Some(i) => (i, true),
        None => (tls, false),
    }
}

/// The CN of `CN=node1,O=x`, `/CN=node1/O=x` or `O=x, CN=node1`.
pub fn dn_cn(dn: &str) -> Option<String> {
    dn.split([',', '/'])
        .map(str::trim)
        .find_map(|p| p.strip_prefix("CN=").or_else(|| p.strip_prefix("cn=")))
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_give_their_cn() {
        assert_eq!(
            dn_cn("CN=node1.example.test").as_deref(),
            Some("node1.example.test")
        );
        assert_eq!(dn_cn("/CN=node1/O=x").as_deref(), Some("node1"));
        assert_eq!(dn_cn("O=x, CN=node2").as_deref(), Some("node2"));
        assert_eq!(dn_cn("O=x"), None);
    }

    #[test]
    fn headers_count_only_from_a_trusted_sender_and_never_twice() {
        let mut h = HeaderMap::new();
        h.insert("x-client-verify", "SUCCESS".parse().expect("value"));
        h.insert("x-client-dn", "CN=node1".parse().expect("value"));
        assert!(from_headers(false, &h).is_none());
        let i = from_headers(true, &h).unwrap_or_default();
        assert_eq!(i.certname.as_deref(), Some("node1"));
        assert!(i.via_headers);
        h.append("x-client-dn", "CN=admin".parse().expect("value"));
        assert_eq!(from_headers(true, &h).unwrap_or_default().certname, None);
    }
}
