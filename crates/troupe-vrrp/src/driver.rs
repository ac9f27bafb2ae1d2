//! The driver behind `troupe vrrp --config FILE`: owns the sockets, threads and clock, feeds
//! the per-VRID state machines (`fsm`) and carries out their actions.
//!
//! One thread receives VRRP on each interface, one runs each track check, one watches the
//! links, one waits for signals; all of them send events to the main loop, which alone
//! touches the routers. Time is milliseconds since start.

use crate::config::{self, Instance};
use crate::fsm::{Action, Router, State};
use crate::packet::{self, Advert, Drop, Version, GROUP};
use crate::state_file::{InstanceState, VrrpState};
use crate::sys::{self, Interface, Netlink, VrrpSocket};
use crate::track::{self, Tracker};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

enum Event {
    Packet(usize, Vec<u8>),
    Check(usize, Result<(), String>),
    Link(String, bool),
    Stop,
    Dump,
}

struct Vrid {
    inst: Instance,
    router: Router,
    /// Index into the interface list.
    ifc: usize,
    /// Indexes of the checks this instance tracks.
    tracks: Vec<usize>,
    /// Gratuitous ARP rounds still to send, and when the next is due (cancelled when the
    /// addresses are released, so a short-lived master never announces itself late).
    garps_left: u32,
    garp_at: u64,
}

/// Counters of dropped packets, by reason.
#[derive(Debug, Default)]
pub struct Drops(HashMap<&'static str, u64>);

impl Drops {
    fn count(&mut self, why: &'static str) -> u64 {
        let n = self.0.entry(why).or_default();
        *n += 1;
        *n
    }

    pub fn summary(&self) -> String {
        if self.0.is_empty() {
            return "no packets dropped".into();
        }
        let mut v: Vec<_> = self.0.iter().collect();
        v.sort();
        v.iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Runs until SIGTERM or SIGINT; then masters hand over with priority 0 and remove their
/// addresses.
pub fn run(cfg: config::Config) -> Result<(), String> {
    if cfg.instances.is_empty() {
        return Err("the configuration has no [instance] section".into());
    }
    let mut ifaces: Vec<Interface> = vec![];
    let mut vrids: Vec<Vrid> = vec![];
    for inst in &cfg.instances {
        let ifc = match ifaces.iter().position(|i| i.name == inst.interface) {
            Some(i) => i,
            None => {
                ifaces.push(
                    sys::interface(&inst.interface)
                        .map_err(|e| format!("[instance {}] key 'interface': {e}", inst.name))?,
                );
                ifaces.len() - 1
            }
        };
        let vips: Vec<Ipv4Addr> = inst.addresses.iter().map(|a| a.0).collect();
        let primary = match inst.source {
            Some(s) => s,
            None => ifaces[ifc]
                .addresses
                .iter()
                .copied()
                .find(|a| !vips.contains(a))
                .ok_or_else(|| {
                    format!(
                        "[instance {}]: interface {} has no IPv4 address of its own (set 'source')",
                        inst.name, inst.interface
                    )
                })?,
        };
        let tracks = inst
            .tracks
            .iter()
            .filter_map(|t| cfg.checks.iter().position(|c| c.name == *t))
            .collect();
        vrids.push(Vrid {
            router: Router::new(crate::fsm::Config {
                name: inst.name.clone(),
                vrid: inst.vrid,
                version: if inst.version == 2 {
                    Version::V2
                } else {
                    Version::V3
                },
                priority: inst.priority,
                interval_cs: inst.advert_cs,
                preempt: inst.preempt,
                preempt_delay_ms: inst.preempt_delay_ms,
                primary,
                addresses: vips,
            }),
            inst: inst.clone(),
            ifc,
            tracks,
            garps_left: 0,
            garp_at: 0,
        });
    }
    let (tx, rx) = mpsc::channel();
    // One socket per interface; the source is the first instance's.
    let mut sockets = vec![];
    for (i, ifc) in ifaces.iter().enumerate() {
        let source = vrids
            .iter()
            .find(|v| v.ifc == i)
            .map(|v| v.router.cfg.primary)
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        let s = VrrpSocket::open(ifc, source)?;
        let r = s.try_clone().map_err(|e| format!("{}: {e}", ifc.name))?;
        let tx = tx.clone();
        std::thread::Builder::new()
            .name(format!("vrrp-rx-{}", ifc.name))
            .spawn(move || receive_loop(i, r, tx))
            .map_err(|e| e.to_string())?;
        sockets.push(s);
    }
    let mut trackers: Vec<Tracker> = cfg.checks.iter().cloned().map(Tracker::new).collect();
    for (i, c) in cfg.checks.iter().enumerate() {
        let (c, tx) = (c.clone(), tx.clone());
        std::thread::Builder::new()
            .name(format!("check-{}", c.name))
            .spawn(move || loop {
                let r = track::run(&c.kind, Duration::from_millis(c.timeout_ms));
                if tx.send(Event::Check(i, r)).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(c.interval_ms));
            })
            .map_err(|e| e.to_string())?;
    }
    {
        let names: Vec<String> = ifaces.iter().map(|i| i.name.clone()).collect();
        let tx = tx.clone();
        std::thread::Builder::new()
            .name("links".into())
            .spawn(move || link_loop(names, tx))
            .map_err(|e| e.to_string())?;
    }
    {
        use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
        let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGUSR1])
            .map_err(|e| format!("signals: {e}"))?;
        let tx = tx.clone();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for s in signals.forever() {
                    let ev = if s == SIGUSR1 {
                        Event::Dump
                    } else {
                        Event::Stop
                    };
                    if tx.send(ev).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| e.to_string())?;
    }
    drop(tx);
    let mut d = Driver {
        start: Instant::now(),
        ifaces,
        sockets,
        vrids,
        netlink: Netlink::open()?,
        drops: Drops::default(),
        links: HashMap::new(),
        state_file: cfg.state_file.clone(),
        hold_on_stop_ms: cfg.hold_on_stop_ms,
        published: None,
    };
    // Addresses left behind by a process that was killed are not ours until we are master.
    for v in 0..d.vrids.len() {
        d.release(v);
    }
    let now = d.now();
    for v in 0..d.vrids.len() {
        let acts = d.vrids[v].router.start(now);
        d.apply(v, acts);
        // Checks start failing (until they rise); weights and faults apply from the start.
        d.refresh(now, v, &trackers);
    }
    d.publish();
    d.event_loop(&rx, &mut trackers);
    tracing::info!("stopped; {}", d.drops.summary());
    Ok(())
}

