//! TLS for the standalone master: the server certificate in Puppet's ssldir layout (issued by
//! the local CA on first start), client certificates optional but verified against the CA and
//! the CRL, and the configuration rebuilt when the CRL or certificates change on disk. On a
//! shared store (etcd) the pool's mirror (`troupe-pool`) writes the CA certificate, the CRL
//! and the pool certificate and key into the ssldir instead of the copies from the local CA.
//!
//! An expired CRL fails closed: a client certificate is refused in the handshake (and an open
//! connection's certificate counts for nobody, see `identity`) until a current CRL is in place;
//! the master warns from when a quarter of the CRL's lifetime, or 7 days, is left.

use crate::{BoxError, Config};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use troupe_ca::{write_atomic, Ca};

pub struct Paths {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
    pub crl: PathBuf,
}

pub fn paths(config: &Config) -> Paths {
    let s = &config.ssldir;
    Paths {
        cert: s.join("certs").join(format!("{}.pem", config.certname)),
        key: s
            .join("private_keys")
            .join(format!("{}.pem", config.certname)),
        ca: s.join("certs").join("ca.pem"),
        crl: s.join("crl.pem"),
    }
}

/// Makes sure the ssldir holds this master's certificate and key, the CA certificate and the
/// CRL; with a local CA, missing ones are issued and copied from it.
pub fn ensure_server_cert(config: &Config, ca: Option<&Ca>) -> Result<(), BoxError> {
    let p = paths(config);
    std::fs::create_dir_all(config.ssldir.join("certs"))?;
    // Puppet's modes for the key and its directory; looser ones left by an older install are
    // tightened and reported.
    let keydir = config.ssldir.join("private_keys");
    for m in troupe_ca::ensure_private_dir(&keydir, troupe_ca::PRIVATE_DIR_MODE)?
        .into_iter()
        .chain(if p.key.exists() {
            troupe_ca::tighten(&p.key, troupe_ca::PRIVATE_KEY_MODE)?
        } else {
            None
        })
    {
        tracing::warn!("{m}");
    }
    if let Some(ca) = ca {
        if !p.cert.exists() || !p.key.exists() {
            let (cert, key) = ca.generate(&config.certname, &config.dns_alt_names)?;
            troupe_ca::write_private(&p.key, key.as_bytes(), troupe_ca::PRIVATE_KEY_MODE)?;
            write_atomic(&p.cert, cert.as_bytes())?;
        }
        // On a shared store the pool's mirror writes the CA certificate and the CRL.
        if config.shared.is_none() {
            sync_from_ca(config, ca)?;
        }
    }
    let hint = if config.shared.is_some() {
        "the pool's mirror fetches it from the store: run `troupe pool init` once, and set join_secret_file"
    } else {
        "give the master a CA with --cadir, or put the file there"
    };
    for (what, f) in [
        ("certificate", &p.cert),
        ("private key", &p.key),
        ("CA certificate", &p.ca),
        ("CRL", &p.crl),
    ] {
        if !f.exists() {
            return Err(format!("the {what} {} is missing ({hint})", f.display()).into());
        }
    }
    Ok(())
}

/// Copies the CA certificate and the current CRL into the ssldir when they differ.
pub fn sync_from_ca(config: &Config, ca: &Ca) -> Result<bool, BoxError> {
    let p = paths(config);
    let mut changed = false;
    for (src, dst) in [(ca.ca_cert_pem()?, &p.ca), (ca.crl_pem()?, &p.crl)] {
        if std::fs::read_to_string(dst).ok().as_deref() != Some(src.as_str()) {
            write_atomic(dst, src.as_bytes())?;
            changed = true;
        }
    }
    Ok(changed)
}

/// Builds the rustls configuration from the ssldir.
pub fn server_config(config: &Config) -> Result<Arc<ServerConfig>, BoxError> {
    let p = paths(config);
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(&p.cert)?.collect::<Result<_, _>>()?;
    let key = PrivateKeyDer::from_pem_file(&p.key)?;
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&p.ca)? {
        roots.add(c?)?;
    }
    let crls: Vec<CertificateRevocationListDer<'static>> =
        CertificateRevocationListDer::pem_file_iter(&p.crl)?.collect::<Result<_, _>>()?;
    let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
        .with_crls(crls)
        .enforce_revocation_expiration()
        .allow_unauthenticated()
        .build()?;
    let mut sc = ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    sc.alpn_protocols = vec![b"http/1.1".to_vec()];
    // Ruby's Net::HTTP can stall on TLS 1.3 session tickets sent after the handshake.
    sc.send_tls13_tickets = 0;
    Ok(Arc::new(sc))
}

