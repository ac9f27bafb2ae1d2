//! The simulated agents' check of the server's certificate: the full chain check the first
//! time a certificate is seen, then remembered for the rest of the bench. Each handshake still
//! checks the server's signature over it (the server does all of its usual work); only the
//! client's repeated RSA check of a certificate it has already accepted is saved, since the
//! bench's own CPU shares the host with the server it measures.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub(super) struct Remembering {
    inner: Arc<WebPkiServerVerifier>,
    seen: Mutex<HashSet<(String, [u8; 32])>>,
}

impl Remembering {
    pub(super) fn new(
        roots: Arc<rustls::RootCertStore>,
        provider: Arc<rustls::crypto::CryptoProvider>,
    ) -> anyhow::Result<Arc<Remembering>> {
        let inner = WebPkiServerVerifier::builder_with_provider(roots, provider).build()?;
        Ok(Arc::new(Remembering {
            inner,
            seen: Mutex::default(),
        }))
    }
}

/// The chain's key (the front's: SHA-256 over each certificate's length and bytes) with the
/// name it was checked for.
fn key(
    ee: &CertificateDer<'_>,
    rest: &[CertificateDer<'_>],
    name: &ServerName<'_>,
) -> (String, [u8; 32]) {
    let chain: Vec<CertificateDer<'_>> = std::iter::once(ee).chain(rest).cloned().collect();
    (
        name.to_str().into_owned(),
        troupe_front::verdicts::key(&chain),
    )
}

impl ServerCertVerifier for Remembering {
    fn verify_server_cert(
        &self,
        ee: &CertificateDer<'_>,
        rest: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let k = key(ee, rest, name);
        if self.seen.lock().is_ok_and(|s| s.contains(&k)) {
            return Ok(ServerCertVerified::assertion());
        }
        let ok = self.inner.verify_server_cert(ee, rest, name, ocsp, now)?;
        if let Ok(mut s) = self.seen.lock() {
            s.insert(k);
        }
        Ok(ok)
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(m, c, d)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(m, c, d)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
