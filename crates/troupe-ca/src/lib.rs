//! Puppet's certificate authority over Puppet's CA directory layout (`ca_crt.pem`, `ca_key.pem`,
//! `ca_crl.pem`, `serial`, `inventory.txt`, `signed/`, `requests/`), so an existing puppetserver
//! CA directory works as it is. Every change happens under an exclusive file lock on the
//! directory, so several processes (masters on one host) can share one CA: serials are
//! allocated under that lock and never reused.
//!
//! With `Settings::shared` set, the CA lives in the pool's shared store (etcd) instead, with
//! the same keys, so every host of the pool runs the same CA (see `shared.rs`: one transaction
//! per issued certificate, a lock in the store, the CA key sealed with the join secret).
//! `Ca::import_dir` moves an existing CA directory into an empty store. Store outages are
//! errors with status 503 and the message `the CA store is unavailable: ...`.
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
use std::fs;
use std::path::PathBuf;

mod autosign;
mod backend;
mod crl;
mod csr;
mod files;
mod import;
mod inventory;
mod oids;
mod settings;
mod shared;
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
pub use status::requested_extensions;
pub use x509::{cert_cn, cert_info, common_name, is_revoked, pem_encode, puppet_date, CertInfo};

use backend::{request_key, signed_key, Backend, CaLock};
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
        self.status == CaError::PENDING_CAP && !self.is_store_unavailable()
    }

    /// Whether the shared store could not be reached (status 503, message
    /// `the CA store is unavailable: ...`): the caller may try again soon.
    pub fn is_store_unavailable(&self) -> bool {
        self.status == 503 && self.message.starts_with("the CA store is unavailable")
    }
}

impl std::fmt::Display for CaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CaError {}

pub type CaResult<T> = Result<T, CaError>;

/// The CA, over its directory or the pool's shared store.
#[derive(Debug)]
pub struct Ca {
    pub settings: Settings,
    repairs: Vec<String>,
    pub(crate) backend: Backend,
}

const REQUIRED: [&str; 5] = [
    "ca_crt.pem",
    "ca_key.pem",
    "ca_crl.pem",
    "inventory.txt",
    "serial",
];

impl Ca {
    /// Opens the CA, creating a new CA when its directory (or the shared store) holds none of
    /// the CA files, and repairs what a crash left (see the crate's documentation). With a
    /// shared store the CA is created under the store's lock, so exactly one host creates it;
    /// a shared CA whose store is unavailable opens from the CA certificate and CRL cached in
    /// `cadir` (signing and revocation answer 503 until the store is back).
    pub fn open_or_init(settings: Settings) -> CaResult<Ca> {
        settings.validate()?;
        fs::create_dir_all(&settings.cadir)
            .map_err(|e| CaError::io("cannot create the CA directory", e))?;
        let backend = Backend::new(&settings);
        let mut ca = Ca {
            settings,
            repairs: vec![],
            backend,
        };
        let mut repairs = match ca.init() {
            Ok(r) => r,
            Err(e)
                if e.is_store_unavailable()
                    && ca.backend.shared().is_some_and(|s| s.has_cache()) =>
            {
                if let Some(s) = ca.backend.shared() {
                    s.mark_down();
                }
                vec![format!(
                    "{e}; opened with the cached CA certificate and CRL in {}",
                    ca.settings.cadir.display()
                )]
            }
            Err(e) => return Err(e),
        };
        match ca.refresh_crl() {
            Ok(true) => repairs
                .push("ca_crl.pem: less than a quarter of its lifetime was left; re-issued".into()),
            Ok(false) => {}
            Err(e) if ca.backend.shared().is_some() && e.status == 503 => {
                repairs.push(format!("ca_crl.pem: not checked for re-issue: {e}"))
            }
            Err(e) => return Err(e),
        }
        for r in &repairs {
            tracing::warn!("{r}");
        }
        ca.repairs = repairs;
        Ok(ca)
    }

