//! `troupe vrrp --config FILE`: instances and track checks, in a small INI-style format.
//!
//! ```text
//! state_file = /run/troupe/vrrp.json   # optional, before the first section: the instances'
//!                                      # state as JSON (see `state_file`)
//! hold_on_stop = 0        # seconds a master that handed over on SIGTERM keeps its addresses
//!                         # (unannounced) for a local service to finish its connections; a
//!                         # second SIGTERM releases them; 0: until the new master speaks
//!
//! [instance VI_1]
//! interface = eth0
//! vrid = 51
//! priority = 101
//! advert_int = 1          # seconds; 0.1 for 100 ms (VRRPv3)
//! version = 3             # or 2, keepalived's default
//! virtual_address = 10.88.0.21/24
//! preempt = true          # nopreempt = true also works
//! preempt_delay = 0
//! unicast_peer = 10.88.0.12   # repeatable; multicast 224.0.0.18 when absent
//! track = front           # a [check NAME] section; repeatable
//! garp_count = 5
//! garp_delay = 0.2
//! notify_master = /usr/local/bin/notify master
//!
//! [check front]
//! http = http://127.0.0.1:8140/status/v1/simple   # or: process = NAME, pidfile = FILE,
//!                                                 #     script = CMD, interface = IF
//! interval = 1
//! weight = 2              # added while the check passes (negative: added while it fails)
//! fall = 2
//! rise = 2
//! ```
//! Errors name the file, line and key.

