//! Report retention: `report_keep` reports per node, none older than `report_ttl`, and temp
//! files left by a crash removed.
//!
//! A node at its `report_keep` has its oldest report's file reused for the next one instead
//! of a new file made and the old one deleted: renamed to a temp name, truncated, written and
//! linked under the new name. The file system then allocates and frees no inode per report
//! (on ext4 without a journal, finding a free inode among recently deleted ones was the
//! largest single cost of a report at thousands of agents). A report that cannot be written
//! loses the oldest one a run early, which retention would have removed on success.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// Temp files older than this are left over from a crash and removed when pruning.
const STALE_TEMP: Duration = Duration::from_secs(3600);

/// A node's stored reports, newest first, with their modification times; stale temp files
/// are removed on the way.
pub fn listing(dir: &Path) -> Vec<(SystemTime, String)> {
    let Ok(rd) = fs::read_dir(dir) else {
        return vec![];
    };
    let now = SystemTime::now();
    let mut reports: Vec<(SystemTime, String)> = vec![];
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(modified) = e.metadata().and_then(|m| m.modified()).ok() else {
            continue;
        };
        if name.starts_with('.') && name.contains(".tmp.") {
            if now.duration_since(modified).unwrap_or_default() > STALE_TEMP {
                let _ = fs::remove_file(e.path());
            }
        } else if name.ends_with(".json") {
            reports.push((modified, name));
        }
    }
    reports.sort_by(|a, b| b.cmp(a));
    reports
}

/// A fresh temp name in `dir` for the report `name`.
pub fn temp_name(dir: &Path, name: &str) -> PathBuf {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    dir.join(format!(
        ".{name}.tmp.{}.{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ))
}

/// When the node already has `keep` reports (or more), moves its oldest to `tmp` for reuse
/// and drops it from `reports`; true when it did.
pub fn take_oldest(
    dir: &Path,
    reports: &mut Vec<(SystemTime, String)>,
    keep: usize,
    tmp: &Path,
) -> bool {
    if keep == 0 || reports.len() < keep {
        return false;
    }
    let Some((_, oldest)) = reports.last().cloned() else {
        return false;
    };
    // Another store of the same node may have taken it first: then a new file is made.
    if fs::rename(dir.join(&oldest), tmp).is_err() {
        return false;
    }
    reports.pop();
    true
}

/// Removes the reports of `reports` (newest first, `stored` just added) beyond the newest
/// `keep` (0: no count limit) and those older than `ttl` seconds (0: no age limit).
pub fn prune(dir: &Path, reports: &[(SystemTime, String)], keep: usize, ttl: u64) {
    let now = SystemTime::now();
    for (i, (modified, name)) in reports.iter().enumerate() {
        // Counting the report just stored, which is not in the listing.
        let too_many = keep > 0 && i + 1 >= keep;
        let too_old =
            ttl > 0 && now.duration_since(*modified).unwrap_or_default() > Duration::from_secs(ttl);
        if too_many || too_old {
            let _ = fs::remove_file(dir.join(name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("troupe-retention-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).expect("dir");
        d
    }

    #[test]
    fn the_oldest_is_taken_only_at_the_limit_and_pruning_counts_the_new_one() {
        let d = scratch("take");
        for (i, n) in ["a.json", "b.json", "c.json"].iter().enumerate() {
            fs::write(d.join(n), "{}").expect("write");
            let t = SystemTime::now() - Duration::from_secs(100 - i as u64);
            fs::File::options()
                .write(true)
                .open(d.join(n))
                .and_then(|f| f.set_modified(t))
                .expect("mtime");
        }
        let mut r = listing(&d);
        assert_eq!(
            r.iter().map(|x| x.1.as_str()).collect::<Vec<_>>(),
            ["c.json", "b.json", "a.json"]
        );
        let tmp = temp_name(&d, "new.json");
        assert!(!take_oldest(&d, &mut r.clone(), 4, &tmp), "below the limit");
        assert!(take_oldest(&d, &mut r, 3, &tmp));
        assert!(tmp.exists() && !d.join("a.json").exists());
        assert_eq!(r.len(), 2);
        // keep 2 with one just stored: of c and b, b goes.
        prune(&d, &r, 2, 0);
        assert!(d.join("c.json").exists() && !d.join("b.json").exists());
        let _ = fs::remove_dir_all(&d);
    }
}
