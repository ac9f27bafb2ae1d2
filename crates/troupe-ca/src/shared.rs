//! The CA in the pool's shared store (etcd), with the key layout of the contract between the
//! CA and the pool: `ca_crt.pem`, `ca_crl.pem`, `ca_pub.pem`, `serial`, `signed/NAME.pem`,
//! `requests/NAME.pem`, one `inventory/<serial, 16 hex digits>` key per certificate, and the CA
//! key sealed with the pool's join secret in `sealed/ca_key.pem`.
//!
//! * Issuing a certificate is one transaction: the `serial` key still at the version read (and
//!   `signed/NAME.pem` absent unless duplicates are allowed) → `serial` + 1, the certificate,
//!   its inventory line, the pending request removed. A lost compare is read again and retried,
//!   so serials are unique across hosts even if the lock below was lost, and a member that dies
//!   mid-signing leaves either the whole certificate or nothing.
//! * CA changes are serialized across hosts by a lock in the store (`troupe_store::StoreLocker`):
//!   each contender puts `locks/ca/<its lease, 16 hex>` (value `host pid`) with a lease of
//!   `LOCK_TTL` kept alive while the CA is open; the contender whose key was written first
//!   holds the lock. A host that dies frees it within `LOCK_TTL`. Within one process a mutex
//!   comes first.
//! * The CA certificate, the CRL and signed certificates read from the store are cached in
//!   `cadir` (written only when they differ), and served from there while the store is
//!   unavailable. The CA key is never written to local disk; unsealed, it is kept in memory.

use crate::files::write_atomic;
use crate::{CaError, CaResult};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use troupe_store::{Compare, Op, Shared, Store, StoreError, StoreLock, StoreLocker};

/// The CA key, sealed with the join secret (the key name is the sealing label).
pub(crate) const SEALED_KEY: &str = "sealed/ca_key.pem";
/// The CA lock: its keys are `locks/ca/<lease>`.
pub(crate) const LOCK_NAME: &str = "locks/ca";
/// The lease of a lock key: a host that dies frees the lock within it.
pub(crate) const LOCK_TTL: Duration = Duration::from_secs(10);
/// How long a CA change waits for the lock before answering 503.
const LOCK_WAIT: Duration = Duration::from_secs(30);
/// How often an issue transaction is tried when other hosts keep winning the serial.
const ISSUE_ATTEMPTS: usize = 50;
/// The keys whose presence says the store holds a CA.
pub(crate) const REQUIRED: [&str; 4] = ["ca_crt.pem", SEALED_KEY, "ca_crl.pem", "serial"];

/// A store error as the CA answers it: 503 (`the CA store is unavailable: ...`) when the store
/// cannot be reached, 500 otherwise.
pub(crate) fn store_err(e: StoreError) -> CaError {
    if e.is_unavailable() {
        CaError::new(503, e.to_string())
    } else {
        CaError::new(500, format!("CA store: {e}"))
    }
}

/// The inventory key of a serial.
pub(crate) fn inventory_key(serial: u64) -> String {
    format!("inventory/{serial:016X}")
}

/// The CA's view of the shared store.
pub(crate) struct SharedCa {
    pub(crate) shared: Shared,
    cache: PathBuf,
    key: Mutex<Option<String>>,
    /// The CA certificate that signs (it goes with the key, so it is kept as long).
    pub(crate) signer: Mutex<Option<String>>,
    locker: StoreLocker,
    /// Until when reads of cached keys go to the cache without asking the store (set when the
    /// store was found unavailable), so an outage does not make every read wait for a timeout.
    down_until: Mutex<Option<Instant>>,
}

/// How long the store is not asked after it was found unavailable: cached reads use the cache,
/// changes answer 503 at once (an outage costs one call's timeout, not one per call).
const DOWN_PAUSE: Duration = Duration::from_secs(2);

impl std::fmt::Debug for SharedCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCa")
            .field("store", &self.shared.store)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

