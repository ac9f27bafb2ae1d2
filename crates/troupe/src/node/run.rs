//! `troupe node` without `--check`: every role runs as a supervised child process of this
//! binary (`troupe master|front|vrrp --config FILE`, each file written from the host's file),
//! so a crashed master never takes the front or the VRRP speaker down. A child that exits is
//! started again at once the first time, then after a backoff (0.5 s, doubling to 10 s; back
//! to at once for a child that ran 10 s or more before it stopped).
//!
//! The node binds the front's first listen address itself and hands the socket to each front
//! it starts (as standard input): a killed front's socket stays open, so connections that
//! arrive before the next front starts wait in the kernel's queue instead of being refused.
//!
//! SIGTERM or SIGINT stops the VRRP speaker and the front together: the speaker hands its
//! VIPs over with priority 0 but keeps the addresses (a host cannot send from an address it no
//! longer has), while the front closes idle connections, finishes requests in flight and goes
//! on accepting for its `drain_linger`. Once the front has exited, a second signal makes the
//! speaker release the addresses; then the masters drain and stop, and the node exits. Children get SIGTERM
//! from the kernel when the node dies without stopping them (`follow_parent`).

use anyhow::{anyhow, Context, Result};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::{FrontRole, MasterRole, NodeConfig};
use troupe_store::StoreConfig;

/// Set on every child: the node's PID. A child whose parent it is asks the kernel for SIGTERM
/// when the node dies, so a node killed with SIGKILL leaves no roles behind.
const PARENT_ENV: &str = "TROUPE_NODE_PID";

/// Called first thing by every `troupe` process: when started by `troupe node`, stop (SIGTERM,
/// so the role drains) when the node goes away.
pub fn follow_parent() {
    let Some(want) = std::env::var(PARENT_ENV)
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
    else {
        return;
    };
    let parent = || rustix::process::getppid().map(|p| p.as_raw_nonzero().get());
    // A program the role runs (an autosign command, say) inherits the variable: not ours.
    if parent() != Some(want) {
        return;
    }
    if let Err(e) =
        rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM))
    {
        eprintln!("troupe: cannot follow troupe node's exit: {e}");
    }
    if parent() != Some(want) {
        // The node died before the request took effect.
        std::process::exit(1);
    }
}

/// The wait before a second restart in a row (the first is at once); it doubles up to
/// `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A child up this long before it stopped counts as healthy: it is started again at once
/// (one that stops sooner is crash-looping, and waits).
const STABLE: Duration = Duration::from_secs(10);
/// How long children get to stop after SIGTERM before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(15);
/// How long the start waits for a master to listen before starting the next role.
const START_WAIT: Duration = Duration::from_secs(30);
/// How often the node looks for exited children (a front killed is started again within it).
const TICK: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Master,
    Front,
    Vrrp,
}

/// One supervised child.
struct Role {
    name: String,
    group: Group,
    args: Vec<OsString>,
    /// A master's address: the start waits for it before going on.
    listen: Option<SocketAddr>,
    child: Option<Child>,
    /// The front's first listen address: the node holds its socket (`socket`) and gives it to
    /// each front as stdin.
    hold: Option<SocketAddr>,
    socket: Option<std::net::TcpListener>,
    started: Instant,
    /// The wait before the next restart: zero until a restart happens soon after a start.
    backoff: Duration,
    next_start: Instant,
}

impl Role {
    fn new(name: String, group: Group, config: PathBuf, listen: Option<SocketAddr>) -> Role {
        let sub = match group {
            Group::Master => "master",
            Group::Front => "front",
            Group::Vrrp => "vrrp",
        };
        Role {
            name,
            group,
            args: vec![sub.into(), "--config".into(), config.into()],
            listen,
            child: None,
            hold: None,
            socket: None,
            started: Instant::now(),
            backoff: Duration::ZERO,
            next_start: Instant::now(),
        }
    }

