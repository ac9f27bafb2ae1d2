//! What the front's console needs from the binary: the pool's store for the masters' settings
//! (`control_store`), and the CA (`FrontCa`, a `troupe_front::console::CaConsole`).
//!
//! The console's CA is the pool's CA opened by the front process itself, as `troupe ca`
//! opens it: the CA directory of a `dir` store (this host's), or the etcd store with the join
//! secret. It is opened lazily, at the first look, and only when the CA exists already (a
//! front never creates one). Signing is `Ca::sign(name, None)`, what `troupe ca sign` calls,
//! with the same checks; rejecting deletes the pending request (`Ca::delete`).

use anyhow::{anyhow, Result};
use serde_json::{json, Value as J};
use std::path::PathBuf;
use std::sync::Mutex;
use troupe_ca::{Ca, Settings};

/// The store the console keeps the masters' settings in: the etcd store when the front has
/// one, else the `dir:` store's directory (this host's CA directory); `None` without a store.
pub fn control_store(
    settings: &troupe_store::StoreSettings,
    shared: Option<&troupe_store::Shared>,
) -> Result<Option<troupe_store::Store>> {
    if let Some(sh) = shared {
        return Ok(Some(sh.store.clone()));
    }
    match settings.dir_path() {
        // A directory that is not there yet is not made here (reading a config has no side
        // effects): the settings then live in the front's memory.
        Some(path) if !path.is_dir() => {
            tracing::warn!(
                "store = dir:{}: no such directory; the console's settings will not be kept",
                path.display()
            );
            Ok(None)
        }
        Some(path) => {
            troupe_store::Store::open(&troupe_store::StoreConfig::Dir { path: path.clone() })
                .map(Some)
                .map_err(|e| anyhow!("store = dir:{}: {e}", path.display()))
        }
        None => Ok(None),
    }
}

/// The pool's CA as the console shows it.
#[derive(Debug)]
pub struct FrontCa {
    cadir: PathBuf,
    certname: String,
    shared: Option<troupe_store::Shared>,
    ca: Mutex<Option<std::sync::Arc<Ca>>>,
}

impl FrontCa {
    /// For a `dir` store: its directory; for etcd: the shared store (the cache directory is
    /// `cadir`).
    pub fn new(cadir: PathBuf, certname: String, shared: Option<troupe_store::Shared>) -> FrontCa {
        FrontCa {
            cadir,
            certname,
            shared,
            ca: Mutex::new(None),
        }
    }

    /// The console's CA of a front: this host's CA directory on a `dir` store, the store with
    /// the join secret on etcd; none otherwise.
    pub fn for_front(
        store: &troupe_store::StoreSettings,
        shared: Option<&troupe_store::Shared>,
        ssldir: &std::path::Path,
        certname: &str,
    ) -> Option<std::sync::Arc<FrontCa>> {
        let ca = match (shared, store.dir_path()) {
            (Some(sh), _) if sh.secret.is_some() => {
                FrontCa::new(ssldir.join("ca"), certname.into(), Some(sh.clone()))
            }
            (None, Some(dir)) => FrontCa::new(dir, certname.into(), None),
            _ => return None,
        };
        Some(std::sync::Arc::new(ca))
    }

    fn open(&self) -> Result<std::sync::Arc<Ca>, String> {
        let mut g = self
            .ca
            .lock()
            .map_err(|_| "the CA handle is poisoned".to_string())?;
        if let Some(ca) = &*g {
            return Ok(ca.clone());
        }
        if self.shared.is_none() && !self.cadir.join("ca_crt.pem").exists() {
            return Err(format!("no CA in {}", self.cadir.display()));
        }
        let mut s = Settings::new(self.cadir.clone(), &self.certname);
        s.shared = self.shared.clone();
        let ca = std::sync::Arc::new(Ca::open_or_init(s).map_err(|e| e.to_string())?);
        *g = Some(ca.clone());
        Ok(ca)
    }
}

