//! Files on disk: atomic writes (temp file, fsync, rename, directory fsync), private keys with
//! Puppet's modes, the check of keys and key directories found with looser modes, and the
//! removal of temp files an interrupted atomic write left behind.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Private keys in the CA directory and the ssldir: puppetserver's `private-key-perms`
/// (`rw-r-----`), Puppet's `hostprivkey` mode.
pub const PRIVATE_KEY_MODE: u32 = 0o640;
/// Directories of private keys: puppetserver's `private-key-dir-perms` (`rwxr-x---`), Puppet's
/// `privatekeydir` mode.
pub const PRIVATE_DIR_MODE: u32 = 0o750;
/// A key written outside Puppet's layout (`troupe ca generate --out DIR`): owner only.
pub const STANDALONE_KEY_MODE: u32 = 0o600;
/// A directory created for such keys.
pub const STANDALONE_DIR_MODE: u32 = 0o700;

static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The temp file an atomic write of `name` uses: `.<name>.tmp<pid>.<seq>`.
fn temp_name(name: &str) -> String {
    format!(
        ".{name}.tmp{}.{}",
        std::process::id(),
        SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// Whether a file name is one of `temp_name`'s.
pub fn is_temp_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let Some(i) = rest.rfind(".tmp") else {
        return false;
    };
    let Some((pid, seq)) = rest[i + 4..].split_once('.') else {
        return false;
    };
    i > 0
        && !pid.is_empty()
        && !seq.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && seq.bytes().all(|b| b.is_ascii_digit())
}

/// Writes a file atomically: temp file, fsync, rename, directory fsync.
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    write_atomic_mode(path, data, None)
}

/// Writes a private key atomically with `mode` (e.g. `PRIVATE_KEY_MODE`): the temp file is
/// created with that mode, so the key is never readable by others, not even for a moment.
pub fn write_private(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    write_atomic_mode(path, data, Some(mode))
}

fn write_atomic_mode(path: &Path, data: &[u8], mode: Option<u32>) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(temp_name(&name));
    let written = (|| {
        let mut o = OpenOptions::new();
        o.write(true).create_new(true);
        if let Some(m) = mode {
            o.mode(m);
        }
        let mut f = o.open(&tmp)?;
        if let Some(m) = mode {
            // The umask only ever clears bits; set the exact mode anyway.
            f.set_permissions(fs::Permissions::from_mode(m))?;
        }
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates `dir` (and its parents) when missing, a new one with `mode`; an existing one with
/// bits beyond `mode` is tightened. Returns what was tightened, to report.
pub fn ensure_private_dir(dir: &Path, mode: u32) -> std::io::Result<Option<String>> {
    if !dir.exists() {
        fs::create_dir_all(dir)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(mode))?;
        return Ok(None);
    }
    tighten(dir, mode)
}

/// When `path` has permission bits beyond `allowed` (a key readable by others, say), clears
/// them and says what it did: `<path> had mode 0644, looser than 0640; now 0640`.
pub fn tighten(path: &Path, allowed: u32) -> std::io::Result<Option<String>> {
    let mode = fs::metadata(path)?.permissions().mode() & 0o7777;
    if mode & !allowed == 0 {
        return Ok(None);
    }
    let new = mode & allowed;
    fs::set_permissions(path, fs::Permissions::from_mode(new))?;
    Ok(Some(format!(
        "{} had mode {mode:04o}, looser than {allowed:04o}; now {new:04o}",
        path.display()
    )))
}

/// Removes the temp files interrupted atomic writes left in `dir` (call with the CA lock
/// held: every atomic write into the CA directory happens under it). Returns their names.
pub fn remove_stale_temps(dir: &Path) -> Vec<String> {
    let mut removed = vec![];
    let Ok(rd) = fs::read_dir(dir) else {
        return removed;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if is_temp_name(&name)
            && e.file_type().is_ok_and(|t| t.is_file())
            && fs::remove_file(e.path()).is_ok()
        {
            removed.push(e.path().display().to_string());
        }
    }
    removed.sort();
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_recognised() {
        let t = temp_name("serial");
        assert!(is_temp_name(&t), "{t}");
        assert!(is_temp_name(".node1.example.test.pem.tmp12.0"));
        assert!(!is_temp_name("serial"));
        assert!(!is_temp_name(".troupe-ca.lock"));
        assert!(!is_temp_name("node.tmp1.2"));
        assert!(!is_temp_name(".x.tmp.2"));
        assert!(!is_temp_name(".tmp1.2"));
    }
}