    /// Creates or checks the CA under the lock, and runs the repairs.
    fn init(&self) -> CaResult<Vec<String>> {
        let lock = self.lock()?;
        let required: &[&str] = match &self.backend {
            Backend::Dir(_) => &REQUIRED,
            Backend::Shared(_) => &shared::REQUIRED,
        };
        let mut present = vec![];
        for f in required {
            if self.backend.exists(f)? {
                present.push(*f);
            }
        }
        if present.is_empty() {
            self.bootstrap()?;
        } else if present.len() != required.len() {
            let missing: Vec<&str> = required
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
        if let Backend::Dir(_) = self.backend {
            for d in ["signed", "requests"] {
                fs::create_dir_all(self.path(d))
                    .map_err(|e| CaError::io("cannot create CA directories", e))?;
            }
        }
        let repairs = self.recover()?;
        drop(lock);
        Ok(repairs)
    }

    /// What opening the CA repaired (also logged on stderr).
    pub fn repairs(&self) -> &[String] {
        &self.repairs
    }

    /// Whether this host can sign: always with a directory; with a shared store, when it has
    /// the pool's join secret (which unseals the CA key).
    pub fn can_sign(&self) -> bool {
        self.backend
            .shared()
            .is_none_or(|s| s.shared.secret.is_some())
    }

    /// Whether the CA lives in the pool's shared store.
    pub fn is_shared(&self) -> bool {
        self.backend.shared().is_some()
    }

    /// The repairs of `open_or_init`, with the lock held.
    fn recover(&self) -> CaResult<Vec<String>> {
        let mut out = vec![];
        if let Some(s) = self.backend.shared() {
            out.extend(s.repair_serial()?);
            // Another host may sign them later: a failure here does not stop this host.
            if s.shared.secret.is_some() {
                match self.autosign_pending_locked() {
                    Ok(signed) => out.extend(signed),
                    Err(e) => out.push(format!("pending requests not re-judged: {e}")),
                }
            }
            return Ok(out);
        }
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
    fn pem_names(&self, dir: &str) -> CaResult<Vec<String>> {
        self.backend.names(dir)
    }

    /// An exclusive lock on the CA, held until dropped.
    fn lock(&self) -> CaResult<CaLock<'_>> {
        self.backend.lock()
    }

    fn read(&self, f: &str) -> CaResult<String> {
        self.backend.read(f)
    }

    fn write(&self, f: &str, data: &str) -> CaResult<()> {
        self.write_bytes(f, data.as_bytes())
    }

    fn write_bytes(&self, f: &str, data: &[u8]) -> CaResult<()> {
        self.backend.put(f, data)
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
        if let Some(s) = self.backend.shared() {
            s.secret("create the CA")?;
        }
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
        let line = inventory::line(1, p.not_before, p.not_after, &self.settings.ca_name);
        let crl = self.make_crl(&cert.pem(), &key, 0, &[], t)?;
        if let Some(s) = self.backend.shared() {
            s.create(vec![
                (shared::SEALED_KEY.into(), s.seal_key(&key.serialize_pem())?),
                ("ca_pub.pem".into(), key.public_key_pem().into_bytes()),
                ("ca_crt.pem".into(), cert.pem().into_bytes()),
                ("serial".into(), b"0002".to_vec()),
                (shared::inventory_key(1), line.into_bytes()),
                ("ca_crl.pem".into(), crl.into_bytes()),
            ])?;
            return Ok(());
        }
        files::write_private(
            &self.path("ca_key.pem"),
            key.serialize_pem().as_bytes(),
            PRIVATE_KEY_MODE,
        )
        .map_err(|e| CaError::io("cannot write ca_key.pem", e))?;
        self.write("ca_pub.pem", &key.public_key_pem())?;
        self.write("ca_crt.pem", &cert.pem())?;
        self.write("serial", "0002")?;
        self.write("inventory.txt", &line)?;
        self.write("ca_crl.pem", &crl)?;
        Ok(())
    }

    /// The CA certificate bundle (PEM).
    pub fn ca_cert_pem(&self) -> CaResult<String> {
        self.read("ca_crt.pem")
    }

    fn key(&self) -> CaResult<KeyPair> {
        let pem = match self.backend.shared() {
            Some(s) => s.key_pem()?,
            None => self.read("ca_key.pem")?,
        };
        KeyPair::from_pem(&pem)
            .map_err(|e| CaError::new(500, format!("cannot read the CA key: {e}")))
    }

    /// The first certificate of the CA bundle.
    pub(crate) fn signer_pem(&self) -> CaResult<String> {
        let shared = self.backend.shared();
        if let Some(p) = shared.and_then(|s| s.signer.lock().ok()?.clone()) {
            return Ok(p);
        }
        let all = self.read("ca_crt.pem")?;
        let end = all
            .find("-----END CERTIFICATE-----")
            .map(|i| i + "-----END CERTIFICATE-----".len())
            .unwrap_or(all.len());
        let pem = format!("{}\n", &all[..end]);
        if let Some(mut slot) = shared.and_then(|s| s.signer.lock().ok()) {
            *slot = Some(pem.clone());
        }
        Ok(pem)
    }

    /// The signed certificate of `name`; `None` when there is none or it cannot be read.
    pub fn cert_pem(&self, name: &str) -> Option<String> {
        self.try_cert_pem(name).ok().flatten()
    }

    /// The signed certificate of `name`, with the error when the CA cannot be read (a 503
    /// when the shared store is unavailable and the certificate is not cached here).
    pub fn try_cert_pem(&self, name: &str) -> CaResult<Option<String>> {
        if valid_name(name).is_err() {
            return Ok(None);
        }
        self.backend.get(&signed_key(name))
    }

    pub fn csr_pem(&self, name: &str) -> Option<String> {
        valid_name(name).ok()?;
        self.backend.get(&request_key(name)).ok().flatten()
    }

    /// The inventory as `inventory.txt` holds it: one line per issued certificate (in a
    /// shared store, rendered from the `inventory/<serial>` keys, ordered by serial).
    pub fn inventory(&self) -> CaResult<String> {
        match self.backend.shared() {
            Some(s) => s.inventory(),
            None => self.read("inventory.txt"),
        }
    }

    /// `signed`, `revoked`, or `requested`.
    pub(crate) fn state_of(&self, name: &str) -> CaResult<Option<&'static str>> {
        if let Some(pem) = self.try_cert_pem(name)? {
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
        let mut existing = vec![];
        let mut missing = vec![];
        for n in names {
            if self.try_cert_pem(n)?.is_some() {
                existing.push(n.clone());
            } else {
                missing.push(n.clone());
            }
        }
        self.revoke(&existing)?;
        for n in names {
            self.backend.remove(&signed_key(n))?;
            self.backend.remove(&request_key(n))?;
            tracing::info!(node = %n, "cleaned {n}");
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
        let a = self.backend.remove(&signed_key(name))?;
        let b = self.backend.remove(&request_key(name))?;
        if a || b {
            tracing::info!(node = name, "deleted the certificate and request of {name}");
        }
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
