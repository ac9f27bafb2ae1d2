//! The `dir:PATH` backend: one file per key under PATH, for one host.
//!
//! Writes go to a temporary file (`.NAME.tmp.*`, never listed) that is fsynced and renamed
//! over the key's file, then the directory is fsynced. Every change takes an exclusive flock
//! on PATH itself, so transactions are atomic between threads and processes of this host;
//! reads need no lock (renames are atomic). Watches poll the files' inode, mtime and size;
//! leases live in this process only.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};
use crate::{Compare, Entry, LeaseId, Op, Watch, WatchEvent, WatchStop};

const WATCH_POLL: Duration = Duration::from_millis(50);
const LEASE_POLL: Duration = Duration::from_millis(100);
const NEW_FILE_MODE: u32 = 0o640;

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A store in a local directory.
#[derive(Debug, Clone)]
pub struct DirStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    leases: Mutex<Leases>,
}

#[derive(Debug, Default)]
struct Leases {
    next: i64,
    reaper_started: bool,
    live: HashMap<i64, Lease>,
}

#[derive(Debug)]
struct Lease {
    ttl: Duration,
    deadline: Instant,
    keys: Vec<String>,
}

/// The version of a value on this backend: a digest of the contents (never 0).
fn version_of(value: &[u8]) -> u64 {
    let d = Sha256::digest(value);
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_be_bytes(b).max(1)
}

