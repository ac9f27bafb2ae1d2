//! The queue of PuppetDB commands: kept on disk across a restart, delivered in order, a
//! node's newer facts replacing its older ones still waiting, bounded, and a command PuppetDB
//! refuses set aside. The PuppetDB here is a loopback listener that records what it is sent
//! (the real PuppetDB is in tests/e2e/puppetdb.sh).

use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use troupe_master::http_client::Target;
use troupe_master::puppetdb::commands::{CATALOG, FACTS, REPORT};
use troupe_master::puppetdb::Queue;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("troupe-pdbq-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A listener answering every POST with `status`; records (path, body).
/// What the listener was sent: (path, body) per request.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

fn server(status: u16) -> (Target, Seen) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            let mut r = BufReader::new(c.try_clone().expect("clone"));
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            let path = line.split(' ').nth(1).unwrap_or_default().to_string();
            let mut len = 0;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            if let Ok(mut s) = s.lock() {
                s.push((path, String::from_utf8_lossy(&body).into_owned()));
            }
            let answer = if status == 200 {
                "{\"uuid\":\"u\"}"
            } else {
                "bad command"
            };
            let mut c = c;
            let _ = write!(
                c,
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    let t = Target::parse(&format!("http://127.0.0.1:{port}"), "server_urls").expect("url");
    (t, seen)
}

fn wait_empty(q: &Queue) {
    let until = Instant::now() + Duration::from_secs(20);
    while q.stats.waiting.load(std::sync::atomic::Ordering::Relaxed) > 0 {
        assert!(Instant::now() < until, "the queue did not drain");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn commands_survive_a_restart_and_arrive_in_order() {
    let base = scratch("order");
    {
        let q = Queue::open(&base, 100).expect("open");
        assert!(q.push(
            FACTS.0,
            FACTS.1,
            "n1",
            "T1",
            &json!({"certname": "n1", "v": 1})
        ));
        assert!(q.push(CATALOG.0, CATALOG.1, "n1", "T1", &json!({"certname": "n1"})));
        assert!(q.push(
            REPORT.0,
            REPORT.1,
            "n1",
            "T1",
            &json!({"certname": "n1", "r": 1})
        ));
        assert!(q.push(
            REPORT.0,
            REPORT.1,
            "n1",
            "T2",
            &json!({"certname": "n1", "r": 2})
        ));
        // Newer facts of n1 replace the waiting ones.
        assert!(q.push(
            FACTS.0,
            FACTS.1,
            "n1",
            "T2",
            &json!({"certname": "n1", "v": 2})
        ));
        assert_eq!(
            q.newest(FACTS.0, "n1"),
            Some(json!({"certname": "n1", "v": 2}))
        );
        // A second master on the same base takes a directory of its own.
        let other = Queue::open(&base, 100).expect("second");
        assert!(other.push(REPORT.0, REPORT.1, "n9", "T", &json!({})));
        drop(other);
    }
    // The master restarts: the commands are still there, and are delivered in order.
    let q = Queue::open(&base, 100).expect("reopen");
    assert_eq!(
        q.stats.waiting.load(std::sync::atomic::Ordering::Relaxed),
        4
    );
    let (t, seen) = server(200);
    q.start_sender(vec![t], vec![], None, Duration::from_secs(5))
        .expect("sender");
    wait_empty(&q);
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    let commands: Vec<&str> = seen
        .iter()
        .map(|(p, _)| {
            p.split("command=")
                .nth(1)
                .unwrap_or("")
                .split('&')
                .next()
                .unwrap_or("")
        })
        .collect();
    assert_eq!(
        commands,
        [
            "replace_catalog",
            "store_report",
            "store_report",
            "replace_facts"
        ]
    );
    assert!(
        seen[0].0.starts_with(
            "/pdb/cmd/v1?command=replace_catalog&version=9&certname=n1&producer-timestamp=T1"
        ),
        "{}",
        seen[0].0
    );
    assert_eq!(seen[3].1, r#"{"certname":"n1","v":2}"#);
    assert!(std::fs::read_dir(base.join("0"))
        .expect("dir")
        .flatten()
        .all(|e| !e.file_name().to_string_lossy().ends_with(".cmd")));
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn the_queue_is_bounded_and_refused_commands_are_set_aside() {
    let base = scratch("bounded");
    let q = Queue::open(&base, 2).expect("open");
    for i in 0..3 {
        q.push(REPORT.0, REPORT.1, "n1", "T", &json!({"r": i}));
    }
    assert_eq!(
        q.stats.dropped.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    let (t, seen) = server(400);
    q.start_sender(vec![t], vec![], None, Duration::from_secs(5))
        .expect("sender");
    wait_empty(&q);
    assert_eq!(seen.lock().map(|s| s.len()).unwrap_or(0), 2);
    assert_eq!(
        q.stats.rejected.load(std::sync::atomic::Ordering::Relaxed),
        2
    );
    let rejected = std::fs::read_dir(base.join("0/rejected"))
        .expect("rejected")
        .count();
    assert_eq!(rejected, 2);
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn a_puppetdb_that_is_away_gets_the_commands_when_it_comes_back() {
    let base = scratch("outage");
    let q = Queue::open(&base, 100).expect("open");
    // A port nobody listens on: the first attempts fail and are retried.
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    let t = Target::parse(&format!("http://127.0.0.1:{port}"), "server_urls").expect("url");
    q.start_sender(vec![t], vec![], None, Duration::from_secs(2))
        .expect("sender");
    q.push(REPORT.0, REPORT.1, "n1", "T", &json!({"r": 1}));
    std::thread::sleep(Duration::from_millis(700));
    assert!(q.stats.retries.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    assert_eq!(
        q.stats.waiting.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // PuppetDB comes back on that port.
    let l = TcpListener::bind(("127.0.0.1", port)).expect("rebind");
    let got = std::thread::spawn(move || {
        let (c, _) = l.accept().expect("accept");
        let mut r = BufReader::new(c.try_clone().expect("clone"));
        let mut line = String::new();
        let _ = r.read_line(&mut line);
        let mut c = c;
        // Drain the head and body before answering.
        std::thread::sleep(Duration::from_millis(50));
        let _ = write!(
            c,
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        );
        line
    });
    wait_empty(&q);
    assert!(got
        .join()
        .unwrap_or_default()
        .contains("command=store_report"));
    assert_eq!(q.stats.sent.load(std::sync::atomic::Ordering::Relaxed), 1);
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn the_sender_keeps_its_connection() {
    // A keep-alive server that counts connections and requests.
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let counts = Arc::new(Mutex::new((0usize, 0usize)));
    let c2 = counts.clone();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            if let Ok(mut n) = c2.lock() {
                n.0 += 1;
            }
            let c3 = c2.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(c.try_clone().expect("clone"));
                let mut c = c;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut len = 0;
                    loop {
                        let mut h = String::new();
                        if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                            break;
                        }
                        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    let _ = r.read_exact(&mut body);
                    if let Ok(mut n) = c3.lock() {
                        n.1 += 1;
                    }
                    let _ = write!(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{{}}");
                }
            });
        }
    });
    let base = scratch("keepalive");
    let q = Queue::open(&base, 100).expect("open");
    let t = Target::parse(&format!("http://127.0.0.1:{port}"), "server_urls").expect("url");
    q.start_sender(vec![t], vec![], None, Duration::from_secs(5))
        .expect("sender");
    for i in 0..5 {
        q.push(REPORT.0, REPORT.1, "n1", "T", &json!({"r": i}));
        wait_empty(&q);
    }
    let (conns, reqs) = counts.lock().map(|n| *n).unwrap_or_default();
    assert_eq!((conns, reqs), (1, 5), "five commands on one connection");
    let _ = std::fs::remove_dir_all(&base);
}
