//! The CRL: revocation, re-issue before expiry, and how fresh a CRL is.
//!
//! Policy: a CRL past its nextUpdate is not trusted (masters and fronts refuse client
//! certificates then: fail closed). The CA re-issues its CRL (same entries, number + 1) when
//! less than a quarter of `crl_ttl` is left; `refresh_crl_if_due` does that and must be called
//! periodically by whoever runs the CA (the master's reload loop does, through `crl_pem`).

use crate::x509::{asn1_to_offset, key_id, now, parse_pem, serial_number};
use crate::{cert_info, Ca, CaError, CaResult};
use ::time::{Duration, OffsetDateTime};
use rcgen::{
    CertificateRevocationListParams, Issuer, KeyIdMethod, KeyPair, PublicKeyData, RevocationReason,
    RevokedCertParams,
};
use x509_parser::prelude::*;

/// CRL entries: serial and revocation time.
type Revoked = Vec<(u64, OffsetDateTime)>;

/// How fresh a CRL is (`crl_freshness`). "Soon" is: less than a quarter of its lifetime
/// (thisUpdate to nextUpdate) left, when the CA re-issues it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrlFreshness {
    /// Valid, with more than a quarter of its lifetime left (or no nextUpdate at all).
    Fresh {
        this_update: OffsetDateTime,
        next_update: Option<OffsetDateTime>,
    },
    /// Valid until `next_update`, with less than a quarter of its lifetime left.
    ExpiringSoon {
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
    },
    /// Past its `next_update`: not to be trusted.
    Expired {
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
    },
}

impl CrlFreshness {
    fn rank(&self) -> u8 {
        match self {
            CrlFreshness::Fresh { .. } => 0,
            CrlFreshness::ExpiringSoon { .. } => 1,
            CrlFreshness::Expired { .. } => 2,
        }
    }

    pub fn is_expired(&self) -> bool {
        matches!(self, CrlFreshness::Expired { .. })
    }
}

/// The freshness of a CRL bundle (PEM, one or more CRLs) at `at`: the least fresh of its CRLs.
/// An error when it holds no readable CRL.
pub fn crl_freshness(crl_pem: &str, at: OffsetDateTime) -> Result<CrlFreshness, String> {
    let mut worst: Option<CrlFreshness> = None;
    for pem in x509_parser::pem::Pem::iter_from_buffer(crl_pem.as_bytes()) {
        let pem = pem.map_err(|e| format!("unreadable CRL PEM: {e}"))?;
        let (_, crl) = CertificateRevocationList::from_der(&pem.contents)
            .map_err(|e| format!("unreadable CRL: {e}"))?;
        let this_update = asn1_to_offset(crl.last_update());
        let f = match crl.next_update().map(asn1_to_offset) {
            None => CrlFreshness::Fresh {
                this_update,
                next_update: None,
            },
            Some(next_update) if at >= next_update => CrlFreshness::Expired {
                this_update,
                next_update,
            },
            Some(next_update) if (next_update - at) * 4 < next_update - this_update => {
                CrlFreshness::ExpiringSoon {
                    this_update,
                    next_update,
                }
            }
            Some(next_update) => CrlFreshness::Fresh {
                this_update,
                next_update: Some(next_update),
            },
        };
        if worst.is_none_or(|w| f.rank() > w.rank()) {
            worst = Some(f);
        }
    }
    worst.ok_or_else(|| "no CRL found".to_string())
}

impl Ca {
    /// The CRL (PEM), re-issued first when less than a quarter of its lifetime is left. With
    /// a shared store, a re-issue that cannot happen now (store unavailable, no join secret
    /// here) does not stop the current CRL (from the store, or cached) from being served.
    pub fn crl_pem(&self) -> CaResult<String> {
        match self.refresh_crl() {
            Ok(_) => {}
            Err(e) if self.is_shared() && e.status == 503 => {}
            Err(e) => return Err(e),
        }
        self.read("ca_crl.pem")
    }

