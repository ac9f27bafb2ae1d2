//! `troupe ca`: the CA administration CLI, working on the CA directly (the CA directory,
//! under the same lock the masters use, or the pool's shared store from `--config`).

use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use troupe_ca::{Ca, Settings};

#[derive(Debug, Args)]
pub struct CaArgs {
    /// A config file of `setting = value` lines: certname, cadir, ssldir, ca_ttl, keylength,
    /// and the store settings (store = dir:PATH | etcd://HOST:PORT[,...], store_ca_cert,
    /// store_cert, store_key, store_prefix, join_secret_file). Flags win.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The CA directory (default <ssldir>/ca; with an etcd store, the local cache).
    #[arg(long)]
    cadir: Option<PathBuf>,
    /// Default /var/lib/troupe/ssl.
    #[arg(long)]
    ssldir: Option<PathBuf>,
    /// The CA server's certname (names a new CA: `Puppet CA: <certname>`); default puppet.
    #[arg(long)]
    certname: Option<String>,
    /// Lifetime of certificates signed here (5y, 30d, 3600...).
    #[arg(long)]
    ca_ttl: Option<String>,
    /// RSA key size for generated keys (default 4096).
    #[arg(long)]
    keylength: Option<usize>,
    #[command(subcommand)]
    command: CaCommand,
}

/// The settings of `troupe ca`'s config file.
#[derive(Debug, Default)]
struct FileSettings {
    cadir: Option<PathBuf>,
    ssldir: Option<PathBuf>,
    certname: Option<String>,
    ca_ttl: Option<i64>,
    keylength: Option<usize>,
    store: troupe_store::StoreSettings,
}

fn read_config(path: &Path) -> Result<FileSettings> {
    let mut f = FileSettings::default();
    crate::settings_file::read(path, |k, v| {
        if f.store.set(k, v) {
            if k == "store" {
                troupe_store::StoreConfig::parse(v).map_err(|e| anyhow!("{e}"))?;
            }
            return Ok(());
        }
        match k.replace('-', "_").as_str() {
            "cadir" => f.cadir = Some(v.into()),
            "ssldir" => f.ssldir = Some(v.into()),
            "certname" => {
                troupe_ca::valid_name(v).map_err(|e| anyhow!("certname '{v}': {e}"))?;
                f.certname = Some(v.into())
            }
            "ca_ttl" => {
                f.ca_ttl = Some(crate::master_cmd::duration(v).map_err(|e| anyhow!("ca_ttl: {e}"))?)
            }
            "keylength" => {
                let n: usize = v
                    .parse()
                    .map_err(|_| anyhow!("keylength '{v}': expected 2048, 3072 or 4096"))?;
                if ![2048, 3072, 4096].contains(&n) {
                    bail!("keylength '{v}': expected 2048, 3072 or 4096");
                }
                f.keylength = Some(n)
            }
            other => bail!(
                "unknown setting '{other}' (troupe ca takes certname, cadir, ssldir, ca_ttl, keylength, store, store_ca_cert, store_cert, store_key, store_prefix, join_secret_file)"
            ),
        }
        Ok(())
    })?;
    // The store settings are checked here, so their errors name the file.
    f.store
        .to_config(Path::new(""))
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    Ok(f)
}

/// The CA settings from flags and the config file (flags win), with the shared store opened.
fn settings(a: &CaArgs) -> Result<(Settings, PathBuf)> {
    let file = match &a.config {
        Some(p) => read_config(p)?,
        None => FileSettings::default(),
    };
    let ssldir = a
        .ssldir
        .clone()
        .or(file.ssldir)
        .unwrap_or_else(|| PathBuf::from("/var/lib/troupe/ssl"));
    let cadir = a
        .cadir
        .clone()
        .or(file.cadir)
        .or_else(|| file.store.dir_path())
        .unwrap_or_else(|| ssldir.join("ca"));
    let certname = a
        .certname
        .clone()
        .or(file.certname)
        .unwrap_or_else(|| "puppet".into());
    let mut s = Settings::new(cadir, &certname);
    s.keylength = a.keylength.or(file.keylength).unwrap_or(4096);
    if let Some(t) = &a.ca_ttl {
        s.ca_ttl = crate::master_cmd::duration(t)?;
    } else if let Some(t) = file.ca_ttl {
        s.ca_ttl = t;
    }
    s.shared = file.store.open_shared().map_err(|e| {
        anyhow!(
            "{}: {e}",
            a.config.as_deref().unwrap_or(Path::new("")).display()
        )
    })?;
    Ok((s, ssldir))
}