/// The CA lock, held until dropped.
pub(crate) type SharedLock<'a> = StoreLock<'a>;

fn cached_key(key: &str) -> bool {
    key == "ca_crt.pem" || key == "ca_crl.pem" || key.starts_with("signed/")
}

impl SharedCa {
    pub(crate) fn new(shared: Shared, cache: &Path) -> SharedCa {
        SharedCa {
            locker: StoreLocker::new(&shared.store, LOCK_NAME, LOCK_TTL),
            shared,
            cache: cache.to_path_buf(),
            key: Mutex::new(None),
            signer: Mutex::new(None),
            down_until: Mutex::new(None),
        }
    }

    /// The store, for reads: always asked (a read of an uncached key has nowhere else to go).
    pub(crate) fn store(&self) -> CaResult<&Store> {
        Ok(&self.shared.store)
    }

    /// The store, for changes, unless it was found unavailable less than `DOWN_PAUSE` ago:
    /// then a 503 at once (a change during an outage costs one call's timeout, not one per
    /// store call it makes).
    pub(crate) fn changing(&self) -> CaResult<&Store> {
        let down = *self.down_until.lock().unwrap_or_else(|p| p.into_inner());
        match down {
            Some(t) if Instant::now() < t => Err(CaError::new(
                503,
                "the CA store is unavailable: etcd did not answer a moment ago; try again shortly",
            )),
            _ => Ok(&self.shared.store),
        }
    }

    /// A store error as the CA answers it; an unavailable store is remembered (`mark_down`).
    pub(crate) fn fail(&self, e: StoreError) -> CaError {
        if e.is_unavailable() {
            self.mark_down();
        }
        store_err(e)
    }