    fn start(&mut self, exe: &Path) {
        self.started = Instant::now();
        if let (Some(addr), None) = (self.hold, &self.socket) {
            match hold_socket(addr) {
                Ok(s) => self.socket = Some(s),
                Err(e) => {
                    tracing::error!("{}: {e:#}", self.name);
                    self.schedule_restart();
                    return;
                }
            }
        }
        let stdin = match &self.socket {
            Some(s) => match s.try_clone() {
                Ok(s) => Stdio::from(std::os::fd::OwnedFd::from(s)),
                Err(e) => {
                    tracing::error!("{}: cannot hand its socket over: {e}", self.name);
                    self.schedule_restart();
                    return;
                }
            },
            None => Stdio::null(),
        };
        match Command::new(exe)
            .args(&self.args)
            .env(PARENT_ENV, std::process::id().to_string())
            .envs(crate::logging::child_env())
            .stdin(stdin)
            .spawn()
        {
            Ok(child) => {
                tracing::info!(child = %self.name, pid = child.id(), "{} started (pid {})", self.name, child.id());
                if self.group == Group::Front {
                    // What the built-in VRRP check `front_process` follows.
                    let p = run_dir().join("front.pid");
                    let tmp = run_dir().join(".front.pid.tmp");
                    if let Err(e) = std::fs::write(&tmp, format!("{}\n", child.id()))
                        .and_then(|()| std::fs::rename(&tmp, &p))
                    {
                        tracing::error!("cannot write {}: {e}", p.display());
                    }
                }
                self.child = Some(child);
            }
            Err(e) => {
                tracing::error!("{} could not start: {e}", self.name);
                self.schedule_restart();
            }
        }
    }

    fn schedule_restart(&mut self) {
        if self.started.elapsed() >= STABLE {
            self.backoff = Duration::ZERO;
        }
        self.next_start = Instant::now() + self.backoff;
        tracing::info!(
            "{} starts again in {:.1} s",
            self.name,
            self.backoff.as_secs_f64()
        );
        self.backoff = (self.backoff * 2).clamp(FIRST_BACKOFF, MAX_BACKOFF);
    }

    /// Notices an exit and restarts when the backoff is over.
    fn tend(&mut self, exe: &Path) {
        match &mut self.child {
            Some(child) => {
                let status = match child.try_wait() {
                    Ok(None) => return,
                    Ok(Some(status)) => status.to_string(),
                    Err(e) => e.to_string(),
                };
                tracing::warn!(
                    "{} (pid {}) stopped after {:.1} s: {status}",
                    self.name,
                    child.id(),
                    self.started.elapsed().as_secs_f64()
                );
                self.child = None;
                self.schedule_restart();
                if self.socket.is_some() && self.next_start > Instant::now() {
                    // A crash loop: while it waits, connections are refused (their clients
                    // fail at once, or follow the VIP) rather than queued for nobody.
                    self.socket = None;
                }
            }
            None => {
                if Instant::now() >= self.next_start {
                    self.start(exe);
                }
            }
        }
    }

    /// True while the child runs.
    fn alive(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }
}

/// This node's private directory: the generated files and the front's PID file.
pub fn run_dir() -> PathBuf {
    std::env::temp_dir().join(format!("troupe-node-{}", std::process::id()))
}

/// Where the VRRP speaker writes its instances' state (the front reads it).
pub fn vrrp_state_file() -> PathBuf {
    run_dir().join("vrrp.json")
}

/// The directory of the generated files, removed on drop.
struct RunDir(PathBuf);