struct Driver {
    start: Instant,
    ifaces: Vec<Interface>,
    sockets: Vec<VrrpSocket>,
    vrids: Vec<Vrid>,
    netlink: Netlink,
    drops: Drops,
    /// Each interface's link as the watcher last reported it (up until told otherwise).
    links: HashMap<String, bool>,
    /// `state_file`, and what was last written there (its instances).
    state_file: Option<std::path::PathBuf>,
    /// `hold_on_stop`, milliseconds.
    hold_on_stop_ms: u64,
    published: Option<Vec<InstanceState>>,
}

impl Driver {
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Writes the state file when an instance's state or priority changed since the last
    /// write (or nothing was written yet).
    fn publish(&mut self) {
        let Some(path) = &self.state_file else {
            return;
        };
        let now: Vec<InstanceState> = self
            .vrids
            .iter()
            .map(|v| InstanceState {
                name: v.inst.name.clone(),
                vrid: v.inst.vrid,
                state: v.router.state.name().to_string(),
                priority: v.router.priority(),
                vips: v
                    .inst
                    .addresses
                    .iter()
                    .map(|(a, p)| format!("{a}/{p}"))
                    .collect(),
            })
            .collect();
        if self.published.as_ref() == Some(&now) {
            return;
        }
        let file = VrrpState {
            instances: now.clone(),
            updated: crate::state_file::unix_now(),
        };
        match file.write(path) {
            Ok(()) => self.published = Some(now),
            Err(e) => {
                // Tried again on the next change only (no log flood).
                tracing::warn!("{e}");
                self.published = Some(now);
            }
        }
    }