    /// Takes the CA lock (`locks/ca`; see `troupe_store::StoreLocker`).
    pub(crate) fn lock(&self) -> CaResult<SharedLock<'_>> {
        self.changing()?;
        self.locker.lock(LOCK_WAIT).map_err(|e| self.fail(e))
    }

    /// A key's value and version; a cached key falls back to the local copy when the store is
    /// unavailable (version 0).
    pub(crate) fn entry(&self, key: &str) -> CaResult<Option<(String, u64)>> {
        let down = *self.down_until.lock().unwrap_or_else(|p| p.into_inner());
        if cached_key(key) && down.is_some_and(|t| Instant::now() < t) {
            if let Ok(text) = fs::read_to_string(self.cache.join(key)) {
                return Ok(Some((text, 0)));
            }
        }
        match self.store()?.get(key) {
            Ok(Some(e)) => {
                let text = String::from_utf8_lossy(&e.value).into_owned();
                if cached_key(key) {
                    self.remember(key, Some(&text));
                }
                Ok(Some((text, e.version)))
            }
            Ok(None) => {
                if cached_key(key) {
                    self.remember(key, None);
                }
                Ok(None)
            }
            Err(e) if e.is_unavailable() && cached_key(key) => {
                self.mark_down();
                match fs::read_to_string(self.cache.join(key)) {
                    Ok(text) => Ok(Some((text, 0))),
                    Err(_) => Err(store_err(e)),
                }
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Notes that the store was found unavailable: cached reads skip it for `DOWN_PAUSE`.
    pub(crate) fn mark_down(&self) {
        *self.down_until.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Instant::now() + DOWN_PAUSE);
    }

    /// Keeps the local copy of a cached key in step (written only when it differs).
    pub(crate) fn remember(&self, key: &str, text: Option<&str>) {
        let path = self.cache.join(key);
        match text {
            Some(t) => {
                if fs::read_to_string(&path).ok().as_deref() != Some(t) {
                    if let Some(d) = path.parent() {
                        let _ = fs::create_dir_all(d);
                    }
                    let _ = write_atomic(&path, t.as_bytes());
                }
            }
            None => {
                let _ = fs::remove_file(&path);
            }
        }
    }

    pub(crate) fn put(&self, key: &str, data: &[u8]) -> CaResult<()> {
        self.changing()?.put(key, data).map_err(|e| self.fail(e))?;
        if cached_key(key) {
            self.remember(key, Some(&String::from_utf8_lossy(data)));
        }
        Ok(())
    }

    pub(crate) fn put_if(&self, key: &str, data: &[u8], version: u64) -> CaResult<bool> {
        let done = self
            .changing()?
            .put_if_version(key, data, version)
            .map_err(|e| self.fail(e))?;
        if done && cached_key(key) {
            self.remember(key, Some(&String::from_utf8_lossy(data)));
        }
        Ok(done)
    }

    pub(crate) fn remove(&self, key: &str) -> CaResult<bool> {
        let r = self.changing()?.delete(key).map_err(|e| self.fail(e))?;
        if cached_key(key) {
            self.remember(key, None);
        }
        Ok(r)
    }

    /// The certnames with a `DIR/NAME.pem` key, sorted.
    pub(crate) fn names(&self, dir: &str) -> CaResult<Vec<String>> {
        Ok(self.entries(dir)?.into_iter().map(|(n, _)| n).collect())
    }

    /// The certnames with a `DIR/NAME.pem` key and their values, sorted by name.
    pub(crate) fn entries(&self, dir: &str) -> CaResult<Vec<(String, String)>> {
        let prefix = format!("{dir}/");
        let mut out: Vec<(String, String)> = self
            .store()?
            .list(&prefix)
            .map_err(|e| self.fail(e))?
            .into_iter()
            .filter_map(|e| {
                let rest = e.key.strip_prefix(&prefix)?;
                let name = rest.strip_suffix(".pem").filter(|n| !n.contains('/'))?;
                Some((
                    name.to_string(),
                    String::from_utf8_lossy(&e.value).into_owned(),
                ))
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// The join secret, or 503 naming `join_secret_file`.
    pub(crate) fn secret(&self, doing: &str) -> CaResult<&troupe_store::Secret> {
        self.shared.secret.as_ref().ok_or_else(|| {
            CaError::new(
                503,
                format!("cannot {doing} on this host: the CA key in the store is sealed with the pool's join secret, and this host has none (set join_secret_file to the file `troupe pool init` wrote)"),
            )
        })
    }

    /// The CA key (PEM), unsealed with the join secret (once; then kept in memory).
    pub(crate) fn key_pem(&self) -> CaResult<String> {
        let mut slot = self.key.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = slot.as_ref() {
            return Ok(k.clone());
        }
        let secret = self.secret("sign")?;
        let sealed = self
            .store()?
            .get(SEALED_KEY)
            .map_err(|e| self.fail(e))?
            .ok_or_else(|| CaError::new(500, format!("the CA store has no {SEALED_KEY}")))?;
        let plain = secret.unseal(SEALED_KEY, &sealed.value).map_err(|e| {
            CaError::new(
                500,
                format!("cannot unseal the CA key ({SEALED_KEY}) with the join secret of join_secret_file (is it this pool's secret?): {e}"),
            )
        })?;
        let pem = String::from_utf8(plain)
            .map_err(|_| CaError::new(500, format!("{SEALED_KEY} does not hold a PEM key")))?;
        *slot = Some(pem.clone());
        Ok(pem)
    }

    /// `pem` sealed for `SEALED_KEY`.
    pub(crate) fn seal_key(&self, pem: &str) -> CaResult<Vec<u8>> {
        self.secret("create or import the CA")?
            .seal(SEALED_KEY, pem.as_bytes())
            .map_err(|e| CaError::new(500, format!("cannot seal the CA key: {e}")))
    }

    /// Creates the CA's keys in one transaction, only if the store holds no CA certificate.
    /// Returns whether this call created it (false: another host was first).
    pub(crate) fn create(&self, puts: Vec<(String, Vec<u8>)>) -> CaResult<bool> {
        let compares: Vec<Compare> = REQUIRED
            .iter()
            .map(|k| Compare::Absent(k.to_string()))
            .collect();
        let ops: Vec<Op> = puts.into_iter().map(|(k, v)| Op::Put(k, v)).collect();
        self.changing()?
            .txn(&compares, &ops)
            .map_err(|e| self.fail(e))
    }

    /// Issues a certificate for `name` in one transaction (see the module documentation):
    /// `build(serial)` makes the certificate and its inventory line.
    pub(crate) fn issue(
        &self,
        name: &str,
        unique: bool,
        remove_request: bool,
        build: &mut dyn FnMut(u64) -> CaResult<(String, String)>,
    ) -> CaResult<String> {
        let signed = format!("signed/{name}.pem");
        for _ in 0..ISSUE_ATTEMPTS {
            let (text, version) = self
                .store()?
                .get("serial")
                .map_err(|e| self.fail(e))?
                .map(|e| (String::from_utf8_lossy(&e.value).into_owned(), e.version))
                .ok_or_else(|| CaError::new(500, "the CA store has no serial"))?;
            let serial = crate::inventory::parse_serial(&text)?;
            let (cert, line) = build(serial)?;
            let mut compares = vec![Compare::Version("serial".into(), version)];
            if unique {
                compares.push(Compare::Absent(signed.clone()));
            }
            let mut ops = vec![
                Op::Put("serial".into(), format!("{:04X}", serial + 1).into_bytes()),
                Op::Put(signed.clone(), cert.clone().into_bytes()),
                Op::Put(inventory_key(serial), line.into_bytes()),
            ];
            if remove_request {
                ops.push(Op::Delete(format!("requests/{name}.pem")));
            }
            if self
                .changing()?
                .txn(&compares, &ops)
                .map_err(|e| self.fail(e))?
            {
                self.remember(&signed, Some(&cert));
                return Ok(cert);
            }
            if unique
                && self
                    .store()?
                    .get(&signed)
                    .map_err(|e| self.fail(e))?
                    .is_some()
            {
                return Err(CaError::new(
                    409,
                    format!("{name} already has a signed certificate"),
                ));
            }
        }
        Err(CaError::new(
            503,
            format!("could not allocate a serial for {name}: {ISSUE_ATTEMPTS} attempts lost to other hosts; try again"),
        ))
    }

    /// The inventory, rendered as `inventory.txt`: the lines ordered by serial.
    pub(crate) fn inventory(&self) -> CaResult<String> {
        Ok(self
            .store()?
            .list("inventory/")
            .map_err(|e| self.fail(e))?
            .into_iter()
            .map(|e| String::from_utf8_lossy(&e.value).into_owned())
            .collect())
    }

    /// Moves `serial` past every serial of the inventory (with the lock held).
    pub(crate) fn repair_serial(&self) -> CaResult<Option<String>> {
        let max = self
            .store()?
            .list("inventory/")
            .map_err(|e| self.fail(e))?
            .iter()
            .filter_map(|e| u64::from_str_radix(e.key.strip_prefix("inventory/")?, 16).ok())
            .max()
            .unwrap_or(0);
        let Some(e) = self.store()?.get("serial").map_err(|e| self.fail(e))? else {
            return Ok(None);
        };
        let n = crate::inventory::parse_serial(&String::from_utf8_lossy(&e.value))?;
        if n > max {
            return Ok(None);
        }
        let next = format!("{:04X}", max + 1);
        self.put_if("serial", next.as_bytes(), e.version)?;
        Ok(Some(format!(
            "serial: held {n:04X}, but the inventory lists {max:04X}; now {next}"
        )))
    }

    /// Whether a CA certificate is cached locally (the CA can be opened while the store is
    /// unavailable).
    pub(crate) fn has_cache(&self) -> bool {
        self.cache.join("ca_crt.pem").is_file() && self.cache.join("ca_crl.pem").is_file()
    }
}
