//! The VRRP checks of the local front, built in: on a host with a `[front]`, every `[vrrp NAME]`
//! instance follows two checks the node adds, so no URL can be got wrong (an `http://` check
//! of the front's TLS port could never pass):
//!
//! * `front_process`: the front's PID (written by the node at each start) names a live process,
//!   every 10 ms (a read of `/proc`). A killed front is started again at once on the socket
//!   the node holds (its new PID written within about 15 ms), so the check fails only after
//!   six misses in a row (about 60 ms): a
//!   front that does not come back puts the instances in fault (priority 0, so the backup
//!   takes the VIPs after its skew time), one that does keeps them;
//! * `front_health`: `GET /troupe/health` on the front's plain-HTTP health listener, every
//!   200 ms (timeout 500 ms, two failures to fail): the front answers it itself, 200 while it
//!   is not draining and at least one master is up, so one stalled master never moves a VIP.
//!
//! Both have weight 0 (fault while failing) and rise 2.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

/// The names of the two checks; a file's own `[check NAME]` may not take them.
pub const PROCESS_CHECK: &str = "front_process";
pub const HEALTH_CHECK: &str = "front_health";

/// The health listener when `[front]` names none: loopback, the port below the front's first.
pub fn default_health_listen(front_listen: &[SocketAddr]) -> Option<SocketAddr> {
    let port = front_listen.first()?.port().checked_sub(1)?;
    (port != 0).then(|| SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
}

/// The `[instance]`/`[check]` text `troupe vrrp` reads, with `track` lines for the two checks
/// after every instance header and the two `[check]` sections at the end. Lines keep their
/// numbers up to the last section of the file (errors in the file point at the right line).
pub fn add(vrrp_text: &str, pidfile: &Path, health: SocketAddr) -> String {
    let mut out = String::new();
    let mut pending = 0;
    for line in vrrp_text.lines() {
        // Blank lines absorb the added `track` lines, so later lines keep their numbers.
        if line.is_empty() && pending > 0 {
            pending -= 1;
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if line.starts_with("[instance ") {
            let _ = writeln!(out, "track = {PROCESS_CHECK}\ntrack = {HEALTH_CHECK}");
            pending += 2;
        }
    }
    let mut health_host = health;
    if health_host.ip().is_unspecified() {
        health_host.set_ip(Ipv4Addr::LOCALHOST.into());
    }
    let _ = write!(
        out,
        "\n[check {PROCESS_CHECK}]\npidfile = {}\ninterval = 0.01\ntimeout = 0.5\nweight = 0\nfall = 6\nrise = 2\n\n[check {HEALTH_CHECK}]\nhttp = http://{health_host}/troupe/health\ninterval = 0.2\ntimeout = 0.5\nweight = 0\nfall = 2\nrise = 2\n",
        pidfile.display()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instance_tracks_both_checks_and_lines_keep_their_numbers() {
        let text = "\n[instance VI_1]\ninterface = eth0\nvrid = 1\nvirtual_address = 10.0.0.1/24\n\n\n[instance VI_2]\ninterface = eth0\nvrid = 2\nvirtual_address = 10.0.0.2/24\ntrack = mine\n\n\n[check mine]\nprocess = x\n";
        let out = add(
            text,
            Path::new("/run/troupe-node-1/front.pid"),
            "0.0.0.0:8139".parse().expect("addr"),
        );
        let lines: Vec<&str> = out.lines().collect();
        let at = |s: &str| lines.iter().position(|l| *l == s).map(|i| i + 1);
        assert_eq!(at("[instance VI_2]"), Some(8), "{out}");
        assert_eq!(at("[check mine]"), Some(15), "{out}");
        assert_eq!(
            out.matches("track = front_process\ntrack = front_health\n")
                .count(),
            2
        );
        assert!(out.contains("pidfile = /run/troupe-node-1/front.pid\ninterval = 0.01\n"));
        assert!(
            out.contains("weight = 0\nfall = 6\n"),
            "a restarted front keeps the VIPs: {out}"
        );
        assert!(out.contains("http = http://127.0.0.1:8139/troupe/health\n"));
        let parsed = troupe_vrrp::config::parse(&out, "vrrp.conf").expect("troupe vrrp reads it");
        assert_eq!(parsed.instances.len(), 2);
        assert_eq!(parsed.checks.len(), 3);
    }

    #[test]
    fn the_default_health_port_is_below_the_fronts() {
        assert_eq!(
            default_health_listen(&["0.0.0.0:8140".parse().expect("addr")]),
            Some("127.0.0.1:8139".parse().expect("addr"))
        );
        assert_eq!(default_health_listen(&[]), None);
    }
}
