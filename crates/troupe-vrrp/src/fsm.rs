//! One virtual router (VRID) as a sans-IO state machine (RFC 5798 §6.4): events in, actions
//! out, time given explicitly in milliseconds, so tests run on a virtual clock. Preemption,
//! preempt delay, the address owner (priority 255), priority 0 on shutdown and keepalived-style
//! tracking weights are handled here; the driver only moves packets and addresses.

use crate::packet::{Advert, Version};
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Initialize,
    Backup,
    Master,
    /// A tracked interface is down (keepalived's FAULT): no adverts, no addresses.
    Fault,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        }
    }
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send an advertisement with this priority.
    Advertise { priority: u8 },
    /// Add the virtual addresses and announce them (gratuitous ARP).
    TakeAddresses,
    /// Remove the virtual addresses.
    ReleaseAddresses,
    /// Run the notify hooks for the new state.
    Notify(State),
}

#[derive(Debug, Clone)]
pub struct Config {
    pub name: String,
    pub vrid: u8,
    pub version: Version,
    /// Configured priority, 1..=255 (255 = address owner).
    pub priority: u8,
    /// Advertisement interval, centiseconds.
    pub interval_cs: u16,
    pub preempt: bool,
    /// Milliseconds after startup before this router may preempt a lower-priority master.
    pub preempt_delay_ms: u64,
    /// This router's primary address (breaks priority ties).
    pub primary: Ipv4Addr,
    pub addresses: Vec<Ipv4Addr>,
}

/// One virtual router.
#[derive(Debug, Clone)]
pub struct Router {
    pub cfg: Config,
    pub state: State,
    /// Sum of tracking weights currently applied.
    pub weight: i32,
    master_interval_cs: u16,
    adver_at: Option<u64>,
    master_down_at: Option<u64>,
    started_at: u64,
    /// After a stop as master: the addresses stay until the new master speaks (unless
    /// `holding`), or until then.
    leaving_until: Option<u64>,
    holding: bool,
}

impl Router {
    pub fn new(cfg: Config) -> Router {
        let iv = cfg.interval_cs.max(1);
        Router {
            cfg,
            state: State::Initialize,
            weight: 0,
            master_interval_cs: iv,
            adver_at: None,
            master_down_at: None,
            started_at: 0,
            leaving_until: None,
            holding: false,
        }
    }

    /// The priority in adverts: configured plus tracking weights, within 1..=254; the owner
    /// stays at 255.
    pub fn priority(&self) -> u8 {
        if self.cfg.priority == 255 {
            return 255;
        }
        (i32::from(self.cfg.priority) + self.weight).clamp(1, 254) as u8
    }

    fn interval_ms(&self) -> u64 {
        u64::from(self.cfg.interval_cs.max(1)) * 10
    }

    /// Skew_Time (RFC 5798 §6.1): ((256 - priority) × Master_Adver_Interval) / 256.
    pub fn skew_ms(&self) -> u64 {
        (256 - u64::from(self.priority())) * u64::from(self.master_interval_cs) * 10 / 256
    }

    /// Master_Down_Interval: 3 × Master_Adver_Interval + Skew_Time.
    pub fn master_down_ms(&self) -> u64 {
        3 * u64::from(self.master_interval_cs) * 10 + self.skew_ms()
    }

    /// When `poll` should be called next.
    pub fn deadline(&self) -> Option<u64> {
        [self.adver_at, self.master_down_at, self.leaving_until]
            .into_iter()
            .flatten()
            .min()
    }

    /// True after a stop as master, until the addresses are released.
    pub fn leaving(&self) -> bool {
        self.leaving_until.is_some()
    }

    fn released(&mut self, out: &mut Vec<Action>) {
        self.leaving_until = None;
        out.push(Action::ReleaseAddresses);
    }

    fn become_master(&mut self, now: u64, out: &mut Vec<Action>) {
        out.push(Action::Advertise {
            priority: self.priority(),
        });
        out.push(Action::TakeAddresses);
        self.state = State::Master;
        self.master_down_at = None;
        self.adver_at = Some(now + self.interval_ms());
        out.push(Action::Notify(State::Master));
    }

