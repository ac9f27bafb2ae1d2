//! Puppet's certificate authority over Puppet's CA directory layout (`ca_crt.pem`, `ca_key.pem`,
//! `ca_crl.pem`, `serial`, `inventory.txt`, `signed/`, `requests/`), so an existing puppetserver
//! CA directory works as it is. Every change happens under an exclusive file lock on the
//! directory, so several processes (masters on one host) can share one CA: serials are
//! allocated under that lock and never reused.
//!
//! Opening the CA repairs what a crash can leave behind (`Ca::repairs` lists it, and it is
//! logged on stderr): temp files of interrupted atomic writes are removed, a torn last
//! inventory line is dropped, `serial` is moved past the inventory's serials, a CA key with a
//! looser mode than 0640 is tightened, pending requests the autosign policy accepts are
//! signed, and a CRL with less than a quarter of its lifetime left is re-issued.

use ::time::Duration;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa,
    KeyIdMethod, KeyPair, KeyUsagePurpose, PublicKeyData, RsaKeySize, PKCS_RSA_SHA256,
};
use std::fs::{self, File, OpenOptions};
use std::path::PathBuf;

mod autosign;
mod crl;
mod csr;
mod files;
mod inventory;
mod oids;
mod settings;
mod sign;
mod status;
mod x509;

pub use autosign::glob_matches;
pub use crl::{crl_freshness, CrlFreshness};
pub use csr::valid_name;
pub use files::{
    ensure_private_dir, remove_stale_temps, tighten, write_atomic, write_private, PRIVATE_DIR_MODE,
    PRIVATE_KEY_MODE, STANDALONE_DIR_MODE, STANDALONE_KEY_MODE,
};
pub use oids::{short_name, trusted_extensions};
pub use settings::{
    Autosign, Settings, DEFAULT_MAX_PENDING_CSRS, FIVE_YEARS, MAX_CSR_BYTES, MAX_TTL, MIN_CRL_TTL,
};
pub use x509::{cert_cn, cert_info, common_name, is_revoked, pem_encode, puppet_date, CertInfo};

use sign::{COMMENT, NETSCAPE_COMMENT};
use x509::{ia5, key_id, now, serial_number};

/// A refusal or failure, with the HTTP status Puppet's CA answers it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaError {
    pub status: u16,
    pub message: String,
}

impl CaError {
    /// The status of a request refused because `max_pending_csrs` requests are pending
    /// (503: the agent retries later). No other refusal uses it.
    pub const PENDING_CAP: u16 = 503;

    fn new(status: u16, message: impl Into<String>) -> CaError {
        CaError {
            status,
            message: message.into(),
        }
    }
    fn io(what: &str, e: std::io::Error) -> CaError {
        CaError::new(500, format!("{what}: {e}"))
    }

    /// Whether this is the refusal of a request because too many are pending.
    pub fn is_pending_cap(&self) -> bool {
        self.status == CaError::PENDING_CAP
    }
}

impl std::fmt::Display for CaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CaError {}

pub type CaResult<T> = Result<T, CaError>;

/// The CA, over its directory.
#[derive(Debug)]
pub struct Ca {
    pub settings: Settings,
    repairs: Vec<String>,
}

const REQUIRED: [&str; 5] = [
    "ca_crt.pem",
    "ca_key.pem",
    "ca_crl.pem",
    "inventory.txt",
    "serial",
];

impl Ca {
    /// Opens the CA directory, creating a new CA when it holds none of the CA files, and
    /// repairs what a crash left (see the crate's documentation).
    pub fn open_or_init(settings: Settings) -> CaResult<Ca> {
        settings.validate()?;
        fs::create_dir_all(&settings.cadir)
            .map_err(|e| CaError::io("cannot create the CA directory", e))?;
        let mut ca = Ca {
            settings,
            repairs: vec![],
        };
        let lock = ca.lock()?;
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
        let mut repairs = ca.recover()?;
        drop(lock);
        if ca.refresh_crl()? {
            repairs
                .push("ca_crl.pem: less than a quarter of its lifetime was left; re-issued".into());
        }
        for r in &repairs {
            eprintln!("troupe ca: {r}");
        }
        ca.repairs = repairs;
        Ok(ca)
    }

    /// What opening the CA repaired (also logged on stderr).
    pub fn repairs(&self) -> &[String] {
        &self.repairs
    }

    /// The repairs of `open_or_init`, with the lock held.
    fn recover(&self) -> CaResult<Vec<String>> {
        let mut out = vec![];
        for d in [self.path(""), self.path("signed"), self.path("requests")] {
            for f in remove_stale_temps(&d) {
                out.push(format!("removed {f}, left by an interrupted write"));
            }
        }
        let key = self.path("ca_key.pem");
        match tighten(&key, PRIVATE_KEY_MODE) {
            Ok(Some(m)) => out.push(format!("the CA key {m}")),
            Ok(None) => {}
            Err(e) => out.push(format!(
                "warning: cannot check or tighten the mode of {}: {e}",
                key.display()
            )),
        }
        out.extend(self.repair_inventory()?);
        out.extend(self.repair_serial()?);
        out.extend(self.autosign_pending_locked()?);
        Ok(out)
    }

    fn path(&self, f: &str) -> PathBuf {
        self.settings.cadir.join(f)
    }

    /// The certnames with a `NAME.pem` in the CA's `dir` (`requests`, `signed`), sorted.
    fn pem_names(&self, dir: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path(dir))
            .map(|rd| {
                rd.flatten()
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
        names
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
        self.write_bytes(f, data.as_bytes())
    }

    fn write_bytes(&self, f: &str, data: &[u8]) -> CaResult<()> {
        write_atomic(&self.path(f), data).map_err(|e| CaError::io(&format!("cannot write {f}"), e))
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
        files::write_private(
            &self.path("ca_key.pem"),
            key.serialize_pem().as_bytes(),
            PRIVATE_KEY_MODE,
        )
        .map_err(|e| CaError::io("cannot write ca_key.pem", e))?;
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

    fn key(&self) -> CaResult<KeyPair> {
        KeyPair::from_pem(&self.read("ca_key.pem")?)
            .map_err(|e| CaError::new(500, format!("cannot read the CA key: {e}")))
    }

    /// The first certificate of the CA bundle.
    pub(crate) fn signer_pem(&self) -> CaResult<String> {
        let all = self.read("ca_crt.pem")?;
        let end = all
            .find("-----END CERTIFICATE-----")
            .map(|i| i + "-----END CERTIFICATE-----".len())
            .unwrap_or(all.len());
        Ok(format!("{}\n", &all[..end]))
    }

    fn signed_path(&self, name: &str) -> PathBuf {
        self.path("signed").join(format!("{name}.pem"))
    }

    pub(crate) fn request_path(&self, name: &str) -> PathBuf {
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
    pub(crate) fn state_of(&self, name: &str) -> CaResult<Option<&'static str>> {
        if let Some(pem) = self.cert_pem(name) {
            let info = cert_info(&pem)?;
            let revoked = self.revoked_serials()?.contains(&info.serial);
            return Ok(Some(if revoked { "revoked" } else { "signed" }));
        }
        Ok(self.csr_pem(name).map(|_| "requested"))
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
