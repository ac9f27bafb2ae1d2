//! Reading a host's config file: `[main]`, `[master]`, `[front]`, `[vrrp NAME]` and
//! `[check NAME]` sections, checked as a whole (ports, backends, store).

use anyhow::{anyhow, bail, Context, Result};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use super::front_checks;
use crate::settings_file::{self, Entry};
use troupe_front::BackendSpec;
use troupe_store::{StoreConfig, StoreSettings};

/// The ssldir when `[main]` gives none.
pub const DEFAULT_SSLDIR: &str = "/var/lib/troupe/ssl";
/// The port of the first master instance when `[master]` gives neither `base_port` nor `listen`.
pub const DEFAULT_BASE_PORT: u16 = 18140;
/// Master instances when `[master]` does not say.
pub const DEFAULT_INSTANCES: u16 = 2;
/// The most master instances one host runs.
const MAX_INSTANCES: u16 = 64;

/// Everything one host runs, checked.
#[derive(Debug)]
pub struct NodeConfig {
    pub file: PathBuf,
    /// `[main] certname`: the pool's name; `None` means the pool's (shared store) or the host's.
    pub certname: Option<String>,
    /// `[main] pool_host`: this host's name in the pool's registry of masters (default: the
    /// machine's host name); its masters register under it and its front counts them local.
    pub pool_host: Option<String>,
    pub ssldir: PathBuf,
    pub store: StoreSettings,
    /// Where the CA lives (`store`, or `<ssldir>/ca` by default).
    pub store_config: StoreConfig,
    pub master: Option<MasterRole>,
    pub front: Option<FrontRole>,
    pub vrrp: troupe_vrrp::config::Config,
    /// The `[vrrp NAME]` and `[check NAME]` sections as `troupe vrrp --config` reads them.
    pub vrrp_text: String,
}

/// The `[master]` section: N instances of `troupe master` on consecutive local ports.
#[derive(Debug)]
pub struct MasterRole {
    /// Each instance's listen address.
    pub addrs: Vec<SocketAddr>,
    /// The section's settings as written, without the node's own (`instances`, `base_port`,
    /// `listen`).
    pub settings: Vec<(String, String)>,
    /// The config instance 1 runs with (the others differ only in `listen`).
    pub config: troupe_master::Config,
}

/// The `[front]` section.
#[derive(Debug)]
pub struct FrontRole {
    pub config: troupe_front::Config,
    /// The section's settings as written.
    pub settings: Vec<(String, String)>,
    /// True when no `backend` was given and the front balances over the local instances.
    pub local_backends: bool,
    /// The front's plain-HTTP health listener (`health_listen`, else loopback on the port below
    /// the front's first): what the built-in VRRP check asks.
    pub health_listen: Option<std::net::SocketAddr>,
}

/// Keys a section may repeat (each line adds one).
fn repeatable(section: &str, key: &str) -> bool {
    match section {
        "front" => matches!(key, "listen" | "backend" | "admin" | "admin_allow"),
        "master" => matches!(key, "trusted_proxy" | "trusted_front"),
        // The VRRP parser judges its own sections (virtual_address, track, ... repeat).
        s => s.starts_with("vrrp ") || s.starts_with("check "),
    }
}

/// A setting as written: name, value and line.
type Setting = (String, String, usize);

/// The lines read, sorted by section.
#[derive(Default)]
struct Raw {
    main: Vec<Setting>,
    master: Option<Vec<Setting>>,
    front: Option<Vec<Setting>>,
    /// The `[vrrp NAME]` and `[check NAME]` sections as the VRRP parser reads them, on the same
    /// line numbers as in the file.
    vrrp_text: String,
    vrrp_lines: usize,
}

/// Reads and checks the file.
pub fn load(path: &Path) -> Result<NodeConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    load_text(path, &text)
}