    fn become_backup(&mut self, now: u64, out: &mut Vec<Action>) {
        let was_master = self.state == State::Master;
        self.state = State::Backup;
        self.adver_at = None;
        self.master_down_at = Some(now + self.master_down_ms());
        if was_master {
            out.push(Action::ReleaseAddresses);
        }
        out.push(Action::Notify(State::Backup));
    }

    /// Startup (RFC 5798 §6.4.1).
    pub fn start(&mut self, now: u64) -> Vec<Action> {
        let mut out = vec![];
        self.started_at = now;
        self.master_interval_cs = self.cfg.interval_cs.max(1);
        if self.priority() == 255 {
            self.become_master(now, &mut out);
        } else {
            self.become_backup(now, &mut out);
        }
        out
    }

    /// Shutdown: a master hands over at once with a priority-0 advert. With `hold_ms` 0 it
    /// keeps its addresses until the new master's first advert (its gratuitous ARPs go out with
    /// it), at most three advert intervals (3 s at most): packets sent before the clients learn
    /// the new owner still land on a host that serves them. With `hold_ms` it keeps them that
    /// long whatever it hears (the driver releases them sooner on a second signal), so a local
    /// service can finish connections bound to them: a host cannot send from an address it
    /// no longer has.
    pub fn stop(&mut self, now: u64, hold_ms: u64) -> Vec<Action> {
        let mut out = vec![];
        if self.state == State::Master {
            out.push(Action::Advertise { priority: 0 });
            let until = if hold_ms > 0 {
                hold_ms
            } else {
                (3 * self.interval_ms()).min(3000)
            };
            self.leaving_until = Some(now + until);
            self.holding = hold_ms > 0;
        }
        self.state = State::Initialize;
        self.adver_at = None;
        self.master_down_at = None;
        out
    }

    /// Timers: the advertisement timer (master) and the master-down timer (backup).
    pub fn poll(&mut self, now: u64) -> Vec<Action> {
        let mut out = vec![];
        if self.leaving_until.is_some_and(|t| now >= t) {
            self.released(&mut out);
        }
        match self.state {
            State::Master => {
                if self.adver_at.is_some_and(|t| now >= t) {
                    out.push(Action::Advertise {
                        priority: self.priority(),
                    });
                    self.adver_at = Some(now + self.interval_ms());
                }
            }
            State::Backup => {
                if self.master_down_at.is_some_and(|t| now >= t) {
                    self.become_master(now, &mut out);
                }
            }
            State::Initialize | State::Fault => {}
        }
        out
    }

    fn may_preempt(&self, now: u64) -> bool {
        self.cfg.preempt && now >= self.started_at + self.cfg.preempt_delay_ms
    }

    /// A received advertisement for this VRID (already validated by the codec).
    pub fn receive(&mut self, now: u64, src: Ipv4Addr, adv: &Advert) -> Vec<Action> {
        let mut out = vec![];
        if self.leaving() && !self.holding && adv.priority > 0 {
            // The new master: the clients follow its gratuitous ARPs now.
            self.released(&mut out);
            return out;
        }
        match self.state {
            State::Backup => {
                if adv.priority == 0 {
                    // The master is leaving: take over after the skew only.
                    self.master_down_at = Some(now + self.skew_ms());
                } else if !self.may_preempt(now) || adv.priority >= self.priority() {
                    self.master_interval_cs = adv.interval_cs.max(1);
                    self.master_down_at = Some(now + self.master_down_ms());
                }
                // Otherwise a lower-priority master: let the timer run out and preempt.
            }
            State::Master => {
                let ours = self.priority();
                if adv.priority == 0 {
                    out.push(Action::Advertise { priority: ours });
                    self.adver_at = Some(now + self.interval_ms());
                } else if adv.priority > ours
                    || (adv.priority == ours && u32::from(src) > u32::from(self.cfg.primary))
                {
                    self.master_interval_cs = adv.interval_cs.max(1);
                    self.become_backup(now, &mut out);
                }
            }
            State::Initialize | State::Fault => {}
        }
        out
    }

