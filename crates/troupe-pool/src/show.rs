//! `show`: a readable summary of the pool as the store holds it.

use sha2::{Digest, Sha256};
use std::fmt;

use crate::{keys, PoolError, PoolStore, Result};

/// The pool at a glance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub name: String,
    pub alt_names: Vec<String>,
    /// SHA-256 of the pool certificate (DER), colon-separated hex.
    pub fingerprint: String,
    pub not_after: String,
    pub key_type: &'static str,
    pub ca_subject: String,
    pub secret_id: String,
    pub signed: usize,
    pub requests: usize,
    pub revoked: usize,
}

fn first_der(pem: &str) -> Option<Vec<u8>> {
    x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
        .flatten()
        .next()
        .map(|p| p.contents)
}

/// Reads the summary (one list of `signed/` and `requests/` each for the counts).
pub fn show(pool: &PoolStore) -> Result<Summary> {
    let state = pool.state()?;
    let der = first_der(&state.crt_pem).ok_or_else(|| {
        PoolError::Corrupt(format!("store key {} holds no certificate", keys::CRT))
    })?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| PoolError::Corrupt(format!("store key {}: {e}", keys::CRT)))?;
    let fingerprint = Sha256::digest(&der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let not_after = cert
        .validity()
        .not_after
        .to_datetime()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let key_type = if crate::init::is_ecdsa(&state.crt_pem) {
        "ECDSA P-256"
    } else {
        "RSA"
    };
    let ca_subject = pool
        .text(keys::CA_CRT)?
        .and_then(|p| first_der(&p))
        .and_then(|d| {
            x509_parser::parse_x509_certificate(&d)
                .ok()
                .map(|(_, c)| c.subject().to_string())
        })
        .unwrap_or_else(|| "(no CA certificate in the store)".into());
    let revoked = pool
        .text(keys::CA_CRL)?
        .and_then(|p| first_der(&p))
        .and_then(|d| {
            x509_parser::parse_x509_crl(&d)
                .ok()
                .map(|(_, c)| c.iter_revoked_certificates().count())
        })
        .unwrap_or(0);
    let count = |prefix: &str| -> Result<usize> {
        Ok(pool
            .store
            .list(prefix)?
            .iter()
            .filter(|e| e.key.ends_with(".pem"))
            .count())
    };
    Ok(Summary {
        name: state.name,
        alt_names: state.alt_names,
        fingerprint,
        not_after,
        key_type,
        ca_subject,
        secret_id: state.secret_id,
        signed: count("signed/")?,
        requests: count("requests/")?,
        revoked,
    })
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "pool name:     {}", self.name)?;
        writeln!(f, "alt names:     {}", self.alt_names.join(", "))?;
        writeln!(f, "certificate:   (SHA256) {}", self.fingerprint)?;
        writeln!(f, "  expires:     {}", self.not_after)?;
        writeln!(f, "  key:         {}", self.key_type)?;
        writeln!(f, "CA:            {}", self.ca_subject)?;
        writeln!(f, "join secret:   id {}", self.secret_id)?;
        write!(
            f,
            "certificates:  {} signed, {} pending, {} revoked",
            self.signed, self.requests, self.revoked
        )
    }
}
