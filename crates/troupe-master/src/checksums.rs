//! File checksums, remembered. A plugin sync lists every file of every module's `lib` with its
//! checksum, on every agent run: for a site with Debian's modules that is a thousand files
//! read and hashed per run, where the files change only when code is deployed. A checksum is
//! kept per path and kind with the file's identity and change stamps (device, inode, size,
//! modification and status-change times to the nanosecond, as git and rsync judge a file
//! unchanged); any write to the file moves its status-change time, so a changed file is
//! hashed again. Bounded: when full, the cache starts over.

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// Checksums kept at most (a few hundred bytes each).
const CAPACITY: usize = 200_000;

type Stamp = (u64, u64, u64, i64, i64, i64, i64);

fn stamp(md: &Metadata) -> Stamp {
    (
        md.dev(),
        md.ino(),
        md.size(),
        md.mtime(),
        md.mtime_nsec(),
        md.ctime(),
        md.ctime_nsec(),
    )
}

type Map = HashMap<(PathBuf, String), (Stamp, (String, String))>;

fn cache() -> &'static Mutex<Map> {
    static CACHE: OnceLock<Mutex<Map>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// `compute(path)` for a file whose metadata (of the file read, links followed) is `md`,
/// or the remembered answer while the file is unchanged.
pub fn remembered(
    path: &Path,
    kind: &str,
    md: &Metadata,
    compute: impl FnOnce() -> std::io::Result<(String, String)>,
) -> std::io::Result<(String, String)> {
    let key = (path.to_path_buf(), kind.to_string());
    let now = stamp(md);
    if let Ok(c) = cache().lock() {
        if let Some((s, v)) = c.get(&key) {
            if *s == now {
                return Ok(v.clone());
            }
        }
    }
    let v = compute()?;
    // Only a file that did not change while it was read is remembered.
    let after = std::fs::metadata(path).map(|m| stamp(&m)).ok();
    if after == Some(now) {
        if let Ok(mut c) = cache().lock() {
            if c.len() >= CAPACITY {
                c.clear();
            }
            c.insert(key, (now, v.clone()));
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_file_is_hashed_again() {
        let d = std::env::temp_dir().join(format!("troupe-checksums-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("dir");
        let f = d.join("x.rb");
        std::fs::write(&f, "one").expect("write");
        let calls = std::cell::Cell::new(0);
        let sum = |f: &Path| {
            let md = std::fs::metadata(f).expect("md");
            remembered(f, "sha256", &md, || {
                calls.set(calls.get() + 1);
                Ok(("sha256".into(), std::fs::read_to_string(f)?))
            })
            .expect("sum")
            .1
        };
        assert_eq!(sum(&f), "one");
        assert_eq!(sum(&f), "one");
        assert_eq!(calls.get(), 1, "unchanged: remembered");
        // Same size, and the modification time put back: the status-change time still moves.
        let mtime = std::fs::metadata(&f)
            .and_then(|m| m.modified())
            .expect("mtime");
        std::fs::write(&f, "two").expect("write");
        std::fs::File::options()
            .write(true)
            .open(&f)
            .and_then(|h| h.set_modified(mtime))
            .expect("set mtime");
        assert_eq!(sum(&f), "two");
        assert_eq!(calls.get(), 2);
        let _ = std::fs::remove_dir_all(&d);
    }
}
