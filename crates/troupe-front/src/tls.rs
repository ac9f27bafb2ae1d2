//! TLS for the front. A client certificate is optional; when one is presented the handshake
//! proceeds (its signature over the handshake is still checked) and the certificate is then
//! verified against the CA bundle and CRL, giving `X-Client-Verify: SUCCESS` or
//! `FAILED:<reason>` for the masters, as Apache's `SSLVerifyClient optional` does.

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
};
use std::path::PathBuf;
use std::sync::Arc;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone)]
pub struct Files {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
    pub crl: Option<PathBuf>,
}

/// Accepts any client certificate; the real verdict is `Verifier::verdict` after the handshake.
#[derive(Debug)]
struct Lenient {
    inner: Arc<dyn ClientCertVerifier>,
}

impl ClientCertVerifier for Lenient {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The server configuration and the verifier that judges client certificates.
#[derive(Debug, Clone)]
pub struct Tls {
    pub config: Arc<ServerConfig>,
    pub verifier: Arc<dyn ClientCertVerifier>,
}

impl Tls {
    pub fn load(f: &Files) -> Result<Tls, BoxError> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&f.cert)
            .map_err(|e| format!("{}: {e}", f.cert.display()))?
            .collect::<Result<_, _>>()?;
        let key = PrivateKeyDer::from_pem_file(&f.key)
            .map_err(|e| format!("{}: {e}", f.key.display()))?;
        let mut roots = RootCertStore::empty();
        for c in
            CertificateDer::pem_file_iter(&f.ca).map_err(|e| format!("{}: {e}", f.ca.display()))?
        {
            roots.add(c?)?;
        }
        let crls: Vec<CertificateRevocationListDer<'static>> = match &f.crl {
            Some(p) => CertificateRevocationListDer::pem_file_iter(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .collect::<Result<_, _>>()?,
            None => vec![],
        };
        let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
            .with_crls(crls)
            .allow_unauthenticated()
            .build()?;
        let mut sc = ServerConfig::builder()
            .with_client_cert_verifier(Arc::new(Lenient {
                inner: verifier.clone(),
            }))
            .with_single_cert(chain, key)?;
        sc.alpn_protocols = vec![b"http/1.1".to_vec()];
        sc.send_tls13_tickets = 0;
        Ok(Tls {
            config: Arc::new(sc),
            verifier,
        })
    }

    /// `SUCCESS` or `FAILED:<reason>` for a presented chain.
    pub fn verdict(&self, chain: &[CertificateDer<'_>]) -> String {
        let Some((ee, rest)) = chain.split_first() else {
            return "NONE".into();
        };
        match self.verifier.verify_client_cert(ee, rest, UnixTime::now()) {
            Ok(_) => "SUCCESS".into(),
            Err(e) => format!("FAILED:{e}"),
        }
    }
}

/// The modification times of the files, to notice changes.
pub fn stamp(f: &Files) -> Vec<Option<std::time::SystemTime>> {
    let mut v = vec![&f.cert, &f.key, &f.ca];
    if let Some(c) = &f.crl {
        v.push(c);
    }
    v.into_iter()
        .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .collect()
}

/// The client side for TLS to masters: masters' certificates checked against the CA bundle;
/// the front presents its own certificate.
pub fn client_config(f: &Files) -> Result<Arc<rustls::ClientConfig>, BoxError> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&f.ca).map_err(|e| format!("{}: {e}", f.ca.display()))? {
        roots.add(c?)?;
    }
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(&f.cert)?.collect::<Result<_, _>>()?;
    let key = PrivateKeyDer::from_pem_file(&f.key)?;
    let mut c = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)?;
    c.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(c))
}
