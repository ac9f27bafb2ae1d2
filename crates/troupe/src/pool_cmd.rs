//! `troupe pool`: create the pool on the store (`init`), join a host to it (`join`), add alt
//! names to the pool certificate (`add-name`), and show it (`show`).

use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use troupe_pool::{InitOptions, InitOutcome, PoolStore};
use troupe_store::{Secret, StoreSettings};

#[derive(Debug, Args)]
pub struct PoolArgs {
    /// A config file of `name = value` lines: store, store_ca_cert, store_cert, store_key,
    /// store_prefix, join_secret_file, ssldir, cadir (other settings of a file shared with
    /// `troupe master` are ignored); flags override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// `dir:PATH` (one host; default dir:<cadir>) or `etcd://HOST:PORT[,HOST:PORT...]`.
    #[arg(long, global = true)]
    store: Option<String>,
    /// The CA of the etcd members' certificates (etcd over TLS).
    #[arg(long, global = true)]
    store_ca_cert: Option<String>,
    /// A client certificate for etcd (with --store-key).
    #[arg(long, global = true)]
    store_cert: Option<String>,
    /// The key of --store-cert.
    #[arg(long, global = true)]
    store_key: Option<String>,
    /// Key prefix in etcd (default /troupe/).
    #[arg(long, global = true)]
    store_prefix: Option<String>,
    /// The pool's join secret file (mode 0600).
    #[arg(long, global = true)]
    join_secret_file: Option<String>,
    /// The join secret itself (`troupe-join-v1:...`) instead of a file.
    #[arg(long, global = true)]
    token: Option<String>,
    /// Puppet's ssldir on this host (default /var/lib/troupe/ssl).
    #[arg(long, global = true)]
    ssldir: Option<PathBuf>,
    /// The CA directory of a dir store (default <ssldir>/ca).
    #[arg(long, global = true)]
    cadir: Option<PathBuf>,
    #[command(subcommand)]
    command: PoolCommand,
}

#[derive(Debug, Subcommand)]
enum PoolCommand {
    /// Create the pool: the CA (or import one) and the pool certificate; write the join secret.
    Init {
        /// The pool certificate's certname.
        #[arg(long, default_value = "puppet")]
        name: String,
        /// Every name agents may use, comma-separated (`DNS:` implied, `IP:` for addresses).
        #[arg(long)]
        dns_alt_names: Option<String>,
        /// An RSA key for the pool certificate (default ECDSA P-256: faster handshakes).
        #[arg(long)]
        rsa: bool,
        /// Import this Puppet CA directory (ca_crt.pem, ca_key.pem, signed/, ...) instead of
        /// creating a CA.
        #[arg(long)]
        import: Option<PathBuf>,
        /// Where to write the join secret (default: join_secret_file, or /etc/troupe/join.secret).
        #[arg(long)]
        secret_out: Option<PathBuf>,
        /// RSA key size of a new CA's key.
        #[arg(long, default_value_t = 4096)]
        keylength: usize,
        /// Lifetime of certificates the CA signs (5y, 30d, ...).
        #[arg(long)]
        ca_ttl: Option<String>,
    },
    /// Fetch the CA certificate, CRL, pool certificate and key into this host's ssldir.
    Join,
    /// Re-issue the pool certificate with more alt names.
    AddName {
        /// Alt names to add (`DNS:` implied, `IP:` for addresses; comma-separated or several).
        names: Vec<String>,
    },
    /// Show the pool: name, alt names, certificate, CA, join secret id, certificate counts.
    Show,
}

const DEFAULT_SSLDIR: &str = "/var/lib/troupe/ssl";
const DEFAULT_SECRET: &str = "/etc/troupe/join.secret";

struct Setup {
    store: StoreSettings,
    ssldir: PathBuf,
    cadir: PathBuf,
}