/// Checks a file's text (`path` names it in errors and in the summary).
pub fn load_text(path: &Path, text: &str) -> Result<NodeConfig> {
    let raw = read(path, text)?;
    let file = path.display().to_string();
    let mut store = StoreSettings::default();
    let mut certname = None;
    let mut pool_host = None;
    let mut ssldir = PathBuf::from(DEFAULT_SSLDIR);
    let mut store_line = None;
    for (k, v, line) in &raw.main {
        match k.as_str() {
            "certname" => {
                troupe_ca::valid_name(v)
                    .map_err(|e| anyhow!("{file} line {line}: certname '{v}': {e}"))?;
                certname = Some(v.clone());
            }
            "ssldir" => ssldir = PathBuf::from(v),
            "pool_host" => {
                troupe_pool::registry::valid_host(v)
                    .map_err(|e| anyhow!("{file} line {line}: pool_host '{v}': {e}"))?;
                pool_host = Some(v.clone());
            }
            _ => {
                store.set(k, v);
                if k == "store" || store_line.is_none() {
                    store_line = Some(*line);
                }
            }
        }
    }
    let store_config = store
        .to_config(&ssldir.join("ca"))
        .map_err(|e| match store_line {
            Some(line) => anyhow!("{file} line {line}: {e}"),
            None => anyhow!("{file}: {e}"),
        })?;
    let master = match &raw.master {
        Some(lines) => Some(master_role(
            &file,
            lines,
            &certname,
            &ssldir,
            &store_config,
        )?),
        None => None,
    };
    let front = match &raw.front {
        Some(lines) => Some(front_role(
            &file,
            lines,
            &certname,
            &ssldir,
            master.as_ref(),
        )?),
        None => None,
    };
    // With a front on this host, every VRRP instance follows the front's built-in checks.
    let mut raw = raw;
    if let Some(f) = &front {
        if raw.vrrp_text.contains("[instance ") {
            for name in [front_checks::PROCESS_CHECK, front_checks::HEALTH_CHECK] {
                if raw.vrrp_text.contains(&format!("[check {name}]")) {
                    bail!("{file}: [check {name}] is built in (the local front's check); give your check another name");
                }
            }
            let health = f.health_listen.ok_or_else(|| {
                anyhow!("{file} [front]: VRRP instances need the front's health listener: give health_listen = 127.0.0.1:PORT")
            })?;
            raw.vrrp_text = front_checks::add(
                &raw.vrrp_text,
                &super::run::run_dir().join("front.pid"),
                health,
            );
        }
    }
    let vrrp = troupe_vrrp::config::parse(&raw.vrrp_text, &file).map_err(|e| anyhow!("{e}"))?;
    if master.is_none() && front.is_none() && vrrp.instances.is_empty() {
        bail!("{file}: names no role: give a [master], [front] or [vrrp NAME] section");
    }
    if let Some(f) = &front {
        front_http_check(&file, &raw.vrrp_text, &vrrp, &f.config.listen)?;
    }
    if let (Some(m), Some(f)) = (&master, &front) {
        for l in &f.config.listen {
            if let Some(a) = m.addrs.iter().find(|a| overlaps(a, l)) {
                let front_line =
                    raw.front.iter().flatten().find(|(k, v, _)| {
                        k == "listen" && v.parse::<SocketAddr>().ok() == Some(*l)
                    });
                let at = match front_line {
                    Some((_, _, line)) => format!("{file} line {line}"),
                    None => file.clone(),
                };
                bail!(
                    "{at}: setting 'listen': the front's {l} and a master instance's {a} use the same port"
                );
            }
        }
    }
    Ok(NodeConfig {
        file: path.to_path_buf(),
        certname,
        pool_host,
        ssldir,
        store,
        store_config,
        master,
        front,
        vrrp,
        vrrp_text: raw.vrrp_text,
    })
}

/// Refuses an `http://` check of the front's own port: the front speaks only TLS there, so
/// the check could never pass and its VRRP instances would stay in fault.
fn front_http_check(
    file: &str,
    vrrp_text: &str,
    vrrp: &troupe_vrrp::config::Config,
    listen: &[SocketAddr],
) -> Result<()> {
    for c in &vrrp.checks {
        let troupe_vrrp::config::CheckKind::Http(url) = &c.kind else {
            continue;
        };
        let Some(hostport) = url
            .strip_prefix("http://")
            .and_then(|r| r.split('/').next())
        else {
            continue;
        };
        let Ok(addr) = hostport
            .replacen("localhost:", "127.0.0.1:", 1)
            .parse::<SocketAddr>()
        else {
            continue;
        };
        if listen.iter().any(|l| overlaps(l, &addr)) {
            let line = vrrp_text
                .lines()
                .position(|l| l.starts_with("http") && l.contains(url.as_str()))
                .map(|i| format!(" line {}", i + 1))
                .unwrap_or_default();
            bail!("{file}{line}: check {}: http = {url} is the front's TLS port, where a plain HTTP check can never pass; check a master instance or the process instead", c.name);
        }
    }
    Ok(())
}

