//! Hostile PuppetDB answers and queue files: a server that answers garbage, the wrong shape,
//! an error or nothing makes the compile that asked fail with a message naming the server;
//! a corrupt command file in the queue is set aside, never delivered, never a panic.

use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;
use troupe_eval::code::Storeconfigs;
use troupe_master::puppetdb::{PdbConf, PuppetDb};

/// A listener that answers every request with `status` and `body`.
fn server(status: u16, body: &'static str) -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            let mut r = BufReader::new(c.try_clone().expect("clone"));
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            let mut c = c;
            let _ = write!(
                c,
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://127.0.0.1:{port}")
}

fn pdb(url: &str, name: &str) -> PuppetDb {
    let conf = PdbConf::parse(
        &format!("server_urls = {url}\nserver_url_timeout = 2\n"),
        "t",
    )
    .expect("conf");
    let dir =
        std::env::temp_dir().join(format!("troupe-hostile-pdb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    PuppetDb::start(conf, &dir, 10, None, "m1".into()).expect("start")
}

#[test]
fn bad_answers_fail_the_query_with_the_servers_name() {
    for (status, body, want) in [
        (200, "<html>not json", "the answer is not JSON"),
        (200, "{\"rows\": 1}", "the answer is not a list"),
        (500, "boom\r\nline", "[500] boomline"),
        (404, "no such endpoint", "[404] no such endpoint"),
    ] {
        let url = server(status, body);
        let p = pdb(&url, &format!("bad{status}"));
        let e = p.search("Host", "n1", None).expect_err("must fail");
        assert!(e.contains(want), "{status} {body}: {e}");
        assert!(e.contains(url.trim_start_matches("http://")), "{e}");
    }
}

#[test]
fn a_silent_or_absent_server_fails_within_the_timeout() {
    // Accepts and never answers.
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    let p = pdb(&url, "silent");
    let t = std::time::Instant::now();
    let e = p
        .search("Host", "n1", Some(&json!(["=", "tag", "x"])))
        .expect_err("silent");
    assert!(e.contains("no answer within"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(10));
    drop(l);
    let p = pdb(&url, "gone");
    let e = p.search("Host", "n1", None).expect_err("refused");
    assert!(
        e.contains("Could not retrieve resources from the PuppetDB at"),
        "{e}"
    );
}

#[test]
fn a_corrupt_queue_file_is_set_aside() {
    let base = std::env::temp_dir().join(format!("troupe-hostile-pdbq-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(base.join("0/rejected")).expect("mkdir");
    std::fs::write(
        base.join("0/0000000000000003.cmd"),
        b"\xff\xfe not a head\n{",
    )
    .expect("write");
    std::fs::write(base.join("0/.0000000000000004.tmp"), b"half").expect("write");
    let q = troupe_master::puppetdb::Queue::open(&base, 10).expect("open");
    assert_eq!(
        q.stats.waiting.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    assert!(base.join("0/rejected/0000000000000003.cmd").exists());
    assert!(!base.join("0/.0000000000000004.tmp").exists());
    // New commands number past the corrupt one.
    assert!(q.push("store report", 8, "n1", "T", &json!({})));
    assert!(base.join("0/0000000000000004.cmd").exists());
    let _ = std::fs::remove_dir_all(&base);
}
