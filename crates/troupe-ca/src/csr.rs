//! CSR intake: parsing, puppetserver's checks and messages, the size limit and the cap on
//! pending requests, and the signing policy for alt names and extensions.

use crate::backend::request_key;
use crate::settings::MAX_CSR_BYTES;
use crate::x509::{common_name, ip_string, parse_pem, pem_encode};
use crate::{Ca, CaError, CaResult};
use x509_parser::prelude::*;

/// What a CSR asks for.
pub(crate) struct Csr {
    pub(crate) cn: String,
    pub(crate) spki: Vec<u8>,
    pub(crate) dns_names: Vec<String>,
    pub(crate) ips: Vec<std::net::IpAddr>,
    /// Requested extensions other than the SAN: (oid, dotted, critical, raw value).
    pub(crate) extensions: Vec<(Vec<u64>, String, bool, Vec<u8>)>,
    pub(crate) signature_ok: bool,
}

pub(crate) fn parse_csr(pem: &str) -> CaResult<Csr> {
    let der = parse_pem(pem, "CSR")?;
    let (_, csr) = X509CertificationRequest::from_der(&der)
        .map_err(|e| CaError::new(400, format!("Unable to parse CSR: {e}")))?;
    let info = &csr.certification_request_info;
    let cn = common_name(&info.subject)
        .ok_or_else(|| CaError::new(400, "The CSR has no common name"))?;
    let (mut dns_names, mut ips, mut extensions) = (vec![], vec![], vec![]);
    for attr in info.iter_attributes() {
        if let x509_parser::cri_attributes::ParsedCriAttribute::ExtensionRequest(req) =
            attr.parsed_attribute()
        {
            for ext in &req.extensions {
                let dotted = ext.oid.to_id_string();
                if dotted == "2.5.29.17" {
                    if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
                        for n in &san.general_names {
                            match n {
                                GeneralName::DNSName(d) => dns_names.push(d.to_string()),
                                GeneralName::IPAddress(b) => {
                                    if let Ok(ip) = ip_string(b).parse() {
                                        ips.push(ip)
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                    continue;
                }
                let arcs: Vec<u64> = ext.oid.iter().map(|i| i.collect()).unwrap_or_default();
                extensions.push((arcs, dotted, ext.critical, ext.value.to_vec()));
            }
        }
    }
    Ok(Csr {
        cn,
        spki: info.subject_pki.raw.to_vec(),
        dns_names,
        ips,
        extensions,
        signature_ok: csr.verify_signature().is_ok(),
    })
}

/// Puppet's checks on a certificate name (a URL subject).
pub fn valid_name(name: &str) -> CaResult<()> {
    if name.chars().any(|c| c.is_uppercase()) {
        return Err(CaError::new(400, "Certificate names must be lower case."));
    }
    if name.contains('*') {
        return Err(CaError::new(
            400,
            format!("Subject contains a wildcard, which is not allowed: {name}"),
        ));
    }
    let b = name.as_bytes();
    let ok = !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'_' | b'.')
        })
        && !name.contains("..")
        && !name.contains(".-")
        && !name.contains("-.");
    if !ok {
        return Err(CaError::new(400, "Subject hostname format is invalid"));
    }
    Ok(())
}

impl Ca {
    /// The number of pending requests (`requests/*.pem`).
    fn pending_count(&self) -> CaResult<usize> {
        Ok(self.backend.names("requests")?.len())
    }

    /// `PUT certificate_request/<subject>`: checks, stores and (when autosign says so) signs.
    /// Returns whether the certificate was signed. A CSR over `MAX_CSR_BYTES` is refused with
    /// 413; a new request when `max_pending_csrs` are pending with `CaError::PENDING_CAP`.
    pub fn submit_csr(&self, subject: &str, pem: &str) -> CaResult<bool> {
        if pem.len() > MAX_CSR_BYTES {
            return Err(CaError::new(
                413,
                format!(
                    "The certificate request for {subject} is {} bytes; the CA takes at most {MAX_CSR_BYTES}",
                    pem.len()
                ),
            ));
        }
        let der = parse_pem(pem, "CSR")?;
        // Only the first CSR block is kept, re-encoded: trailing data is not stored.
        let pem = pem_encode("CERTIFICATE REQUEST", &der);
        let csr = parse_csr(&pem)?;
        // One lock over the checks, the store, the policy and the signature, so the key that
        // is signed is the one the policy approved.
        let _lock = self.lock()?;
        if !self.settings.allow_duplicate_certs {
            if let Some(state) = self.state_of(&csr.cn.to_lowercase())? {
                return Err(CaError::new(
                    400,
                    format!(
                        "{} already has a {state} certificate; ignoring certificate request",
                        csr.cn
                    ),
                ));
            }
        }
        if csr.cn != subject {
            return Err(CaError::new(
                400,
                format!(
                    "Instance name \"{}\" does not match requested key \"{subject}\"",
                    csr.cn
                ),
            ));
        }
        valid_name(subject)?;
        let max = self.settings.max_pending_csrs;
        if !self.backend.exists(&request_key(subject))? && self.pending_count()? >= max {
            return Err(CaError::new(
                CaError::PENDING_CAP,
                format!(
                    "The CA already holds {max} pending certificate requests (max_pending_csrs); the request for {subject} is refused until some are signed or cleaned"
                ),
            ));
        }
        // A host of a shared CA without the join secret cannot sign: the request waits for
        // one that can (an administrator's `sign`, or a host re-judging pending requests).
        if self.is_shared() && self.can_sign() {
            let auto = self.autosign(subject, &pem);
            if auto && self.check_policy(&csr, 400).is_ok() {
                // Signed at once, in the one transaction that stores the certificate: the
                // request is not stored first (if the transaction fails, nothing was).
                self.sign_locked(subject, &csr, None)?;
                return Ok(true);
            }
            self.backend.put(&request_key(subject), pem.as_bytes())?;
            if auto {
                self.check_policy(&csr, 400)?;
            }
            return Ok(false);
        }
        self.backend.put(&request_key(subject), pem.as_bytes())?;
        if self.can_sign() && self.autosign(subject, &pem) {
            self.check_policy(&csr, 400)?;
            self.sign_locked(subject, &csr, None)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Puppet's signing policy for alt names and extensions.
    pub(crate) fn check_policy(&self, csr: &Csr, status: u16) -> CaResult<()> {
        let cn = &csr.cn;
        let extra_sans: Vec<String> = csr
            .dns_names
            .iter()
            .filter(|d| *d != cn)
            .map(|d| format!("DNS:{d}"))
            .chain(csr.ips.iter().map(|i| format!("IP:{i}")))
            .collect();
        if !self.settings.allow_subject_alt_names && !extra_sans.is_empty() {
            let all: Vec<String> = csr
                .dns_names
                .iter()
                .map(|d| format!("DNS:{d}"))
                .chain(csr.ips.iter().map(|i| format!("IP:{i}")))
                .collect();
            return Err(CaError::new(status, format!("CSR '{cn}' contains extra subject alternative names ({}), which are disallowed. To allow subject alternative names, set allow-subject-alt-names to true in your ca.conf file. Then restart the puppetserver and try signing this certificate again.", all.join(", "))));
        }
        if !self.settings.allow_authorization_extensions
            && csr
                .extensions
                .iter()
                .any(|(_, o, _, _)| o.starts_with("1.3.6.1.4.1.34380.1.3."))
        {
            return Err(CaError::new(status, format!("CSR '{cn}' contains an authorization extension, which is disallowed. To allow authorization extensions, set allow-authorization-extensions to true in your ca.conf file. Then restart the puppetserver and try signing this certificate again.")));
        }
        let bad: Vec<&str> = csr
            .extensions
            .iter()
            .map(|(_, o, _, _)| o.as_str())
            .filter(|o| {
                !(o.starts_with("1.3.6.1.4.1.34380.1.1.")
                    || o.starts_with("1.3.6.1.4.1.34380.1.2.")
                    || (o.starts_with("1.3.6.1.4.1.34380.1.3.")
                        && *o != "1.3.6.1.4.1.34380.1.3.39"))
            })
            .collect();
        if !bad.is_empty() {
            return Err(CaError::new(
                status,
                format!(
                    "Found extensions that are not permitted: {}",
                    bad.join(", ")
                ),
            ));
        }
        if !csr.signature_ok {
            return Err(CaError::new(
                status,
                "CSR contains a public key that does not correspond to the signing key",
            ));
        }
        Ok(())
    }
}