impl RunDir {
    fn create() -> Result<RunDir> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = run_dir();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(RunDir(dir))
    }

    fn write(&self, name: &str, text: &str) -> Result<PathBuf> {
        let p = self.0.join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))?;
        Ok(p)
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The store settings of `[main]`, as lines.
fn store_lines(c: &NodeConfig, out: &mut String) {
    let s = &c.store;
    for (k, v) in [
        ("store", &s.store),
        ("store_ca_cert", &s.store_ca_cert),
        ("store_cert", &s.store_cert),
        ("store_key", &s.store_key),
        ("store_prefix", &s.store_prefix),
        ("join_secret_file", &s.join_secret_file),
    ] {
        if let Some(v) = v {
            let _ = writeln!(out, "{k} = {v}");
        }
    }
}

fn has(settings: &[(String, String)], key: &str) -> bool {
    settings.iter().any(|(k, _)| k == key)
}

/// `troupe master --config` for one instance: `[main]`, then the `[master]` settings.
fn master_file(c: &NodeConfig, m: &MasterRole, i: usize) -> String {
    let mut s = format!(
        "# written by troupe node from {}: master instance {}\n",
        c.file.display(),
        i + 1
    );
    let _ = writeln!(s, "listen = {}", m.addrs[i]);
    let _ = writeln!(s, "ssldir = {}", c.ssldir.display());
    if let Some(n) = &c.certname {
        let _ = writeln!(s, "certname = {n}");
    }
    store_lines(c, &mut s);
    if let (Some(h), false) = (&c.pool_host, has(&m.settings, "pool_host")) {
        let _ = writeln!(s, "pool_host = {h}");
    }
    if !has(&m.settings, "plain_http") {
        s.push_str("plain_http = true\n");
    }
    if m.config.plain_http && !has(&m.settings, "trusted_proxy") {
        s.push_str("trusted_proxy = 127.0.0.1\n");
    }
    for (k, v) in &m.settings {
        let _ = writeln!(s, "{k} = {v}");
    }
    s
}

/// `troupe front --config`: `[main]`'s ssldir, certname and store, the local backends unless
/// `[front]` names some, then the `[front]` settings.
fn front_file(c: &NodeConfig, f: &FrontRole) -> String {
    let mut s = format!(
        "# written by troupe node from {}: front\n",
        c.file.display()
    );
    if !has(&f.settings, "ssldir") {
        let _ = writeln!(s, "ssldir = {}", c.ssldir.display());
    }
    if !has(&f.settings, "certname") {
        match (&c.certname, &c.store_config) {
            (Some(n), _) => {
                let _ = writeln!(s, "certname = {n}");
            }
            // On a shared store the front takes the pool's name.
            (None, StoreConfig::Etcd { .. }) => {}
            (None, StoreConfig::Dir { .. }) => {
                let _ = writeln!(s, "certname = {}", crate::master_cmd::default_certname());
            }
        }
    }
    store_lines(c, &mut s);
    if let (Some(h), false) = (&c.pool_host, has(&f.settings, "pool_host")) {
        let _ = writeln!(s, "pool_host = {h}");
    }
    // With this host's CA directory, the front reads the CA certificate and the CRL there, so
    // a revocation by any local master reaches it at once.
    if let Some(cadir) = local_cadir(c) {
        for (key, file) in [("ca", "ca_crt.pem"), ("crl", "ca_crl.pem")] {
            if !has(&f.settings, key) {
                let _ = writeln!(s, "{key} = {}", cadir.join(file).display());
            }
        }
    }
    if let (Some(h), false) = (f.health_listen, has(&f.settings, "health_listen")) {
        let _ = writeln!(s, "health_listen = {h}");
    }
    // The node holds the first listening socket (`hold_socket`).
    s.push_str("listen_on_stdin = true\n");
    // The status page shows this host's VIPs from the VRRP speaker's state file.
    if !c.vrrp.instances.is_empty() && !has(&f.settings, "vrrp_state_file") {
        let _ = writeln!(s, "vrrp_state_file = {}", vrrp_state_file().display());
    }
    if f.local_backends {
        for b in &f.config.backends {
            let scheme = if b.tls { "https://" } else { "" };
            let _ = writeln!(s, "backend = {scheme}{}", b.addr);
        }
    }
    for (k, v) in &f.settings {
        let _ = writeln!(s, "{k} = {v}");
    }
    s
}

