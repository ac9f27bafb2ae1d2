//! The simulated agents' certificates: `--identities` key pairs, each with a certificate the
//! server's CA signed through the CA API (a CSR PUT, then the certificate's GET, as an agent
//! does; autosign must accept the names). Kept in `--certs/<server>/` and reused.

use anyhow::{anyhow, Context, Result};
use hyper::Method;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, RsaKeySize};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::path::Path;
use std::sync::Arc;

use super::run::Conn;
use super::AgentArgs;

/// One agent's name and the TLS configuration carrying its certificate.
pub(super) struct Identity {
    pub(super) name: String,
    pub(super) tls: Arc<rustls::ClientConfig>,
}

/// The certificates of `a.identities` agents, made and signed when not kept yet.
pub(super) async fn obtain(a: &AgentArgs, server_name: &str) -> Result<Vec<Identity>> {
    let dir = a.certs.join(a.server.replace([':', '/'], "_"));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = ServerName::try_from(server_name.to_string())
        .map_err(|_| anyhow!("--server-name {server_name}: not a host name"))?;
    let ca_path = dir.join("ca.pem");
    if !ca_path.exists() {
        // As an agent's first run: the CA certificate is fetched without verifying the server.
        let mut c = Conn::open(&a.server, &name, insecure()).await?;
        let (status, body) = c
            .call(Method::GET, "/puppet-ca/v1/certificate/ca", None, vec![])
            .await?;
        if status != 200 {
            return Err(anyhow!("GET /puppet-ca/v1/certificate/ca: HTTP {status}"));
        }
        std::fs::write(&ca_path, &body)?;
    }
    let ca_pem = std::fs::read(&ca_path)?;
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&ca_pem) {
        roots.add(c.context("ca.pem")?).context("ca.pem")?;
    }
    let roots = Arc::new(roots);
    let anonymous = Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots.clone())
            .with_no_client_auth(),
    );
    let nodes: Vec<String> = (0..a.identities.max(1))
        .map(|i| format!("bench-{i:05}.{}", a.domain))
        .collect();
    let missing: Vec<&String> = nodes
        .iter()
        .filter(|n| {
            !dir.join(format!("{n}.pem")).exists() || !dir.join(format!("{n}.key")).exists()
        })
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "making {} agent keys ({}) and having them signed through {}",
            missing.len(),
            a.key,
            a.server
        );
        // Keys on every core, signing a few at a time.
        let slots = Arc::new(tokio::sync::Semaphore::new(8));
        let mut tasks = tokio::task::JoinSet::new();
        for node in missing {
            let (a, name, tls, dir, node) = (
                a.clone(),
                name.clone(),
                anonymous.clone(),
                dir.clone(),
                node.clone(),
            );
            let slots = slots.clone();
            tasks.spawn(async move {
                let _slot = slots.acquire().await;
                let kind = a.key.clone();
                let key = tokio::task::spawn_blocking(move || new_key(&kind)).await??;
                let cert_path = dir.join(format!("{node}.pem"));
                sign(&a, &name, tls, &node, &key, &cert_path).await?;
                std::fs::write(dir.join(format!("{node}.key")), key.serialize_pem())?;
                anyhow::Ok(())
            });
        }
        while let Some(r) = tasks.join_next().await {
            r??;
        }
    }
    let provider = agent_provider();
    let verifier = super::server_verify::Remembering::new(roots, provider.clone())?;
    nodes
        .iter()
        .map(|n| {
            let (c, k) = (dir.join(format!("{n}.pem")), dir.join(format!("{n}.key")));
            identity(n, &c, &k, provider.clone(), verifier.clone())
        })
        .collect()
}

fn new_key(kind: &str) -> Result<KeyPair> {
    match kind {
        "rsa" => KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048),
        "ec" => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        other => return Err(anyhow!("--key {other}: rsa or ec")),
    }
    .map_err(|e| anyhow!("cannot make a key: {e}"))
}

/// A CSR for `node`, submitted, and the signed certificate fetched into `cert_path`.
async fn sign(
    a: &AgentArgs,
    name: &ServerName<'static>,
    tls: Arc<rustls::ClientConfig>,
    node: &str,
    key: &KeyPair,
    cert_path: &Path,
) -> Result<()> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, node);
    let csr = params.serialize_request(key)?.pem()?;
    let mut c = Conn::open(&a.server, name, tls).await?;
    let path = format!("/puppet-ca/v1/certificate_request/{node}?environment=production");
    let (status, body) = loop {
        let (status, body) = c
            .call(
                Method::PUT,
                &path,
                Some("text/plain"),
                csr.clone().into_bytes(),
            )
            .await?;
        // The CA limits certificate requests per address: wait, as it asks.
        if status == 429 {
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
            continue;
        }
        break (status, body);
    };
    if status != 200 {
        return Err(anyhow!(
            "the certificate request of {node}: HTTP {status} {}",
            String::from_utf8_lossy(&body)
        ));
    }
    let (status, body) = c
        .call(
            Method::GET,
            &format!("/puppet-ca/v1/certificate/{node}"),
            None,
            vec![],
        )
        .await?;
    if status != 200 {
        return Err(anyhow!(
            "{node} was not signed (HTTP {status}): autosign must accept *.{}",
            a.domain
        ));
    }
    std::fs::write(cert_path, &body)?;
    Ok(())
}

fn identity(
    node: &str,
    cert_path: &Path,
    key_path: &Path,
    provider: Arc<rustls::crypto::CryptoProvider>,
    verifier: Arc<super::server_verify::Remembering>,
) -> Result<Identity> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .with_context(|| format!("{}", cert_path.display()))?
        .collect::<std::result::Result<_, _>>()
        .with_context(|| format!("{}", cert_path.display()))?;
    let key = PrivateKeyDer::from_pem_file(key_path)
        .with_context(|| format!("{}", key_path.display()))?;
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(chain, key)?;
    // Every run makes a full handshake, as agents whose connections were closed do.
    tls.resumption = rustls::client::Resumption::disabled();
    Ok(Identity {
        name: node.to_string(),
        tls: Arc::new(tls),
    })
}

/// The key exchanges a Puppet 7 agent offers (Ruby's OpenSSL 3.0: X25519, then the NIST
/// curves), without rustls' post-quantum hybrid that no agent sends and that costs both ends.
fn agent_provider() -> Arc<rustls::crypto::CryptoProvider> {
    use rustls::crypto::aws_lc_rs::{default_provider, kx_group};
    Arc::new(rustls::crypto::CryptoProvider {
        kx_groups: vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1],
        ..default_provider()
    })
}

/// Accepts any server certificate: only for fetching the CA certificate the first time.
#[derive(Debug)]
struct AnyServer(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn insecure() -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        rustls::ClientConfig::builder()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServer(provider)))
            .with_no_client_auth(),
    )
}
