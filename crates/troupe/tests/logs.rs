//! The log of `troupe master` as a process on loopback (plain HTTP behind a trusted proxy).
//! With `--log-format json` every stderr line is a JSON object with timestamp, level, role and
//! message, and a certificate request, autosign's decision, the signature, a request left
//! pending, a 403 and a failing compile each log an event naming the node. The text format
//! starts each line with an RFC 3339 UTC timestamp, the level and `troupe ROLE:`; the
//! environment chooses the format when no flag does; bad settings are refused by name.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value as J;

const TROUPE: &str = env!("CARGO_BIN_EXE_troupe");

/// A master process, killed by PID on drop; its stderr lines collected; the temp dir removed.
struct Master {
    child: Child,
    dir: PathBuf,
    addr: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Drop for Master {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Master {
    fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("troupe-logs-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let manifests = dir.join("code/environments/production/manifests");
    std::fs::create_dir_all(&manifests).expect("dirs");
    std::fs::write(manifests.join("site.pp"), "fail('broken on purpose')\n").expect("site.pp");
    std::fs::write(dir.join("autosign.conf"), "*.good.test\n").expect("autosign.conf");
    dir
}

/// Starts `troupe master` with `args` and `env`; returns once it logged its address.
fn start(tag: &str, args: &[&str], env: &[(&str, &str)]) -> Master {
    let dir = scratch(tag);
    let mut cmd = Command::new(TROUPE);
    cmd.arg("master")
        .arg("--codedir")
        .arg(dir.join("code"))
        .arg("--ssldir")
        .arg(dir.join("ssl"))
        .arg("--autosign")
        .arg(dir.join("autosign.conf"))
        .args(["--listen", "127.0.0.1:0", "--plain-http"])
        .args(["--trusted-proxy", "127.0.0.1"])
        .args(args)
        .env_remove("TROUPE_LOG_FORMAT")
        .env_remove("TROUPE_LOG")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start troupe master");
    let stderr = child.stderr.take().expect("stderr");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    let keep = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let addr = line
                .split("listening on ")
                .nth(1)
                .map(|rest| rest.split_whitespace().next().unwrap_or("").to_string());
            // Kept before the address is told, so the caller sees the line.
            keep.lock().expect("lines").push(line);
            if let Some(addr) = addr {
                let _ = tx.send(addr);
            }
        }
    });
    let mut m = Master {
        child,
        dir,
        addr: String::new(),
        lines,
    };
    m.addr = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("the master did not log its address: {:?}", m.lines()));
    m
}

