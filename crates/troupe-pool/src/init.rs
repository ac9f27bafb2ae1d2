//! `init` (the CA and the pool certificate, once per store) and `add_names` (re-issuing the
//! pool certificate with more alt names). Both hold the pool lock while they issue, and store
//! the certificate, its key and its names in one transaction that checks nobody stored another
//! meanwhile.

use std::path::PathBuf;
use std::time::Duration;
use troupe_store::{Compare, Op, Secret};

use crate::lock::PoolLock;
use crate::{ca, keys, split_names, PoolError, PoolState, PoolStore, Result};

/// How long `init` and `add_names` wait for another holder of the pool lock.
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// What `init` is asked to make.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The pool certificate's certname (`puppet` by default).
    pub name: String,
    /// Every name agents may use (`DNS:` implied, `IP:` allowed).
    pub alt_names: Vec<String>,
    /// An ECDSA P-256 key (fast handshakes) rather than RSA.
    pub ecdsa: bool,
    /// A Puppet CA directory to import instead of creating a CA.
    pub import: Option<PathBuf>,
    /// The CA's settings (cadir, CA name, lifetimes, key length); `shared` is set by `init`.
    pub ca: troupe_ca::Settings,
    /// The join secret the pool is sealed with.
    pub secret: Secret,
    /// Where to write the join secret (0600, never over an existing file) once this init is
    /// the one creating the pool; `None` when the secret came from an existing file.
    pub secret_out: Option<PathBuf>,
}

/// What `init` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitOutcome {
    /// This init stored the pool certificate (and created or imported the CA if need be).
    Created {
        name: String,
        alt_names: Vec<String>,
        secret_id: String,
    },
    /// The store already held a pool: nothing was changed.
    AlreadyInitialized { name: String, secret_id: String },
}

fn already(s: PoolState) -> InitOutcome {
    InitOutcome::AlreadyInitialized {
        name: s.name,
        secret_id: s.secret_id,
    }
}

fn check_alt_names(names: &[String]) -> Result<()> {
    for n in names {
        if let Some(ip) = n.strip_prefix("IP:") {
            ip.parse::<std::net::IpAddr>().map_err(|_| {
                PoolError::Invalid(format!("alt name {n:?}: {ip:?} is not an IP address"))
            })?;
        } else {
            let d = n.strip_prefix("DNS:").unwrap_or(n);
            let ok = !d.is_empty()
                && d.len() <= 253
                && d.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'*')
                });
            if !ok {
                return Err(PoolError::Invalid(format!(
                    "alt name {n:?} is not a host name (letters, digits, '-', dots) or IP:ADDRESS"
                )));
            }
        }
    }
    Ok(())
}

/// Creates the pool on the store: the CA when absent (or imported), the pool certificate and
/// key, the join secret's id. A store that already holds a pool is left as it is.
pub fn init(pool: &PoolStore, opts: InitOptions) -> Result<InitOutcome> {
    troupe_ca::valid_name(&opts.name)
        .map_err(|e| PoolError::Invalid(format!("pool name {:?}: {e}", opts.name)))?;
    check_alt_names(&opts.alt_names)?;
    match pool.state() {
        Ok(s) => return Ok(already(s)),
        Err(PoolError::NotInitialized) => {}
        Err(e) => return Err(e),
    }
    let _lock = PoolLock::acquire(&pool.store, LOCK_WAIT)?;
    match pool.state() {
        Ok(s) => return Ok(already(s)),
        Err(PoolError::NotInitialized) => {}
        Err(e) => return Err(e),
    }
    // The secret is written before anything is sealed with it, so it is never lost.
    if let Some(out) = &opts.secret_out {
        opts.secret.write_file(out).map_err(|e| {
            PoolError::Io(format!(
                "{e} (an existing secret file is never overwritten: remove it, or set join_secret_file to it to init with that secret)"
            ))
        })?;
    }
    let mut settings = opts.ca.clone();
    settings.shared = pool
        .sealed()
        .then(|| pool.shared_with(Some(opts.secret.clone())));
    // The pool name may already have a certificate (an imported CA, an interrupted init):
    // the pool's is issued anyway.
    settings.allow_duplicate_certs = true;
    let ca = match &opts.import {
        Some(dir) => ca::import(settings, dir)?,
        None => ca::open(settings)?,
    };
    let (crt, key) = ca.generate_with(&opts.name, &opts.alt_names, opts.ecdsa, false)?;
    let sealed_key = pool.seal_key(Some(&opts.secret), key.as_bytes())?;
    let stored = pool.store.txn(
        &[Compare::Absent(keys::CRT.into())],
        &[
            Op::Put(keys::NAME.into(), opts.name.clone().into_bytes()),
            Op::Put(
                keys::ALT_NAMES.into(),
                opts.alt_names.join(",").into_bytes(),
            ),
            Op::Put(keys::CRT.into(), crt.into_bytes()),
            Op::Put(pool.key_key().into(), sealed_key),
            Op::Put(keys::SECRET_ID.into(), opts.secret.id().into_bytes()),
        ],
    )?;
    if !stored {
        // Only without the lock's protection (a lock taken over from a live holder).
        return Ok(already(pool.state()?));
    }
    Ok(InitOutcome::Created {
        name: opts.name,
        alt_names: opts.alt_names,
        secret_id: opts.secret.id(),
    })
}

