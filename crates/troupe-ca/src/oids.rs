//! Puppet's certificate extension OIDs (`lib/puppet/ssl/oids.rb`) and `$trusted['extensions']`.

use serde_json::{Map, Value as J};
use x509_parser::prelude::*;

const REGISTERED: [&str; 26] = [
    "pp_uuid",
    "pp_instance_id",
    "pp_image_name",
    "pp_preshared_key",
    "pp_cost_center",
    "pp_product",
    "pp_project",
    "pp_application",
    "pp_service",
    "pp_employee",
    "pp_created_by",
    "pp_environment",
    "pp_role",
    "pp_software_version",
    "pp_department",
    "pp_cluster",
    "pp_provisioner",
    "pp_region",
    "pp_datacenter",
    "pp_zone",
    "pp_network",
    "pp_securitypolicy",
    "pp_cloudplatform",
    "pp_apptier",
    "pp_hostname",
    "pp_owner",
];

/// The short name puppetserver gives an extension OID, if any.
pub fn short_name(oid: &str) -> Option<&'static str> {
    if let Some(n) = oid.strip_prefix("1.3.6.1.4.1.34380.1.1.") {
        let i: usize = n.parse().ok()?;
        return REGISTERED.get(i.checked_sub(1)?).copied();
    }
    match oid {
        "1.3.6.1.4.1.34380.1.3.1" => Some("pp_authorization"),
        "1.3.6.1.4.1.34380.1.3.13" => Some("pp_auth_role"),
        "1.3.6.1.4.1.34380.1.3.39" => Some("pp_cli_auth"),
        _ => None,
    }
}

/// An extension value as Puppet shows it: a DER string decoded, anything else as raw text.
pub fn decode_string(der: &[u8]) -> String {
    if der.len() >= 2 && matches!(der[0], 0x0c | 0x13 | 0x16 | 0x14 | 0x1a) {
        let (len, start) = if der[1] < 0x80 {
            (der[1] as usize, 2)
        } else {
            let n = (der[1] & 0x7f) as usize;
            if n > std::mem::size_of::<usize>() {
                return String::from_utf8_lossy(der).into_owned();
            }
            let mut l = 0usize;
            for &b in der.get(2..2 + n).unwrap_or_default() {
                l = (l << 8) | b as usize;
            }
            (l, 2 + n)
        };
        if let Some(body) = start.checked_add(len).and_then(|end| der.get(start..end)) {
            return String::from_utf8_lossy(body).into_owned();
        }
    }
    String::from_utf8_lossy(der).into_owned()
}

/// `$trusted['extensions']` of a client certificate: the extensions under Puppet's arc
/// (`1.3.6.1.4.1.34380.1.{1,2,3}`), by short name where Puppet 7 has one.
pub fn trusted_extensions(cert_der: &[u8]) -> Map<String, J> {
    let mut out = Map::new();
    let Ok((_, c)) = X509Certificate::from_der(cert_der) else {
        return out;
    };
    for e in c.extensions() {
        let oid = e.oid.to_id_string();
        let ours = [
            "1.3.6.1.4.1.34380.1.1.",
            "1.3.6.1.4.1.34380.1.2.",
            "1.3.6.1.4.1.34380.1.3.",
        ]
        .iter()
        .any(|p| oid.starts_with(p));
        if !ours {
            continue;
        }
        // Puppet 7.23's own table has no name for pp_cli_auth.
        let key = match short_name(&oid) {
            Some("pp_cli_auth") | None => oid.clone(),
            Some(n) => n.to_string(),
        };
        out.insert(key, J::String(decode_string(e.value)));
    }
    out
}
