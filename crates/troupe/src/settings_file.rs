//! Config files of `name = value` lines, shared by the roles: `#` starts a comment, and every
//! error names the file and line. `read` ignores `[section]` headers (one role's file);
//! `read_sections` hands them on (`troupe node`'s file of several roles).

use anyhow::{anyhow, Context, Result};
use std::path::Path;

/// Hands each setting to `apply`; its errors come back prefixed with `FILE line N: `.
pub fn read(path: &Path, mut apply: impl FnMut(&str, &str) -> Result<()>) -> Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with('[') {
            continue;
        }
        let at = format!("{} line {}", path.display(), i + 1);
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| anyhow!("{at}: expected 'setting = value', got '{line}'"))?;
        apply(k.trim(), v.trim()).map_err(|e| anyhow!("{at}: {e}"))?;
    }
    Ok(())
}

/// One line of a sectioned file: a `[section]` header (its text between the brackets, trimmed)
/// or a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry<'a> {
    Section(&'a str),
    Setting(&'a str, &'a str),
}

/// Like [`read`], but over a text already read (`path` names it in errors), and handing the
/// `[section]` headers on too, with each entry's 1-based line number; errors come back
/// prefixed with `FILE line N: `.
pub fn read_sections(
    path: &Path,
    text: &str,
    mut apply: impl FnMut(usize, Entry<'_>) -> Result<()>,
) -> Result<()> {
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let at = format!("{} line {}", path.display(), i + 1);
        let entry = if line.starts_with('[') {
            let name = line
                .strip_prefix('[')
                .and_then(|l| l.strip_suffix(']'))
                .ok_or_else(|| anyhow!("{at}: expected '[section]', got '{line}'"))?;
            Entry::Section(name.trim())
        } else {
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| anyhow!("{at}: expected 'setting = value', got '{line}'"))?;
            Entry::Setting(k.trim(), v.trim())
        };
        apply(i + 1, entry).map_err(|e| anyhow!("{at}: {e}"))?;
    }
    Ok(())
}
