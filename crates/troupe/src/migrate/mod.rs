//! `troupe migrate`: reads a puppetserver install (Debian's `/etc/puppet` or Puppet Inc.'s
//! `/etc/puppetlabs`) and writes a `troupe node` config that serves the same code with the same
//! CA, so agents keep their certificates. The CA directory and the server's own certificate are
//! copied into troupe's ssldir; the source is only read.

mod plan;
mod puppet_conf;

use anyhow::{bail, Context, Result};
use clap::Args;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The puppetserver install: /etc/puppet (Debian), /etc/puppetlabs (Puppet Inc.), or the
    /// directory that holds its puppet.conf
    #[arg(long, value_name = "DIR")]
    from: PathBuf,
    /// The troupe node config to write
    #[arg(long, value_name = "FILE", default_value = "/etc/troupe/troupe.conf")]
    to: PathBuf,
    /// troupe's ssldir, where the CA and the server certificate are copied
    #[arg(long, value_name = "DIR", default_value = "/var/lib/troupe/ssl")]
    ssldir: PathBuf,
    /// puppetserver's conf.d (default: found next to --from)
    #[arg(long, value_name = "DIR")]
    puppetserver_confd: Option<PathBuf>,
    /// Print the config and what would be copied; write nothing
    #[arg(long)]
    dry_run: bool,
}

pub fn run(a: MigrateArgs) -> Result<ExitCode> {
    let mut a = a;
    // The written config must not depend on the directory troupe node starts in.
    a.from = std::path::absolute(&a.from).context("--from")?;
    a.ssldir = std::path::absolute(&a.ssldir).context("--ssldir")?;
    let p = plan::Plan::read(&a.from, a.puppetserver_confd.as_deref(), &a.ssldir)?;
    let text = p.config_text(&a.from);
    for n in &p.notes {
        eprintln!("mapped: {n}");
    }
    for w in &p.warnings {
        eprintln!("warning: {w}");
    }
    if a.dry_run {
        for (src, dst) in &p.copies {
            eprintln!("would copy {} -> {}", src.display(), dst.display());
        }
        print!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    if a.to.exists() {
        bail!(
            "{} exists; move it away first (or --dry-run)",
            a.to.display()
        );
    }
    let cadir = a.ssldir.join("ca");
    if cadir.join("ca_crt.pem").exists() {
        bail!("{} already holds a CA; move it away first", cadir.display());
    }
    for (src, dst) in &p.copies {
        copy(src, dst)
            .with_context(|| format!("copying {} to {}", src.display(), dst.display()))?;
        eprintln!("copied {} -> {}", src.display(), dst.display());
    }
    if let Some(dir) = a.to.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    fs::write(&a.to, &text).with_context(|| format!("writing {}", a.to.display()))?;
    eprintln!(
        "wrote {}; check it with: troupe node --config {} --check",
        a.to.display(),
        a.to.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Copies a file or a directory tree, keeping modes (never following into the source twice).
fn copy(src: &Path, dst: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(src)?;
    if meta.is_dir() {
        fs::create_dir_all(dst)?;
        fs::set_permissions(dst, meta.permissions())?;
        let mut entries: Vec<_> = fs::read_dir(src)?.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            copy(&e.path(), &dst.join(e.file_name()))?;
        }
    } else if meta.is_file() {
        if let Some(d) = dst.parent() {
            fs::create_dir_all(d)?;
        }
        fs::copy(src, dst)?;
    }
    Ok(())
}
