//! File serving: `file_metadata(s)` and `file_content` for the `plugins`, `pluginfacts`,
//! `locales` and `modules/<module>/...` mounts, with Puppet's metadata JSON.

use serde_json::{json, Value as J};
use sha2::Digest;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// How to answer a metadata search.
#[derive(Debug, Clone)]
pub struct Options {
    pub recurse: bool,
    pub recurselimit: Option<usize>,
    pub max_files: Option<usize>,
    pub ignore: Vec<String>,
    pub follow_links: bool,
    pub checksum_type: String,
    pub use_permissions: bool,
}

impl Options {
    pub fn from_query(q: &[(String, String)]) -> Options {
        let get = |k: &str| q.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
        Options {
            recurse: matches!(get("recurse"), Some("true" | "yes")),
            recurselimit: get("recurselimit").and_then(|v| v.parse().ok()),
            max_files: get("max_files")
                .and_then(|v| v.parse::<i64>().ok())
                .filter(|n| *n >= 0)
                .map(|n| n as usize),
            ignore: q
                .iter()
                .filter(|(k, _)| k == "ignore")
                .map(|(_, v)| v.clone())
                .collect(),
            follow_links: get("links") == Some("follow"),
            checksum_type: get("checksum_type").unwrap_or("sha256").to_string(),
            use_permissions: matches!(get("source_permissions"), Some("use" | "use_when_creating")),
        }
    }
}

/// The directories a mount path resolves to, first match wins.
/// `mount` is the path after `file_metadata(s)/` or `file_content/`.
pub fn bases(mount: &str, modules: &[(String, PathBuf)]) -> Option<(Vec<PathBuf>, String)> {
    let (m, rest) = match mount.split_once('/') {
        Some((m, r)) => (m, r.to_string()),
        None => (mount, String::new()),
    };
    if !safe_relative(&rest) {
        return None;
    }
    let sub = match m {
        "plugins" => "lib",
        "pluginfacts" => "facts.d",
        "locales" => "locales",
        "modules" => {
            let (module, path) = match rest.split_once('/') {
                Some((a, b)) => (a.to_string(), b.to_string()),
                None => (rest.clone(), String::new()),
            };
            let dir = modules.iter().find(|(n, _)| *n == module)?.1.join("files");
            return Some((vec![dir], path));
        }
        _ => return None,
    };
    Some((modules.iter().map(|(_, d)| d.join(sub)).collect(), rest))
}

/// A path inside a mount: empty, or relative segments that are neither empty, `.` nor `..`
/// (an absolute path would replace the base in `Path::join`).
fn safe_relative(rest: &str) -> bool {
    rest.is_empty()
        || (!rest.contains('\0')
            && rest
                .split('/')
                .all(|seg| !seg.is_empty() && seg != "." && seg != ".."))
}

