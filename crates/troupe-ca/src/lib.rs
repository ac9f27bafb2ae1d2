//! Puppet's certificate authority over Puppet's CA directory layout (`ca_crt.pem`, `ca_key.pem`,
//! `ca_crl.pem`, `serial`, `inventory.txt`, `signed/`, `requests/`), so an existing puppetserver
//! CA directory works as it is. Every change happens under an exclusive file lock on the
//! directory, so several processes (masters on one host) can share one CA: serials are
//! allocated under that lock and never reused.

use ::time::{Duration, OffsetDateTime};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CustomExtension,
    DistinguishedName, DnType, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, PublicKeyData,
    RevocationReason, RevokedCertParams, RsaKeySize, SanType, SerialNumber, SubjectPublicKeyInfo,
    PKCS_RSA_SHA256,
};
use serde_json::{json, Map, Value as J};
use sha1::Digest;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use x509_parser::prelude::*;

mod oids;
pub use oids::{short_name, trusted_extensions};

/// A refusal or failure, with the HTTP status Puppet's CA answers it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaError {
    pub status: u16,
    pub message: String,
}

impl CaError {
    fn new(status: u16, message: impl Into<String>) -> CaError {
        CaError {
            status,
            message: message.into(),
        }
    }
    fn io(what: &str, e: std::io::Error) -> CaError {
        CaError::new(500, format!("{what}: {e}"))
    }
}

impl std::fmt::Display for CaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CaError {}

pub type CaResult<T> = Result<T, CaError>;

/// Puppet's `autosign` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Autosign {
    Off,
    All,
    /// A whitelist of names and `*.domain` globs.
    Globs(PathBuf),
    /// An executable given the certname as argument and the CSR on stdin; exit 0 signs.
    Command(PathBuf),
}