    pub(crate) fn make_crl(
        &self,
        ca_pem: &str,
        key: &KeyPair,
        number: u64,
        revoked: &[(u64, OffsetDateTime)],
        this_update: OffsetDateTime,
    ) -> CaResult<String> {
        let issuer = Issuer::from_ca_cert_pem(ca_pem, key)
            .map_err(|e| CaError::new(500, format!("cannot load the CA certificate: {e}")))?;
        let params = CertificateRevocationListParams {
            this_update,
            next_update: this_update + Duration::seconds(self.settings.crl_ttl),
            crl_number: serial_number(number),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|(s, t)| RevokedCertParams {
                    serial_number: serial_number(*s),
                    revocation_time: *t,
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::PreSpecified(key_id(
                &key.subject_public_key_info(),
            )?),
        };
        params
            .signed_by(&issuer)
            .and_then(|c| c.pem())
            .map_err(|e| CaError::new(500, format!("cannot sign the CRL: {e}")))
    }

    /// The CRL's number, next update and entries.
    fn crl_state(&self) -> CaResult<(u64, OffsetDateTime, Revoked)> {
        crl_state_of(&self.read("ca_crl.pem")?)
    }

    /// The serials on the CRL.
    pub fn revoked_serials(&self) -> CaResult<Vec<u64>> {
        Ok(self.crl_state()?.2.into_iter().map(|(s, _)| s).collect())
    }

    /// Re-issues the CRL (same entries, next number) when less than a quarter of its lifetime
    /// is left. Returns whether it did.
    pub fn refresh_crl(&self) -> CaResult<bool> {
        let due =
            |next: OffsetDateTime| next - now() <= Duration::seconds(self.settings.crl_ttl / 4);
        if !due(self.crl_state()?.1) {
            return Ok(false);
        }
        let _lock = self.lock()?;
        loop {
            let (text, version) = self.crl_entry()?;
            let (number, next, entries) = crl_state_of(&text)?;
            if !due(next) {
                return Ok(false);
            }
            let crl = self.make_crl(
                &self.signer_pem()?,
                &self.key()?,
                number + 1,
                &entries,
                now() - Duration::seconds(1),
            )?;
            if self.backend.put_if("ca_crl.pem", crl.as_bytes(), version)? {
                return Ok(true);
            }
        }
    }

    /// `refresh_crl` under the name callers look for: whoever runs a CA calls it periodically
    /// (the master's reload loop does, every few seconds, through `crl_pem`).
    pub fn refresh_crl_if_due(&self) -> CaResult<bool> {
        self.refresh_crl()
    }

    /// The freshness of the CA's current CRL.
    pub fn crl_freshness(&self) -> CaResult<CrlFreshness> {
        crl_freshness(&self.read("ca_crl.pem")?, now()).map_err(|e| CaError::new(500, e))
    }

    /// Revokes the certificates of `names` (one new CRL for all of them).
    pub fn revoke(&self, names: &[String]) -> CaResult<()> {
        let _lock = self.lock()?;
        let mut serials = vec![];
        for n in names {
            let pem = self.try_cert_pem(n)?.ok_or_else(|| {
                CaError::new(
                    409,
                    format!("Cannot revoke certificate for host {n} without a signed certificate"),
                )
            })?;
            serials.push(cert_info(&pem)?.serial);
        }
        // A read-modify-write of the CRL under the lock; in a shared store also conditional on
        // the CRL read, so a change by a host that lost the lock is never overwritten.
        loop {
            let (text, version) = self.crl_entry()?;
            let (number, _, mut entries) = crl_state_of(&text)?;
            let t = now();
            let before = entries.len();
            for s in &serials {
                if !entries.iter().any(|(x, _)| x == s) {
                    entries.push((*s, t));
                }
            }
            if entries.len() == before {
                return Ok(());
            }
            let crl = self.make_crl(
                &self.signer_pem()?,
                &self.key()?,
                number + 1,
                &entries,
                t - Duration::seconds(1),
            )?;
            if self.backend.put_if("ca_crl.pem", crl.as_bytes(), version)? {
                for (n, s) in names.iter().zip(&serials) {
                    tracing::info!(
                        node = %n,
                        serial = *s,
                        "revoked the certificate of {n} (serial 0x{s:04X})"
                    );
                }
                return Ok(());
            }
        }
    }

    /// The CRL and its version, for a conditional write; in a shared store read from the
    /// store itself (never the cached copy, which has no version).
    fn crl_entry(&self) -> CaResult<(String, u64)> {
        if let Some(s) = self.backend.shared() {
            let e = s
                .store()?
                .get("ca_crl.pem")
                .map_err(|e| s.fail(e))?
                .ok_or_else(|| CaError::new(500, "cannot read ca_crl.pem: not in the CA store"))?;
            return Ok((String::from_utf8_lossy(&e.value).into_owned(), e.version));
        }
        Ok((self.read("ca_crl.pem")?, 0))
    }
}

/// The number, next update and entries of a CRL (PEM).
fn crl_state_of(pem: &str) -> CaResult<(u64, OffsetDateTime, Revoked)> {
    let der = parse_pem(pem, "CRL")?;
    let (_, crl) = CertificateRevocationList::from_der(&der)
        .map_err(|e| CaError::new(500, format!("Unable to parse the CRL: {e}")))?;
    let number = crl
        .crl_number()
        .and_then(|n| n.to_u64_digits().first().copied())
        .unwrap_or(0);
    let next = crl
        .next_update()
        .map(asn1_to_offset)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let entries = crl
        .iter_revoked_certificates()
        .map(|r| {
            (
                r.serial().to_u64_digits().first().copied().unwrap_or(0),
                asn1_to_offset(r.revocation_date),
            )
        })
        .collect();
    Ok((number, next, entries))
}
