//! `troupe front`: flags, or a config file of `name = value` lines; flags add to / override it.

use anyhow::{anyhow, bail, Result};
use clap::Args;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use troupe_front::backend::Balance;
use troupe_front::tls::Files;
use troupe_front::{BackendSpec, Config};

#[derive(Debug, Args)]
pub struct FrontArgs {
    /// A config file: listen, backend (repeatable), ssldir, certname, cert, key, ca, crl,
    /// balance, check_interval, rise, fall, max_in_flight, retry_after, admin, access_log.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on (repeatable; default 0.0.0.0:8140).
    #[arg(long)]
    listen: Vec<SocketAddr>,
    /// A master: ADDR:PORT (plain HTTP) or https://ADDR:PORT (TLS, checked against the CA;
    /// the front presents its certificate). Repeatable.
    #[arg(long)]
    backend: Vec<BackendSpec>,
    /// The name TLS masters' certificates must carry (default: their IP address).
    #[arg(long)]
    backend_server_name: Option<String>,
    /// Puppet's ssldir, for certs/<certname>.pem, private_keys/<certname>.pem, certs/ca.pem, crl.pem.
    #[arg(long)]
    ssldir: Option<PathBuf>,
    #[arg(long)]
    certname: Option<String>,
    /// Explicit paths instead of --ssldir/--certname.
    #[arg(long)]
    cert: Option<PathBuf>,
    #[arg(long)]
    key: Option<PathBuf>,
    #[arg(long = "ca-cert")]
    ca: Option<PathBuf>,
    #[arg(long)]
    crl: Option<PathBuf>,
    /// round-robin or least-outstanding (default).
    #[arg(long)]
    balance: Option<String>,
    /// Seconds between health checks of each master.
    #[arg(long)]
    check_interval: Option<f64>,
    #[arg(long)]
    rise: Option<u32>,
    #[arg(long)]
    fall: Option<u32>,
    /// Requests a master may have in flight before it counts as saturated.
    #[arg(long)]
    max_in_flight: Option<usize>,
    #[arg(long)]
    retry_after: Option<u64>,
    /// An address allowed to see /troupe/status and /metrics (repeatable; default 127.0.0.1).
    #[arg(long)]
    admin: Vec<IpAddr>,
    /// Access log in combined format, plus TLS protocol and cipher, backend and duration.
    #[arg(long)]
    access_log: Option<PathBuf>,
}

#[derive(Default)]
struct Raw {
    listen: Vec<SocketAddr>,
    backend: Vec<BackendSpec>,
    backend_server_name: Option<String>,
    ssldir: Option<PathBuf>,
    certname: Option<String>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    ca: Option<PathBuf>,
    crl: Option<PathBuf>,
    balance: Option<String>,
    check_interval: Option<f64>,
    rise: Option<u32>,
    fall: Option<u32>,
    max_in_flight: Option<usize>,
    retry_after: Option<u64>,
    admin: Vec<IpAddr>,
    access_log: Option<PathBuf>,
}

fn read_file(path: &std::path::Path, r: &mut Raw) -> Result<()> {
    crate::settings_file::read(path, |k, v| {
        let bad = |what: &str| anyhow!("setting '{k}' must be {what}, not '{v}'");
        match k {
            "listen" => r.listen.push(v.parse().map_err(|_| bad("ADDR:PORT"))?),
            "backend" => r.backend.push(
                v.parse()
                    .map_err(|_| bad("ADDR:PORT or https://ADDR:PORT"))?,
            ),
            "backend_server_name" => r.backend_server_name = Some(v.into()),
            "ssldir" => r.ssldir = Some(v.into()),
            "certname" => r.certname = Some(v.into()),
            "cert" => r.cert = Some(v.into()),
            "key" => r.key = Some(v.into()),
            "ca" => r.ca = Some(v.into()),
            "crl" => r.crl = Some(v.into()),
            "balance" => r.balance = Some(v.into()),
            "check_interval" => {
                r.check_interval = Some(v.parse().map_err(|_| bad("a number of seconds"))?)
            }
            "rise" => r.rise = Some(v.parse().map_err(|_| bad("a count"))?),
            "fall" => r.fall = Some(v.parse().map_err(|_| bad("a count"))?),
            "max_in_flight" => r.max_in_flight = Some(v.parse().map_err(|_| bad("a count"))?),
            "retry_after" => {
                r.retry_after = Some(v.parse().map_err(|_| bad("a number of seconds"))?)
            }
            "admin" => r.admin.push(v.parse().map_err(|_| bad("an IP address"))?),
            "access_log" => r.access_log = Some(v.into()),
            other => bail!("unknown setting '{other}'"),
        }
        Ok(())
    })
}

