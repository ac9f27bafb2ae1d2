//! `troupe node`'s embedded default, for a host with no `/etc/troupe/troupe.conf`: a one-host
//! pool on loopback. The front takes TLS on 127.0.0.1:8140 (Puppet's port, so `puppet agent -t
//! --server localhost` works as it is), two master instances on 127.0.0.1:18140-18141 behind it,
//! the CA in a directory with autosign on (only loopback clients can reach it), the pool
//! certificate for `localhost`. State goes to `/var/lib/troupe` for root, else to
//! `$XDG_STATE_HOME/troupe` (`~/.local/state/troupe`); `TROUPE_STATE_DIR` overrides both. The code is Debian's
//! `/etc/puppet/code` when it has a `production` environment, else a starter environment
//! written into the state directory on first start.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The file `troupe node` reads when `--config` is not given and it exists.
pub const SYSTEM_FILE: &str = "/etc/troupe/troupe.conf";

/// Where the embedded default keeps its CA, certificates, reports and starter code.
pub fn state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TROUPE_STATE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if rustix::process::geteuid().is_root() {
        return PathBuf::from("/var/lib/troupe");
    }
    if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("troupe");
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => PathBuf::from(h).join(".local/state/troupe"),
        None => std::env::temp_dir().join("troupe"),
    }
}

/// Debian's code directory when it holds a `production` environment, else the starter one.
pub fn codedir(state: &Path) -> PathBuf {
    let system = Path::new("/etc/puppet/code");
    if system.join("environments/production").is_dir() {
        system.to_path_buf()
    } else {
        state.join("code")
    }
}

/// The embedded default file.
pub fn text(state: &Path, codedir: &Path) -> String {
    let state = state.display();
    let codedir = codedir.display();
    format!(
        "# troupe node's embedded default: a one-host pool on loopback.
# Copy it to {SYSTEM_FILE} and edit it to run a real pool (`troupe node --print-default`).
[main]
certname = localhost
ssldir = {state}/ssl
store = dir:{state}/ssl/ca

[master]
instances = 2
base_port = 18140
codedir = {codedir}
dns_alt_names = localhost
# Only loopback clients reach this pool, so every CSR is signed.
autosign = true
reportdir = {state}/reports

[front]
listen = 127.0.0.1:8140
"
    )
}

/// What the starter environment's `site.pp` says.
const STARTER_SITE: &str = "\
# Written by troupe node's embedded default. Edit it, or give troupe node a file
# whose [master] codedir names your code.
node default {
  notify { 'troupe':
    message => \"Hello ${trusted['certname']}: this catalog was compiled by troupe\",
  }
}
";

/// Writes the starter environment when the default's code directory is the state
/// directory's and has no `production` environment yet.
pub fn ensure_starter_code(state: &Path, codedir: &Path) -> Result<()> {
    if !codedir.starts_with(state) {
        return Ok(());
    }
    let manifests = codedir.join("environments/production/manifests");
    if manifests.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(&manifests)
        .with_context(|| format!("cannot create {}", manifests.display()))?;
    let site = manifests.join("site.pp");
    std::fs::write(&site, STARTER_SITE)
        .with_context(|| format!("cannot write {}", site.display()))?;
    tracing::info!("wrote a starter environment in {}", codedir.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_a_valid_one_host_pool_on_loopback() {
        let state = Path::new("/var/lib/troupe-test");
        let code = state.join("code");
        let c = super::super::config::load_text(Path::new("(default)"), &text(state, &code))
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(c.certname.as_deref(), Some("localhost"));
        let m = c.master.as_ref().expect("masters");
        assert_eq!(m.addrs.len(), 2);
        assert!(m.addrs.iter().all(|a| a.ip().is_loopback()));
        assert_eq!(m.config.codedir, code);
        let f = c.front.as_ref().expect("front");
        assert_eq!(f.config.listen, ["127.0.0.1:8140".parse().expect("addr")]);
        assert_eq!(f.config.backends.len(), 2);
        assert!(c.vrrp.instances.is_empty());
    }

    #[test]
    fn starter_code_is_written_once_and_only_in_the_state_dir() {
        let state = std::env::temp_dir().join(format!("troupe-default-{}", std::process::id()));
        let code = state.join("code");
        ensure_starter_code(&state, &code).expect("starter");
        let site = code.join("environments/production/manifests/site.pp");
        assert!(std::fs::read_to_string(&site)
            .expect("site.pp")
            .contains("compiled by troupe"));
        std::fs::write(&site, "# mine\n").expect("edit");
        ensure_starter_code(&state, &code).expect("again");
        assert_eq!(std::fs::read_to_string(&site).expect("site.pp"), "# mine\n");
        // Someone else's code directory is never written.
        let other = state.join("../not-ours-code");
        ensure_starter_code(&state.join("sub"), &other).expect("skip");
        assert!(!other.exists());
        let _ = std::fs::remove_dir_all(&state);
    }
}