impl Autosign {
    /// `true`, `false`, or a file: an executable file is a policy command, any other file a
    /// whitelist (a missing file signs nothing).
    pub fn parse(s: &str) -> Autosign {
        match s {
            "true" => Autosign::All,
            "false" => Autosign::Off,
            path => {
                let p = PathBuf::from(path);
                if is_executable(&p) {
                    Autosign::Command(p)
                } else {
                    Autosign::Globs(p)
                }
            }
        }
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// CA settings, with Puppet's names and defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    pub cadir: PathBuf,
    /// The CA's CN; default `Puppet CA: <server certname>`.
    pub ca_name: String,
    /// Lifetime of issued certificates (`ca_ttl`), seconds.
    pub ca_ttl: i64,
    /// Lifetime of each CRL, seconds; a CRL is re-issued when less than a quarter is left.
    pub crl_ttl: i64,
    pub autosign: Autosign,
    pub allow_subject_alt_names: bool,
    pub allow_authorization_extensions: bool,
    pub allow_duplicate_certs: bool,
    /// RSA key size for keys the CA generates (its own, `generate`d server certs).
    pub keylength: usize,
}

pub const FIVE_YEARS: i64 = 157_680_000;

impl Settings {
    pub fn new(cadir: impl Into<PathBuf>, server_certname: &str) -> Settings {
        Settings {
            cadir: cadir.into(),
            ca_name: format!("Puppet CA: {server_certname}"),
            ca_ttl: FIVE_YEARS,
            crl_ttl: FIVE_YEARS,
            autosign: Autosign::Off,
            allow_subject_alt_names: false,
            allow_authorization_extensions: false,
            allow_duplicate_certs: false,
            keylength: 4096,
        }
    }
}

const NETSCAPE_COMMENT: &[u64] = &[2, 16, 840, 1, 113730, 1, 13];
const EKU: &[u64] = &[2, 5, 29, 37];
const PP_CLI_AUTH: &[u64] = &[1, 3, 6, 1, 4, 1, 34380, 1, 3, 39];
const EKU_SERVER_CLIENT: [u8; 22] = [
    0x30, 0x14, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01, 0x06, 0x08, 0x2b, 0x06,
    0x01, 0x05, 0x05, 0x07, 0x03, 0x02,
];
const COMMENT: &str = "Puppet Server Internal Certificate";

fn ia5(s: &str) -> Vec<u8> {
    let mut v = vec![0x16, s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

fn utf8(s: &str) -> Vec<u8> {
    let mut v = vec![0x0c, s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

/// RFC 5280 key identifier: SHA-1 of the subjectPublicKey bits.
fn key_id(spki_der: &[u8]) -> CaResult<Vec<u8>> {
    let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der)
        .map_err(|e| CaError::new(500, format!("bad public key: {e}")))?;
    Ok(sha1::Sha1::digest(&spki.subject_public_key.data).to_vec())
}

fn serial_number(n: u64) -> SerialNumber {
    let b = n.to_be_bytes();
    let i = b.iter().position(|&x| x != 0).unwrap_or(7);
    SerialNumber::from_slice(&b[i..])
}

fn now() -> OffsetDateTime {
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

fn asn1_to_offset(t: ASN1Time) -> OffsetDateTime {
    t.to_datetime()
}

/// Writes a file atomically: temp file, fsync, rename, directory fsync.
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.tmp{}.{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id(),
        SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// How long an autosign command may take.
const AUTOSIGN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

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

fn parse_pem(pem: &str, what: &str) -> CaResult<Vec<u8>> {
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

fn ip_string(b: &[u8]) -> String {
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

/// What a CSR asks for.
struct Csr {
    cn: String,
    spki: Vec<u8>,
    dns_names: Vec<String>,
    ips: Vec<std::net::IpAddr>,
    /// Requested extensions other than the SAN: (oid, dotted, critical, raw value).
    extensions: Vec<(Vec<u64>, String, bool, Vec<u8>)>,
    signature_ok: bool,
}

fn parse_csr(pem: &str) -> CaResult<Csr> {
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

/// CRL entries: serial and revocation time.
type Revoked = Vec<(u64, OffsetDateTime)>;

/// The CA, over its directory.
#[derive(Debug)]
pub struct Ca {
    pub settings: Settings,
}

const REQUIRED: [&str; 5] = [
    "ca_crt.pem",
    "ca_key.pem",
    "ca_crl.pem",
    "inventory.txt",
    "serial",
];

impl Ca {
    /// Opens the CA directory, creating a new CA when it holds none of the CA files.
    pub fn open_or_init(settings: Settings) -> CaResult<Ca> {
        fs::create_dir_all(&settings.cadir)
            .map_err(|e| CaError::io("cannot create the CA directory", e))?;
        let ca = Ca { settings };
        let _lock = ca.lock()?;
        let present: Vec<&str> = REQUIRED
            .iter()
            .copied()
            .filter(|f| ca.path(f).exists())
            .collect();
        if present.is_empty() {
            ca.bootstrap()?;
        } else if present.len() != REQUIRED.len() {
            let missing: Vec<&str> = REQUIRED
                .iter()
                .copied()
                .filter(|f| !present.contains(f))
                .collect();
            return Err(CaError::new(
                500,
                format!(
                    "Cannot initialize CA with partial state; need all files or none. Found: {}. Missing: {}",
                    present.join(", "),
                    missing.join(", ")
                ),
            ));
        }
        for d in ["signed", "requests"] {
            fs::create_dir_all(ca.path(d))
                .map_err(|e| CaError::io("cannot create CA directories", e))?;
        }
        Ok(ca)
    }

    fn path(&self, f: &str) -> PathBuf {
        self.settings.cadir.join(f)
    }

    /// An exclusive lock on the CA directory, held until dropped.
    fn lock(&self) -> CaResult<File> {
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.path(".troupe-ca.lock"))
            .map_err(|e| CaError::io("cannot open the CA lock", e))?;
        f.lock().map_err(|e| CaError::io("cannot lock the CA", e))?;
        Ok(f)
    }

    fn read(&self, f: &str) -> CaResult<String> {
        fs::read_to_string(self.path(f)).map_err(|e| CaError::io(&format!("cannot read {f}"), e))
    }

    fn write(&self, f: &str, data: &str) -> CaResult<()> {
        write_atomic(&self.path(f), data.as_bytes())
            .map_err(|e| CaError::io(&format!("cannot write {f}"), e))
    }

    fn generate_key(&self) -> CaResult<KeyPair> {
        let size = match self.settings.keylength {
            2048 => RsaKeySize::_2048,
            3072 => RsaKeySize::_3072,
            _ => RsaKeySize::_4096,
        };
        KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, size)
            .map_err(|e| CaError::new(500, format!("cannot generate a key: {e}")))
    }

    fn bootstrap(&self) -> CaResult<()> {
        let key = self.generate_key()?;
        let t = now();
        let mut p = CertificateParams::default();
        p.distinguished_name = DistinguishedName::new();
        p.distinguished_name
            .push(DnType::CommonName, self.settings.ca_name.clone());
        p.serial_number = Some(serial_number(1));
        p.not_before = t - Duration::days(1);
        p.not_after = t + Duration::seconds(self.settings.ca_ttl);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        p.key_identifier_method =
            KeyIdMethod::PreSpecified(key_id(&key.subject_public_key_info())?);
        p.use_authority_key_identifier_extension = true;
        p.custom_extensions.push(CustomExtension::from_oid_content(
            NETSCAPE_COMMENT,
            ia5(COMMENT),
        ));
        let cert = p
            .self_signed(&key)
            .map_err(|e| CaError::new(500, format!("cannot create the CA certificate: {e}")))?;
        self.write("ca_key.pem", &key.serialize_pem())?;
        self.write("ca_pub.pem", &key.public_key_pem())?;
        self.write("ca_crt.pem", &cert.pem())?;
        self.write("serial", "0002")?;
        self.write(
            "inventory.txt",
            &format!(
                "0x0001 {} {} /CN={}\n",
                puppet_date(p.not_before),
                puppet_date(p.not_after),
                self.settings.ca_name
            ),
        )?;
        let crl = self.make_crl(&cert.pem(), &key, 0, &[], t)?;
        self.write("ca_crl.pem", &crl)?;
        Ok(())
    }

    /// The CA certificate bundle (PEM).
    pub fn ca_cert_pem(&self) -> CaResult<String> {
        self.read("ca_crt.pem")
    }

    /// The CRL (PEM), re-issued first when less than a quarter of its lifetime is left.
    pub fn crl_pem(&self) -> CaResult<String> {
        self.refresh_crl()?;
        self.read("ca_crl.pem")
    }

    fn key(&self) -> CaResult<KeyPair> {
        KeyPair::from_pem(&self.read("ca_key.pem")?)
            .map_err(|e| CaError::new(500, format!("cannot read the CA key: {e}")))
    }

    /// The first certificate of the CA bundle.
    fn signer_pem(&self) -> CaResult<String> {
        let all = self.read("ca_crt.pem")?;
        let end = all
            .find("-----END CERTIFICATE-----")
            .map(|i| i + "-----END CERTIFICATE-----".len())
            .unwrap_or(all.len());
        Ok(format!("{}\n", &all[..end]))
    }

    fn make_crl(
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
        let der = parse_pem(&self.read("ca_crl.pem")?, "CRL")?;
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

    /// The serials on the CRL.
    pub fn revoked_serials(&self) -> CaResult<Vec<u64>> {
        Ok(self.crl_state()?.2.into_iter().map(|(s, _)| s).collect())
    }

    /// Re-issues the CRL (same entries, next number) when less than a quarter of its lifetime
    /// is left. Returns whether it did.
    pub fn refresh_crl(&self) -> CaResult<bool> {
        let (_, next, _) = self.crl_state()?;
        if next - now() > Duration::seconds(self.settings.crl_ttl / 4) {
            return Ok(false);
        }
        let _lock = self.lock()?;
        let (number, next, entries) = self.crl_state()?;
        if next - now() > Duration::seconds(self.settings.crl_ttl / 4) {
            return Ok(false);
        }
        let crl = self.make_crl(
            &self.signer_pem()?,
            &self.key()?,
            number + 1,
            &entries,
            now() - Duration::seconds(1),
        )?;
        self.write("ca_crl.pem", &crl)?;
        Ok(true)
    }

    /// Allocates the next serial (call with the lock held).
    fn next_serial(&self) -> CaResult<u64> {
        let text = self.read("serial")?;
        let n = u64::from_str_radix(text.trim(), 16).map_err(|_| {
            CaError::new(
                500,
                format!("The serial file holds '{}', not a hex number", text.trim()),
            )
        })?;
        self.write("serial", &format!("{:04X}", n + 1))?;
        Ok(n)
    }

    fn append_inventory(
        &self,
        serial: u64,
        nb: OffsetDateTime,
        na: OffsetDateTime,
        cn: &str,
    ) -> CaResult<()> {
        let mut f = OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.path("inventory.txt"))
            .map_err(|e| CaError::io("cannot open the inventory", e))?;
        writeln!(
            f,
            "0x{serial:04X} {} {} /CN={cn}",
            puppet_date(nb),
            puppet_date(na)
        )
        .and_then(|_| f.sync_all())
        .map_err(|e| CaError::io("cannot write the inventory", e))
    }

    fn signed_path(&self, name: &str) -> PathBuf {
        self.path("signed").join(format!("{name}.pem"))
    }

    fn request_path(&self, name: &str) -> PathBuf {
        self.path("requests").join(format!("{name}.pem"))
    }

    pub fn cert_pem(&self, name: &str) -> Option<String> {
        valid_name(name).ok()?;
        fs::read_to_string(self.signed_path(name)).ok()
    }

    pub fn csr_pem(&self, name: &str) -> Option<String> {
        valid_name(name).ok()?;
        fs::read_to_string(self.request_path(name)).ok()
    }

    /// `signed`, `revoked`, or `requested`.
    fn state_of(&self, name: &str) -> CaResult<Option<&'static str>> {
        if let Some(pem) = self.cert_pem(name) {
            let info = cert_info(&pem)?;
            let revoked = self.revoked_serials()?.contains(&info.serial);
            return Ok(Some(if revoked { "revoked" } else { "signed" }));
        }
        Ok(self.csr_pem(name).map(|_| "requested"))
    }

    /// `PUT certificate_request/<subject>`: checks, stores and (when autosign says so) signs.
    /// Returns whether the certificate was signed.
    pub fn submit_csr(&self, subject: &str, pem: &str) -> CaResult<bool> {
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
        write_atomic(&self.request_path(subject), pem.as_bytes())
            .map_err(|e| CaError::io("cannot store the CSR", e))?;
        if self.autosign(subject, &pem) {
            self.check_policy(&csr, 400)?;
            self.sign_locked(subject, &csr, None)?;
            return Ok(true);
        }
        Ok(false)
    }

    fn autosign(&self, name: &str, pem: &str) -> bool {
        match &self.settings.autosign {
            Autosign::Off => false,
            Autosign::All => true,
            Autosign::Globs(p) => match fs::read_to_string(p) {
                Ok(text) => text.lines().any(|l| glob_matches(l, name)),
                Err(_) => false,
            },
            Autosign::Command(cmd) => {
                let child = std::process::Command::new(cmd)
                    .arg(name)
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn();
                let Ok(mut child) = child else { return false };
                // Fed from a thread: a command that does not read stdin must not block us.
                if let Some(mut stdin) = child.stdin.take() {
                    let data = pem.as_bytes().to_vec();
                    std::thread::spawn(move || {
                        let _ = stdin.write_all(&data);
                    });
                }
                let deadline = std::time::Instant::now() + AUTOSIGN_TIMEOUT;
                loop {
                    match child.try_wait() {
                        Ok(Some(st)) => return st.success(),
                        Ok(None) if std::time::Instant::now() < deadline => {
                            std::thread::sleep(std::time::Duration::from_millis(10))
                        }
                        _ => {
                            let _ = child.kill();
                            let _ = child.wait();
                            return false;
                        }
                    }
                }
            }
        }
    }

    /// Puppet's signing policy for alt names and extensions.
    fn check_policy(&self, csr: &Csr, status: u16) -> CaResult<()> {
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
    fn sign_locked(&self, name: &str, csr: &Csr, ttl: Option<i64>) -> CaResult<String> {
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
        let cert = self.issue(
            &csr.cn,
            &csr.spki,
            &dns,
            &csr.ips,
            &csr.extensions,
            false,
            ttl,
        )?;
        write_atomic(&self.signed_path(name), cert.as_bytes())
            .map_err(|e| CaError::io("cannot store the certificate", e))?;
        let _ = fs::remove_file(self.request_path(name));
        Ok(cert)
    }

    /// Issues a certificate (call with the lock held): serial, validity, Puppet's extensions,
    /// and the requested ones copied; appends the inventory.
    #[allow(clippy::too_many_arguments)]
    fn issue(
        &self,
        cn: &str,
        spki: &[u8],
        dns: &[String],
        ips: &[std::net::IpAddr],
        extensions: &[(Vec<u64>, String, bool, Vec<u8>)],
        server: bool,
        ttl: Option<i64>,
    ) -> CaResult<String> {
        let key = self.key()?;
        let ca_pem = self.signer_pem()?;
        let issuer = Issuer::from_ca_cert_pem(&ca_pem, &key)
            .map_err(|e| CaError::new(500, format!("cannot load the CA certificate: {e}")))?;
        let serial = self.next_serial()?;
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
        if server {
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
            .signed_by(&public, &issuer)
            .map_err(|e| CaError::new(500, format!("cannot sign: {e}")))?;
        self.append_inventory(serial, p.not_before, p.not_after, cn)?;
        Ok(cert.pem())
    }

    /// Issues a server certificate and key for `certname` (the pool's shared certificate):
    /// alt names `dns_alt_names` plus the certname, or `puppet` and the certname when none.
    pub fn generate(&self, certname: &str, dns_alt_names: &[String]) -> CaResult<(String, String)> {
        self.generate_with(certname, dns_alt_names, false)
    }

    /// `generate`, with an ECDSA P-256 key instead of RSA when `ecdsa`.
    pub fn generate_with(
        &self,
        certname: &str,
        dns_alt_names: &[String],
        ecdsa: bool,
    ) -> CaResult<(String, String)> {
        valid_name(certname)?;
        let _lock = self.lock()?;
        if self.signed_path(certname).exists() && !self.settings.allow_duplicate_certs {
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
            &key.subject_public_key_info(),
            &dns,
            &ips,
            &[],
            true,
            None,
        )?;
        write_atomic(&self.signed_path(certname), cert.as_bytes())
            .map_err(|e| CaError::io("cannot store the certificate", e))?;
        Ok((cert, key.serialize_pem()))
    }

    /// Revokes the certificates of `names` (one new CRL for all of them).
    pub fn revoke(&self, names: &[String]) -> CaResult<()> {
        let _lock = self.lock()?;
        let mut serials = vec![];
        for n in names {
            let pem = self.cert_pem(n).ok_or_else(|| {
                CaError::new(
                    409,
                    format!("Cannot revoke certificate for host {n} without a signed certificate"),
                )
            })?;
            serials.push(cert_info(&pem)?.serial);
        }
        let (number, _, mut entries) = self.crl_state()?;
        let t = now();
        let before = entries.len();
        for s in serials {
            if !entries.iter().any(|(x, _)| *x == s) {
                entries.push((s, t));
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
        self.write("ca_crl.pem", &crl)
    }

    /// `PUT clean`: revokes, then deletes, each named certificate (and CSR).
    pub fn clean(&self, names: &[String]) -> CaResult<String> {
        for n in names {
            valid_name(n)?;
        }
        let (existing, missing): (Vec<String>, Vec<String>) = names
            .iter()
            .cloned()
            .partition(|n| self.cert_pem(n).is_some());
        self.revoke(&existing)?;
        for n in names {
            let _ = fs::remove_file(self.signed_path(n));
            let _ = fs::remove_file(self.request_path(n));
        }
        Ok(if missing.is_empty() {
            "Successfully cleaned all certs.".into()
        } else {
            let list: Vec<String> = missing.iter().map(|m| format!("\"{m}\"")).collect();
            format!(
                "The following certs do not exist and cannot be revoked: [{}]",
                list.join(" ")
            )
        })
    }

    /// `DELETE certificate_status/<name>`: removes the certificate and CSR without revoking.
    pub fn delete(&self, name: &str) -> CaResult<bool> {
        valid_name(name)?;
        let _lock = self.lock()?;
        let a = fs::remove_file(self.signed_path(name)).is_ok();
        let b = fs::remove_file(self.request_path(name)).is_ok();
        Ok(a || b)
    }

    /// `certificate_status/<name>` as puppetserver renders it.
    pub fn status(&self, name: &str) -> CaResult<Option<J>> {
        if let Some(pem) = self.cert_pem(name) {
            let info = cert_info(&pem)?;
            let revoked = self.revoked_serials()?.contains(&info.serial);
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
            return Ok(Some(v));
        }
        if let Some(pem) = self.csr_pem(name) {
            let csr = parse_csr(&pem)?;
            let der = parse_pem(&pem, "CSR")?;
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
            return Ok(Some(status_common(
                name,
                "requested",
                &der,
                dns,
                sans,
                auth,
            )));
        }
        Ok(None)
    }

    /// Every CSR, then every certificate, optionally only those in `state`.
    pub fn statuses(&self, state: Option<&str>) -> CaResult<Vec<J>> {
        let mut out = vec![];
        for dir in ["requests", "signed"] {
            let mut names: Vec<String> = fs::read_dir(self.path(dir))
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .filter_map(|e| {
                            e.file_name()
                                .to_str()
                                .and_then(|n| n.strip_suffix(".pem"))
                                .map(str::to_string)
                        })
                        .collect()
                })
                .unwrap_or_default();
            names.sort();
            for n in names {
                if dir == "requests" && self.cert_pem(&n).is_some() {
                    continue;
                }
                if let Some(s) = self.status(&n)? {
                    if state.is_none_or(|want| s["state"] == want) {
                        out.push(s);
                    }
                }
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

fn fingerprint<D: Digest>(der: &[u8]) -> String {
    D::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
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

/// One line of an autosign whitelist against a certname.
pub fn glob_matches(line: &str, name: &str) -> bool {
    if line.is_empty() || line.starts_with('#') || line.contains('#') || line.contains(' ') {
        return false;
    }
    if line == "*" {
        return true;
    }
    if let Some(domain) = line.strip_prefix('*') {
        let domain = domain.trim_start_matches('.').to_lowercase();
        let name = name.to_lowercase();
        let want: Vec<&str> = domain.split('.').rev().collect();
        let have: Vec<&str> = name.split('.').rev().collect();
        return have.len() >= want.len() && want.iter().zip(have.iter()).all(|(a, b)| a == b);
    }
    line == name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autosign_globs_follow_puppet() {
        assert!(glob_matches("*.example.test", "a.example.test"));
        assert!(glob_matches("*.example.test", "a.b.example.test"));
        assert!(glob_matches("*.example.test", "example.test"));
        assert!(!glob_matches("*.example.test", "a.example.org"));
        assert!(glob_matches("node1.example.test", "node1.example.test"));
        assert!(!glob_matches(
            "node1.example.test # x",
            "node1.example.test"
        ));
        assert!(!glob_matches("# *", "a"));
        assert!(glob_matches("*", "anything"));
    }

    #[test]
    fn names_are_checked() {
        assert!(valid_name("node1.example.test").is_ok());
        assert_eq!(valid_name("Node1").err().map(|e| e.status), Some(400));
        assert!(valid_name("../etc/passwd").is_err());
        assert!(valid_name("a*").is_err());
        assert!(valid_name("").is_err());
    }
}
