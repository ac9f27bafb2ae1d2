//! A stalled master: a real child process (this test binary run again as a tiny HTTP master)
//! stopped with SIGSTOP still completes TCP handshakes but never answers. With the default
//! check timers the front finds it stalled within about a second, gives up the requests in
//! flight there and sends them to the other master (not counted as deaths), sends nothing
//! more to it, and takes it back after SIGCONT.

mod common;
use common::{catalog_request, Backend, Kind, Pki};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use troupe_front::{BackendSpec, Config};

const CHILD_ENV: &str = "TROUPE_FRONT_TEST_CHILD_MASTER";

/// Not a test: the body of the child process (run by `ChildMaster::spawn`, ignored otherwise).
/// Answers `/status/v1/simple` with `running` and anything else with `child`.
#[test]
#[ignore]
fn child_master_process() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    // An orphan never outlives the test run for long.
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(60));
        std::process::exit(0);
    });
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    println!("PORT {}", l.local_addr().expect("addr").port());
    let _ = std::io::stdout().flush();
    for s in l.incoming().flatten() {
        std::thread::spawn(move || serve_child(s));
    }
}

fn serve_child(mut s: TcpStream) {
    let mut buf = Vec::new();
    let mut piece = [0u8; 8192];
    loop {
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            match s.read(&mut piece) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&piece[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        let len: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buf.len() < end + 4 + len {
            match s.read(&mut piece) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&piece[..n]),
            }
        }
        buf.drain(..end + 4 + len);
        let reply: &[u8] = if head.starts_with("GET /status/v1/simple ") {
            b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nrunning"
        } else {
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nchild"
        };
        if s.write_all(reply).is_err() {
            return;
        }
    }
}

/// The child master; killed (SIGKILL) and reaped on drop.
struct ChildMaster {
    child: Child,
    addr: SocketAddr,
}

impl ChildMaster {
    fn spawn() -> ChildMaster {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "child_master_process",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD_ENV, "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the child master");
        let out = child.stdout.take().expect("stdout");
        let port = BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.strip_prefix("PORT ").and_then(|p| p.parse::<u16>().ok()))
            .expect("the child master's port");
        ChildMaster {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill {sig} failed");
    }
}

impl Drop for ChildMaster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_for(what: &str, limit: Duration, f: impl Fn() -> bool) -> Duration {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    t0.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_master_is_found_within_a_second_and_its_requests_go_elsewhere() {
    let pki = Arc::new(Pki::fresh("stall"));
    let stalling = ChildMaster::spawn();
    let other = Backend::start(Kind::Normal).await;
    let mut c = pki.config(&[]);
    // The stalling master is local (preferred: it gets every request while up), the other
    // remote; check timers as shipped.
    c.backends = vec![
        BackendSpec {
            addr: stalling.addr,
            tls: false,
            local: true,
        },
        BackendSpec {
            addr: other.addr,
            tls: false,
            local: false,
        },
    ];
    let defaults = Config::new(vec![], vec![], pki.files());
    c.check_interval = defaults.check_interval;
    c.stall_timeout = defaults.stall_timeout;
    c.backend_timeout = Duration::from_secs(30);
    let front = troupe_front::start(c).await.expect("front");
    let f = front.addrs[0];
    let a = front.state.backends()[0].clone();
    assert_eq!(a.addr, stalling.addr);

    // Up and answering: the local master takes the requests.
    wait_for("the child master checked", Duration::from_secs(5), || {
        a.is_up()
    })
    .await;
    let r = pki.send(f, true, &catalog_request("facts=before")).await;
    assert_eq!((r.status, r.body.as_str()), (200, "child"), "{r:?}");

    // SIGSTOP, then requests that reach it (written into its socket, never answered).
    let stopped = Instant::now();
    stalling.signal("-STOP");
    let mut in_flight = vec![];
    for i in 0..4 {
        let pki = pki.clone();
        in_flight.push(tokio::spawn(async move {
            let t0 = Instant::now();
            let r = pki
                .send(f, true, &catalog_request(&format!("facts=inflight{i}")))
                .await;
            (i, r, t0.elapsed())
        }));
    }
    let detected = wait_for(
        "the stalled master marked down",
        Duration::from_secs(5),
        || !a.is_up(),
    )
    .await;
    let requests_at_detection = a.requests.load(std::sync::atomic::Ordering::SeqCst);
    let mut worst = Duration::ZERO;
    for t in in_flight {
        let (i, r, waited) = t.await.expect("request task");
        assert_eq!(
            (r.status, r.body.as_str()),
            (200, "ok"),
            "in-flight request {i}: {r:?}"
        );
        worst = worst.max(waited);
        // Abandoned on a stall: not held against the request.
        let body = format!("facts=inflight{i}");
        let fp = troupe_front::retry::fingerprint(
            "POST",
            &format!("/puppet/v3/catalog/{}?environment=production", common::NODE),
            body.as_bytes(),
        );
        assert_eq!(front.state.quarantine.deaths(&fp), 0);
    }
    println!(
        "stalled master detected after {:.0} ms (SIGSTOP to down); worst in-flight request wait {:.0} ms",
        detected.as_secs_f64() * 1000.0,
        worst.as_secs_f64() * 1000.0
    );
    assert!(
        detected < Duration::from_millis(2000),
        "detection took {detected:?}"
    );
    assert!(
        worst < Duration::from_millis(3000),
        "a request waited {worst:?}"
    );
    let abandoned = a.abandoned.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        abandoned >= 1,
        "no request was in flight on the stalled master"
    );
    assert_eq!(a.stalls.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(front.state.quarantine.list().is_empty());
    assert!(stopped.elapsed() < Duration::from_secs(10));

    // After detection nothing goes to it; the front still says it can serve.
    for i in 0..5 {
        let r = pki
            .send(f, true, &catalog_request(&format!("facts=after{i}")))
            .await;
        assert_eq!((r.status, r.body.as_str()), (200, "ok"), "{r:?}");
    }
    assert_eq!(
        a.requests.load(std::sync::atomic::Ordering::SeqCst),
        requests_at_detection,
        "a request went to the stalled master after it was found"
    );
    let h = pki
        .send(
            f,
            false,
            b"GET /troupe/health HTTP/1.1\r\nHost: f\r\nConnection: close\r\n\r\n",
        )
        .await;
    assert_eq!(
        (h.status, h.body.as_str()),
        (200, "ok: 1 of 2 masters up\n")
    );
    let s = pki
        .send(
            f,
            false,
            b"GET /troupe/status?format=json HTTP/1.1\r\nHost: f\r\nConnection: close\r\n\r\n",
        )
        .await;
    let j: serde_json::Value = serde_json::from_str(&s.body).expect("status JSON");
    assert_eq!(j["backends"][0]["local"], true, "{j}");
    assert_eq!(j["backends"][0]["stalls"], 1, "{j}");
    assert_eq!(j["backends"][1]["local"], false, "{j}");

    // SIGCONT: back after `rise` checks, and preferred again.
    stalling.signal("-CONT");
    let back = wait_for(
        "the master back after SIGCONT",
        Duration::from_secs(5),
        || a.is_up(),
    )
    .await;
    println!(
        "back in rotation {:.0} ms after SIGCONT",
        back.as_secs_f64() * 1000.0
    );
    let r = pki.send(f, true, &catalog_request("facts=back")).await;
    assert_eq!((r.status, r.body.as_str()), (200, "child"), "{r:?}");
    front.stop().await;
}
