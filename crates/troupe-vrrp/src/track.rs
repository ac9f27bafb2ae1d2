//! Track checks, as keepalived's `track_script`/`track_process`/`track_interface`: each check
//! runs on its own interval, passes after `rise` successes and fails after `fall` failures, and
//! contributes its weight to the instances tracking it (a positive weight while it passes, a
//! negative one while it fails).

use crate::config::{Check, CheckKind};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Runs one check now; `Ok(())` when it passes.
pub fn run(kind: &CheckKind, timeout: Duration) -> Result<(), String> {
    match kind {
        CheckKind::Process(name) => process_running(name)
            .then_some(())
            .ok_or_else(|| format!("no process named {name}")),
        CheckKind::Pidfile(path) => pidfile_alive(path),
        CheckKind::Http(url) => http_ok(url, timeout),
        CheckKind::Script(cmd) => script_ok(cmd, timeout),
        CheckKind::Interface(ifname) => interface_up(ifname)
            .then_some(())
            .ok_or_else(|| format!("interface {ifname} is down")),
    }
}

/// A process whose `comm` is `name` exists.
pub fn process_running(name: &str) -> bool {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return false;
    };
    rd.flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .any(|e| std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim_end() == name))
}

/// The PID in `path` names a live process (a zombie counts as dead).
pub fn pidfile_alive(path: &std::path::Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let pid: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("{}: no PID in it", path.display()))?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|_| format!("process {pid} is gone"))?;
    // The state follows the parenthesised command name.
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|r| r.split_whitespace().next());
    match state {
        Some("Z") | Some("X") | Some("x") => Err(format!("process {pid} is dead")),
        Some(_) => Ok(()),
        None => Err(format!("process {pid}: unreadable state")),
    }
}

/// `GET url` answers 2xx within the timeout (plain HTTP/1.0).
pub fn http_ok(url: &str, timeout: Duration) -> Result<(), String> {
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs")?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = hostport
        .to_socket_addrs()
        .map_err(|e| format!("{hostport}: {e}"))?
        .next()
        .ok_or_else(|| format!("{hostport}: no address"))?;
    let mut s =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect {addr}: {e}"))?;
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {hostport}\r\nUser-Agent: troupe-vrrp\r\n\r\n"
    )
    .map_err(|e| format!("send: {e}"))?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).map_err(|e| format!("read: {e}"))?;
    let head = String::from_utf8_lossy(&buf[..n]);
    let code = head.split_whitespace().nth(1).unwrap_or("");
    if code.starts_with('2') {
        Ok(())
    } else {
        Err(format!("HTTP {code}"))
    }
}

/// `sh -c cmd` exits 0 within the timeout (it is killed otherwise).
pub fn script_ok(cmd: &str, timeout: Duration) -> Result<(), String> {
    let mut child = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run: {e}"))?;
    let end = std::time::Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(st)) if st.success() => return Ok(()),
            Ok(Some(st)) => return Err(format!("exit {}", st.code().unwrap_or(-1))),
            Ok(None) if std::time::Instant::now() >= end => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("timed out".into());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// The interface exists and is administratively and operationally up.
pub fn interface_up(ifname: &str) -> bool {
    if ifname.contains('/') || ifname.starts_with('.') {
        return false;
    }
    let base = std::path::Path::new("/sys/class/net").join(ifname);
    let flags = std::fs::read_to_string(base.join("flags"))
        .ok()
        .and_then(|f| u32::from_str_radix(f.trim().trim_start_matches("0x"), 16).ok())
        .unwrap_or(0);
    let oper = std::fs::read_to_string(base.join("operstate")).unwrap_or_default();
    flags & 1 == 1 && matches!(oper.trim(), "up" | "unknown")
}

/// A check's pass/fail state with rise/fall hysteresis (starts failing until it has risen,
/// as keepalived starts scripts in the failed state).
#[derive(Debug, Clone)]
pub struct Tracker {
    pub check: Check,
    pub passing: bool,
    ok_run: u32,
    fail_run: u32,
    pub last_error: Option<String>,
}

