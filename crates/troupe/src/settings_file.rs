//! Config files of `name = value` lines, shared by the roles: `#` starts a comment, `[section]`
//! headers are ignored, and every error names the file and line.

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