pub fn config(a: FrontArgs) -> Result<Config> {
    let mut r = Raw::default();
    if let Some(f) = &a.config {
        read_file(f, &mut r)?;
    }
    r.listen.extend(a.listen);
    r.backend.extend(a.backend);
    r.admin.extend(a.admin);
    macro_rules! over {
        ($($f:ident),*) => { $( if a.$f.is_some() { r.$f = a.$f; } )* };
    }
    over!(backend_server_name);
    over!(
        ssldir,
        certname,
        cert,
        key,
        ca,
        crl,
        balance,
        check_interval,
        rise,
        fall,
        max_in_flight,
        retry_after,
        access_log
    );
    let files = match (&r.cert, &r.key, &r.ca) {
        (Some(c), Some(k), Some(ca)) => Files {
            cert: c.clone(),
            key: k.clone(),
            ca: ca.clone(),
            crl: r.crl.clone(),
        },
        _ => {
            let ssldir = r.ssldir.clone().ok_or_else(|| {
                anyhow!("give --ssldir and --certname, or --cert, --key and --ca-cert")
            })?;
            let name = r
                .certname
                .clone()
                .ok_or_else(|| anyhow!("give --certname with --ssldir"))?;
            Files {
                cert: r
                    .cert
                    .clone()
                    .unwrap_or_else(|| ssldir.join("certs").join(format!("{name}.pem"))),
                key: r
                    .key
                    .clone()
                    .unwrap_or_else(|| ssldir.join("private_keys").join(format!("{name}.pem"))),
                ca: r.ca.clone().unwrap_or_else(|| ssldir.join("certs/ca.pem")),
                crl: r
                    .crl
                    .clone()
                    .or_else(|| Some(ssldir.join("crl.pem")).filter(|p| p.exists())),
            }
        }
    };
    let listen = if r.listen.is_empty() {
        vec![SocketAddr::from(([0, 0, 0, 0], 8140))]
    } else {
        r.listen
    };
    let mut c = Config::new(listen, r.backend, files);
    c.backend_server_name = r.backend_server_name;
    if let Some(b) = r.balance {
        c.balance = match b.as_str() {
            "round-robin" | "roundrobin" => Balance::RoundRobin,
            "least-outstanding" | "leastconn" => Balance::LeastOutstanding,
            other => bail!("balance '{other}': use round-robin or least-outstanding"),
        };
    }
    if let Some(s) = r.check_interval {
        c.check_interval = Duration::from_secs_f64(s.max(0.05));
        c.check_timeout = c.check_interval.max(Duration::from_millis(500));
    }
    if let Some(v) = r.rise {
        c.rise = v;
    }
    if let Some(v) = r.fall {
        c.fall = v;
    }
    if let Some(v) = r.max_in_flight {
        c.max_in_flight = v;
    }
    if let Some(v) = r.retry_after {
        c.retry_after = v;
    }
    if !r.admin.is_empty() {
        c.admin = r.admin;
    }
    c.access_log = r.access_log;
    Ok(c)
}

pub fn run(a: FrontArgs) -> Result<ExitCode> {
    let c = config(a)?;
    troupe_front::run(c).map_err(|e| anyhow!("{e}"))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        front: FrontArgs,
    }

    fn file(name: &str, text: &str) -> PathBuf {
        let p =
            std::env::temp_dir().join(format!("troupe-front-conf-{}-{name}", std::process::id()));
        let _ = std::fs::write(&p, text);
        p
    }

    #[test]
    fn config_file_and_flags_combine() {
        let p = file(
            "ok",
            "# front\nlisten = 127.0.0.1:8140\nbackend = 127.0.0.1:18140\nbackend = https://10.0.0.2:8140\ncert = /c.pem\nkey = /k.pem\nca = /ca.pem\nbalance = round-robin\nrise = 3\nadmin = 10.0.0.9\n",
        );
        let cli = Cli::parse_from([
            "x",
            "--config",
            p.to_str().unwrap_or_default(),
            "--backend",
            "127.0.0.1:18141",
            "--fall",
            "4",
        ]);
        let c = config(cli.front).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.backends.len(), 3);
        assert!(c.backends[1].tls);
        assert_eq!((c.rise, c.fall), (3, 4));
        assert_eq!(c.balance, Balance::RoundRobin);
        assert_eq!(
            c.admin,
            vec!["10.0.0.9"
                .parse::<IpAddr>()
                .unwrap_or(IpAddr::from([0, 0, 0, 0]))]
        );
        let _ = std::fs::remove_file(p);
    }

    #[test]
    fn config_errors_name_file_line_and_setting() {
        let p = file("bad", "backend = 127.0.0.1:1\nrise = lots\n");
        let cli = Cli::parse_from(["x", "--config", p.to_str().unwrap_or_default()]);
        let e = config(cli.front)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.ends_with("line 2: setting 'rise' must be a count, not 'lots'"),
            "{e}"
        );
        let p2 = file("unknown", "colour = blue\n");
        let cli = Cli::parse_from(["x", "--config", p2.to_str().unwrap_or_default()]);
        let e = config(cli.front)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.ends_with("line 1: unknown setting 'colour'"), "{e}");
        let _ = std::fs::remove_file(p);
        let _ = std::fs::remove_file(p2);
    }
}
