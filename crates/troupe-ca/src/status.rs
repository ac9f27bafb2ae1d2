//! `certificate_status(es)` and `expirations`, as puppetserver renders them.

use crate::csr::parse_csr;
use crate::x509::{asn1_to_offset, common_name, fingerprint, parse_pem, puppet_date};
use crate::{cert_info, oids, short_name, valid_name, Ca, CaResult};
use serde_json::{json, Map, Value as J};
use x509_parser::prelude::*;

impl Ca {
    /// `certificate_status/<name>` as puppetserver renders it.
    pub fn status(&self, name: &str) -> CaResult<Option<J>> {
        if let Some(pem) = self.try_cert_pem(name)? {
            return cert_status(name, &pem, &self.revoked_serials()?).map(Some);
        }
        match self.csr_pem(name) {
            Some(pem) => csr_status(name, &pem).map(Some),
            None => Ok(None),
        }
    }

    /// Every signed certificate: certname and PEM, sorted by certname.
    pub fn certificates(&self) -> CaResult<Vec<(String, String)>> {
        let mut all = self.backend.entries("signed")?;
        all.retain(|(n, _)| valid_name(n).is_ok());
        Ok(all)
    }

    /// Every CSR, then every certificate, optionally only those in `state`.
    pub fn statuses(&self, state: Option<&str>) -> CaResult<Vec<J>> {
        let mut out = vec![];
        let signed = self.backend.entries("signed")?;
        let revoked = self.revoked_serials()?;
        for (n, pem) in self.backend.entries("requests")? {
            if valid_name(&n).is_err() || signed.iter().any(|(s, _)| *s == n) {
                continue;
            }
            let s = csr_status(&n, &pem)?;
            if state.is_none_or(|want| s["state"] == want) {
                out.push(s);
            }
        }
        for (n, pem) in &signed {
            if valid_name(n).is_err() {
                continue;
            }
            let s = cert_status(n, pem, &revoked)?;
            if state.is_none_or(|want| s["state"] == want) {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// `expirations`: the CA certificates' and CRLs' end dates by CN.
    pub fn expirations(&self) -> CaResult<J> {
        let mut certs = Map::new();
        let bundle = self.read("ca_crt.pem")?;
        for pem in x509_parser::pem::Pem::iter_from_buffer(bundle.as_bytes()).flatten() {
            if let Ok((_, c)) = X509Certificate::from_der(&pem.contents) {
                let cn = common_name(c.subject()).unwrap_or_default();
                certs.insert(
                    cn,
                    json!(puppet_date(asn1_to_offset(c.validity().not_after))),
                );
            }
        }
        let mut crls = Map::new();
        let der = parse_pem(&self.read("ca_crl.pem")?, "CRL")?;
        if let Ok((_, crl)) = CertificateRevocationList::from_der(&der) {
            let cn = common_name(crl.issuer()).unwrap_or_default();
            if let Some(n) = crl.next_update() {
                crls.insert(cn, json!(puppet_date(asn1_to_offset(n))));
            }
        }
        Ok(json!({"ca-certs": certs, "crls": crls}))
    }
}

/// The status of a signed certificate.
fn cert_status(name: &str, pem: &str, revoked_serials: &[u64]) -> CaResult<J> {
    let info = cert_info(pem)?;
    let revoked = revoked_serials.contains(&info.serial);
    let sans: Vec<String> = info
        .ips
        .iter()
        .map(|i| format!("IP:{i}"))
        .chain(info.dns_names.iter().map(|d| format!("DNS:{d}")))
        .collect();
    let dns: Vec<String> = info.dns_names.iter().map(|d| format!("DNS:{d}")).collect();
    let mut v = status_common(
        name,
        if revoked { "revoked" } else { "signed" },
        &info.der,
        dns,
        sans,
        info.auth_extensions.clone(),
    );
    if let J::Object(m) = &mut v {
        m.insert("serial_number".into(), json!(info.serial));
        m.insert("not_before".into(), json!(puppet_date(info.not_before)));
        m.insert("not_after".into(), json!(puppet_date(info.not_after)));
    }
    Ok(v)
}

/// The extensions a certificate request asks for under Puppet's arc (`1.3.6.1.4.1.34380.1.*`),
/// by Puppet's short name where it has one, values decoded as Puppet shows them (the pool
/// console lists them for each pending request).
pub fn requested_extensions(pem: &str) -> CaResult<Map<String, J>> {
    let csr = parse_csr(pem)?;
    let mut out = Map::new();
    for (_, oid, _, value) in &csr.extensions {
        if oid.starts_with("1.3.6.1.4.1.34380.1.") {
            out.insert(
                short_name(oid).map(str::to_string).unwrap_or(oid.clone()),
                J::String(oids::decode_string(value)),
            );
        }
    }
    Ok(out)
}

/// The status of a pending request.
fn csr_status(name: &str, pem: &str) -> CaResult<J> {
    let csr = parse_csr(pem)?;
    let der = parse_pem(pem, "CSR")?;
    let dns: Vec<String> = csr.dns_names.iter().map(|d| format!("DNS:{d}")).collect();
    let sans: Vec<String> = csr
        .ips
        .iter()
        .map(|i| format!("IP:{i}"))
        .chain(dns.iter().cloned())
        .collect();
    let mut auth = Map::new();
    for (_, oid, _, value) in &csr.extensions {
        if oid.starts_with("1.3.6.1.4.1.34380.1.3.") {
            auth.insert(
                short_name(oid).map(str::to_string).unwrap_or(oid.clone()),
                J::String(oids::decode_string(value)),
            );
        }
    }
    Ok(status_common(name, "requested", &der, dns, sans, auth))
}

fn status_common(
    name: &str,
    state: &str,
    der: &[u8],
    dns: Vec<String>,
    sans: Vec<String>,
    auth: Map<String, J>,
) -> J {
    let sha256 = fingerprint::<sha2::Sha256>(der);
    json!({
        "name": name,
        "state": state,
        "fingerprint": sha256,
        "fingerprints": {
            "SHA1": fingerprint::<sha1::Sha1>(der),
            "SHA256": sha256,
            "SHA512": fingerprint::<sha2::Sha512>(der),
            "default": sha256,
        },
        "dns_alt_names": dns,
        "subject_alt_names": sans,
        "authorization_extensions": auth,
    })
}