/// True when two listen addresses would take the same port.
fn overlaps(a: &SocketAddr, b: &SocketAddr) -> bool {
    a.port() == b.port() && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

/// Sorts the lines by section; refuses unknown sections, misplaced and repeated settings.
fn read(path: &Path, text: &str) -> Result<Raw> {
    let mut raw = Raw::default();
    let mut section = "main".to_string();
    let mut seen_sections: HashMap<String, usize> = HashMap::new();
    let mut seen_keys: HashMap<(String, String), usize> = HashMap::new();
    settings_file::read_sections(path, text, |line, entry| match entry {
        Entry::Section(name) => {
            let words: Vec<&str> = name.split_whitespace().collect();
            let (key, vrrp_header) = match words.as_slice() {
                ["main"] | ["master"] | ["front"] => (words[0].to_string(), None),
                ["vrrp", n] => (format!("vrrp {n}"), Some(format!("[instance {n}]"))),
                ["check", n] => (format!("check {n}"), Some(format!("[check {n}]"))),
                _ => bail!(
                    "unknown section '[{name}]' (use [main], [master], [front], [vrrp NAME] or [check NAME])"
                ),
            };
            if let Some(first) = seen_sections.insert(key.clone(), line) {
                bail!("section '[{name}]' given twice (first on line {first})");
            }
            match key.as_str() {
                "master" => raw.master = Some(Vec::new()),
                "front" => raw.front = Some(Vec::new()),
                _ => {}
            }
            if let Some(h) = vrrp_header {
                push_line(&mut raw, line, &h);
            }
            section = key;
            Ok(())
        }
        Entry::Setting(k, v) => {
            if k.is_empty() {
                bail!("a setting needs a name before '='");
            }
            if !repeatable(&section, k) {
                if let Some(first) = seen_keys.insert((section.clone(), k.to_string()), line) {
                    bail!("setting '{k}' given twice in [{section}] (first on line {first})");
                }
            }
            let pair = (k.to_string(), v.to_string(), line);
            let is_store = StoreSettings::default().set(k, v);
            match section.as_str() {
                "main" => {
                    if !is_store && !matches!(k, "certname" | "ssldir" | "pool_host") {
                        bail!("unknown setting '{k}' in [main] (certname, ssldir, pool_host, store, store_ca_cert, store_cert, store_key, store_prefix, join_secret_file)");
                    }
                    raw.main.push(pair);
                }
                "master" | "front" => {
                    if is_store {
                        bail!("setting '{k}' belongs in [main] (the store is the host's, not one role's)");
                    }
                    let list = if section == "master" {
                        &mut raw.master
                    } else {
                        &mut raw.front
                    };
                    check_role_setting(&section, k, v)?;
                    list.get_or_insert_with(Vec::new).push(pair);
                }
                _ => push_line(&mut raw, line, &format!("{k} = {v}")),
            }
            Ok(())
        }
    })?;
    Ok(raw)
}

/// Checks one `[master]` or `[front]` setting on its own, so its error carries its line.
fn check_role_setting(section: &str, k: &str, v: &str) -> Result<()> {
    if section == "master" {
        match k {
            "instances" => instances(v).map(|_| ()),
            "base_port" => port(k, v).map(|_| ()),
            "listen" => listen(v).map(|_| ()),
            _ => {
                let mut c = troupe_master::Config::new("/".into(), "/".into(), "x".into());
                crate::master_cmd::apply_setting(&mut c, &mut Default::default(), k, v)
            }
        }
    } else {
        if k == "balance"
            && !matches!(
                v,
                "round-robin" | "roundrobin" | "least-outstanding" | "leastconn"
            )
        {
            bail!("setting 'balance' must be round-robin or least-outstanding, not '{v}'");
        }
        crate::front_cmd::set(&mut Default::default(), k, v)
    }
}

fn push_line(raw: &mut Raw, line: usize, text: &str) {
    while raw.vrrp_lines + 1 < line {
        raw.vrrp_text.push('\n');
        raw.vrrp_lines += 1;
    }
    raw.vrrp_text.push_str(text);
    raw.vrrp_text.push('\n');
    raw.vrrp_lines += 1;
}

fn instances(v: &str) -> Result<u16> {
    v.parse()
        .ok()
        .filter(|n| (1..=MAX_INSTANCES).contains(n))
        .ok_or_else(|| anyhow!("setting 'instances' must be 1 to {MAX_INSTANCES}, not '{v}'"))
}

fn port(k: &str, v: &str) -> Result<u16> {
    v.parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| anyhow!("setting '{k}' must be a port 1 to 65535, not '{v}'"))
}

fn listen(v: &str) -> Result<SocketAddr> {
    v.parse()
        .ok()
        .filter(|a: &SocketAddr| a.port() != 0)
        .ok_or_else(|| anyhow!("setting 'listen' must be ADDR:PORT with a port, not '{v}'"))
}