    fn event_loop(&mut self, rx: &Receiver<Event>, trackers: &mut [Tracker]) {
        loop {
            let now = self.now();
            let next = self
                .vrids
                .iter()
                .filter_map(|v| v.router.deadline())
                .chain(
                    self.vrids
                        .iter()
                        .filter(|v| v.garps_left > 0)
                        .map(|v| v.garp_at),
                )
                .min()
                .unwrap_or(now + 1000);
            let ev = match rx.recv_timeout(Duration::from_millis(next.saturating_sub(now))) {
                Ok(ev) => Some(ev),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some(Event::Stop),
            };
            let now = self.now();
            match ev {
                None => {}
                Some(Event::Stop) => return self.hand_over(rx),
                Some(Event::Dump) => {
                    for v in &self.vrids {
                        tracing::info!(
                            "{}: {} priority {}",
                            v.inst.name,
                            v.router.state.name(),
                            v.router.priority()
                        );
                    }
                    tracing::info!("{}", self.drops.summary());
                }
                Some(Event::Packet(ifc, p)) => self.packet(now, ifc, &p),
                Some(Event::Check(i, r)) => {
                    let t = &mut trackers[i];
                    let err = r.as_ref().err().cloned();
                    if t.record(r) {
                        tracing::info!(
                            "check {} {}{}",
                            t.check.name,
                            if t.passing { "passes" } else { "fails" },
                            err.map(|e| format!(": {e}")).unwrap_or_default()
                        );
                        for v in 0..self.vrids.len() {
                            if self.vrids[v].tracks.contains(&i) {
                                self.refresh(now, v, trackers);
                            }
                        }
                    }
                }
                Some(Event::Link(name, up)) => self.link(now, name, up, trackers),
            }
            let now = self.now();
            for v in 0..self.vrids.len() {
                let acts = self.vrids[v].router.poll(now);
                self.apply(v, acts);
                self.garp(now, v);
            }
            self.publish();
        }
    }