    /// Applies a new tracking weight (keepalived's `weight`): the advertised priority changes;
    /// a master advertises the new value at once so a backup can preempt.
    pub fn set_weight(&mut self, now: u64, weight: i32) -> Vec<Action> {
        if weight == self.weight {
            return vec![];
        }
        self.weight = weight;
        let mut out = vec![];
        if self.state == State::Master {
            out.push(Action::Advertise {
                priority: self.priority(),
            });
            self.adver_at = Some(now + self.interval_ms());
        }
        out
    }

    /// A tracked interface went down (fault) or came back.
    pub fn set_fault(&mut self, now: u64, fault: bool) -> Vec<Action> {
        let mut out = vec![];
        match (fault, self.state) {
            (true, State::Fault) | (false, State::Backup | State::Master | State::Initialize) => {}
            (true, _) => {
                if self.state == State::Master {
                    out.push(Action::Advertise { priority: 0 });
                    out.push(Action::ReleaseAddresses);
                }
                self.state = State::Fault;
                self.adver_at = None;
                self.master_down_at = None;
                out.push(Action::Notify(State::Fault));
            }
            (false, State::Fault) => {
                self.become_backup(now, &mut out);
            }
        }
        out
    }

    /// The advertisement this router sends.
    pub fn advert(&self, priority: u8) -> Advert {
        Advert {
            version: self.cfg.version,
            vrid: self.cfg.vrid,
            priority,
            interval_cs: self.cfg.interval_cs,
            addresses: self.cfg.addresses.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Routers on one virtual link: adverts go to every other router after `latency_ms`.
    struct Net {
        routers: Vec<Router>,
        up: Vec<bool>,
        now: u64,
        inflight: Vec<(u64, usize, Advert)>,
        holders: Vec<bool>,
        log: Vec<(u64, usize, State)>,
    }

    fn cfg(name: &str, prio: u8, ip: u8, iv_cs: u16, preempt: bool) -> Config {
        Config {
            name: name.into(),
            vrid: 51,
            version: Version::V3,
            priority: prio,
            interval_cs: iv_cs,
            preempt,
            preempt_delay_ms: 0,
            primary: Ipv4Addr::new(10, 88, 0, ip),
            addresses: vec![Ipv4Addr::new(10, 88, 0, 21)],
        }
    }

    impl Net {
        /// Both routers started at once, then `ms` of virtual time.
        fn running(cfgs: Vec<Config>, ms: u64) -> Net {
            let mut n = Net::new(cfgs);
            n.start(0);
            n.start(1);
            n.run(ms);
            n
        }

        fn new(cfgs: Vec<Config>) -> Net {
            let n = cfgs.len();
            Net {
                routers: cfgs.into_iter().map(Router::new).collect(),
                up: vec![false; n],
                now: 0,
                inflight: vec![],
                holders: vec![false; n],
                log: vec![],
            }
        }
        fn apply(&mut self, i: usize, actions: Vec<Action>) {
            for a in actions {
                match a {
                    Action::Advertise { priority } => {
                        let adv = self.routers[i].advert(priority);
                        self.inflight.push((self.now + 1, i, adv));
                    }
                    Action::TakeAddresses => self.holders[i] = true,
                    Action::ReleaseAddresses => self.holders[i] = false,
                    Action::Notify(s) => self.log.push((self.now, i, s)),
                }
            }
        }
        fn start(&mut self, i: usize) {
            self.up[i] = true;
            let a = self.routers[i].start(self.now);
            self.apply(i, a);
        }
        /// A graceful stop: the router still hears adverts until it lets its addresses go.
        fn stop(&mut self, i: usize) {
            let a = self.routers[i].stop(self.now, 0);
            self.apply(i, a);
        }
        fn kill(&mut self, i: usize) {
            // No goodbye: the process is gone, its addresses with it.
            self.up[i] = false;
            self.holders[i] = false;
        }
        /// Runs the virtual clock for `ms`, one millisecond at a time.
        fn run(&mut self, ms: u64) {
            let end = self.now + ms;
            while self.now < end {
                self.now += 1;
                let due: Vec<_> = self
                    .inflight
                    .iter()
                    .filter(|(t, _, _)| *t <= self.now)
                    .cloned()
                    .collect();
                self.inflight.retain(|(t, _, _)| *t > self.now);
                for (_, from, adv) in due {
                    let src = self.routers[from].cfg.primary;
                    for j in 0..self.routers.len() {
                        if j != from && self.up[j] {
                            let a = self.routers[j].receive(self.now, src, &adv);
                            self.apply(j, a);
                        }
                    }
                }
                for i in 0..self.routers.len() {
                    if self.up[i] && self.routers[i].deadline().is_some_and(|d| d <= self.now) {
                        let a = self.routers[i].poll(self.now);
                        self.apply(i, a);
                    }
                }
            }
        }
        fn masters(&self) -> Vec<usize> {
            (0..self.routers.len())
                .filter(|&i| self.up[i] && self.routers[i].state == State::Master)
                .collect()
        }
        fn took_over_at(&self, i: usize) -> Option<u64> {
            self.log
                .iter()
                .rev()
                .find(|(_, r, s)| *r == i && *s == State::Master)
                .map(|(t, _, _)| *t)
        }
    }

    #[test]
    fn the_higher_priority_wins_the_election() {
        let n = Net::running(
            vec![cfg("a", 100, 11, 100, true), cfg("b", 150, 12, 100, true)],
            5_000,
        );
        assert_eq!(n.masters(), vec![1]);
        assert_eq!(n.holders, vec![false, true]);
    }

    #[test]
    fn backup_takes_over_after_master_down_interval_when_the_master_dies() {
        let mut n = Net::running(
            vec![cfg("a", 150, 11, 100, true), cfg("b", 100, 12, 100, true)],
            5_000,
        );
        assert_eq!(n.masters(), vec![0]);
        let killed = n.now;
        n.kill(0);
        n.run(5_000);
        assert_eq!(n.masters(), vec![1]);
        // 3 × 1 s + skew ((256-100)/256 s = 609 ms), measured from the last advert heard.
        let took = n.took_over_at(1).unwrap_or(0) - killed;
        assert!((2_600..=3_620).contains(&took), "took over after {took} ms");
    }

    #[test]
    fn priority_zero_on_shutdown_hands_over_at_once() {
        let mut n = Net::running(
            vec![cfg("a", 150, 11, 100, true), cfg("b", 100, 12, 100, true)],
            5_000,
        );
        let t = n.now;
        n.stop(0);
        assert!(
            n.holders[0],
            "the leaving master keeps its address until the new one speaks"
        );
        n.run(2_000);
        assert_eq!(n.masters(), vec![1]);
        let took = n.took_over_at(1).unwrap_or(0) - t;
        assert!(
            took <= 700,
            "a priority-0 advert must hand over within the skew time, took {took} ms"
        );
        assert!(!n.holders[0], "released once the new master spoke");
        assert!(n.holders[1]);
    }

    #[test]
    fn a_leaving_master_releases_after_the_new_masters_first_advert() {
        let mut n = Net::running(
            vec![cfg("a", 150, 11, 10, true), cfg("b", 100, 12, 10, true)],
            1_000,
        );
        n.stop(0);
        let mut released = None;
        let mut both = 0;
        for ms in 1..=200 {
            n.run(1);
            if n.holders[0] && n.holders[1] {
                both += 1;
            }
            if !n.holders[0] && released.is_none() {
                released = Some(ms);
            }
        }
        let took = n.took_over_at(1).expect("b took over");
        let released = released.expect("a released its address");
        // b's skew at priority 100 and 100 ms adverts is 60 ms; the advert takes 1 ms here.
        assert!(
            released <= 70,
            "released {released} ms after the stop (b master at {took})"
        );
        assert!(both <= 2, "both held the address for {both} ms");
        assert!(!n.routers[0].leaving());
    }

    #[test]
    fn a_holding_master_keeps_its_address_for_the_hold_after_the_new_master_spoke() {
        let mut n = Net::running(
            vec![cfg("a", 150, 11, 10, true), cfg("b", 100, 12, 10, true)],
            1_000,
        );
        let a = n.routers[0].stop(n.now, 1_500);
        n.apply(0, a);
        n.run(200);
        assert_eq!(n.masters(), vec![1], "b took over at once");
        assert!(n.holders[0] && n.holders[1], "a still holds its address");
        n.run(1_301);
        assert!(!n.holders[0], "released at the end of the hold");
    }

    #[test]
    fn a_leaving_master_with_no_backup_releases_after_three_intervals() {
        let mut n = Net::new(vec![cfg("a", 150, 11, 10, true)]);
        n.start(0);
        n.run(1_000);
        assert!(n.holders[0]);
        n.stop(0);
        n.run(299);
        assert!(n.holders[0], "no new master yet: the address stays");
        n.run(2);
        assert!(!n.holders[0], "released after three advert intervals");
    }

    #[test]
    fn preemption_fail_back_and_nopreempt() {
        let mut n = Net::new(vec![
            cfg("a", 150, 11, 10, true),
            cfg("b", 100, 12, 10, true),
        ]);
        n.start(1);
        n.run(1_000);
        assert_eq!(n.masters(), vec![1]);
        n.start(0);
        n.run(1_000);
        assert_eq!(n.masters(), vec![0], "the higher priority preempts");

        let mut n = Net::new(vec![
            cfg("a", 150, 11, 10, false),
            cfg("b", 100, 12, 10, true),
        ]);
        n.start(1);
        n.run(1_000);
        n.start(0);
        n.run(2_000);
        assert_eq!(
            n.masters(),
            vec![1],
            "nopreempt leaves the current master alone"
        );
    }

    #[test]
    fn preempt_delay_holds_back_a_fresh_router() {
        let mut c = cfg("a", 150, 11, 10, true);
        c.preempt_delay_ms = 3_000;
        let mut n = Net::new(vec![c, cfg("b", 100, 12, 10, true)]);
        n.start(1);
        n.run(1_000);
        n.start(0);
        n.run(2_000);
        assert_eq!(n.masters(), vec![1]);
        n.run(2_000);
        assert_eq!(n.masters(), vec![0]);
    }

    #[test]
    fn the_owner_is_master_at_once() {
        let mut n = Net::new(vec![
            cfg("a", 255, 11, 100, true),
            cfg("b", 200, 12, 100, true),
        ]);
        n.start(1);
        n.run(5_000);
        n.start(0);
        assert_eq!(n.routers[0].state, State::Master);
        n.run(10);
        assert_eq!(n.masters(), vec![0]);
    }

    #[test]
    fn a_failing_track_check_weight_causes_a_hand_over() {
        // keepalived's active-active pattern: 101/100 with +2 while the local front is healthy.
        let mut n = Net::new(vec![
            cfg("a", 101, 11, 10, true),
            cfg("b", 100, 12, 10, true),
        ]);
        let a = n.routers[0].set_weight(0, 2);
        n.apply(0, a);
        let b = n.routers[1].set_weight(0, 2);
        n.apply(1, b);
        n.start(0);
        n.start(1);
        n.run(1_000);
        assert_eq!(n.masters(), vec![0]);
        assert_eq!(n.routers[0].priority(), 103);
        // A's front dies: its check weight is lost, 101 < 102, B preempts.
        let t = n.now;
        let a = n.routers[0].set_weight(n.now, 0);
        n.apply(0, a);
        n.run(1_000);
        assert_eq!(n.masters(), vec![1]);
        let took = n.took_over_at(1).unwrap_or(0) - t;
        assert!(
            took <= 400,
            "hand-over after a weight change took {took} ms at 100 ms adverts"
        );
        assert_eq!(n.holders, vec![false, true]);
    }

    #[test]
    fn equal_priorities_break_ties_by_address() {
        let n = Net::running(
            vec![cfg("a", 100, 11, 10, true), cfg("b", 100, 12, 10, true)],
            2_000,
        );
        assert_eq!(n.masters(), vec![1]);
    }

    #[test]
    fn fault_releases_and_recovers_as_backup() {
        let mut n = Net::running(
            vec![cfg("a", 150, 11, 10, true), cfg("b", 100, 12, 10, true)],
            1_000,
        );
        let a = n.routers[0].set_fault(n.now, true);
        n.apply(0, a);
        n.run(1_000);
        assert_eq!(n.routers[0].state, State::Fault);
        assert_eq!(n.masters(), vec![1]);
        let a = n.routers[0].set_fault(n.now, false);
        n.apply(0, a);
        n.run(1_000);
        assert_eq!(n.masters(), vec![0], "back from fault, it preempts again");
    }
}