impl DirStore {
    /// Opens (creating it if needed) the directory.
    pub fn open(root: &Path) -> Result<DirStore> {
        fs::create_dir_all(root).map_err(|e| StoreError::io(root, &e))?;
        Ok(DirStore {
            inner: Arc::new(Inner {
                root: root.to_path_buf(),
                leases: Mutex::new(Leases::default()),
            }),
        })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    fn path(&self, key: &str) -> PathBuf {
        self.inner.root.join(key)
    }

    /// The exclusive lock every change holds (released when the file is closed).
    fn lock(&self) -> Result<File> {
        let root = &self.inner.root;
        let f = File::open(root).map_err(|e| StoreError::io(root, &e))?;
        f.lock().map_err(|e| StoreError::io(root, &e))?;
        Ok(f)
    }

    fn leases(&self) -> MutexGuard<'_, Leases> {
        self.inner.leases.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path(key);
        match fs::read(&path) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::NotADirectory => {
                Ok(None)
            }
            Err(e) => Err(StoreError::io(&path, &e)),
        }
    }

    fn write(&self, key: &str, value: &[u8]) -> Result<()> {
        let path = self.path(key);
        let parent = path.parent().unwrap_or(&self.inner.root).to_path_buf();
        fs::create_dir_all(&parent).map_err(|e| StoreError::io(&parent, &e))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = parent.join(format!(".{name}.tmp.{}.{n}", std::process::id()));
        // A replaced file keeps its permissions (ca_key.pem stays private); a new one is
        // readable by its owner and group only.
        let mode = fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(NEW_FILE_MODE);
        let result = (|| {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&tmp)?;
            f.set_permissions(fs::Permissions::from_mode(mode))?;
            f.write_all(value)?;
            f.sync_all()?;
            drop(f);
            fs::rename(&tmp, &path)?;
            File::open(&parent)?.sync_all()
        })();
        result.map_err(|e| {
            let _ = fs::remove_file(&tmp);
            StoreError::io(&path, &e)
        })
    }

    fn remove(&self, key: &str) -> Result<bool> {
        let path = self.path(key);
        match fs::remove_file(&path) {
            Ok(()) => {
                if let Some(parent) = path.parent() {
                    let _ = File::open(parent).and_then(|d| d.sync_all());
                }
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::NotADirectory => {
                Ok(false)
            }
            Err(e) => Err(StoreError::io(&path, &e)),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Result<Option<Entry>> {
        Ok(self.read(key)?.map(|value| Entry {
            key: key.to_string(),
            version: version_of(&value),
            value,
        }))
    }

    pub(crate) fn put(&self, key: &str, value: &[u8], lease: Option<LeaseId>) -> Result<()> {
        let _lock = self.lock()?;
        let mut leases = self.leases();
        if let Some(id) = lease {
            if !leases.live.contains_key(&id.0) {
                return Err(StoreError::LeaseNotFound(id.0));
            }
        }
        self.write(key, value)?;
        for l in leases.live.values_mut() {
            l.keys.retain(|k| k != key);
        }
        if let Some(l) = lease.and_then(|id| leases.live.get_mut(&id.0)) {
            l.keys.push(key.to_string());
        }
        Ok(())
    }

    pub(crate) fn delete(&self, key: &str) -> Result<bool> {
        let _lock = self.lock()?;
        self.remove(key)
    }

    pub(crate) fn list(&self, prefix: &str) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        for key in self.scan(prefix)?.into_keys() {
            if let Some(e) = self.get(&key)? {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// Keys under `prefix` with a change stamp (inode, mtime, size) each.
    fn scan(&self, prefix: &str) -> Result<BTreeMap<String, (u64, i64, i64, u64)>> {
        let base = match prefix.rfind('/') {
            Some(i) => &prefix[..i],
            None => "",
        };
        let mut out = BTreeMap::new();
        let mut stack = vec![(self.inner.root.join(base), base.to_string())];
        while let Some((dir, rel)) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e)
                    if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::NotADirectory =>
                {
                    continue
                }
                Err(e) => return Err(StoreError::io(&dir, &e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| StoreError::io(&dir, &e))?;
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if name.starts_with('.') {
                    continue;
                }
                let key = if rel.is_empty() {
                    name.to_string()
                } else {
                    format!("{rel}/{name}")
                };
                let Ok(meta) = entry.metadata() else { continue };
                if meta.is_dir() {
                    if prefix.starts_with(&format!("{key}/")) || key.starts_with(prefix) {
                        stack.push((entry.path(), key));
                    }
                } else if meta.is_file() && key.starts_with(prefix) {
                    out.insert(
                        key,
                        (meta.ino(), meta.mtime(), meta.mtime_nsec(), meta.len()),
                    );
                }
            }
        }
        Ok(out)
    }

    pub(crate) fn txn(&self, compares: &[Compare], ops: &[Op]) -> Result<bool> {
        let _lock = self.lock()?;
        for c in compares {
            let holds = match c {
                Compare::Absent(k) => self.read(k)?.is_none(),
                Compare::Version(k, v) => self.read(k)?.is_some_and(|val| version_of(&val) == *v),
                Compare::Value(k, v) => self.read(k)?.is_some_and(|val| val == *v),
            };
            if !holds {
                return Ok(false);
            }
        }
        for op in ops {
            match op {
                Op::Put(k, v) => self.write(k, v)?,
                Op::Delete(k) => {
                    self.remove(k)?;
                }
            }
        }
        Ok(true)
    }

    pub(crate) fn lease_grant(&self, ttl_secs: u64) -> Result<LeaseId> {
        let mut leases = self.leases();
        leases.next += 1;
        let id = leases.next;
        let ttl = Duration::from_secs(ttl_secs);
        leases.live.insert(
            id,
            Lease {
                ttl,
                deadline: Instant::now() + ttl,
                keys: Vec::new(),
            },
        );
        if !leases.reaper_started {
            leases.reaper_started = true;
            let weak = Arc::downgrade(&self.inner);
            std::thread::Builder::new()
                .name("store-lease-reaper".into())
                .spawn(move || reap_leases(weak))
                .map_err(|e| StoreError::io(&self.inner.root, &e))?;
        }
        Ok(LeaseId(id))
    }

    pub(crate) fn lease_keepalive(&self, lease: LeaseId) -> Result<()> {
        let mut leases = self.leases();
        match leases.live.get_mut(&lease.0) {
            Some(l) if l.deadline > Instant::now() => {
                l.deadline = Instant::now() + l.ttl;
                Ok(())
            }
            _ => Err(StoreError::LeaseNotFound(lease.0)),
        }
    }

    pub(crate) fn lease_revoke(&self, lease: LeaseId) -> Result<()> {
        let _lock = self.lock()?;
        let removed = self.leases().live.remove(&lease.0);
        match removed {
            Some(l) => {
                for k in l.keys {
                    self.remove(&k)?;
                }
                Ok(())
            }
            None => Err(StoreError::LeaseNotFound(lease.0)),
        }
    }

    fn reap_expired(&self) {
        let now = Instant::now();
        let expired: Vec<i64> = self
            .leases()
            .live
            .iter()
            .filter(|(_, l)| l.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            let _ = self.lease_revoke(LeaseId(id));
        }
    }

    pub(crate) fn watch(&self, prefix: &str) -> Result<Watch> {
        let mut seen = self.scan(prefix)?;
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let store = self.clone();
        let prefix = prefix.to_string();
        std::thread::Builder::new()
            .name("store-dir-watch".into())
            .spawn(move || {
                while !stop2.load(Ordering::Relaxed) {
                    std::thread::sleep(WATCH_POLL);
                    let Ok(now) = store.scan(&prefix) else {
                        continue;
                    };
                    for (key, stamp) in &now {
                        if seen.get(key) != Some(stamp) {
                            if let Ok(Some(value)) = store.read(key) {
                                if tx
                                    .send(WatchEvent::Put {
                                        key: key.clone(),
                                        value,
                                    })
                                    .is_err()
                                {
                                    return;
                                }
                            }
                        }
                    }
                    for key in seen.keys() {
                        if !now.contains_key(key)
                            && tx.send(WatchEvent::Delete { key: key.clone() }).is_err()
                        {
                            return;
                        }
                    }
                    seen = now;
                }
            })
            .map_err(|e| StoreError::io(&self.inner.root, &e))?;
        Ok(Watch {
            rx,
            _stop: WatchStop::Dir(stop),
        })
    }
}

fn reap_leases(weak: Weak<Inner>) {
    loop {
        std::thread::sleep(LEASE_POLL);
        let Some(inner) = weak.upgrade() else { return };
        DirStore { inner }.reap_expired();
    }
}
