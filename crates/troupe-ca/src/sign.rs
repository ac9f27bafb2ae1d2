//! Signing: certificates for requests and server certificates the CA generates, with Puppet's
//! extensions; the serial is allocated (durably) before the certificate is made.

use crate::backend::{request_key, signed_key};
use crate::csr::{parse_csr, valid_name, Csr};
use crate::x509::{ia5, key_id, now, serial_number, utf8};
use crate::{Ca, CaError, CaResult};
use ::time::{Duration, OffsetDateTime};
use rcgen::{
    CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, Issuer, KeyIdMethod,
    KeyPair, KeyUsagePurpose, PublicKeyData, SanType, SubjectPublicKeyInfo,
};
use std::fs;

pub(crate) const NETSCAPE_COMMENT: &[u64] = &[2, 16, 840, 1, 113730, 1, 13];
const EKU: &[u64] = &[2, 5, 29, 37];
const PP_CLI_AUTH: &[u64] = &[1, 3, 6, 1, 4, 1, 34380, 1, 3, 39];
const EKU_SERVER_CLIENT: [u8; 22] = [
    0x30, 0x14, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01, 0x06, 0x08, 0x2b, 0x06,
    0x01, 0x05, 0x05, 0x07, 0x03, 0x02,
];
pub(crate) const COMMENT: &str = "Puppet Server Internal Certificate";

impl Ca {
    /// Signs the pending CSR of `name` (`ttl` overrides `ca_ttl`).
    pub fn sign(&self, name: &str, ttl: Option<i64>) -> CaResult<String> {
        let _lock = self.lock()?;
        let pem = self.csr_pem(name).ok_or_else(|| {
            CaError::new(
                409,
                format!("Cannot sign certificate for host {name} without a certificate request"),
            )
        })?;
        let csr = parse_csr(&pem)?;
        self.check_policy(&csr, 409)?;
        self.sign_locked(name, &csr, ttl)
    }

    /// Signs a parsed CSR (the lock held) and removes the pending request.
    pub(crate) fn sign_locked(&self, name: &str, csr: &Csr, ttl: Option<i64>) -> CaResult<String> {
        if let Some(t) = ttl {
            if t <= 0 || t > 50 * 31_536_000 {
                return Err(CaError::new(
                    400,
                    format!("cert_ttl specified for host {name} must be between 1 second and 50 years, not {t}"),
                ));
            }
        }
        let mut dns = vec![csr.cn.clone()];
        for d in &csr.dns_names {
            if !dns.contains(d) {
                dns.push(d.clone());
            }
        }
        self.issue(
            name,
            true,
            &csr.cn,
            &csr.spki,
            &dns,
            &csr.ips,
            &csr.extensions,
            false,
            ttl,
        )
    }

    /// Issues a certificate for `name` (call with the lock held): serial, validity, Puppet's
    /// extensions, and the requested ones copied; stores it with its inventory line (and
    /// removes the pending request when `from_request`). `cli_auth` adds `pp_cli_auth: true`
    /// (CA administration over the HTTP API). In a directory the serial is allocated (durably)
    /// first; in a shared store it all is one transaction (see `shared.rs`).
    #[allow(clippy::too_many_arguments)]
    fn issue(
        &self,
        name: &str,
        from_request: bool,
        cn: &str,
        spki: &[u8],
        dns: &[String],
        ips: &[std::net::IpAddr],
        extensions: &[(Vec<u64>, String, bool, Vec<u8>)],
        cli_auth: bool,
        ttl: Option<i64>,
    ) -> CaResult<String> {
        let key = self.key()?;
        let ca_pem = self.signer_pem()?;
        let issuer = Issuer::from_ca_cert_pem(&ca_pem, &key)
            .map_err(|e| CaError::new(500, format!("cannot load the CA certificate: {e}")))?;
        let build = |serial: u64| -> CaResult<(String, OffsetDateTime, OffsetDateTime)> {
            self.make_cert(
                serial, cn, spki, dns, ips, extensions, cli_auth, ttl, &issuer,
            )
        };
        let issued = |serial: u64| {
            tracing::info!(
                node = name,
                serial,
                "signed the certificate of {name} (serial 0x{serial:04X})"
            );
        };
        match self.backend.shared() {
            None => {
                let serial = self.next_serial()?;
                let (cert, nb, na) = build(serial)?;
                self.append_inventory(serial, nb, na, cn)?;
                crate::write_atomic(&self.path(&signed_key(name)), cert.as_bytes())
                    .map_err(|e| CaError::io("cannot store the certificate", e))?;
                if from_request {
                    let _ = fs::remove_file(self.path(&request_key(name)));
                }
                issued(serial);
                Ok(cert)
            }
            Some(s) => {
                let mut last = 0;
                let cert = s.issue(
                    name,
                    !self.settings.allow_duplicate_certs,
                    from_request,
                    &mut |serial| {
                        last = serial;
                        let (cert, nb, na) = build(serial)?;
                        Ok((cert, crate::inventory::line(serial, nb, na, cn)))
                    },
                )?;
                issued(last);
                Ok(cert)
            }
        }
    }

