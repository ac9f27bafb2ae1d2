//! TLS for the front. A client certificate is optional; when one is presented the handshake
//! proceeds (its signature over the handshake is still checked) and the certificate is then
//! verified against the CA bundle and CRL, giving `X-Client-Verify: SUCCESS` or
//! `FAILED:<reason>` for the masters, as Apache's `SSLVerifyClient optional` does.
//!
//! An expired CRL fails closed: once its `nextUpdate` has passed, every client certificate
//! is judged `FAILED` (nobody can tell whether it was revoked since). A warning is logged
//! when less than a quarter of its lifetime or seven days, whichever is shorter, are left.

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
    /// The CRL file, and the `thisUpdate`/`nextUpdate` of the CRL that expires first.
    pub crl: Option<(PathBuf, time::OffsetDateTime, time::OffsetDateTime)>,
    /// Chains judged `SUCCESS` under these files (shared by the clones of this `Tls`).
    pub verdicts: Arc<crate::verdicts::Verdicts>,
}

/// Where a CRL stands on its lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrlState {
    Fresh,
    /// Less than a quarter of its lifetime, or seven days, left.
    ExpiresSoon,
    Expired,
}

/// Judges a CRL issued at `this_update` and due for replacement at `next_update`.
pub fn crl_state(
    this_update: time::OffsetDateTime,
    next_update: time::OffsetDateTime,
    now: time::OffsetDateTime,
) -> CrlState {
    if now >= next_update {
        return CrlState::Expired;
    }
    let lifetime = next_update - this_update;
    let quarter: time::Duration = lifetime / 4;
    let margin = quarter.min(time::Duration::days(7));
    if next_update - now < margin {
        CrlState::ExpiresSoon
    } else {
        CrlState::Fresh
    }
}

/// `thisUpdate` and `nextUpdate` of a DER CRL (none when it has no `nextUpdate`).
fn crl_window(der: &[u8]) -> Option<(time::OffsetDateTime, time::OffsetDateTime)> {
    let (_, crl) = x509_parser::parse_x509_crl(der).ok()?;
    let next = crl.next_update()?;
    Some((crl.last_update().to_datetime(), next.to_datetime()))
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
        let crl = crls
            .iter()
            .filter_map(|c| crl_window(c.as_ref()))
            .min_by_key(|w| w.1)
            .zip(f.crl.clone())
            .map(|((t, n), p)| (p, t, n));
        let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
            .with_crls(crls)
            .allow_unauthenticated()
            .enforce_revocation_expiration()
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
            crl,
            verdicts: Arc::default(),
        })
    }

    pub fn crl_state(&self, now: time::OffsetDateTime) -> CrlState {
        self.crl
            .as_ref()
            .map_or(CrlState::Fresh, |(_, t, n)| crl_state(*t, *n, now))
    }

    /// What to log about the CRL's expiry, if anything.
    pub fn crl_warning(&self, now: time::OffsetDateTime) -> Option<String> {
        let (path, _, next) = self.crl.as_ref()?;
        let when = next
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| next.to_string());
        match self.crl_state(now) {
            CrlState::Fresh => None,
            CrlState::Expired => Some(format!(
                "error: the CRL {} expired at {when}: every client certificate is refused \
                 (X-Client-Verify: FAILED) until a fresh CRL is installed",
                path.display()
            )),
            CrlState::ExpiresSoon => Some(format!(
                "warning: the CRL {} expires at {when} (in {}h); install a fresh one before \
                 then, or every client certificate will be refused",
                path.display(),
                (*next - now).whole_hours()
            )),
        }
    }

    /// `SUCCESS` or `FAILED:<reason>` for a presented chain.
    pub fn verdict(&self, chain: &[CertificateDer<'_>]) -> String {
        let Some((ee, rest)) = chain.split_first() else {
            return "NONE".into();
        };
        let now = UnixTime::now();
        let secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        let key = crate::verdicts::key(chain);
        if self.verdicts.known_good(&key, secs) {
            return "SUCCESS".into();
        }
        match self.verifier.verify_client_cert(ee, rest, now) {
            Ok(_) => {
                // Good until a certificate of the chain or the CRL expires, whichever is first.
                let crl_until = self.crl.as_ref().map(|(_, _, n)| n.unix_timestamp());
                let certs: Option<Vec<i64>> =
                    chain.iter().map(crate::verdicts::not_after).collect();
                if let Some(until) = certs.and_then(|c| c.into_iter().min()) {
                    self.verdicts
                        .remember(key, crl_until.map_or(until, |c| c.min(until)));
                }
                "SUCCESS".into()
            }
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
