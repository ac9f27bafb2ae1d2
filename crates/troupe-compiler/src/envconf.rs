//! An environment's `environment.conf`, read and resolved as Puppet resolves it: its
//! settings are those of the `[main]` section (or of no section); a relative `modulepath`
//! entry or `manifest` is relative to the environment's directory; an entry starting with `$`
//! is kept until the settings are interpolated (`$basemodulepath`, `${codedir}`,
//! `$environment`, ...); entries with glob characters expand to the matching paths, sorted;
//! every path ends up absolute and normalized (`.`/`..` and `~` resolved).

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// The settings of an environment's `environment.conf` (empty when it has none).
#[derive(Debug, Default, Clone)]
pub struct EnvConf {
    settings: HashMap<String, String>,
}

/// The settings an `environment.conf` value may interpolate.
#[derive(Debug)]
pub struct Interpolation<'a> {
    pub environment: &'a str,
    pub codedir: &'a Path,
    pub environmentpath: &'a Path,
    pub basemodulepath: &'a [PathBuf],
}

impl Interpolation<'_> {
    fn value(&self, name: &str) -> Option<String> {
        Some(match name {
            "environment" => self.environment.to_string(),
            "codedir" => self.codedir.display().to_string(),
            "environmentpath" => self.environmentpath.display().to_string(),
            "basemodulepath" => self
                .basemodulepath
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(":"),
            _ => return None,
        })
    }

    /// `$name` and `${name}` replaced by the settings' values; unknown names stay as written.
    fn interpolate(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let (name, len) = if let Some(inner) = after.strip_prefix('{') {
                match inner.find('}') {
                    Some(j) if is_word(&inner[..j]) => (&inner[..j], j + 2),
                    _ => ("", 0),
                }
            } else {
                let j = after
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..j], j)
            };
            match (len > 0 && !name.is_empty())
                .then(|| self.value(name))
                .flatten()
            {
                Some(v) => out.push_str(&v),
                None => out.push_str(&rest[i..i + 1 + len]),
            }
            rest = &after[len..];
        }
        out.push_str(rest);
        out
    }
}

fn is_word(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

impl EnvConf {
    /// Reads `DIR/environment.conf`; a missing or unreadable file is an empty one.
    pub fn load(dir: &Path) -> EnvConf {
        std::fs::read_to_string(dir.join("environment.conf"))
            .map(|t| EnvConf::parse(&t))
            .unwrap_or_default()
    }

    /// Puppet's ini form: `key = value` lines before any section or under `[main]`; other
    /// sections are ignored (Puppet warns of them); `#` and `;` lines are comments.
    pub fn parse(text: &str) -> EnvConf {
        let mut settings = HashMap::new();
        let mut in_main = true;
        for line in text.lines() {
            let l = line.trim();
            if l.starts_with('#') || l.starts_with(';') || l.is_empty() {
                continue;
            }
            if let Some(section) = l.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                in_main = section.trim() == "main";
                continue;
            }
            if let Some((k, v)) = l.split_once('=') {
                if in_main {
                    settings.insert(k.trim().to_string(), v.trim().to_string());
                }
            }
        }
        EnvConf { settings }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(String::as_str)
    }

    /// The environment's module directories: `modulepath` (default
    /// `modules:$basemodulepath`), resolved against the environment's directory `dir`.
    pub fn modulepath(&self, dir: &Path, vars: &Interpolation<'_>) -> Vec<PathBuf> {
        let raw: Vec<String> = match self.get("modulepath") {
            Some(mp) => mp
                .split(':')
                .flat_map(|p| expand_glob(&absolute(p, dir)))
                .collect(),
            None => {
                let mut v = vec![dir.join("modules").display().to_string()];
                v.extend(vars.basemodulepath.iter().map(|p| p.display().to_string()));
                v
            }
        };
        vars.interpolate(&raw.join(":"))
            .split(':')
            .filter(|p| !p.is_empty())
            .map(|p| normalize(Path::new(p), dir))
            .collect()
    }

    /// The site manifest: `manifest` resolved against `dir`, else `DIR/manifests`.
    pub fn manifest(&self, dir: &Path, vars: &Interpolation<'_>) -> PathBuf {
        match self.get("manifest") {
            Some(m) => normalize(Path::new(&vars.interpolate(&absolute(m, dir))), dir),
            None => dir.join("manifests"),
        }
    }
}

/// Puppet's `absolute`: a path starting with `$` is kept for interpolation, any other is
/// expanded against the environment's directory.
fn absolute(p: &str, dir: &Path) -> String {
    if p.starts_with('$') {
        p.to_string()
    } else {
        normalize(Path::new(p), dir).display().to_string()
    }
}