    /// The certificate of `issue`, with serial `serial`, and its validity.
    #[allow(clippy::too_many_arguments)]
    fn make_cert(
        &self,
        serial: u64,
        cn: &str,
        spki: &[u8],
        dns: &[String],
        ips: &[std::net::IpAddr],
        extensions: &[(Vec<u64>, String, bool, Vec<u8>)],
        cli_auth: bool,
        ttl: Option<i64>,
        issuer: &Issuer<'_, impl rcgen::SigningKey>,
    ) -> CaResult<(String, OffsetDateTime, OffsetDateTime)> {
        let t = now();
        let mut p = CertificateParams::default();
        p.distinguished_name = DistinguishedName::new();
        p.distinguished_name
            .push(DnType::CommonName, cn.to_string());
        p.serial_number = Some(serial_number(serial));
        p.not_before = t - Duration::days(1);
        p.not_after = t + Duration::seconds(ttl.unwrap_or(self.settings.ca_ttl));
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        p.use_authority_key_identifier_extension = true;
        p.key_identifier_method = KeyIdMethod::PreSpecified(key_id(spki)?);
        for d in dns {
            let name = d
                .clone()
                .try_into()
                .map_err(|_| CaError::new(400, format!("Invalid DNS name '{d}'")))?;
            p.subject_alt_names.push(SanType::DnsName(name));
        }
        for ip in ips {
            p.subject_alt_names.push(SanType::IpAddress(*ip));
        }
        p.custom_extensions.push(CustomExtension::from_oid_content(
            NETSCAPE_COMMENT,
            ia5(COMMENT),
        ));
        let mut eku = CustomExtension::from_oid_content(EKU, EKU_SERVER_CLIENT.to_vec());
        eku.set_criticality(true);
        p.custom_extensions.push(eku);
        if cli_auth {
            p.custom_extensions
                .push(CustomExtension::from_oid_content(PP_CLI_AUTH, utf8("true")));
        }
        for (arcs, _, critical, value) in extensions {
            let mut c = CustomExtension::from_oid_content(arcs, value.clone());
            c.set_criticality(*critical);
            p.custom_extensions.push(c);
        }
        let public = SubjectPublicKeyInfo::from_der(spki)
            .map_err(|e| CaError::new(400, format!("bad public key: {e}")))?;
        let cert = p
            .signed_by(&public, issuer)
            .map_err(|e| CaError::new(500, format!("cannot sign: {e}")))?;
        Ok((cert.pem(), p.not_before, p.not_after))
    }

    /// Issues the CA server's own certificate and key for `certname` (a master bootstrapping
    /// its ssldir), as puppetserver issues its own: alt names `dns_alt_names` plus the
    /// certname (`puppet` and the certname when none), and `pp_cli_auth: true`.
    pub fn generate(&self, certname: &str, dns_alt_names: &[String]) -> CaResult<(String, String)> {
        self.generate_with(certname, dns_alt_names, false, true)
    }

    /// `generate` with an ECDSA P-256 key instead of RSA when `ecdsa`, and `pp_cli_auth`
    /// only when `cli_auth` (`troupe ca generate` issues pool and front certificates without
    /// it unless `--cli-auth` is given).
    pub fn generate_with(
        &self,
        certname: &str,
        dns_alt_names: &[String],
        ecdsa: bool,
        cli_auth: bool,
    ) -> CaResult<(String, String)> {
        valid_name(certname)?;
        let _lock = self.lock()?;
        if !self.settings.allow_duplicate_certs && self.backend.exists(&signed_key(certname))? {
            return Err(CaError::new(
                409,
                format!("{certname} already has a signed certificate"),
            ));
        }
        let key = if ecdsa {
            KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
                .map_err(|e| CaError::new(500, format!("cannot generate a key: {e}")))?
        } else {
            self.generate_key()?
        };
        let mut dns: Vec<String> = vec![];
        let mut ips = vec![];
        let alts: Vec<String> = if dns_alt_names.is_empty() {
            vec!["puppet".into()]
        } else {
            dns_alt_names.to_vec()
        };
        for a in alts.iter().chain(std::iter::once(&certname.to_string())) {
            let a = a.trim();
            if let Some(ip) = a.strip_prefix("IP:") {
                ips.push(
                    ip.parse()
                        .map_err(|_| CaError::new(400, format!("Invalid IP address '{ip}'")))?,
                );
            } else {
                let d = a.strip_prefix("DNS:").unwrap_or(a).to_string();
                if !d.is_empty() && !dns.contains(&d) {
                    dns.push(d);
                }
            }
        }
        let cert = self.issue(
            certname,
            false,
            certname,
            &key.subject_public_key_info(),
            &dns,
            &ips,
            &[],
            cli_auth,
            None,
        )?;
        Ok((cert, key.serialize_pem()))
    }
}