use std::net::Ipv4Addr;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq)]
pub enum CheckKind {
    /// A process with this name (`/proc/*/comm`) is running.
    Process(String),
    /// The process whose PID this file holds is alive (not a zombie). Unlike a name, this
    /// tells apart processes of the same name, e.g. one per network namespace.
    Pidfile(PathBuf),
    /// `GET` of an `http://` URL answers 2xx.
    Http(String),
    /// A command (via `/bin/sh -c`) exits 0.
    Script(String),
    /// The interface is up (`/sys/class/net/<if>/operstate`).
    Interface(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: String,
    pub kind: CheckKind,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub weight: i32,
    pub rise: u32,
    pub fall: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    pub priority: u8,
    pub advert_cs: u16,
    pub version: u8,
    pub addresses: Vec<(Ipv4Addr, u8)>,
    pub preempt: bool,
    pub preempt_delay_ms: u64,
    pub unicast_peers: Vec<Ipv4Addr>,
    /// Source address of adverts (default: the interface's first IPv4 address).
    pub source: Option<Ipv4Addr>,
    pub tracks: Vec<String>,
    pub garp_count: u32,
    pub garp_delay_ms: u64,
    pub notify_master: Option<String>,
    pub notify_backup: Option<String>,
    pub notify_fault: Option<String>,
    pub notify: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    pub instances: Vec<Instance>,
    pub checks: Vec<Check>,
    /// `state_file`: where the instances' state is written as JSON (`state_file.rs`).
    pub state_file: Option<PathBuf>,
    /// `hold_on_stop`, milliseconds (0: release when the new master speaks).
    pub hold_on_stop_ms: u64,
}

fn secs_ms(v: &str) -> Option<u64> {
    let f: f64 = v.parse().ok()?;
    (f >= 0.0 && f.is_finite()).then(|| (f * 1000.0).round() as u64)
}

fn boolean(v: &str) -> Option<bool> {
    match v {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// Parses a configuration; errors read `FILE line N: key 'k': ...`.
pub fn parse(text: &str, file: &str) -> Result<Config, String> {
    enum Sec {
        None,
        Inst(usize),
        Check(usize),
    }
    let mut c = Config::default();
    let mut sec = Sec::None;
    let mut seen_vrid: Vec<(String, u8)> = vec![];
    for (i, raw) in text.lines().enumerate() {
        let at = format!("{file} line {}", i + 1);
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(h) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let mut w = h.split_whitespace();
            match (w.next(), w.next(), w.next()) {
                (Some("instance"), Some(n), None) => {
                    c.instances.push(Instance {
                        name: n.into(),
                        interface: String::new(),
                        vrid: 0,
                        priority: 100,
                        advert_cs: 100,
                        version: 3,
                        addresses: vec![],
                        preempt: true,
                        preempt_delay_ms: 0,
                        unicast_peers: vec![],
                        source: None,
                        tracks: vec![],
                        garp_count: 5,
                        garp_delay_ms: 0,
                        notify_master: None,
                        notify_backup: None,
                        notify_fault: None,
                        notify: None,
                    });
                    sec = Sec::Inst(c.instances.len() - 1);
                }
                (Some("check"), Some(n), None) => {
                    c.checks.push(Check {
                        name: n.into(),
                        kind: CheckKind::Script(String::new()),
                        interval_ms: 1000,
                        timeout_ms: 1000,
                        weight: 0,
                        rise: 1,
                        fall: 1,
                    });
                    sec = Sec::Check(c.checks.len() - 1);
                }
                _ => {
                    return Err(format!(
                        "{at}: unknown section '[{h}]' (use [instance NAME] or [check NAME])"
                    ))
                }
            }
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| format!("{at}: expected 'key = value', got '{line}'"))?;
        let (k, v) = (k.trim(), v.trim());
        let bad = |what: &str| format!("{at}: key '{k}': {what}, got '{v}'");
        match &sec {
            Sec::None if k == "state_file" => {
                if v.is_empty() {
                    return Err(bad("expected a file path"));
                }
                c.state_file = Some(v.into());
            }
            Sec::None if k == "hold_on_stop" => {
                c.hold_on_stop_ms = secs_ms(v)
                    .filter(|ms| *ms <= 3_600_000)
                    .ok_or_else(|| bad("expected seconds from 0 to 3600"))?;
            }
            Sec::None => {
                return Err(format!(
                    "{at}: key '{k}' outside of an [instance] or [check] section (only state_file and hold_on_stop go before them)"
                ))
            }
            Sec::Inst(ix) => {
                let inst = &mut c.instances[*ix];
                match k {
                    "interface" => inst.interface = v.into(),
                    "vrid" => {
                        inst.vrid = v
                            .parse()
                            .ok()
                            .filter(|n: &u8| *n >= 1)
                            .ok_or_else(|| bad("expected 1..255"))?
                    }
                    "priority" => {
                        inst.priority = v
                            .parse()
                            .ok()
                            .filter(|n: &u8| *n >= 1)
                            .ok_or_else(|| bad("expected 1..255"))?
                    }
                    "advert_int" => {
                        let ms = secs_ms(v).ok_or_else(|| bad("expected seconds"))?;
                        if !(10..=40_950).contains(&ms) {
                            return Err(bad("expected 0.01 to 40.95 seconds"));
                        }
                        inst.advert_cs = (ms / 10) as u16;
                    }
                    "version" => {
                        inst.version = match v {
                            "2" => 2,
                            "3" => 3,
                            _ => return Err(bad("expected 2 or 3")),
                        }
                    }
                    "virtual_address" => {
                        let (a, p) = v.split_once('/').unwrap_or((v, "32"));
                        let a: Ipv4Addr = a.parse().map_err(|_| {
                            bad("expected an IPv4 address with an optional /prefix")
                        })?;
                        let p: u8 = p
                            .parse()
                            .ok()
                            .filter(|p| *p <= 32)
                            .ok_or_else(|| bad("expected a prefix length 0..32"))?;
                        inst.addresses.push((a, p));
                    }
                    "preempt" => {
                        inst.preempt = boolean(v).ok_or_else(|| bad("expected true or false"))?
                    }
                    "nopreempt" => {
                        inst.preempt = !boolean(v).ok_or_else(|| bad("expected true or false"))?
                    }
                    "preempt_delay" => {
                        inst.preempt_delay_ms = secs_ms(v).ok_or_else(|| bad("expected seconds"))?
                    }
                    "unicast_peer" => inst
                        .unicast_peers
                        .push(v.parse().map_err(|_| bad("expected an IPv4 address"))?),
                    "track" => inst.tracks.push(v.into()),
                    "source" | "unicast_src_ip" => {
                        inst.source = Some(v.parse().map_err(|_| bad("expected an IPv4 address"))?)
                    }
                    "garp_count" => {
                        inst.garp_count = v.parse().map_err(|_| bad("expected a count"))?
                    }
                    "garp_delay" => {
                        inst.garp_delay_ms = secs_ms(v).ok_or_else(|| bad("expected seconds"))?
                    }
                    "notify_master" => inst.notify_master = Some(v.into()),
                    "notify_backup" => inst.notify_backup = Some(v.into()),
                    "notify_fault" => inst.notify_fault = Some(v.into()),
                    "notify" => inst.notify = Some(v.into()),
                    _ => {
                        return Err(format!(
                            "{at}: unknown key '{k}' in [instance {}]",
                            inst.name
                        ))
                    }
                }
            }
            Sec::Check(ix) => {
                let ch = &mut c.checks[*ix];
                match k {
                    "process" => ch.kind = CheckKind::Process(v.into()),
                    "pidfile" => ch.kind = CheckKind::Pidfile(v.into()),
                    "http" => {
                        if !v.starts_with("http://") {
                            return Err(bad("expected an http:// URL"));
                        }
                        ch.kind = CheckKind::Http(v.into())
                    }
                    "script" => ch.kind = CheckKind::Script(v.into()),
                    "interface" => ch.kind = CheckKind::Interface(v.into()),
                    "interval" => {
                        ch.interval_ms = secs_ms(v)
                            .filter(|m| *m >= 10)
                            .ok_or_else(|| bad("expected seconds (at least 0.01)"))?
                    }
                    "timeout" => {
                        ch.timeout_ms = secs_ms(v)
                            .filter(|m| *m >= 10)
                            .ok_or_else(|| bad("expected seconds (at least 0.01)"))?
                    }
                    "weight" => {
                        ch.weight = v
                            .parse()
                            .ok()
                            .filter(|w: &i32| (-253..=253).contains(w))
                            .ok_or_else(|| bad("expected -253..253"))?
                    }
                    "rise" => {
                        ch.rise = v
                            .parse()
                            .ok()
                            .filter(|n| *n >= 1)
                            .ok_or_else(|| bad("expected a count of at least 1"))?
                    }
                    "fall" => {
                        ch.fall = v
                            .parse()
                            .ok()
                            .filter(|n| *n >= 1)
                            .ok_or_else(|| bad("expected a count of at least 1"))?
                    }
                    _ => return Err(format!("{at}: unknown key '{k}' in [check {}]", ch.name)),
                }
            }
        }
    }
    for inst in &c.instances {
        let need = |what: &str| format!("{file}: [instance {}] needs '{what}'", inst.name);
        if inst.interface.is_empty() {
            return Err(need("interface"));
        }
        if inst.vrid == 0 {
            return Err(need("vrid"));
        }
        if inst.addresses.is_empty() {
            return Err(need("virtual_address"));
        }
        if inst.version == 2 && inst.advert_cs % 100 != 0 {
            return Err(format!(
                "{file}: [instance {}] key 'advert_int': VRRPv2 counts whole seconds",
                inst.name
            ));
        }
        if let Some((other, _)) = seen_vrid
            .iter()
            .find(|(n, v)| *v == inst.vrid && *n != inst.name)
        {
            return Err(format!(
                "{file}: [instance {}] key 'vrid': {} is already used by [instance {other}]",
                inst.name, inst.vrid
            ));
        }
        seen_vrid.push((inst.name.clone(), inst.vrid));
        for t in &inst.tracks {
            if !c.checks.iter().any(|ch| ch.name == *t) {
                return Err(format!(
                    "{file}: [instance {}] key 'track': no [check {t}] section",
                    inst.name
                ));
            }
        }
    }
    for ch in &c.checks {
        if ch.kind == CheckKind::Script(String::new()) {
            return Err(format!(
                "{file}: [check {}] needs one of 'process', 'http', 'script', 'interface'",
                ch.name
            ));
        }
    }
    Ok(c)
}

/// The notify hooks to run for a state change, with the instance name and state as arguments.
pub fn notify_commands(inst: &Instance, state: &str) -> Vec<String> {
    let specific = match state {
        "MASTER" => inst.notify_master.clone(),
        "BACKUP" => inst.notify_backup.clone(),
        "FAULT" => inst.notify_fault.clone(),
        _ => None,
    };
    specific
        .into_iter()
        .chain(
            inst.notify
                .clone()
                .map(|n| format!("{n} INSTANCE {} {state}", inst.name)),
        )
        .collect()
}

/// Where the config may live by default.
pub fn default_path() -> PathBuf {
    PathBuf::from("/etc/troupe/vrrp.conf")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "
[instance VI_1]
interface = eth0
vrid = 51
priority = 101
advert_int = 0.1
virtual_address = 10.88.0.21/24
track = front
[instance VI_2]
interface = eth0
vrid = 52
priority = 100
version = 2
nopreempt = true
virtual_address = 10.88.0.22
unicast_peer = 10.88.0.12
[check front]
http = http://127.0.0.1:8140/status/v1/simple
interval = 0.05
weight = 2
fall = 2
";

    #[test]
    fn parses_instances_and_checks() {
        let c = parse(GOOD, "vrrp.conf").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.instances.len(), 2);
        assert_eq!(c.instances[0].advert_cs, 10);
        assert_eq!(
            c.instances[0].addresses,
            vec![(Ipv4Addr::new(10, 88, 0, 21), 24)]
        );
        assert_eq!(c.instances[1].version, 2);
        assert!(!c.instances[1].preempt);
        assert_eq!(c.instances[1].addresses[0].1, 32);
        assert_eq!(
            c.checks[0].kind,
            CheckKind::Http("http://127.0.0.1:8140/status/v1/simple".into())
        );
        assert_eq!(
            (
                c.checks[0].interval_ms,
                c.checks[0].weight,
                c.checks[0].fall
            ),
            (50, 2, 2)
        );
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let e = parse("[instance A]\ninterface = eth0\nvrid = 300\n", "v.conf")
            .err()
            .unwrap_or_default();
        assert_eq!(e, "v.conf line 3: key 'vrid': expected 1..255, got '300'");
        let e = parse("[instance A]\nbogus = 1\n", "v.conf")
            .err()
            .unwrap_or_default();
        assert_eq!(e, "v.conf line 2: unknown key 'bogus' in [instance A]");
        let e = parse("priority = 3\n[instance A]\n", "v.conf")
            .err()
            .unwrap_or_default();
        assert!(
            e.starts_with("v.conf line 1: key 'priority' outside"),
            "{e}"
        );
        let c = parse(&format!("state_file = /run/t/vrrp.json\n{GOOD}"), "v.conf")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.state_file, Some(PathBuf::from("/run/t/vrrp.json")));
        assert_eq!(c.instances.len(), 2);
        assert_eq!(c.hold_on_stop_ms, 0);
        let c = parse(&format!("hold_on_stop = 2.5\n{GOOD}"), "v.conf")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.hold_on_stop_ms, 2500);
        let e = parse(&format!("hold_on_stop = soon\n{GOOD}"), "v.conf")
            .err()
            .unwrap_or_default();
        assert_eq!(
            e,
            "v.conf line 1: key 'hold_on_stop': expected seconds from 0 to 3600, got 'soon'"
        );
        let e = parse("[instance A]\nstate_file = /x\n", "v.conf")
            .err()
            .unwrap_or_default();
        assert_eq!(e, "v.conf line 2: unknown key 'state_file' in [instance A]");
        let e = parse(
            "[instance A]\ninterface = eth0\nvrid = 5\nvirtual_address = 10.0.0.1\ntrack = nope\n",
            "v.conf",
        )
        .err()
        .unwrap_or_default();
        assert_eq!(
            e,
            "v.conf: [instance A] key 'track': no [check nope] section"
        );
        let e = parse(
            "[instance A]\ninterface = eth0\nvrid = 5\nvirtual_address = 10.0.0.300\n",
            "v.conf",
        )
        .err()
        .unwrap_or_default();
        assert!(e.starts_with("v.conf line 4: key 'virtual_address'"), "{e}");
        let e = parse("[instance A]\ninterface=e\nvrid=5\nvirtual_address=10.0.0.1\nversion=2\nadvert_int=0.5\n", "v.conf").err().unwrap_or_default();
        assert!(e.contains("VRRPv2 counts whole seconds"), "{e}");
        let e = parse("[instance A]\ninterface=e\nvrid=5\nvirtual_address=10.0.0.1\n[instance B]\ninterface=e\nvrid=5\nvirtual_address=10.0.0.2\n", "v.conf").err().unwrap_or_default();
        assert!(
            e.contains("key 'vrid': 5 is already used by [instance A]"),
            "{e}"
        );
    }

    #[test]
    fn notify_hooks_get_name_and_state() {
        let c = parse(GOOD, "v").unwrap_or_default();
        let mut i = c.instances[0].clone();
        i.notify = Some("/bin/hook".into());
        i.notify_master = Some("/bin/m".into());
        assert_eq!(
            notify_commands(&i, "MASTER"),
            vec![
                "/bin/m".to_string(),
                "/bin/hook INSTANCE VI_1 MASTER".into()
            ]
        );
        assert_eq!(
            notify_commands(&i, "BACKUP"),
            vec!["/bin/hook INSTANCE VI_1 BACKUP".to_string()]
        );
    }
}