fn master_role(
    file: &str,
    lines: &[Setting],
    certname: &Option<String>,
    ssldir: &Path,
    store: &StoreConfig,
) -> Result<MasterRole> {
    let mut c = troupe_master::Config::new(
        PathBuf::from("/etc/puppet/code"),
        ssldir.to_path_buf(),
        certname
            .clone()
            .unwrap_or_else(crate::master_cmd::default_certname),
    );
    // Behind the local front: plain HTTP, identity headers from loopback.
    c.plain_http = true;
    let mut given = crate::master_cmd::Given::default();
    let mut settings = Vec::new();
    let (mut n, mut base_port, mut first) = (DEFAULT_INSTANCES, None, None);
    for (k, v, line) in lines {
        let at = |e: anyhow::Error| anyhow!("{file} line {line}: {e}");
        match k.as_str() {
            "instances" => n = instances(v).map_err(at)?,
            "base_port" => base_port = Some(port(k, v).map_err(at)?),
            "listen" => first = Some(listen(v).map_err(at)?),
            _ => {
                crate::master_cmd::apply_setting(&mut c, &mut given, k, v).map_err(at)?;
                settings.push((k.clone(), v.clone()));
            }
        }
    }
    c.classifier()
        .map_err(|e| anyhow!("{file} [master]: {e}"))?;
    if c.plain_http && !c.trusted_fronts.is_empty() {
        bail!("{file} [master]: trusted_front needs HTTPS masters (plain_http = false); behind the local front, masters trust 127.0.0.1 (trusted_proxy)");
    }
    if c.plain_http && c.trusted_proxies.is_empty() {
        c.trusted_proxies.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    if !given.cadir {
        c.cadir = Some(match store {
            StoreConfig::Dir { path } => path.clone(),
            StoreConfig::Etcd { .. } => ssldir.join("ca"),
        });
    }
    let first = match (first, base_port) {
        (Some(_), Some(_)) => bail!("{file} [master]: give base_port or listen, not both"),
        (Some(a), None) => a,
        (None, p) => SocketAddr::from((Ipv4Addr::LOCALHOST, p.unwrap_or(DEFAULT_BASE_PORT))),
    };
    if u32::from(first.port()) + u32::from(n) - 1 > u32::from(u16::MAX) {
        bail!(
            "{file} [master]: {n} instances from port {} run past port 65535",
            first.port()
        );
    }
    let addrs: Vec<SocketAddr> = (0..n)
        .map(|i| SocketAddr::new(first.ip(), first.port() + i))
        .collect();
    c.listen = addrs[0];
    Ok(MasterRole {
        addrs,
        settings,
        config: c,
    })
}

fn front_role(
    file: &str,
    lines: &[Setting],
    certname: &Option<String>,
    ssldir: &Path,
    master: Option<&MasterRole>,
) -> Result<FrontRole> {
    let at = |e: anyhow::Error| anyhow!("{file} [front]: {e}");
    let mut r = crate::front_cmd::Raw::default();
    for (k, v, line) in lines {
        crate::front_cmd::set(&mut r, k, v).map_err(|e| anyhow!("{file} line {line}: {e}"))?;
    }
    r.ssldir.get_or_insert_with(|| ssldir.to_path_buf());
    if r.certname.is_none() {
        r.certname = Some(
            certname
                .clone()
                .unwrap_or_else(crate::master_cmd::default_certname),
        );
    }
    let local_backends = r.backend.is_empty();
    if local_backends {
        let m = master.ok_or_else(|| {
            anyhow!("{file} [front]: no backend given and no [master] section to balance over")
        })?;
        r.backend = m
            .addrs
            .iter()
            .map(|a| BackendSpec {
                addr: *a,
                tls: !m.config.plain_http,
                local: true,
            })
            .collect();
    }
    let (config, _) = crate::front_cmd::finish(r, None).map_err(at)?;
    for (i, l) in config.listen.iter().enumerate() {
        if let Some(o) = config.listen[..i].iter().find(|o| overlaps(o, l)) {
            bail!("{file} [front]: listen {l} and {o} use the same port");
        }
    }
    let taken = |h: &SocketAddr| -> Option<SocketAddr> {
        let masters = master.map(|m| m.addrs.as_slice()).unwrap_or(&[]);
        masters
            .iter()
            .chain(config.listen.iter())
            .find(|a| overlaps(a, h))
            .copied()
    };
    let health_listen = match config.health_listen {
        Some(h) => {
            if let Some(a) = taken(&h) {
                bail!("{file} [front]: health_listen {h} and {a} (a master instance or the front) use the same port");
            }
            Some(h)
        }
        // The port below the front's, or the next free one below it.
        None => front_checks::default_health_listen(&config.listen).and_then(|first| {
            (0..16u16)
                .filter_map(|i| first.port().checked_sub(i).filter(|p| *p != 0))
                .map(|p| SocketAddr::new(first.ip(), p))
                .find(|h| taken(h).is_none())
        }),
    };
    Ok(FrontRole {
        health_listen,
        config,
        settings: lines
            .iter()
            .map(|(k, v, _)| (k.clone(), v.clone()))
            .collect(),
        local_backends,
    })
}