/// The status code of one HTTP/1.1 request.
fn request(addr: &str, method: &str, path: &str, node: Option<&str>, body: &str) -> u16 {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let who = node
        .map(|n| format!("X-Client-Verify: SUCCESS\r\nX-Client-DN: CN={n}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{who}Content-Type: text/plain\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read response");
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn csr(cn: &str) -> String {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(rcgen::DnType::CommonName, cn);
    p.serialize_request(&key).expect("csr").pem().expect("pem")
}

/// `2026-01-02T03:04:05.678901Z`: RFC 3339, UTC, with a fraction of a second.
fn is_rfc3339_utc(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    b.len() > 21
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'.'
        && digits(20..b.len() - 1)
        && s.ends_with('Z')
        && s[..4] >= *"2024"
}

fn events(m: &Master) -> Vec<J> {
    m.lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Waits (a failure guard only) until an event satisfies `f`; returns it.
fn wait_event(m: &Master, what: &str, f: impl Fn(&J) -> bool) -> J {
    let start = Instant::now();
    loop {
        if let Some(e) = events(m).into_iter().find(|e| f(e)) {
            return e;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no {what} event in: {:#?}",
            m.lines()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn s<'a>(e: &'a J, k: &str) -> &'a str {
    e.get(k).and_then(J::as_str).unwrap_or("")
}

#[test]
fn json_lines_name_the_node_of_each_ca_and_catalog_event() {
    let m = start("json", &["--log-format", "json"], &[]);
    let a = m.addr.clone();
    let put = |cn: &str| {
        request(
            &a,
            "PUT",
            &format!("/puppet-ca/v1/certificate_request/{cn}"),
            None,
            &csr(cn),
        )
    };
    assert_eq!(put("web1.good.test"), 200);
    assert_eq!(put("db1.other.test"), 200);
    let catalog = "/puppet/v3/catalog/web1.good.test?environment=production";
    assert_eq!(
        request(&a, "GET", catalog, Some("intruder.other.test"), ""),
        403
    );
    assert_eq!(request(&a, "GET", catalog, Some("web1.good.test"), ""), 500);

    let node = |e: &J, n: &str| s(e, "node") == n;
    let received = wait_event(&m, "CSR received", |e| {
        node(e, "web1.good.test") && s(e, "message").starts_with("certificate request for")
    });
    assert_eq!(
        (s(&received, "role"), s(&received, "level")),
        ("master", "INFO")
    );
    assert_eq!(s(&received, "peer"), "127.0.0.1", "{received}");
    let accepted = wait_event(&m, "autosign accepts", |e| {
        node(e, "web1.good.test") && e.get("autosign") == Some(&J::Bool(true))
    });
    assert_eq!(s(&accepted, "role"), "ca");
    assert!(s(&accepted, "reason").contains("*.good.test"), "{accepted}");
    let signed = wait_event(&m, "signed", |e| {
        node(e, "web1.good.test") && s(e, "message").starts_with("signed the certificate")
    });
    assert!(signed.get("serial").is_some_and(J::is_u64), "{signed}");
    let refused = wait_event(&m, "autosign refuses", |e| {
        node(e, "db1.other.test") && e.get("autosign") == Some(&J::Bool(false))
    });
    assert!(s(&refused, "reason").contains("no line of"), "{refused}");
    wait_event(&m, "pending", |e| {
        node(e, "db1.other.test") && s(e, "message").contains("is pending")
    });
    let forbidden = wait_event(&m, "403", |e| e.get("status") == Some(&J::from(403)));
    assert_eq!(s(&forbidden, "level"), "WARN");
    assert_eq!(s(&forbidden, "node"), "intruder.other.test");
    assert_eq!(s(&forbidden, "method"), "GET");
    assert_eq!(s(&forbidden, "path"), "/puppet/v3/catalog/web1.good.test");
    assert!(
        s(&forbidden, "rule").contains("/puppet/v3/catalog/"),
        "{forbidden}"
    );
    let failed = wait_event(&m, "compile error", |e| {
        node(e, "web1.good.test") && s(e, "level") == "ERROR"
    });
    assert_eq!(s(&failed, "environment"), "production");
    assert!(
        s(&failed, "message").contains("broken on purpose"),
        "{failed}"
    );

    // Every line, not only the ones above, is one object with the four keys.
    for e in events(&m) {
        assert!(is_rfc3339_utc(s(&e, "timestamp")), "{e}");
        assert!(
            ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"].contains(&s(&e, "level")),
            "{e}"
        );
        assert!(
            !s(&e, "role").is_empty() && e.get("message").is_some(),
            "{e}"
        );
    }
}

#[test]
fn text_lines_start_with_a_timestamp_and_the_env_chooses_json() {
    let m = start("text", &[], &[]);
    let first = m.lines().into_iter().next().expect("a line");
    let (stamp, rest) = first.split_once(' ').expect("a timestamp");
    assert!(is_rfc3339_utc(stamp), "{first}");
    assert!(
        rest.trim_start()
            .starts_with("INFO troupe master: listening on "),
        "{first}"
    );
    drop(m);
    // How `troupe node` hands its setting to the roles it runs.
    let m = start("env", &[], &[("TROUPE_LOG_FORMAT", "json")]);
    let e: J = serde_json::from_str(&m.lines()[0]).expect("a JSON line");
    assert_eq!(s(&e, "role"), "master", "{e}");
    assert!(s(&e, "message").starts_with("listening on "), "{e}");
}

fn refused(args: &[&str], env: &[(&str, &str)], dir: &Path) -> String {
    let out = Command::new(TROUPE)
        .arg("master")
        .arg("--codedir")
        .arg(dir)
        .args(args)
        .env_remove("TROUPE_LOG_FORMAT")
        .env_remove("TROUPE_LOG")
        .envs(env.iter().copied())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn bad_log_settings_are_refused_by_name() {
    let dir = std::env::temp_dir();
    let err = refused(&["--log-level", "loud"], &[], &dir);
    assert!(err.contains("--log-level") && err.contains("loud"), "{err}");
    let err = refused(&[], &[("TROUPE_LOG", "chatty")], &dir);
    assert!(
        err.contains("TROUPE_LOG") && err.contains("chatty"),
        "{err}"
    );
    let err = refused(&[], &[("TROUPE_LOG_FORMAT", "xml")], &dir);
    assert!(
        err.contains("TROUPE_LOG_FORMAT") && err.contains("xml"),
        "{err}"
    );
    // A role that cannot start says why in the format asked for.
    let out = Command::new(TROUPE)
        .args(["master", "--log-format", "json", "--config"])
        .arg(dir.join("troupe-logs-no-such.conf"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let e: J = serde_json::from_str(err.trim()).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_eq!(s(&e, "level"), "ERROR", "{e}");
    assert!(s(&e, "message").contains("troupe-logs-no-such.conf"), "{e}");
    let out = Command::new(TROUPE)
        .args(["master", "--log-format", "xml"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("xml"));
}