fn setup(a: &PoolArgs) -> Result<Setup> {
    let mut store = StoreSettings::default();
    let mut ssldir = None;
    let mut cadir = None;
    if let Some(f) = &a.config {
        crate::settings_file::read(f, |k, v| {
            if store.set(k, v) {
                return Ok(());
            }
            match k {
                "ssldir" => ssldir = Some(PathBuf::from(v)),
                "cadir" => cadir = Some(PathBuf::from(v)),
                _ => {}
            }
            Ok(())
        })?;
    }
    for (name, v) in [
        ("store", &a.store),
        ("store_ca_cert", &a.store_ca_cert),
        ("store_cert", &a.store_cert),
        ("store_key", &a.store_key),
        ("store_prefix", &a.store_prefix),
        ("join_secret_file", &a.join_secret_file),
    ] {
        if let Some(v) = v {
            store.set(name, v);
        }
    }
    let ssldir = a
        .ssldir
        .clone()
        .or(ssldir)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SSLDIR));
    let cadir = a
        .cadir
        .clone()
        .or(store.dir_path())
        .or(cadir)
        .unwrap_or_else(|| ssldir.join("ca"));
    Ok(Setup {
        store,
        ssldir,
        cadir,
    })
}

/// The pool's store with this host's secret (`--token`, else join_secret_file). `init` reads
/// no secret file that does not exist yet (it writes it).
fn open(s: &Setup, token: Option<&str>, for_init: bool) -> Result<PoolStore> {
    let mut settings = s.store.clone();
    let file = settings.join_secret_file.clone();
    if for_init && file.as_deref().is_some_and(|f| !Path::new(f).exists()) {
        settings.join_secret_file = None;
    }
    if token.is_some() {
        settings.join_secret_file = None;
    }
    if s.store.store.is_none() {
        settings.store = Some(format!("dir:{}", s.cadir.display()));
    }
    let mut pool = match settings.open_shared().map_err(|e| anyhow!("{e}"))? {
        Some(shared) => PoolStore::from(shared),
        None => {
            if s.store.join_secret_file.is_some() {
                bail!("join_secret_file applies only to an etcd store (store = etcd://...)");
            }
            PoolStore::dir(&s.cadir).map_err(|e| anyhow!("{e}"))?
        }
    };
    if let Some(t) = token {
        pool.secret = Some(Secret::parse(t).map_err(|e| anyhow!("--token: {e}"))?);
    }
    Ok(pool)
}