/// `*` and `?` globbing in linear time (one backtrack point: the last `*`).
fn glob_match(pat: &str, name: &str) -> bool {
    let (p, n) = (pat.as_bytes(), name.as_bytes());
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && (p[i] == b'?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == b'*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    while i < p.len() && p[i] == b'*' {
        i += 1;
    }
    i == p.len()
}

/// Whether `path`, symlinks resolved, stays inside `base`.
fn inside(base: &Path, path: &Path) -> bool {
    match (fs::canonicalize(base), fs::canonicalize(path)) {
        (Ok(b), Ok(p)) => p.starts_with(b),
        _ => false,
    }
}

/// Entries a single search may list (a guard against huge or looping trees).
const MAX_ENTRIES: usize = 100_000;

fn ctime_string(md: &fs::Metadata) -> String {
    let secs = md.ctime();
    let days = secs.div_euclid(86400);
    let sod = secs.rem_euclid(86400);
    let (y, m, d) = troupe_eval::time::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} +0000",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `{type}digest` of a file's content.
pub fn checksum(path: &Path, kind: &str) -> std::io::Result<(String, String)> {
    let data = fs::read(path)?;
    // The `lite` checksums cover the first 512 bytes only, as Puppet's do.
    let head = &data[..data.len().min(512)];
    let (t, v) = match kind {
        "md5" => ("md5", hex(&md5::Md5::digest(&data))),
        "md5lite" => ("md5lite", hex(&md5::Md5::digest(head))),
        "sha1" => ("sha1", hex(&sha1::Sha1::digest(&data))),
        "sha1lite" => ("sha1lite", hex(&sha1::Sha1::digest(head))),
        "sha256lite" => ("sha256lite", hex(&sha2::Sha256::digest(head))),
        "sha224" => ("sha224", hex(&sha2::Sha224::digest(&data))),
        "sha384" => ("sha384", hex(&sha2::Sha384::digest(&data))),
        "sha512" => ("sha512", hex(&sha2::Sha512::digest(&data))),
        _ => ("sha256", hex(&sha2::Sha256::digest(&data))),
    };
    Ok((t.to_string(), format!("{{{t}}}{v}")))
}

/// One metadata object (`relative_path` None for a single `file_metadata`), or None when the
/// entry resolves outside `jail` (the mount's directory): with `links=follow` such an entry is
/// not listed at all, and with `links=manage` a link out of the mount is described as a link
/// (its own text) without reading its target. Nothing outside the mount is read or hashed.
pub fn metadata(
    jail: &Path,
    base: &Path,
    rel: Option<&str>,
    o: &Options,
) -> std::io::Result<Option<J>> {
    metadata_in(fs::canonicalize(jail).ok().as_deref(), base, rel, o)
}

/// `metadata` with the mount's directory already resolved (`None`: it does not resolve, and
/// nothing is inside it).
fn metadata_in(
    jail: Option<&Path>,
    base: &Path,
    rel: Option<&str>,
    o: &Options,
) -> std::io::Result<Option<J>> {
    let full = match rel {
        Some(".") | None => base.to_path_buf(),
        Some(r) => base.join(r),
    };
    let lmd = fs::symlink_metadata(&full)?;
    let is_link = lmd.file_type().is_symlink();
    let resolves_inside =
        jail.is_some_and(|j| fs::canonicalize(&full).is_ok_and(|p| p.starts_with(j)));
    if !resolves_inside && (o.follow_links || !is_link) {
        return Ok(None);
    }
    let md = if is_link && o.follow_links {
        fs::metadata(&full)?
    } else {
        lmd.clone()
    };
    let (kind, destination) = if is_link && !o.follow_links {
        (
            "link",
            Some(fs::read_link(&full)?.to_string_lossy().to_string()),
        )
    } else if md.is_dir() {
        ("directory", None)
    } else if md.is_file() {
        ("file", None)
    } else {
        ("none", None)
    };
    let (ctype, cvalue) = match kind {
        "directory" => (
            "ctime".to_string(),
            format!("{{ctime}}{}", ctime_string(&md)),
        ),
        "file" => crate::checksums::remembered(&full, &o.checksum_type, &md, || {
            checksum(&full, &o.checksum_type)
        })?,
        "link" if resolves_inside => match fs::metadata(&full) {
            Ok(t) if t.is_file() => {
                crate::checksums::remembered(&full, &o.checksum_type, &t, || {
                    checksum(&full, &o.checksum_type)
                })?
            }
            _ => ("none".into(), "{none}".into()),
        },
        _ => ("none".into(), "{none}".into()),
    };
    let (owner, group, mode) = if o.use_permissions {
        (md.uid(), md.gid(), md.mode() & 0o7777)
    } else {
        let me = fs::metadata("/proc/self").ok();
        (
            me.as_ref().map(|m| m.uid()).unwrap_or(0),
            me.as_ref().map(|m| m.gid()).unwrap_or(0),
            0o644,
        )
    };
    Ok(Some(json!({
        "path": base.to_string_lossy(),
        "relative_path": rel,
        "links": if o.follow_links { "follow" } else { "manage" },
        "owner": owner,
        "group": group,
        "mode": mode,
        "checksum": {"type": ctype, "value": cvalue},
        "type": kind,
        "destination": destination,
    })))
}

/// `file_metadatas`: every file under the mount's bases, the first base winning for a path.
/// A mount with nothing returns its root entry, as puppetserver does.
pub fn search(
    bases: &[PathBuf],
    rest: &str,
    fallback_root: &Path,
    o: &Options,
) -> std::io::Result<Option<Vec<J>>> {
    if !safe_relative(rest) {
        return Ok(None);
    }
    let roots: Vec<(&PathBuf, PathBuf)> = bases
        .iter()
        .filter_map(|b| {
            let p = if rest.is_empty() {
                b.clone()
            } else {
                b.join(rest)
            };
            (p.exists() && inside(b, &p)).then_some((b, p))
        })
        .collect();
    if roots.is_empty() {
        if rest.is_empty() {
            let mut o = o.clone();
            o.recurse = false;
            return Ok(metadata(fallback_root, fallback_root, Some("."), &o)?.map(|m| vec![m]));
        }
        return Ok(None);
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = vec![];
    for (jail, root) in &roots {
        let jail = fs::canonicalize(jail).ok();
        let mut rels = vec![".".to_string()];
        if o.recurse && root.is_dir() {
            walk(root, "", 1, o, &mut rels);
        }
        for r in rels {
            if let Some(max) = o.max_files {
                if out.len() >= max {
                    break;
                }
            }
            if seen.contains(&r) {
                continue;
            }
            // An entry that vanished, dangles or leads out of the mount is not listed.
            if let Ok(Some(m)) = metadata_in(jail.as_deref(), root, Some(&r), o) {
                seen.insert(r);
                out.push(m);
            }
        }
    }
    Ok(Some(out))
}

fn walk(dir: &Path, prefix: &str, depth: usize, o: &Options, out: &mut Vec<String>) {
    if o.recurselimit.is_some_and(|l| depth > l) || depth > 64 || out.len() >= MAX_ENTRIES {
        return;
    }
    let Ok(rd) = fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().to_string();
        if o.ignore.iter().any(|p| glob_match(p, &name)) {
            continue;
        }
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        out.push(rel.clone());
        let is_dir = if o.follow_links {
            e.path().is_dir()
        } else {
            e.file_type().is_ok_and(|t| t.is_dir())
        };
        // Followed links must not lead out of the mount (or loop back above it).
        let link = e.file_type().is_ok_and(|t| t.is_symlink());
        if is_dir && (!link || inside(dir, &e.path())) {
            walk(&e.path(), &rel, depth + 1, o, out);
        }
    }
}

/// The file a `file_content` or `file_metadata` path names: the first base that has it.
pub fn find(bases: &[PathBuf], rest: &str) -> Option<(PathBuf, PathBuf)> {
    if !safe_relative(rest) {
        return None;
    }
    bases.iter().find_map(|b| {
        let p = if rest.is_empty() {
            b.clone()
        } else {
            b.join(rest)
        };
        (fs::symlink_metadata(&p).is_ok() && inside(b, &p)).then(|| (b.clone(), p))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_globs() {
        assert!(glob_match(".git", ".git"));
        assert!(glob_match("*.pot", "messages.pot"));
        assert!(!glob_match("*.pot", "messages.po"));
        assert!(glob_match("a*b?c", "axxbyc"));
        assert!(!glob_match("a*b?c", "axxbc"));
        // A backtracking matcher would not finish this one (linear time now).
        assert!(!glob_match(
            "*?*?*?*?*?*?*?*?*?*?*?*?*?*?!",
            "abcdefghijklmnopqrstuvwxyz0123456789"
        ));
    }

    #[test]
    fn mounts_resolve_to_module_dirs() {
        let mods = vec![
            ("a".to_string(), PathBuf::from("/m/a")),
            ("b".to_string(), PathBuf::from("/m/b")),
        ];
        let (b, r) = bases("plugins/facter/x.rb", &mods).unwrap_or_default();
        assert_eq!(
            b,
            vec![PathBuf::from("/m/a/lib"), PathBuf::from("/m/b/lib")]
        );
        assert_eq!(r, "facter/x.rb");
        let (b, r) = bases("modules/b/conf/x", &mods).unwrap_or_default();
        assert_eq!(
            (b, r.as_str()),
            (vec![PathBuf::from("/m/b/files")], "conf/x")
        );
        assert!(bases("modules/zz/x", &mods).is_none());
        assert!(bases("plugins/../../etc/passwd", &mods).is_none());
        assert!(bases("plugins//etc/passwd", &mods).is_none());
        assert!(bases("modules/b//etc/shadow", &mods).is_none());
        assert!(bases("plugins/./x", &mods).is_none());
        assert!(find(&[PathBuf::from("/nonexistent-base")], "/etc/passwd").is_none());
        assert!(find(&[PathBuf::from("/tmp")], "../etc/passwd").is_none());
    }
}
