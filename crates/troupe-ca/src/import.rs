//! Importing an existing CA directory into an empty shared store: puppetserver's `ca` layout
//! (`ca_crt.pem`, `ca_key.pem`, `ca_crl.pem`, `serial`, `inventory.txt`, `signed/`,
//! `requests/`), or a directory OpenSSL made with at least `ca_crt.pem` and `ca_key.pem`; what
//! is missing is made: an empty CRL, the inventory from the signed certificates, the serial
//! past every serial seen. The CA key is sealed with the join secret.

use crate::backend::Backend;
use crate::backend::{request_key, signed_key};
use crate::inventory::{line, parse_line, parse_serial};
use crate::shared::{inventory_key, store_err, REQUIRED, SEALED_KEY};
use crate::x509::now;
use crate::{cert_info, valid_name, Ca, CaError, CaResult, Settings};
use rcgen::{KeyPair, PublicKeyData};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use x509_parser::prelude::*;

/// The prefixes that must hold nothing in the store an import goes into.
const CA_PREFIXES: [&str; 3] = ["signed/", "requests/", "inventory/"];

fn bad(src: &Path, what: impl std::fmt::Display) -> CaError {
    CaError::new(
        500,
        format!("cannot import the CA {}: {what}", src.display()),
    )
}

/// The `NAME.pem` files of `dir` with their contents, sorted by name.
fn pems(dir: &Path) -> CaResult<Vec<(String, String)>> {
    let mut out = vec![];
    let Ok(rd) = fs::read_dir(dir) else {
        return Ok(out);
    };
    for e in rd.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(name) = file.strip_suffix(".pem") else {
            continue;
        };
        let text = fs::read_to_string(e.path())
            .map_err(|err| bad(dir, format!("cannot read {file}: {err}")))?;
        out.push((name.to_string(), text));
    }
    out.sort();
    Ok(out)
}

