//! The CA's settings, with Puppet's names and defaults, and their bounds.

use crate::{CaError, CaResult};
use std::fs;
use std::path::{Path, PathBuf};

/// Puppet's `autosign` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Autosign {
    Off,
    All,
    /// A whitelist of names and `*.domain` globs.
    Globs(PathBuf),
    /// An executable given the certname as argument and the CSR on stdin; exit 0 signs.
    Command(PathBuf),
}

impl Autosign {
    /// `true`, `false`, or a file: an executable file is a policy command, any other file a
    /// whitelist (a missing file signs nothing).
    pub fn parse(s: &str) -> Autosign {
        match s {
            "true" => Autosign::All,
            "false" => Autosign::Off,
            path => {
                let p = PathBuf::from(path);
                if is_executable(&p) {
                    Autosign::Command(p)
                } else {
                    Autosign::Globs(p)
                }
            }
        }
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// CA settings, with Puppet's names and defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    pub cadir: PathBuf,
    /// The CA's CN; default `Puppet CA: <server certname>`.
    pub ca_name: String,
    /// Lifetime of issued certificates (`ca_ttl`), seconds.
    pub ca_ttl: i64,
    /// Lifetime of each CRL, seconds (at least `MIN_CRL_TTL`); a CRL is re-issued when less
    /// than a quarter is left.
    pub crl_ttl: i64,
    pub autosign: Autosign,
    pub allow_subject_alt_names: bool,
    pub allow_authorization_extensions: bool,
    pub allow_duplicate_certs: bool,
    /// RSA key size for keys the CA generates (its own, `generate`d server certs).
    pub keylength: usize,
    /// Pending certificate requests the CA keeps at most (`max_pending_csrs`); a new request
    /// beyond it is refused with `CaError::PENDING_CAP` (503) until some are signed or cleaned.
    pub max_pending_csrs: usize,
    /// The pool's shared store (etcd) and join secret; `None`: the CA lives in `cadir`.
    pub shared: Option<troupe_store::Shared>,
}

pub const FIVE_YEARS: i64 = 157_680_000;
/// The longest `ca_ttl`/`crl_ttl`: puppetserver's `max-ca-ttl`, 50 years.
pub const MAX_TTL: i64 = 1_576_800_000;
/// The shortest `crl_ttl`: 7 days. Puppet agents fetch the CRL only every
/// `crl_refresh_interval` (1 day by default) and only when they run, so a shorter-lived CRL
/// would expire on agents between fetches (and an agent that verifies the CRL's dates would fail).
pub const MIN_CRL_TTL: i64 = 7 * 86_400;
/// Default of `max_pending_csrs`.
pub const DEFAULT_MAX_PENDING_CSRS: usize = 10_000;
/// The largest CSR (PEM) the CA takes: 64 KiB.
pub const MAX_CSR_BYTES: usize = 64 * 1024;

impl Settings {
    pub fn new(cadir: impl Into<PathBuf>, server_certname: &str) -> Settings {
        Settings {
            cadir: cadir.into(),
            ca_name: format!("Puppet CA: {server_certname}"),
            ca_ttl: FIVE_YEARS,
            crl_ttl: FIVE_YEARS,
            autosign: Autosign::Off,
            allow_subject_alt_names: false,
            allow_authorization_extensions: false,
            allow_duplicate_certs: false,
            keylength: 4096,
            max_pending_csrs: DEFAULT_MAX_PENDING_CSRS,
            shared: None,
        }
    }

    /// Refuses settings out of bounds, naming the setting and the bound.
    pub fn validate(&self) -> CaResult<()> {
        if self.crl_ttl < MIN_CRL_TTL {
            return Err(CaError::new(
                500,
                format!(
                    "crl_ttl is {} seconds; it must be at least 7d ({MIN_CRL_TTL} seconds): Puppet agents fetch the CRL only every crl_refresh_interval (1d by default) and only when they run, so a shorter-lived CRL expires on them between fetches",
                    self.crl_ttl
                ),
            ));
        }
        for (name, v) in [("crl_ttl", self.crl_ttl), ("ca_ttl", self.ca_ttl)] {
            if v > MAX_TTL {
                return Err(CaError::new(
                    500,
                    format!(
                        "{name} is {v} seconds; it must be at most 50 years ({MAX_TTL} seconds)"
                    ),
                ));
            }
        }
        if self.ca_ttl <= 0 {
            return Err(CaError::new(
                500,
                format!("ca_ttl is {} seconds; it must be positive", self.ca_ttl),
            ));
        }
        if self.max_pending_csrs == 0 {
            return Err(CaError::new(500, "max_pending_csrs must be at least 1"));
        }
        Ok(())
    }
}