/// The modification times that trigger a rebuild.
pub fn stamp(config: &Config) -> Vec<Option<std::time::SystemTime>> {
    let p = paths(config);
    [p.cert, p.key, p.ca, p.crl]
        .iter()
        .map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
        .collect()
}

/// `(thisUpdate, nextUpdate)` in Unix seconds, of the CRL in `pem` that expires first.
pub fn crl_next_update(pem: &str) -> Option<(i64, i64)> {
    use x509_parser::prelude::FromDer;
    use x509_parser::revocation_list::CertificateRevocationList;
    x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
        .flatten()
        .filter_map(|p| {
            let (_, crl) = CertificateRevocationList::from_der(&p.contents).ok()?;
            let next = crl.next_update()?.timestamp();
            Some((crl.last_update().timestamp(), next))
        })
        .min_by_key(|(_, n)| *n)
}

/// The warning to log about the CRL at `path`: expired, or less than a quarter of its lifetime
/// or 7 days left.
pub fn crl_expiry_warning(path: &Path) -> Option<String> {
    let pem = std::fs::read_to_string(path).ok()?;
    let (this, next) = crl_next_update(&pem)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    crl_warning_at(this, next, now, &path.display().to_string())
}

fn crl_warning_at(this: i64, next: i64, now: i64, what: &str) -> Option<String> {
    let left = next - now;
    if left <= 0 {
        return Some(format!(
            "error: the CRL {what} expired {}s ago; client certificates are refused until a current CRL is in place",
            -left
        ));
    }
    let margin = ((next - this) / 4).max(7 * 86400);
    (left < margin).then(|| {
        format!(
            "warning: the CRL {what} expires in {}h; once it has, client certificates are refused",
            left / 3600
        )
    })
}

/// The client configuration the `http` report processor uses for an `https` `reporturl`:
/// the server verified against the Puppet CA, this master's certificate presented when it has
/// one (as Puppet's http client does).
/// The master as a client (reporturl, PuppetDB): the Puppet CA as roots, this master's
/// certificate when it has one; `what` names the service in errors.
pub fn client_tls(config: &Config, what: &str) -> Result<Arc<rustls::ClientConfig>, BoxError> {
    let p = paths(config);
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&p.ca)
        .map_err(|e| format!("{what}: the CA certificate {}: {e}", p.ca.display()))?
    {
        roots
            .add(c.map_err(|e| format!("{what}: {}: {e}", p.ca.display()))?)
            .map_err(|e| format!("{what}: {}: {e}", p.ca.display()))?;
    }
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    let chain: Option<Vec<CertificateDer<'static>>> = CertificateDer::pem_file_iter(&p.cert)
        .ok()
        .and_then(|it| it.collect::<Result<Vec<_>, _>>().ok());
    let key = PrivateKeyDer::from_pem_file(&p.key).ok();
    let c = match (chain, key) {
        (Some(chain), Some(key)) if !chain.is_empty() => {
            builder.with_client_auth_cert(chain, key)?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crl_warnings_start_a_quarter_or_a_week_before_expiry() {
        let day = 86400;
        // 100-day CRL: warned from 25 days before.
        assert!(crl_warning_at(0, 100 * day, 50 * day, "c").is_none());
        assert!(crl_warning_at(0, 100 * day, 80 * day, "c").is_some_and(|m| m.contains("warning")));
        // 8-day CRL: a week before.
        assert!(crl_warning_at(0, 8 * day, day / 2, "c").is_none());
        assert!(crl_warning_at(0, 8 * day, 2 * day, "c").is_some());
        assert!(crl_warning_at(0, 8 * day, 9 * day, "c").is_some_and(|m| m.contains("expired")));
    }
}
