//! The pool's files on a host, in Puppet's ssldir layout: `certs/ca.pem` (CA certificate),
//! `crl.pem`, `certs/<pool name>.pem` (pool certificate), `private_keys/<pool name>.pem` (pool
//! key, 0640 in a 0750 directory), plus `pool_name` (the pool's certname, so a host knows it
//! while the store is unreachable). Each is written atomically and only when its content
//! differs, so file watchers see a change only when there is one.

use std::path::{Path, PathBuf};

use crate::{keys, PoolError, PoolStore, Result};

/// Where the pool's files go in an ssldir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFiles {
    pub ca: PathBuf,
    pub crl: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub name_file: PathBuf,
}

impl LocalFiles {
    pub fn new(ssldir: &Path, name: &str) -> LocalFiles {
        LocalFiles {
            ca: ssldir.join("certs").join("ca.pem"),
            crl: ssldir.join("crl.pem"),
            cert: ssldir.join("certs").join(format!("{name}.pem")),
            key: ssldir.join("private_keys").join(format!("{name}.pem")),
            name_file: ssldir.join("pool_name"),
        }
    }

    /// The pool name last written into `ssldir`, if any.
    pub fn known_name(ssldir: &Path) -> Option<String> {
        let n = std::fs::read_to_string(ssldir.join("pool_name")).ok()?;
        let n = n.trim().to_string();
        troupe_ca::valid_name(&n).is_ok().then_some(n)
    }

    /// True when every file is there (a usable last-known state).
    pub fn complete(&self) -> bool {
        [&self.ca, &self.crl, &self.cert, &self.key]
            .iter()
            .all(|p| p.is_file())
    }
}

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synced {
    /// The pool name.
    pub name: String,
    pub files: LocalFiles,
    /// The files written (their content differed).
    pub changed: Vec<PathBuf>,
}

/// Writes `data` to `path` atomically when its content differs; true when written.
fn write_if_changed(path: &Path, data: &[u8], private: bool) -> Result<bool> {
    if std::fs::read(path).ok().as_deref() == Some(data) {
        return Ok(false);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    if private {
        if let Some(m) = troupe_ca::ensure_private_dir(dir, troupe_ca::PRIVATE_DIR_MODE)
            .map_err(|e| PoolError::io("create", dir, e))?
        {
            tracing::warn!("{m}");
        }
        troupe_ca::write_private(path, data, troupe_ca::PRIVATE_KEY_MODE)
    } else {
        std::fs::create_dir_all(dir).map_err(|e| PoolError::io("create", dir, e))?;
        troupe_ca::write_atomic(path, data)
    }
    .map_err(|e| PoolError::io("write", path, e))?;
    Ok(true)
}

/// Reads the pool's keys from the store once and writes the files that differ into
/// `ssldir`. Fails (leaving every file as it was) when the store is unreachable, holds no pool,
/// or the key cannot be unsealed with this host's secret.
pub fn sync_once(pool: &PoolStore, ssldir: &Path) -> Result<Synced> {
    let state = pool.state()?;
    pool.check_secret(&state)?;
    let need = |key: &str| -> Result<Vec<u8>> {
        pool.store.get(key)?.map(|e| e.value).ok_or_else(|| {
            PoolError::Corrupt(format!(
                "the store holds a pool certificate but no {key}: the pool was not fully initialized; run `troupe pool init` again"
            ))
        })
    };
    let ca = need(keys::CA_CRT)?;
    let crl = need(keys::CA_CRL)?;
    let key = pool.open_key(&need(pool.key_key())?)?;
    let files = LocalFiles::new(ssldir, &state.name);
    let mut changed = vec![];
    // The key before its certificate: a reader that sees a new certificate finds its key.
    for (path, data, private) in [
        (
            &files.name_file,
            format!("{}\n", state.name).into_bytes(),
            false,
        ),
        (&files.ca, ca, false),
        (&files.key, key, true),
        (&files.cert, state.crt_pem.into_bytes(), false),
        (&files.crl, crl, false),
    ] {
        if write_if_changed(path, &data, private)? {
            changed.push(path.clone());
        }
    }
    // A key left readable by others (by hand, an older install) is tightened, and said so.
    if let Ok(Some(m)) = troupe_ca::tighten(&files.key, troupe_ca::PRIVATE_KEY_MODE) {
        tracing::warn!("{m}");
    }
    Ok(Synced {
        name: state.name,
        files,
        changed,
    })
}

/// Joins this host to the pool: checks its join secret against the pool's, then fetches the
/// CA certificate, the CRL, the pool certificate and its key into `ssldir`.
pub fn join(pool: &PoolStore, ssldir: &Path) -> Result<Synced> {
    if pool.sealed() && pool.secret.is_none() {
        return Err(PoolError::NoSecret("join the pool".into()));
    }
    sync_once(pool, ssldir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_only_changes_and_keeps_key_modes() {
        use std::os::unix::fs::PermissionsExt;
        let d = std::env::temp_dir().join(format!("troupe-pool-local-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let f = LocalFiles::new(&d, "puppet");
        assert!(write_if_changed(&f.key, b"KEY", true).expect("write"));
        assert!(!write_if_changed(&f.key, b"KEY", true).expect("same"));
        assert!(write_if_changed(&f.key, b"KEY2", true).expect("changed"));
        let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode(&f.key).ok(), Some(0o640));
        assert_eq!(mode(&d.join("private_keys")).ok(), Some(0o750));
        std::fs::set_permissions(&f.key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(!write_if_changed(&f.key, b"KEY2", true).expect("same content"));
        assert!(write_if_changed(&f.ca, b"CA", false).expect("ca"));
        assert!(!f.complete());
        let _ = std::fs::remove_dir_all(&d);
    }
}
