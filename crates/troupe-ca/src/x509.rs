//! X.509 helpers: PEM, DER snippets, dates as Puppet writes them, and the facts of a
//! certificate.

use crate::{oids, short_name, CaError, CaResult};
use ::time::OffsetDateTime;
use rcgen::SerialNumber;
use serde_json::{Map, Value as J};
use sha1::Digest;
use x509_parser::prelude::*;

pub(crate) fn ia5(s: &str) -> Vec<u8> {
    let mut v = vec![0x16, s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

pub(crate) fn utf8(s: &str) -> Vec<u8> {
    let mut v = vec![0x0c, s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

/// RFC 5280 key identifier: SHA-1 of the subjectPublicKey bits.
pub(crate) fn key_id(spki_der: &[u8]) -> CaResult<Vec<u8>> {
    let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der)
        .map_err(|e| CaError::new(500, format!("bad public key: {e}")))?;
    Ok(sha1::Sha1::digest(&spki.subject_public_key.data).to_vec())
}

pub(crate) fn serial_number(n: u64) -> SerialNumber {
    let b = n.to_be_bytes();
    let i = b.iter().position(|&x| x != 0).unwrap_or(7);
    SerialNumber::from_slice(&b[i..])
}

pub(crate) fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(0).unwrap_or(t)
}

/// `2026-11-25T14:46:10UTC`, as puppetserver writes dates in the inventory and status.
pub fn puppet_date(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}UTC",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

pub(crate) fn asn1_to_offset(t: ASN1Time) -> OffsetDateTime {
    t.to_datetime()
}

/// PEM text for DER bytes.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::with_capacity(der.len() * 4 / 3 + 4);
    for chunk in der.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            b64.push(if i <= chunk.len() {
                T[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

pub(crate) fn parse_pem(pem: &str, what: &str) -> CaResult<Vec<u8>> {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|e| CaError::new(400, format!("Unable to parse {what}: {e}")))?;
    Ok(p.contents)
}

/// A certificate's facts, as status and the CRL need them.
#[derive(Debug, Clone)]
pub struct CertInfo {
    pub cn: String,
    pub serial: u64,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub dns_names: Vec<String>,
    pub ips: Vec<String>,
    pub auth_extensions: Map<String, J>,
    pub der: Vec<u8>,
}

/// The first common name of an X.509 name.
pub fn common_name(name: &X509Name<'_>) -> Option<String> {
    name.iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .map(str::to_string)
}

/// Whether a certificate (DER) is on a CRL (PEM, possibly several): by serial and issuer.
pub fn is_revoked(cert_der: &[u8], crl_pem: &str) -> bool {
    let Ok((_, c)) = X509Certificate::from_der(cert_der) else {
        return true;
    };
    for pem in x509_parser::pem::Pem::iter_from_buffer(crl_pem.as_bytes()).flatten() {
        if let Ok((_, crl)) = CertificateRevocationList::from_der(&pem.contents) {
            if crl.issuer() == c.issuer()
                && crl
                    .iter_revoked_certificates()
                    .any(|r| r.raw_serial() == c.raw_serial())
            {
                return true;
            }
        }
    }
    false
}

/// The subject CN of a DER certificate (a TLS peer's certname).
pub fn cert_cn(der: &[u8]) -> Option<String> {
    let (_, c) = X509Certificate::from_der(der).ok()?;
    common_name(c.subject())
}

pub fn cert_info(pem: &str) -> CaResult<CertInfo> {
    let der = parse_pem(pem, "certificate")?;
    let (_, c) = X509Certificate::from_der(&der)
        .map_err(|e| CaError::new(500, format!("Unable to parse certificate: {e}")))?;
    let cn = common_name(c.subject()).unwrap_or_default();
    let serial = c.serial.to_u64_digits().first().copied().unwrap_or(0);
    let (mut dns_names, mut ips) = (vec![], vec![]);
    if let Ok(Some(san)) = c.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::DNSName(d) => dns_names.push(d.to_string()),
                GeneralName::IPAddress(b) => ips.push(ip_string(b)),
                _ => {}
            }
        }
    }
    let mut auth_extensions = Map::new();
    for e in c.extensions() {
        let oid = e.oid.to_id_string();
        if oid.starts_with("1.3.6.1.4.1.34380.1.3.") {
            auth_extensions.insert(
                short_name(&oid).map(str::to_string).unwrap_or(oid),
                J::String(oids::decode_string(e.value)),
            );
        }
    }
    Ok(CertInfo {
        cn,
        serial,
        not_before: asn1_to_offset(c.validity().not_before),
        not_after: asn1_to_offset(c.validity().not_after),
        dns_names,
        ips,
        auth_extensions,
        der: der.clone(),
    })
}

pub(crate) fn ip_string(b: &[u8]) -> String {
    match b.len() {
        4 => format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => String::new(),
    }
}

pub(crate) fn fingerprint<D: Digest>(der: &[u8]) -> String {
    D::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}