pub fn run(a: PoolArgs) -> Result<ExitCode> {
    let s = setup(&a)?;
    let token = a.token.as_deref();
    match a.command {
        PoolCommand::Init {
            name,
            dns_alt_names,
            rsa,
            import,
            secret_out,
            keylength,
            ca_ttl,
        } => {
            let pool = open(&s, token, true)?;
            let (secret, out) = match (&pool.secret, secret_out) {
                (Some(given), out) => (given.clone(), out),
                (None, out) => {
                    let out = out
                        .or_else(|| s.store.join_secret_file.as_ref().map(PathBuf::from))
                        .unwrap_or_else(|| PathBuf::from(DEFAULT_SECRET));
                    (Secret::generate().map_err(|e| anyhow!("{e}"))?, Some(out))
                }
            };
            if let Some(dir) = out.as_ref().and_then(|o| o.parent()) {
                if !dir.as_os_str().is_empty() && !dir.exists() {
                    troupe_ca::ensure_private_dir(dir, troupe_ca::STANDALONE_DIR_MODE)?;
                }
            }
            let mut ca = troupe_ca::Settings::new(s.cadir.clone(), &name);
            ca.keylength = keylength;
            if let Some(t) = &ca_ttl {
                ca.ca_ttl = crate::master_cmd::duration(t)?;
            }
            let alt_names = troupe_pool::split_names(dns_alt_names.as_deref().unwrap_or(""));
            let outcome = troupe_pool::init(
                &pool,
                InitOptions {
                    name,
                    alt_names,
                    ecdsa: !rsa,
                    import,
                    ca,
                    secret: secret.clone(),
                    secret_out: out.clone(),
                },
            )
            .map_err(|e| anyhow!("{e}"))?;
            report_init(&s, &outcome, &secret, out.as_deref());
        }
        PoolCommand::Join => {
            let pool = open(&s, token, false)?;
            let synced = troupe_pool::join(&pool, &s.ssldir).map_err(|e| anyhow!("{e}"))?;
            println!(
                "Joined the pool '{}': CA certificate, CRL, pool certificate and key written into {} ({} changed)",
                synced.name,
                s.ssldir.display(),
                synced.changed.len()
            );
        }
        PoolCommand::AddName { names } => {
            let pool = open(&s, token, false)?;
            let before = pool.state().map_err(|e| anyhow!("{e}"))?;
            let ca = troupe_ca::Settings::new(s.cadir.clone(), &before.name);
            let after = troupe_pool::add_names(&pool, &names, ca).map_err(|e| anyhow!("{e}"))?;
            if after.crt_pem == before.crt_pem {
                println!(
                    "The pool certificate already has these names: {}",
                    after.alt_names.join(", ")
                );
            } else {
                println!(
                    "Re-issued the pool certificate '{}' with alt names {}; every host picks it up from the store",
                    after.name,
                    after.alt_names.join(", ")
                );
            }
        }
        PoolCommand::Show => {
            let pool = open(&s, token, false)?;
            println!("{}", troupe_pool::show(&pool).map_err(|e| anyhow!("{e}"))?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn report_init(s: &Setup, outcome: &InitOutcome, secret: &Secret, out: Option<&Path>) {
    match outcome {
        InitOutcome::AlreadyInitialized { name, secret_id } => {
            println!(
                "The store already holds the pool '{name}' (join secret id {secret_id}); nothing was changed."
            );
            println!("To add this host, run `troupe pool join` with that pool's join secret.");
        }
        InitOutcome::Created {
            name,
            alt_names,
            secret_id,
        } => {
            println!(
                "Created the pool '{name}' (alt names: {}; join secret id {secret_id}).",
                if alt_names.is_empty() {
                    "none".to_string()
                } else {
                    alt_names.join(", ")
                }
            );
            if let Some(o) = out {
                println!("Join secret written to {} (mode 0600).", o.display());
            }
            println!("Join token: {}", secret.token());
            let store = s
                .store
                .store
                .clone()
                .unwrap_or_else(|| format!("dir:{}", s.cadir.display()));
            let prefix = s
                .store
                .store_prefix
                .as_ref()
                .map(|p| format!(" --store-prefix {p}"))
                .unwrap_or_default();
            println!(
                "Join another host: troupe pool join --store {store}{prefix} --token {}",
                secret.token()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        pool: PoolArgs,
    }

    #[test]
    fn config_file_and_flags_combine() {
        let p = std::env::temp_dir().join(format!("troupe-pool-conf-{}", std::process::id()));
        std::fs::write(
            &p,
            "store = etcd://10.0.0.1:2379\njoin_secret_file = /etc/troupe/join.secret\nssldir = /srv/ssl\ncodedir = /ignored\n",
        )
        .expect("write");
        let path = p.to_str().unwrap_or_default();
        let cli = Cli::parse_from(["x", "--config", path, "--store-prefix", "/p1/", "show"]);
        let s = setup(&cli.pool).expect("setup");
        assert_eq!(s.store.store.as_deref(), Some("etcd://10.0.0.1:2379"));
        assert_eq!(s.store.store_prefix.as_deref(), Some("/p1/"));
        assert_eq!(s.ssldir, PathBuf::from("/srv/ssl"));
        assert_eq!(s.cadir, PathBuf::from("/srv/ssl/ca"));
        let cli = Cli::parse_from([
            "x", "--config", path, "--ssldir", "/o", "--store", "dir:/c", "join",
        ]);
        let s = setup(&cli.pool).expect("setup");
        assert_eq!(
            (s.ssldir.clone(), s.cadir.clone()),
            (PathBuf::from("/o"), PathBuf::from("/c"))
        );
        // A dir store with a join secret file is refused, naming the setting.
        let e = open(&s, None, false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("join_secret_file"), "{e}");
        let e = open(&s, Some("nope"), false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("join_secret_file") || e.contains("--token"),
            "{e}"
        );
        let _ = std::fs::remove_file(p);
    }
}