    /// Shutdown: masters advertise priority 0 and keep their addresses until the new master
    /// speaks (`Router::stop`); everything of ours is off the interface when this returns. A
    /// second signal releases at once.
    fn hand_over(&mut self, rx: &Receiver<Event>) {
        tracing::info!("stopping: masters hand over with priority 0");
        let now = self.now();
        for v in 0..self.vrids.len() {
            self.vrids[v].garps_left = 0;
            let acts = self.vrids[v].router.stop(now, self.hold_on_stop_ms);
            self.apply(v, acts);
            if !self.vrids[v].router.leaving() {
                self.release(v);
            }
        }
        self.publish();
        let since = Instant::now();
        while self.vrids.iter().any(|v| v.router.leaving()) {
            let now = self.now();
            let next = self
                .vrids
                .iter()
                .filter_map(|v| v.router.deadline())
                .min()
                .unwrap_or(now);
            match rx.recv_timeout(Duration::from_millis(next.saturating_sub(now))) {
                Ok(Event::Packet(ifc, p)) => self.packet(self.now(), ifc, &p),
                Ok(Event::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Ok(_) | Err(RecvTimeoutError::Timeout) => {}
            }
            let now = self.now();
            for v in 0..self.vrids.len() {
                let acts = self.vrids[v].router.poll(now);
                self.apply(v, acts);
            }
        }
        for v in 0..self.vrids.len() {
            self.release(v);
        }
        tracing::info!(
            "addresses released {:.0} ms after the hand-over",
            since.elapsed().as_secs_f64() * 1000.0
        );
        self.publish();
    }

    /// Sends the next round of gratuitous ARPs when it is due.
    fn garp(&mut self, now: u64, v: usize) {
        let vr = &mut self.vrids[v];
        if vr.garps_left == 0 || now < vr.garp_at {
            return;
        }
        vr.garps_left -= 1;
        vr.garp_at = now + vr.inst.garp_delay_ms;
        let ifc = &self.ifaces[vr.ifc];
        let addrs: Vec<Ipv4Addr> = vr.inst.addresses.iter().map(|a| a.0).collect();
        if let Err(e) = sys::send_garps(&ifc.name, ifc.mac, &addrs) {
            tracing::warn!("[instance {}] {e}", vr.inst.name);
        }
    }

    /// A link state report: acts on changes only.
    fn link(&mut self, now: u64, name: String, up: bool, trackers: &[Tracker]) {
        if self.links.insert(name.clone(), up) == Some(up) {
            return;
        }
        tracing::info!("interface {name} is {}", if up { "up" } else { "down" });
        for v in 0..self.vrids.len() {
            if self.ifaces[self.vrids[v].ifc].name == name {
                self.refresh(now, v, trackers);
            }
        }
    }

    /// The summed weight of an instance's passing/failing checks, and whether a failing
    /// weight-0 check puts it in FAULT (keepalived's rules).
    fn weight_and_fault(&self, v: usize, trackers: &[Tracker]) -> (i32, bool) {
        let mut w = 0;
        let mut fault = false;
        for &i in &self.vrids[v].tracks {
            let t = &trackers[i];
            if t.check.weight == 0 {
                fault |= !t.passing;
            } else {
                w += t.weight();
            }
        }
        (w, fault)
    }

    /// Applies an instance's tracking weight and fault (a failing weight-0 check, or its link
    /// down as last reported) after either changed.
    fn refresh(&mut self, now: u64, v: usize, trackers: &[Tracker]) {
        let (w, check_fault) = self.weight_and_fault(v, trackers);
        let link_up = self
            .links
            .get(&self.ifaces[self.vrids[v].ifc].name)
            .copied()
            .unwrap_or(true);
        let mut acts = self.vrids[v].router.set_weight(now, w);
        acts.extend(self.vrids[v].router.set_fault(now, check_fault || !link_up));
        self.apply(v, acts);
    }

    fn drop_packet(&mut self, why: Drop, detail: &str) {
        let n = self.drops.count(why.name());
        if n == 1 || n.is_multiple_of(100) {
            tracing::warn!("dropped a packet ({}, {n} so far){detail}", why.name());
        }
    }

    fn packet(&mut self, now: u64, ifc: usize, p: &[u8]) {
        let (src, _dst, adv) = match packet::decode_ipv4(p) {
            Ok(x) => x,
            Err(why) => return self.drop_packet(why, ""),
        };
        if src == self.sockets[ifc].source {
            return; // our own advert, looped back
        }
        let Some(v) = self
            .vrids
            .iter()
            .position(|v| v.ifc == ifc && v.router.cfg.vrid == adv.vrid)
        else {
            return self.drop_packet(Drop::Vrid, &format!(": VRID {} from {src}", adv.vrid));
        };
        let detail = format!(": [instance {}] from {src}", self.vrids[v].inst.name);
        let r = &self.vrids[v].router;
        if adv.version != r.cfg.version {
            return self.drop_packet(Drop::Version, &detail);
        }
        if adv.version == Version::V2 && adv.interval_cs != r.cfg.interval_cs {
            // RFC 3768 7.1: the advertisement interval must match.
            return self.drop_packet(Drop::Interval, &detail);
        }
        let mut ours = r.cfg.addresses.clone();
        let mut theirs = adv.addresses.clone();
        ours.sort();
        theirs.sort();
        if ours.len() != theirs.len() {
            return self.drop_packet(Drop::AddressCount, &detail);
        }
        if ours != theirs {
            return self.drop_packet(Drop::Addresses, &detail);
        }
        let peers = &self.vrids[v].inst.unicast_peers;
        if !peers.is_empty() && !peers.contains(&src) {
            return self.drop_packet(Drop::Source, &detail);
        }
        let acts = self.vrids[v].router.receive(now, src, &adv);
        self.apply(v, acts);
    }

    fn send_advert(&mut self, v: usize, adv: &Advert) {
        let vr = &self.vrids[v];
        let sock = &self.sockets[vr.ifc];
        let dsts: Vec<Ipv4Addr> = if vr.inst.unicast_peers.is_empty() {
            vec![GROUP]
        } else {
            vr.inst.unicast_peers.clone()
        };
        for dst in dsts {
            let m = adv.encode(sock.source, dst);
            if let Err(e) = sock.send(dst, &m) {
                tracing::warn!(
                    "[instance {}] cannot send an advert to {dst}: {e}",
                    vr.inst.name
                );
            }
        }
    }

    fn release(&mut self, v: usize) {
        self.vrids[v].garps_left = 0;
        let ifc = self.ifaces[self.vrids[v].ifc].clone();
        for (a, prefix) in self.vrids[v].inst.addresses.clone() {
            if let Err(e) = self.netlink.remove(&ifc, a, prefix) {
                tracing::warn!("[instance {}] {e}", self.vrids[v].inst.name);
            }
        }
    }

    fn apply(&mut self, v: usize, acts: Vec<Action>) {
        for a in acts {
            match a {
                Action::Advertise { priority } => {
                    let adv = self.vrids[v].router.advert(priority);
                    self.send_advert(v, &adv);
                }
                Action::TakeAddresses => {
                    let ifc = self.ifaces[self.vrids[v].ifc].clone();
                    let inst = &self.vrids[v].inst;
                    for (a, prefix) in inst.addresses.clone() {
                        if let Err(e) = self.netlink.add(&ifc, a, prefix) {
                            tracing::warn!("[instance {}] {e}", inst.name);
                        }
                    }
                    // Announce the move: garp_count gratuitous ARPs, garp_delay apart, the
                    // first one now.
                    let now = self.now();
                    let vr = &mut self.vrids[v];
                    vr.garps_left = vr.inst.garp_count.max(1);
                    vr.garp_at = now;
                    self.garp(now, v);
                }
                Action::ReleaseAddresses => self.release(v),
                Action::Notify(state) => {
                    let vr = &self.vrids[v];
                    tracing::info!(
                        "[instance {}] {} (priority {})",
                        vr.inst.name,
                        state.name(),
                        vr.router.priority()
                    );
                    notify(&vr.inst, state, vr.router.priority());
                }
            }
        }
    }
}

/// Runs the instance's notify hooks for `state` in the background (and reaps them). Each gets
/// the arguments keepalived's `notify` gets: `INSTANCE NAME STATE PRIORITY`, and the
/// environment `TROUPE_VRRP_INSTANCE` / `TROUPE_VRRP_STATE`.
fn notify(inst: &Instance, state: State, priority: u8) {
    let specific = match state {
        State::Master => inst.notify_master.clone(),
        State::Backup => inst.notify_backup.clone(),
        State::Fault => inst.notify_fault.clone(),
        State::Initialize => None,
    };
    let cmds: Vec<String> = specific.into_iter().chain(inst.notify.clone()).collect();
    for cmd in cmds {
        let name = inst.name.clone();
        std::thread::spawn(move || {
            let r = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(format!("{cmd} \"$@\""))
                .arg("sh")
                .args(["INSTANCE", &name, state.name(), &priority.to_string()])
                .env("TROUPE_VRRP_INSTANCE", &name)
                .env("TROUPE_VRRP_STATE", state.name())
                .stdin(std::process::Stdio::null())
                .status();
            match r {
                Ok(s) if s.success() => {}
                Ok(s) => tracing::info!("[instance {name}] notify '{cmd}': {s}"),
                Err(e) => tracing::warn!("[instance {name}] notify '{cmd}': {e}"),
            }
        });
    }
}

fn receive_loop(ifc: usize, sock: VrrpSocket, tx: Sender<Event>) {
    let mut buf = vec![0u8; 2048];
    loop {
        match sock.recv(&mut buf) {
            Ok(Some(n)) => {
                if tx.send(Event::Packet(ifc, buf[..n].to_vec())).is_err() {
                    return;
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!("receive: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Polls the links every 50 ms and reports each one's state (the main loop acts on changes).
fn link_loop(names: Vec<String>, tx: Sender<Event>) {
    loop {
        for n in &names {
            if tx
                .send(Event::Link(n.clone(), track::interface_up(n)))
                .is_err()
            {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