/// `File.expand_path(p, dir)`: `~` is the home directory; `.` and `..` are resolved by name.
fn normalize(p: &Path, dir: &Path) -> PathBuf {
    let s = p.to_string_lossy();
    let p: PathBuf = match s.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            PathBuf::from(std::env::var("HOME").unwrap_or_default() + rest)
        }
        _ => p.to_path_buf(),
    };
    let joined = if p.is_absolute() { p } else { dir.join(p) };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `Dir.glob` for an entry with `*`, `?` or `[...]` (sorted matches; none is no entry);
/// any other entry as it is.
fn expand_glob(p: &str) -> Vec<String> {
    if !p.contains(['*', '?', '[']) {
        return vec![p.to_string()];
    }
    let mut found = vec![PathBuf::from("/")];
    for part in Path::new(p).components().skip(1) {
        let part = part.as_os_str().to_string_lossy();
        let mut next = Vec::new();
        for base in &found {
            if !part.contains(['*', '?', '[']) {
                let c = base.join(&*part);
                if c.exists() {
                    next.push(c);
                }
                continue;
            }
            let Ok(rd) = std::fs::read_dir(base) else {
                continue;
            };
            let mut names: Vec<String> = rd
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.') && glob_match(&part, n))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| base.join(n)));
        }
        found = next;
    }
    found.iter().map(|p| p.display().to_string()).collect()
}

/// One path segment against a glob pattern of `*`, `?` and `[...]` classes.
fn glob_match(pat: &str, name: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| go(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && go(&p[1..], &n[1..]),
            Some('[') => {
                let Some(end) = p.iter().position(|&c| c == ']') else {
                    return n.first() == Some(&'[') && go(&p[1..], &n[1..]);
                };
                let Some(&c) = n.first() else { return false };
                let class = &p[1..end];
                let (neg, class) = match class.first() {
                    Some('!' | '^') => (true, &class[1..]),
                    _ => (false, class),
                };
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == '-' {
                        hit |= class[i] <= c && c <= class[i + 2];
                        i += 3;
                    } else {
                        hit |= class[i] == c;
                        i += 1;
                    }
                }
                hit != neg && go(&p[end + 1..], &n[1..])
            }
            Some(&c) => n.first() == Some(&c) && go(&p[1..], &n[1..]),
        }
    }
    go(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(base: &'a [PathBuf]) -> Interpolation<'a> {
        Interpolation {
            environment: "production",
            codedir: Path::new("/code"),
            environmentpath: Path::new("/code/environments"),
            basemodulepath: base,
        }
    }

    #[test]
    fn relative_entries_resolve_against_the_environment() {
        let base = [
            PathBuf::from("/code/modules"),
            PathBuf::from("/usr/share/puppet/modules"),
        ];
        let dir = Path::new("/code/environments/production");
        let c = EnvConf::parse("# site first\nmodulepath = site:./modules:../shared/mods:$basemodulepath\nmanifest = site.pp\n");
        let mp: Vec<String> = c
            .modulepath(dir, &vars(&base))
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(
            mp,
            [
                "/code/environments/production/site",
                "/code/environments/production/modules",
                "/code/environments/shared/mods",
                "/code/modules",
                "/usr/share/puppet/modules"
            ]
        );
        assert_eq!(
            c.manifest(dir, &vars(&base)),
            PathBuf::from("/code/environments/production/site.pp")
        );
    }

    #[test]
    fn settings_interpolate_and_other_sections_are_ignored() {
        let base = [PathBuf::from("/code/modules")];
        let dir = Path::new("/code/environments/production");
        let c = EnvConf::parse(
            "modulepath = ${codedir}/global:$environmentpath/$environment/m\n[agent]\nmanifest = nope.pp\n",
        );
        let mp: Vec<PathBuf> = c.modulepath(dir, &vars(&base));
        assert_eq!(
            mp,
            [
                PathBuf::from("/code/global"),
                PathBuf::from("/code/environments/production/m")
            ]
        );
        assert_eq!(c.manifest(dir, &vars(&base)), dir.join("manifests"));
        let none = EnvConf::parse("");
        assert_eq!(
            none.modulepath(dir, &vars(&base)),
            [dir.join("modules"), PathBuf::from("/code/modules")]
        );
    }

    #[test]
    fn globs_expand_sorted() {
        let t = std::env::temp_dir().join(format!("troupe-envconf-{}", std::process::id()));
        for d in ["dist/b/modules", "dist/a/modules", "dist/c"] {
            std::fs::create_dir_all(t.join(d)).ok();
        }
        let c = EnvConf::parse("modulepath = dist/*/modules\n");
        let mp = c.modulepath(&t, &vars(&[]));
        assert_eq!(mp, [t.join("dist/a/modules"), t.join("dist/b/modules")]);
        assert!(glob_match("[a-c]x?", "bxy") && !glob_match("[!a]*", "abc"));
        std::fs::remove_dir_all(&t).ok();
    }
}