impl Ca {
    /// Imports the CA directory `src` into the shared store of `settings` (`settings.shared`
    /// with the join secret is required; the store must hold no CA yet: none of `ca_crt.pem`,
    /// `sealed/ca_key.pem`, `ca_crl.pem`, `serial`, and nothing under `signed/`, `requests/`,
    /// `inventory/`; other keys, such as `pool/`, are left alone). Every certificate keeps its
    /// serial and stays valid. Runs under the store's CA lock. Returns what it imported and
    /// made, one note a line. Afterwards `Ca::open_or_init` on the same settings opens it.
    pub fn import_dir(settings: Settings, src: &Path) -> CaResult<Vec<String>> {
        settings.validate()?;
        if settings.shared.is_none() {
            return Err(CaError::new(
                500,
                "importing a CA directory needs a shared store (store = etcd://...)",
            ));
        }
        fs::create_dir_all(&settings.cadir)
            .map_err(|e| CaError::io("cannot create the CA directory", e))?;
        let backend = Backend::new(&settings);
        let ca = Ca {
            settings,
            repairs: vec![],
            backend,
        };
        let Some(shared) = ca.backend.shared() else {
            return Err(CaError::new(500, "no shared store"));
        };
        shared.secret("import the CA")?;
        let _lock = ca.lock()?;
        let store = shared.store()?;
        for k in REQUIRED {
            if store.get(k).map_err(store_err)?.is_some() {
                return Err(CaError::new(
                    409,
                    format!("the CA store already holds a CA ({k} exists); an import needs an empty store"),
                ));
            }
        }
        for p in CA_PREFIXES {
            if let Some(e) = store.list(p).map_err(store_err)?.first() {
                return Err(CaError::new(
                    409,
                    format!(
                        "the CA store is not empty ({} exists); an import needs an empty store",
                        e.key
                    ),
                ));
            }
        }

        let read = |f: &str| fs::read_to_string(src.join(f));
        let crt = read("ca_crt.pem").map_err(|e| bad(src, format!("ca_crt.pem: {e}")))?;
        let key_pem = read("ca_key.pem").map_err(|e| bad(src, format!("ca_key.pem: {e}")))?;
        let key = KeyPair::from_pem(&key_pem)
            .map_err(|e| bad(src, format!("ca_key.pem is not a private key: {e}")))?;
        let signer = cert_info(&crt).map_err(|e| bad(src, format!("ca_crt.pem: {e}")))?;
        let (_, signer_cert) = X509Certificate::from_der(&signer.der)
            .map_err(|e| bad(src, format!("ca_crt.pem: {e}")))?;
        if signer_cert.public_key().raw != key.subject_public_key_info().as_slice() {
            return Err(bad(src, "ca_key.pem is not the key of ca_crt.pem"));
        }
        let mut notes = vec![];

        // Certificates and requests.
        let mut inventory: BTreeMap<u64, String> = BTreeMap::new();
        let mut max = signer.serial;
        let signed = pems(&src.join("signed"))?;
        let mut puts: Vec<(String, Vec<u8>)> = vec![];
        for (name, pem) in &signed {
            if valid_name(name).is_err() {
                notes.push(format!("skipped signed/{name}.pem: not a valid certname"));
                continue;
            }
            let info = cert_info(pem).map_err(|e| bad(src, format!("signed/{name}.pem: {e}")))?;
            max = max.max(info.serial);
            inventory.insert(
                info.serial,
                line(info.serial, info.not_before, info.not_after, &info.cn),
            );
            puts.push((signed_key(name), pem.clone().into_bytes()));
        }
        let requests = pems(&src.join("requests"))?;
        for (name, pem) in &requests {
            if valid_name(name).is_err() {
                notes.push(format!("skipped requests/{name}.pem: not a valid certname"));
                continue;
            }
            puts.push((request_key(name), pem.clone().into_bytes()));
        }
        notes.push(format!(
            "imported {} signed certificates and {} pending requests",
            signed.len(),
            requests.len()
        ));

        // The inventory: its own lines win over the ones made from the certificates.
        inventory.insert(
            signer.serial,
            line(
                signer.serial,
                signer.not_before,
                signer.not_after,
                &signer.cn,
            ),
        );
        match read("inventory.txt") {
            Ok(text) => {
                let mut n = 0;
                for l in text.lines() {
                    if let Some(s) = parse_line(l) {
                        inventory.insert(s, format!("{l}\n"));
                        max = max.max(s);
                        n += 1;
                    }
                }
                notes.push(format!("imported {n} inventory lines"));
            }
            Err(_) => notes.push("no inventory.txt: made from the certificates".into()),
        }
        for (s, l) in &inventory {
            puts.push((inventory_key(*s), l.clone().into_bytes()));
        }

        // Serial and CRL.
        let serial = match read("serial") {
            Ok(t) => parse_serial(&t).map_err(|e| bad(src, format!("serial: {e}")))?,
            Err(_) => 0,
        };
        let serial = if serial > max {
            serial
        } else {
            notes.push(format!(
                "serial set to {:04X}, past every serial seen",
                max + 1
            ));
            max + 1
        };
        let crl = match read("ca_crl.pem") {
            Ok(c) => c,
            Err(_) => {
                notes.push("no ca_crl.pem: made an empty CRL".into());
                ca.make_crl(&crt, &key, 0, &[], now())?
            }
        };
        crate::crl::crl_freshness(&crl, now()).map_err(|e| bad(src, format!("ca_crl.pem: {e}")))?;

        // Everything but the CA's own keys, then those in one transaction: the store holds a
        // CA only once the import is complete.
        for (k, v) in &puts {
            store.put(k, v).map_err(store_err)?;
        }
        let done = shared.create(vec![
            (SEALED_KEY.into(), shared.seal_key(&key_pem)?),
            ("ca_pub.pem".into(), key.public_key_pem().into_bytes()),
            ("ca_crt.pem".into(), crt.into_bytes()),
            ("ca_crl.pem".into(), crl.into_bytes()),
            ("serial".into(), format!("{serial:04X}").into_bytes()),
        ])?;
        if !done {
            return Err(CaError::new(
                409,
                "another host created a CA in the store during the import",
            ));
        }
        notes.push(format!(
            "imported the CA {} (key sealed in {SEALED_KEY}), next serial {serial:04X}",
            signer.cn
        ));
        Ok(notes)
    }
}