#[derive(Debug, Subcommand)]
enum CaCommand {
    /// List pending requests (with --all, every certificate and its state).
    List {
        #[arg(long)]
        all: bool,
    },
    /// Sign pending requests.
    Sign {
        names: Vec<String>,
        #[arg(long)]
        all: bool,
    },
    /// Revoke certificates (they stay on disk; the CRL lists them).
    Revoke { names: Vec<String> },
    /// Revoke and delete certificates and requests.
    Clean { names: Vec<String> },
    /// Issue a certificate and key for a server name (the pool's shared certificate).
    Generate {
        name: String,
        /// Comma-separated alt names (`DNS:` implied, `IP:` allowed).
        #[arg(long)]
        dns_alt_names: Option<String>,
        /// Where to write <name>.pem and <name>.key.pem (default: the ssldir's certs/ and private_keys/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// An ECDSA P-256 key instead of RSA (faster TLS handshakes for a front).
        #[arg(long)]
        ecdsa: bool,
        /// Give the certificate `pp_cli_auth` (CA administration over the HTTP API); pool and
        /// front certificates go without it.
        #[arg(long)]
        cli_auth: bool,
    },
}

pub fn run(a: CaArgs) -> Result<ExitCode> {
    let (s, ssldir) = settings(&a)?;
    let ca = Ca::open_or_init(s).map_err(|e| anyhow!("{e}"))?;
    let mut failed = false;
    match a.command {
        CaCommand::List { all } => {
            let list = ca
                .statuses(if all { None } else { Some("requested") })
                .map_err(|e| anyhow!("{e}"))?;
            if list.is_empty() && !all {
                println!("No certificates to list");
            }
            for st in list {
                let alt: Vec<String> = st["dns_alt_names"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                println!(
                    "{:<10} {:<40} (SHA256) {}{}",
                    st["state"].as_str().unwrap_or(""),
                    st["name"].as_str().unwrap_or(""),
                    st["fingerprint"].as_str().unwrap_or(""),
                    if alt.is_empty() {
                        String::new()
                    } else {
                        format!("\talt names: {}", alt.join(", "))
                    }
                );
            }
        }
        CaCommand::Sign { names, all } => {
            let names = if all {
                ca.statuses(Some("requested"))
                    .map_err(|e| anyhow!("{e}"))?
                    .iter()
                    .filter_map(|s| s["name"].as_str().map(str::to_string))
                    .collect()
            } else {
                names
            };
            if names.is_empty() {
                bail!("nothing to sign: name the requests, or give --all");
            }
            for n in names {
                match ca.sign(&n, None) {
                    Ok(_) => println!("Successfully signed certificate request for {n}"),
                    Err(e) => {
                        eprintln!("Error: could not sign {n}: {e}");
                        failed = true;
                    }
                }
            }
        }
        CaCommand::Revoke { names } => {
            if names.is_empty() {
                bail!("name the certificates to revoke");
            }
            ca.revoke(&names).map_err(|e| anyhow!("{e}"))?;
            for n in names {
                println!("Revoked certificate for {n}");
            }
        }
        CaCommand::Clean { names } => {
            if names.is_empty() {
                bail!("name the certificates to clean");
            }
            println!("{}", ca.clean(&names).map_err(|e| anyhow!("{e}"))?);
        }
        CaCommand::Generate {
            name,
            dns_alt_names,
            out,
            ecdsa,
            cli_auth,
        } => {
            let alts: Vec<String> = dns_alt_names
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            let (cert, key) = ca
                .generate_with(&name, &alts, ecdsa, cli_auth)
                .map_err(|e| anyhow!("{e}"))?;
            // In the ssldir, Puppet's modes (key 0640 in private_keys/ 0750); elsewhere
            // (--out), the key is for its owner only (0600, a new directory 0700).
            let (cert_path, key_path, key_mode) = match &out {
                Some(d) => {
                    if !d.exists() {
                        troupe_ca::ensure_private_dir(d, troupe_ca::STANDALONE_DIR_MODE)?;
                    }
                    (
                        d.join(format!("{name}.pem")),
                        d.join(format!("{name}.key.pem")),
                        troupe_ca::STANDALONE_KEY_MODE,
                    )
                }
                None => {
                    let keys = ssldir.join("private_keys");
                    if let Some(m) =
                        troupe_ca::ensure_private_dir(&keys, troupe_ca::PRIVATE_DIR_MODE)?
                    {
                        eprintln!("Warning: {m}");
                    }
                    (
                        ssldir.join("certs").join(format!("{name}.pem")),
                        keys.join(format!("{name}.pem")),
                        troupe_ca::PRIVATE_KEY_MODE,
                    )
                }
            };
            if let Some(d) = cert_path.parent() {
                std::fs::create_dir_all(d)?;
            }
            troupe_ca::write_atomic(&cert_path, cert.as_bytes())?;
            troupe_ca::write_private(&key_path, key.as_bytes(), key_mode)?;
            println!(
                "Generated certificate {} and key {}",
                cert_path.display(),
                key_path.display()
            );
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
