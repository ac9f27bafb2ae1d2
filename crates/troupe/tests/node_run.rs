//! `troupe node --config FILE` as a process on loopback: two master instances and the front
//! as supervised children; a master killed with SIGKILL is back within seconds while the front
//! keeps answering; SIGTERM stops every child and the node exits 0.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, test_kill_process, Pid, Signal};

const TROUPE: &str = env!("CARGO_BIN_EXE_troupe");

/// The node and every child it logged, killed by PID on drop; the temp dir removed.
struct Node {
    child: Child,
    dir: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        for pid in child_pids(&log(&self.dir)) {
            if let Some(p) = Pid::from_raw(pid) {
                let _ = kill_process(p, Signal::KILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        // The node's generated files, left behind when it was killed.
        let _ = std::fs::remove_dir_all(
            std::env::temp_dir().join(format!("troupe-node-{}", self.child.id())),
        );
    }
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("node.log")).unwrap_or_default()
}

/// The PIDs of the `troupe node: NAME started (pid N)` log lines.
fn child_pids(log: &str) -> Vec<i32> {
    started(log).into_iter().map(|(_, pid)| pid).collect()
}

fn started(log: &str) -> Vec<(String, i32)> {
    log.lines()
        .filter_map(|l| {
            // `TIMESTAMP  INFO troupe node: NAME started (pid N) child=... pid=N`
            let rest = l.split_once(" troupe node: ")?.1;
            let (name, pid) = rest.split_once(" started (pid ")?;
            Some((name.to_string(), pid.split_once(')')?.0.parse().ok()?))
        })
        .collect()
}

/// Two consecutive free ports and one more.
fn ports() -> (u16, u16) {
    for _ in 0..50 {
        let a = TcpListener::bind("127.0.0.1:0").expect("bind");
        let p = a.local_addr().expect("addr").port();
        if p >= u16::MAX - 2 {
            continue;
        }
        if let (Ok(_b), Ok(c)) = (
            TcpListener::bind(("127.0.0.1", p + 1)),
            TcpListener::bind("127.0.0.1:0"),
        ) {
            return (p, c.local_addr().expect("addr").port());
        }
    }
    panic!("no free ports");
}

/// The HTTP status of GET /status/v1/simple through the front ("000": no answer).
fn status(front: u16) -> String {
    let out = Command::new("curl")
        .args([
            "-sk",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "3",
        ])
        .arg(format!("https://127.0.0.1:{front}/status/v1/simple"))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// True while the process runs (a zombie waiting for its reaper counts as stopped).
fn alive(pid: i32) -> bool {
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false);
    !zombie && Pid::from_raw(pid).is_some_and(|p| test_kill_process(p).is_ok())
}

/// Starts a node with two master instances and a front; returns once the front answers.
fn start(tag: &str) -> (Node, u16, u16) {
    let dir = std::env::temp_dir().join(format!("troupe-node-run-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("code/environments/production/manifests")).expect("dirs");
    let (base, front) = ports();
    let conf = format!(
        "[main]\ncertname = localhost\nssldir = {ssl}\n\n[master]\ninstances = 2\nbase_port = {base}\ncodedir = {code}\ndns_alt_names = localhost, IP:127.0.0.1\nkeylength = 2048\nworkers = 1\n\n[front]\nlisten = 127.0.0.1:{front}\ncheck_interval = 0.2\n",
        ssl = dir.join("ssl").display(),
        code = dir.join("code").display(),
    );
    std::fs::write(dir.join("troupe.conf"), conf).expect("config");
    let logf = std::fs::File::create(dir.join("node.log")).expect("log");
    let child = Command::new(TROUPE)
        .args(["node", "--config"])
        .arg(dir.join("troupe.conf"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(logf)
        .spawn()
        .expect("start troupe node");
    let node = Node { child, dir };
    assert!(
        wait_until(Duration::from_secs(60), || status(front) == "200"),
        "the front never answered:\n{}",
        log(&node.dir)
    );
    (node, base, front)
}

#[test]
fn a_killed_master_comes_back_and_sigterm_stops_everything() {
    let (mut node, base, front) = start("restart");

    let first = started(&log(&node.dir));
    let names: Vec<&str> = first.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec![
            format!("master 1 (127.0.0.1:{base})"),
            format!("master 2 (127.0.0.1:{})", base + 1),
            "front".to_string()
        ],
        "{}",
        log(&node.dir)
    );

    // kill -9 master 1: the front keeps answering, and the master is back within seconds.
    let victim = first[0].1;
    kill_process(Pid::from_raw(victim).expect("pid"), Signal::KILL).expect("kill -9");
    let killed_at = Instant::now();
    let (mut answered, mut failed) = (0, 0);
    let back = SocketAddr::from(([127, 0, 0, 1], base));
    let mut back_after = None;
    while killed_at.elapsed() < Duration::from_secs(4) || back_after.is_none() {
        if killed_at.elapsed() > Duration::from_secs(15) {
            break;
        }
        if status(front) == "200" {
            answered += 1;
        } else {
            failed += 1;
        }
        if back_after.is_none()
            && started(&log(&node.dir)).len() > first.len()
            && TcpStream::connect_timeout(&back, Duration::from_millis(200)).is_ok()
        {
            back_after = Some(killed_at.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let back_after =
        back_after.unwrap_or_else(|| panic!("master 1 never came back:\n{}", log(&node.dir)));
    println!(
        "master 1 back after {:.2} s; through the front meanwhile: {answered} answered, {failed} failed",
        back_after.as_secs_f64()
    );
    assert!(back_after < Duration::from_secs(5), "{back_after:?}");
    assert!(
        failed <= 1 && answered > 10,
        "{answered} answered, {failed} failed"
    );
    assert!(!alive(victim), "the killed master {victim} was not reaped");

    // SIGTERM: every child stops, the node exits 0.
    let pids = child_pids(&log(&node.dir));
    kill_process(Pid::from_child(&node.child), Signal::TERM).expect("SIGTERM");
    let mut code = None;
    assert!(
        wait_until(Duration::from_secs(30), || {
            code = node.child.try_wait().ok().flatten();
            code.is_some()
        }),
        "the node did not stop:\n{}",
        log(&node.dir)
    );
    assert!(code.is_some_and(|c| c.success()), "{code:?}");
    let text = log(&node.dir);
    assert!(text.contains("troupe node: stopped"), "{text}");
    let front_stop = text.find("troupe front: drain").unwrap_or(usize::MAX);
    let master_stop = text.find("troupe master: SIGTERM").unwrap_or(0);
    assert!(front_stop < master_stop, "the front stops first:\n{text}");
    for pid in pids {
        assert!(
            wait_until(Duration::from_secs(2), || !alive(pid)),
            "child {pid} still runs"
        );
    }
}

#[test]
fn the_children_stop_when_the_node_is_killed() {
    let (mut node, _, _) = start("orphans");
    let pids = child_pids(&log(&node.dir));
    assert_eq!(pids.len(), 3, "{}", log(&node.dir));
    node.child.kill().expect("kill -9 the node");
    let _ = node.child.wait();
    for pid in pids {
        assert!(
            wait_until(Duration::from_secs(20), || !alive(pid)),
            "child {pid} outlived the node:\n{}",
            log(&node.dir)
        );
    }
}

/// The PID of the front the node started last.
fn front_pid(dir: &Path) -> Option<i32> {
    started(&log(dir))
        .into_iter()
        .filter(|(n, _)| n == "front")
        .map(|(_, p)| p)
        .next_back()
}

#[test]
fn a_killed_front_is_started_again_on_the_held_socket_and_no_connection_is_refused() {
    let (node, _, front) = start("front");
    // Started at once the first time: a front that ran 10 s counts as healthy.
    std::thread::sleep(Duration::from_millis(10_500));
    let first = front_pid(&node.dir).expect("front pid");
    kill_process(Pid::from_raw(first).expect("pid"), Signal::KILL).expect("kill -9 the front");
    // Requests sent while no front runs wait in the socket's queue.
    let requests: Vec<_> = (0..8)
        .map(|_| {
            let t = std::thread::spawn(move || status(front));
            std::thread::sleep(Duration::from_millis(5));
            t
        })
        .collect();
    let codes: Vec<String> = requests
        .into_iter()
        .map(|t| t.join().expect("request"))
        .collect();
    assert!(
        codes.iter().all(|c| c == "200"),
        "{codes:?}\n{}",
        log(&node.dir)
    );
    let second = front_pid(&node.dir).expect("front pid");
    assert_ne!(first, second, "{}", log(&node.dir));
    assert!(
        log(&node.dir).contains("front starts again in 0.0 s"),
        "{}",
        log(&node.dir)
    );

    // Killed again at once: a crash loop. The node waits, and meanwhile refuses connections
    // (so their clients fail at once or follow a VIP) instead of queueing them for nobody.
    assert!(wait_until(Duration::from_secs(10), || status(front) == "200"));
    kill_process(Pid::from_raw(second).expect("pid"), Signal::KILL).expect("kill -9 again");
    assert!(
        wait_until(Duration::from_secs(2), || log(&node.dir)
            .contains("front starts again in 0.5 s")),
        "{}",
        log(&node.dir)
    );
    let refused = TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], front)),
        Duration::from_millis(200),
    )
    .is_err();
    assert!(refused, "connections are refused while the node waits");
    assert!(
        wait_until(Duration::from_secs(10), || status(front) == "200"),
        "the front came back after its wait:\n{}",
        log(&node.dir)
    );
}