impl troupe_front::console::CaConsole for FrontCa {
    fn summary(&self) -> Result<J, String> {
        let ca = self.open()?;
        let all = ca.statuses(None).map_err(|e| e.to_string())?;
        let count = |st: &str| all.iter().filter(|s| s["state"] == st).count();
        let requests: Vec<J> = all
            .iter()
            .filter(|s| s["state"] == "requested")
            .map(|s| {
                let name = s["name"].as_str().unwrap_or("");
                // Every extension it asks for under Puppet's arc (pp_*, authorization).
                let extensions = ca
                    .csr_pem(name)
                    .and_then(|pem| troupe_ca::requested_extensions(&pem).ok())
                    .map(J::Object)
                    .unwrap_or_else(|| s["authorization_extensions"].clone());
                json!({
                    "name": name,
                    "fingerprint": s["fingerprint"],
                    "dns_alt_names": s["dns_alt_names"],
                    "extensions": extensions,
                })
            })
            .collect();
        let next = match ca.crl_freshness().map_err(|e| e.to_string())? {
            troupe_ca::CrlFreshness::Fresh { next_update, .. } => next_update,
            troupe_ca::CrlFreshness::ExpiringSoon { next_update, .. }
            | troupe_ca::CrlFreshness::Expired { next_update, .. } => Some(next_update),
        };
        let next = next
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| "none".into());
        Ok(json!({
            "signed": count("signed"),
            "pending": requests.len(),
            "revoked": count("revoked"),
            "crl_next_update": next,
            "requests": requests,
        }))
    }

    fn sign(&self, name: &str) -> Result<String, String> {
        let ca = self.open()?;
        ca.sign(name, None).map_err(|e| e.to_string())?;
        Ok(format!(
            "Successfully signed certificate request for {name}"
        ))
    }

    fn reject(&self, name: &str) -> Result<String, String> {
        let ca = self.open()?;
        if ca.try_cert_pem(name).map_err(|e| e.to_string())?.is_some() {
            return Err(format!(
                "{name} is signed already: revoke or clean it with troupe ca"
            ));
        }
        if ca.csr_pem(name).is_none() {
            return Err(format!("no pending certificate request for {name}"));
        }
        ca.delete(name).map_err(|e| e.to_string())?;
        Ok(format!("Rejected the certificate request of {name}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use troupe_front::console::CaConsole;

    fn csr(name: &str) -> String {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        // pp_role = web
        p.custom_extensions
            .push(rcgen::CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 4, 1, 34380, 1, 1, 13],
                vec![0x0c, 3, b'w', b'e', b'b'],
            ));
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(rcgen::DnType::CommonName, name);
        p.serialize_request(&key).expect("csr").pem().expect("pem")
    }

    #[test]
    fn the_console_sees_signs_and_rejects_pending_requests() {
        let dir = std::env::temp_dir().join(format!("troupe-console-ca-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // No CA yet: the console says so and creates none.
        let fc = FrontCa::new(dir.clone(), "ca.example.test".into(), None);
        assert!(fc.summary().is_err());
        assert!(!dir.join("ca_crt.pem").exists());
        let mut s = Settings::new(dir.clone(), "ca.example.test");
        s.keylength = 2048;
        let ca = Ca::open_or_init(s).expect("CA");
        ca.submit_csr("a.example.test", &csr("a.example.test"))
            .expect("csr a");
        ca.submit_csr("b.example.test", &csr("b.example.test"))
            .expect("csr b");
        let j = fc.summary().expect("summary");
        assert_eq!(j["pending"], 2, "{j}");
        let signed = j["signed"].as_u64().expect("signed");
        assert!(
            j["crl_next_update"].as_str().is_some_and(|t| t.len() >= 20),
            "{j}"
        );
        assert!(j["requests"][0]["fingerprint"]
            .as_str()
            .is_some_and(|f| f.len() == 95));
        assert!(fc
            .sign("a.example.test")
            .expect("sign")
            .contains("Successfully signed"));
        assert!(fc.sign("a.example.test").is_err(), "signed once only");
        assert!(
            fc.reject("a.example.test").is_err(),
            "a signed certificate is not rejected"
        );
        assert!(fc
            .reject("b.example.test")
            .expect("reject")
            .contains("Rejected"));
        assert!(fc.reject("c.example.test").is_err());
        let j = fc.summary().expect("summary");
        assert_eq!(
            (j["pending"].as_u64(), j["signed"].as_u64()),
            (Some(0), Some(signed + 1)),
            "{j}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