/// The CA directory of this host's masters on a `dir` store (`None` on etcd or without a CA).
fn local_cadir(c: &NodeConfig) -> Option<PathBuf> {
    match &c.store_config {
        StoreConfig::Dir { .. } => c.master.as_ref()?.config.cadir.clone(),
        StoreConfig::Etcd { .. } => None,
    }
}

/// On a `dir` store, issues the front's certificate (the pool's name, with `[master]`'s
/// `dns_alt_names`) from the local CA when the ssldir has none yet, through `troupe ca
/// generate`. On etcd the pool certificate comes from the store.
fn ensure_front_cert(c: &NodeConfig, exe: &Path) -> Result<()> {
    let (Some(f), Some(m), Some(cadir)) = (&c.front, &c.master, local_cadir(c)) else {
        return Ok(());
    };
    let cert = &f.config.tls.cert;
    if cert.exists() || has(&f.settings, "cert") {
        return Ok(());
    }
    let (Some(name), Some(ssldir)) = (
        cert.file_stem().and_then(|n| n.to_str()),
        cert.parent().and_then(Path::parent),
    ) else {
        return Ok(());
    };
    let mut cmd = Command::new(exe);
    cmd.arg("ca")
        .arg("--ssldir")
        .arg(ssldir)
        .arg("--cadir")
        .arg(&cadir)
        .args(["generate", name, "--ecdsa"])
        .stdin(Stdio::null());
    if !m.config.dns_alt_names.is_empty() {
        cmd.arg("--dns-alt-names")
            .arg(m.config.dns_alt_names.join(","));
    }
    let out = cmd.output().context("troupe ca generate")?;
    if !out.status.success() {
        return Err(anyhow!(
            "issuing the front's certificate {name}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    tracing::info!(
        "issued the front's certificate {name} from the CA in {}",
        cadir.display()
    );
    Ok(())
}

/// Every child, in start order: masters, the front, the VRRP speaker.
fn roles(c: &NodeConfig, dir: &RunDir) -> Result<Vec<Role>> {
    let mut roles = Vec::new();
    if let Some(m) = &c.master {
        for (i, a) in m.addrs.iter().enumerate() {
            let p = dir.write(&format!("master{}.conf", i + 1), &master_file(c, m, i))?;
            roles.push(Role::new(
                format!("master {} ({a})", i + 1),
                Group::Master,
                p,
                Some(*a),
            ));
        }
    }
    if let Some(f) = &c.front {
        let p = dir.write("front.conf", &front_file(c, f))?;
        roles.push(Role::new("front".into(), Group::Front, p, None));
    }
    if !c.vrrp.instances.is_empty() {
        // A master that hands over keeps its VIPs until the front is done with the
        // connections bound to them (the node signals again then; `stop_in_order`).
        let hold = c
            .front
            .as_ref()
            .map(|f| f.config.drain_timeout + f.config.drain_linger + Duration::from_secs(1))
            .unwrap_or_default()
            .min(Duration::from_secs(3600));
        let text = format!(
            "state_file = {}\nhold_on_stop = {}\n{}",
            vrrp_state_file().display(),
            hold.as_secs_f64(),
            c.vrrp_text
        );
        let p = dir.write("vrrp.conf", &text)?;
        roles.push(Role::new("vrrp".into(), Group::Vrrp, p, None));
    }
    Ok(roles)
}

/// Binds the front's first listen address for the node to hold (the front's other addresses,
/// if any, the front binds itself).
fn hold_socket(addr: SocketAddr) -> Result<std::net::TcpListener> {
    // std sets SO_REUSEADDR, so a restarted node binds again at once; the queue is as long as
    // tokio's (std's 128 is short for a pool's front).
    let l = std::net::TcpListener::bind(addr)
        .with_context(|| format!("[front] cannot listen on {addr}"))?;
    rustix::net::listen(&l, 1024).with_context(|| format!("[front] listen on {addr}"))?;
    Ok(l)
}

/// Waits until a just-started master accepts connections (or exits, or the wait is over).
fn wait_listening(r: &mut Role, addr: SocketAddr, term: &AtomicBool) {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let start = Instant::now();
    while start.elapsed() < START_WAIT && !term.load(Ordering::SeqCst) && r.alive() {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        std::thread::sleep(TICK);
    }
}

/// SIGTERM to the groups' children.
fn signal(roles: &mut [Role], groups: &[Group]) {
    for r in roles.iter_mut().filter(|r| groups.contains(&r.group)) {
        if let Some(child) = &r.child {
            let pid = rustix::process::Pid::from_child(child);
            if let Err(e) = rustix::process::kill_process(pid, rustix::process::Signal::TERM) {
                tracing::warn!("stopping {}: {e}", r.name);
            }
        }
    }
}

/// Waits for the groups' children to exit; SIGKILL to those still running after the grace
/// time.
fn reap(roles: &mut [Role], groups: &[Group]) {
    let start = Instant::now();
    for r in roles.iter_mut().filter(|r| groups.contains(&r.group)) {
        let Some(mut child) = r.child.take() else {
            continue;
        };
        loop {
            match child.try_wait() {
                Ok(None) if start.elapsed() < STOP_GRACE => std::thread::sleep(TICK),
                Ok(None) => {
                    tracing::warn!("{} did not stop in time: killed", r.name);
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                _ => break,
            }
        }
    }
}

/// The stop: the VRRP speaker hands the VIPs over (keeping the addresses) while the front
/// drains; once the front is done, a second signal lets the speaker release the addresses;
/// then the masters finish what the front sent them.
fn stop_in_order(roles: &mut [Role]) {
    signal(roles, &[Group::Vrrp, Group::Front]);
    reap(roles, &[Group::Front]);
    signal(roles, &[Group::Vrrp]);
    reap(roles, &[Group::Vrrp]);
    signal(roles, &[Group::Master]);
    reap(roles, &[Group::Master]);
}

pub fn run(c: NodeConfig) -> Result<ExitCode> {
    let term = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, Arc::clone(&term))
            .map_err(|e| anyhow!("signal handler: {e}"))?;
    }
    let exe = std::env::current_exe().context("the path of this program")?;
    let dir = RunDir::create()?;
    let mut roles = roles(&c, &dir)?;
    crate::logging::block(&super::check::summary(&c));
    for r in roles.iter_mut() {
        if term.load(Ordering::SeqCst) {
            break;
        }
        if r.group == Group::Front {
            if let Err(e) = ensure_front_cert(&c, &exe) {
                tracing::error!("{e:#}");
            }
            r.hold = c
                .front
                .as_ref()
                .and_then(|f| f.config.listen.first().copied());
            if let Some(a) = r.hold {
                r.socket = Some(hold_socket(a)?);
            }
        }
        r.start(&exe);
        if let Some(a) = r.listen {
            wait_listening(r, a, &term);
        }
    }
    while !term.load(Ordering::SeqCst) {
        for r in roles.iter_mut() {
            r.tend(&exe);
        }
        std::thread::sleep(TICK);
    }
    tracing::info!("stopping");
    stop_in_order(&mut roles);
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, tag: &str) -> NodeConfig {
        let dir =
            std::env::temp_dir().join(format!("troupe-node-run-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let p = dir.join("troupe.conf");
        std::fs::write(&p, text).expect("write");
        let c = super::super::config::load(&p).unwrap_or_else(|e| panic!("{e:#}"));
        let _ = std::fs::remove_dir_all(&dir);
        c
    }

    #[test]
    fn generated_files_carry_main_and_the_role_settings() {
        let c = load(
            "[main]\ncertname = pool.example.test\nssldir = /s\nstore = dir:/s/ca\n[master]\nbase_port = 19000\nworkers = 3\n[front]\nlisten = 0.0.0.0:8140\nrise = 2\n[vrrp V]\ninterface = eth0\nvrid = 9\nvirtual_address = 10.0.0.9/24\n",
            "files",
        );
        let m = c.master.as_ref().expect("masters");
        let second = master_file(&c, m, 1);
        for want in [
            "listen = 127.0.0.1:19001\n",
            "ssldir = /s\n",
            "certname = pool.example.test\n",
            "store = dir:/s/ca\n",
            "plain_http = true\n",
            "trusted_proxy = 127.0.0.1\n",
            "workers = 3\n",
        ] {
            assert!(second.contains(want), "{want:?} in\n{second}");
        }
        assert!(!second.contains("base_port"), "{second}");
        let f = front_file(&c, c.front.as_ref().expect("front"));
        for want in [
            "ssldir = /s\n",
            "certname = pool.example.test\n",
            "ca = /s/ca/ca_crt.pem\n",
            "crl = /s/ca/ca_crl.pem\n",
            "backend = 127.0.0.1:19000\n",
            "backend = 127.0.0.1:19001\n",
            "listen = 0.0.0.0:8140\n",
            "rise = 2\n",
        ] {
            assert!(f.contains(want), "{want:?} in\n{f}");
        }
        let v = troupe_vrrp::config::parse(&c.vrrp_text, "vrrp.conf").expect("vrrp file");
        assert_eq!(v.instances[0].vrid, 9);
        let state = format!("vrrp_state_file = {}\n", vrrp_state_file().display());
        assert!(f.contains(&state), "{state:?} in\n{f}");
        let dir = RunDir(
            std::env::temp_dir().join(format!("troupe-node-run-{}-roles", std::process::id())),
        );
        std::fs::create_dir_all(&dir.0).expect("run dir");
        let roles = roles(&c, &dir).expect("roles");
        assert_eq!(roles.len(), 4);
        let text = std::fs::read_to_string(dir.0.join("vrrp.conf")).expect("vrrp.conf");
        let v = troupe_vrrp::config::parse(&text, "vrrp.conf").expect("generated vrrp file");
        assert_eq!(v.state_file, Some(vrrp_state_file()));
    }

    #[test]
    fn an_etcd_front_takes_the_pools_name_and_masters_keep_their_https() {
        let c = load(
            "store = etcd://127.0.0.1:2379\njoin_secret_file = /j\npool_host = hosta\n[master]\nplain_http = false\ntrusted_front = f1\n[front]\n",
            "etcd",
        );
        let m = c.master.as_ref().expect("masters");
        let first = master_file(&c, m, 0);
        assert!(first.contains("join_secret_file = /j\n"), "{first}");
        assert!(first.contains("pool_host = hosta\n"), "{first}");
        assert!(first.contains("plain_http = false\n"), "{first}");
        assert!(!first.contains("trusted_proxy"), "{first}");
        let f = front_file(&c, c.front.as_ref().expect("front"));
        assert!(!f.contains("certname"), "{f}");
        assert!(!f.contains("ca = "), "{f}");
        assert!(f.contains("backend = https://127.0.0.1:18140\n"), "{f}");
        assert!(f.contains("pool_host = hosta\n"), "{f}");
        assert!(!f.contains("vrrp_state_file"), "no VRRP here: {f}");
    }

    #[test]
    fn the_first_restart_is_at_once_then_the_wait_doubles_to_its_cap() {
        let mut r = Role::new("x".into(), Group::Master, "/c".into(), None);
        let mut waits = Vec::new();
        for _ in 0..7 {
            waits.push(r.backoff);
            r.schedule_restart();
        }
        assert_eq!(
            waits,
            [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 10.0].map(Duration::from_secs_f64)
        );
    }
}
