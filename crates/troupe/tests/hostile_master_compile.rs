//! One catalog request must never take a master down: a killer compile (runaway recursion,
//! a deadline, a wedged worker, an agent that hangs up) fails only its own request with
//! HTTP 500 and the message, and the master goes on serving other agents.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::{start_listening, Proc};

struct Master {
    child: Proc,
    addr: String,
    dir: PathBuf,
}

impl Master {
    /// A plain-HTTP master (no CA) trusting identity headers from 127.0.0.1, with an
    /// environment per `(name, site.pp)`.
    fn start(name: &str, envs: &[(&str, &str)], flags: &[&str]) -> Master {
        let dir = std::env::temp_dir().join(format!(
            "troupe-hostile-master-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        for (env, site) in envs {
            let m = dir.join("environments").join(env).join("manifests");
            std::fs::create_dir_all(&m).expect("mkdir");
            std::fs::write(m.join("site.pp"), site).expect("site.pp");
        }
        let conf = dir.join("master.conf");
        std::fs::write(&conf, "ca = false\n").expect("conf");
        let (child, addr) = start_listening(
            Command::new(env!("CARGO_BIN_EXE_troupe"))
                .arg("master")
                .arg("--config")
                .arg(&conf)
                .arg("--codedir")
                .arg(&dir)
                .arg("--ssldir")
                .arg(dir.join("ssl"))
                .args([
                    "--listen",
                    "127.0.0.1:0",
                    "--plain-http",
                    "--trusted-proxy",
                    "127.0.0.1",
                ])
                .args(flags),
        );
        Master { child, addr, dir }
    }

    fn connect(&self, node: &str, env: &str) -> TcpStream {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        write!(
            s,
            "GET /puppet/v3/catalog/{node}?environment={env} HTTP/1.1\r\nHost: x\r\n\
             X-Client-Verify: SUCCESS\r\nX-Client-DN: CN={node}\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        s
    }

    /// The status code and body of a catalog request.
    fn catalog(&self, node: &str, env: &str) -> (u16, String) {
        let mut s = self.connect(node, env);
        let mut text = String::new();
        s.read_to_string(&mut text).expect("read response");
        let code = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (code, text)
    }

    /// Fails the test if the master process is gone.
    fn assert_alive(&mut self) {
        assert!(
            self.child.0.try_wait().expect("wait").is_none(),
            "the master died"
        );
    }
}

impl Drop for Master {
    fn drop(&mut self) {
        // The child is killed by its own drop, after this.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const NORMAL: (&str, &str) = ("production", "notify { 'hello': }\n");

#[test]
fn killer_catalog_request_fails_alone() {
    let mut m = Master::start(
        "killer",
        &[
            NORMAL,
            ("killer", "function f($x) { f($x + 1) }\nf(1)\n"),
            (
                "slow",
                "notify { 'x': message => Integer[1, 200000000].reduce |$a, $b| { $a + $b } }\n",
            ),
        ],
        &["--workers", "1", "--compile-timeout", "1s"],
    );
    let (code, body) = m.catalog("n1.example.test", "killer");
    assert_eq!(code, 500, "{body}");
    assert!(
        body.contains("recursion deeper than 1000 levels in function 'f'"),
        "{body}"
    );
    m.assert_alive();
    let (code, body) = m.catalog("n1.example.test", "slow");
    assert_eq!(code, 500, "{body}");
    assert!(body.contains("exceeded its deadline of 1 s"), "{body}");
    m.assert_alive();
    let (code, body) = m.catalog("n2.example.test", "production");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("Notify"), "{body}");
}

#[test]
fn wedged_worker_is_replaced() {
    // generate() blocks in a child process the budget cannot interrupt.
    let mut m = Master::start(
        "wedged",
        &[
            NORMAL,
            (
                "wedged",
                "notify { 'x': message => generate('/bin/sleep', '5') }\n",
            ),
        ],
        &["--workers", "1", "--compile-timeout", "500ms"],
    );
    let (code, body) = m.catalog("n1.example.test", "wedged");
    assert_eq!(code, 500, "{body}");
    assert!(body.contains("did not stop and was replaced"), "{body}");
    m.assert_alive();
    // The only worker is still asleep in generate(): its replacement serves this one.
    let (code, body) = m.catalog("n2.example.test", "production");
    assert_eq!(code, 200, "{body}");
    // The replacement is counted where operators look.
    let mut s = TcpStream::connect(&m.addr).expect("connect");
    write!(
        s,
        "GET /status/v1/services HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read status");
    assert!(text.contains("\"replaced_workers\":1"), "{text}");
}

#[test]
fn agent_hanging_up_cancels_its_compile() {
    let m = Master::start(
        "cancel",
        &[
            NORMAL,
            (
                "slow",
                "notify { 'x': message => Integer[1, 200000000].reduce |$a, $b| { $a + $b } }\n",
            ),
        ],
        &["--workers", "1", "--compile-timeout", "10m"],
    );
    let s = m.connect("n1.example.test", "slow");
    std::thread::sleep(Duration::from_millis(500));
    drop(s);
    // With the only worker still busy, this would wait for the 10-minute deadline.
    let t = Instant::now();
    let (code, body) = m.catalog("n2.example.test", "production");
    assert_eq!(code, 200, "{body}");
    assert!(
        t.elapsed() < Duration::from_secs(50),
        "the abandoned compile kept the worker"
    );
}
