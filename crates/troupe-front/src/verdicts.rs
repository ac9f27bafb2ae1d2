//! Verdicts on client certificates, remembered. Every agent run opens a new TLS connection with
//! the same certificate; verifying its chain again costs two RSA signature checks (the
//! certificate's and the CRL's) and a chain build, a fifth of the front's CPU per run. A
//! `SUCCESS` is the same answer for as long as nothing it depends on changes:
//! - the CA bundle and CRLs: a cache belongs to one loaded `Tls` and goes with it when the
//!   files are reloaded (a revocation starts from an empty cache);
//! - time: an entry is used only before the certificate's `notAfter` and the CRL's
//!   `nextUpdate`, whichever comes first (an expired CRL fails every certificate closed).
//!
//! Failures are never remembered (they are judged afresh, and a flood of junk certificates
//! cannot fill the cache). The cache is bounded: when full it starts over.

use rustls::pki_types::CertificateDer;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

/// Chains remembered at most (about 100 bytes each).
const CAPACITY: usize = 100_000;

/// Successful verdicts by chain, each with the Unix time it stops being valid.
#[derive(Debug, Default)]
pub struct Verdicts {
    ok: Mutex<HashMap<[u8; 32], i64>>,
}

/// The key of a chain: SHA-256 over each certificate's length and bytes.
pub fn key(chain: &[CertificateDer<'_>]) -> [u8; 32] {
    let mut h = Sha256::new();
    for c in chain {
        h.update((c.len() as u64).to_be_bytes());
        h.update(c.as_ref());
    }
    h.finalize().into()
}

/// The Unix time a certificate stops being valid (`notAfter`), if it parses.
pub fn not_after(cert: &CertificateDer<'_>) -> Option<i64> {
    let (_, c) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    Some(c.validity().not_after.timestamp())
}

impl Verdicts {
    /// Whether `key` was judged `SUCCESS` and that still holds at `now`.
    pub fn known_good(&self, key: &[u8; 32], now: i64) -> bool {
        let Ok(m) = self.ok.lock() else {
            return false;
        };
        m.get(key).is_some_and(|until| now < *until)
    }

    /// Remembers a `SUCCESS` for `key` until `until` (exclusive).
    pub fn remember(&self, key: [u8; 32], until: i64) {
        let Ok(mut m) = self.ok.lock() else {
            return;
        };
        if m.len() >= CAPACITY {
            m.clear();
        }
        m.insert(key, until);
    }

    pub fn len(&self) -> usize {
        self.ok.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_the_deadline_and_starts_over_when_full() {
        let v = Verdicts::default();
        let a = key(&[CertificateDer::from(vec![1u8, 2, 3])]);
        let b = key(&[
            CertificateDer::from(vec![1u8, 2]),
            CertificateDer::from(vec![3u8]),
        ]);
        assert_ne!(a, b, "the split between certificates is part of the key");
        assert!(!v.known_good(&a, 0));
        v.remember(a, 100);
        assert!(v.known_good(&a, 99));
        assert!(!v.known_good(&a, 100));
        assert!(!v.known_good(&b, 0));
        for i in 0..CAPACITY as u64 {
            let mut k = [0u8; 32];
            k[..8].copy_from_slice(&i.to_be_bytes());
            k[31] = 7;
            v.remember(k, 1);
        }
        assert!(v.len() <= CAPACITY);
        assert!(!v.known_good(&a, 0), "started over when full");
    }
}