impl Tracker {
    pub fn new(check: Check) -> Tracker {
        Tracker {
            check,
            passing: false,
            ok_run: 0,
            fail_run: 0,
            last_error: None,
        }
    }

    /// Records a result; true when the state changed.
    pub fn record(&mut self, r: Result<(), String>) -> bool {
        match r {
            Ok(()) => {
                self.fail_run = 0;
                self.ok_run += 1;
                self.last_error = None;
                if !self.passing && self.ok_run >= self.check.rise {
                    self.passing = true;
                    return true;
                }
            }
            Err(e) => {
                self.ok_run = 0;
                self.fail_run += 1;
                self.last_error = Some(e);
                if self.passing && self.fail_run >= self.check.fall {
                    self.passing = false;
                    return true;
                }
                // A check that never passed counts as failed from the start.
            }
        }
        false
    }

    /// This check's contribution to a tracking instance's priority.
    pub fn weight(&self) -> i32 {
        let w = self.check.weight;
        match (w > 0, self.passing) {
            (true, true) => w,
            (false, false) => w,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn check(kind: CheckKind, weight: i32, rise: u32, fall: u32) -> Check {
        Check {
            name: "t".into(),
            kind,
            interval_ms: 100,
            timeout_ms: 500,
            weight,
            rise,
            fall,
        }
    }

    #[test]
    fn rise_fall_and_weights_follow_keepalived() {
        let mut t = Tracker::new(check(CheckKind::Script("true".into()), 2, 2, 2));
        assert_eq!(t.weight(), 0, "not passing yet");
        assert!(!t.record(Ok(())));
        assert!(t.record(Ok(())));
        assert_eq!(t.weight(), 2);
        assert!(!t.record(Err("x".into())));
        assert!(t.record(Err("x".into())));
        assert_eq!(t.weight(), 0);
        let mut n = Tracker::new(check(CheckKind::Script("true".into()), -20, 1, 1));
        assert_eq!(n.weight(), -20, "a negative weight applies while failing");
        n.record(Ok(()));
        assert_eq!(n.weight(), 0);
    }

    #[test]
    fn scripts_processes_and_interfaces() {
        let t = Duration::from_secs(2);
        assert!(script_ok("exit 0", t).is_ok());
        assert_eq!(script_ok("exit 3", t), Err("exit 3".into()));
        assert_eq!(
            script_ok("sleep 5", Duration::from_millis(100)),
            Err("timed out".into())
        );
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        assert!(process_running("sleep"));
        let _ = child.kill();
        let _ = child.wait();
        assert!(!process_running("no-such-process-troupe"));
        assert!(interface_up("lo"));
        assert!(!interface_up("nosuchif0"));
        assert!(!interface_up("../etc"));
    }

    #[test]
    fn http_checks_read_the_status() {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            let mut replies = [
                "HTTP/1.1 200 OK\r\n\r\nrunning",
                "HTTP/1.1 503 Service Unavailable\r\n\r\n",
            ]
            .into_iter();
            let mut next = replies.next();
            while let Some(reply) = next {
                let Ok((mut s, _)) = l.accept() else { break };
                // Answer only a complete request; anything else is not one of ours.
                let mut req = Vec::new();
                let mut buf = [0u8; 512];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                if req.starts_with(b"GET ") {
                    let _ = s.write_all(reply.as_bytes());
                    next = replies.next();
                }
            }
        });
        let url = format!("http://127.0.0.1:{port}/status/v1/simple");
        assert!(http_ok(&url, Duration::from_secs(2)).is_ok());
        assert_eq!(
            http_ok(&url, Duration::from_secs(2)),
            Err("HTTP 503".into())
        );
        let _ = server.join();
        assert!(
            http_ok(&url, Duration::from_millis(300)).is_err(),
            "nothing listens any more"
        );
    }
}