/// True when the certificate's key is an EC key.
pub(crate) fn is_ecdsa(crt_pem: &str) -> bool {
    x509_parser::pem::Pem::iter_from_buffer(crt_pem.as_bytes())
        .flatten()
        .next()
        .and_then(|p| {
            let (_, c) = x509_parser::parse_x509_certificate(&p.contents).ok()?;
            Some(c.public_key().algorithm.algorithm.to_id_string() == "1.2.840.10045.2.1")
        })
        .unwrap_or(false)
}

/// Re-issues the pool certificate with `names` added to its alt names (same key type), and
/// stores certificate, key and names in one transaction. The previous certificate is not
/// revoked: hosts still serving it keep working until they have the new one. Returns the new
/// state (unchanged when every name was already there).
pub fn add_names(
    pool: &PoolStore,
    names: &[String],
    ca_settings: troupe_ca::Settings,
) -> Result<PoolState> {
    let names: Vec<String> = names.iter().flat_map(|n| split_names(n)).collect();
    if names.is_empty() {
        return Err(PoolError::Invalid("name the alt names to add".into()));
    }
    check_alt_names(&names)?;
    let _lock = PoolLock::acquire(&pool.store, LOCK_WAIT)?;
    let state = pool.state()?;
    pool.check_secret(&state)?;
    let mut alts = state.alt_names.clone();
    for n in names {
        if !alts.iter().any(|a| a.eq_ignore_ascii_case(&n)) {
            alts.push(n);
        }
    }
    if alts == state.alt_names {
        return Ok(state);
    }
    if pool.store.get(keys::CA_CRT)?.is_none() && pool.sealed() {
        return Err(PoolError::Corrupt(format!(
            "the store holds a pool certificate but no CA ({} is missing)",
            keys::CA_CRT
        )));
    }
    let mut settings = ca_settings;
    settings.shared = pool.sealed().then(|| pool.shared_with(pool.secret.clone()));
    settings.allow_duplicate_certs = true;
    let ca = ca::open(settings)?;
    let ecdsa = is_ecdsa(&state.crt_pem);
    let (crt, key) = ca.generate_with(&state.name, &alts, ecdsa, false)?;
    let sealed_key = pool.seal_key(pool.secret.as_ref(), key.as_bytes())?;
    let stored = pool.store.txn(
        &[Compare::Version(keys::CRT.into(), state.crt_version)],
        &[
            Op::Put(keys::CRT.into(), crt.into_bytes()),
            Op::Put(pool.key_key().into(), sealed_key),
            Op::Put(keys::ALT_NAMES.into(), alts.join(",").into_bytes()),
        ],
    )?;
    if !stored {
        return Err(PoolError::Invalid(
            "the pool certificate changed while it was re-issued; run the command again".into(),
        ));
    }
    pool.state()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alt_names_are_checked() {
        let ok: Vec<String> = ["puppet", "IP:10.0.0.1", "DNS:p.example.test", "IP:::1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(check_alt_names(&ok).is_ok());
        for bad in ["IP:10.0.0.300", "a b", "x/y", "", "DNS:", "a..b"] {
            let e = check_alt_names(&[bad.to_string()]).expect_err(bad);
            assert!(e.to_string().contains("alt name"), "{e}");
        }
    }
}
