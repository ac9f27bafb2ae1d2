//! Masters changed while the front runs (`State::set_backends`), local masters preferred,
//! and the front's own health (`/troupe/health` on its TLS port and on `health_listen`).

mod common;
use common::{catalog_request, closed_port, Backend, Kind, Pki};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use troupe_front::BackendSpec;

fn spec(addr: SocketAddr, local: bool) -> BackendSpec {
    BackendSpec {
        addr,
        tls: false,
        local,
    }
}

async fn eventually(what: &str, f: impl Fn() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "{what}: not within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One plain-HTTP/1.0 request (as `troupe vrrp`'s http check sends it); status and body.
async fn plain_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .expect("an answer within 5 s")
        .expect("read");
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_default();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn masters_added_and_removed_while_requests_flow() {
    let pki = Arc::new(Pki::fresh("dynamic"));
    let a = Backend::start(Kind::Normal).await;
    let b = Backend::start(Kind::Normal).await;
    let mut c = pki.config(&[a.addr]);
    c.check_interval = Duration::from_millis(50);
    let front = troupe_front::start(c).await.expect("front");
    let f = front.addrs[0];

    // Clients keep sending throughout; every answer must be a 200.
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut clients = vec![];
    for k in 0..3 {
        let (pki, stop, sent, failed) = (pki.clone(), stop.clone(), sent.clone(), failed.clone());
        clients.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let r = pki
                    .send(f, true, &catalog_request(&format!("facts={k}-{i}")))
                    .await;
                sent.fetch_add(1, Ordering::SeqCst);
                if r.status != 200 {
                    failed.fetch_add(1, Ordering::SeqCst);
                    eprintln!("client {k}: {r:?}");
                }
                i += 1;
            }
        }));
    }
    eventually("A serves", || a.hits() >= 5).await;

    // B added: it is checked and takes requests; A keeps its figures.
    let a_requests = front.state.backends()[0].requests.load(Ordering::SeqCst);
    front
        .state
        .set_backends(vec![spec(a.addr, true), spec(b.addr, true)])
        .expect("set_backends");
    eventually("B checked and serving", || {
        b.checks.load(Ordering::SeqCst) > 0 && b.hits() >= 5
    })
    .await;
    let now = front.state.backends();
    assert_eq!(now.len(), 2);
    assert!(now[0].requests.load(Ordering::SeqCst) >= a_requests);

    // A removed: its health loop ends and it gets no more requests (those in flight finish).
    front
        .state
        .set_backends(vec![spec(b.addr, true)])
        .expect("set_backends");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (a_hits, a_checks) = (a.hits(), a.checks.load(Ordering::SeqCst));
    let b_hits = b.hits();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(a.hits(), a_hits, "a removed master still got requests");
    assert_eq!(
        a.checks.load(Ordering::SeqCst),
        a_checks,
        "a removed master is still checked"
    );
    assert!(b.hits() > b_hits, "requests stopped flowing");

    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.expect("client");
    }
    println!(
        "{} requests while masters changed, {} failed",
        sent.load(Ordering::SeqCst),
        failed.load(Ordering::SeqCst)
    );
    assert_eq!(failed.load(Ordering::SeqCst), 0);
    front.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_masters_are_preferred_and_remote_ones_take_over_when_they_are_down() {
    let pki = Pki::fresh("local");
    let local = Backend::start(Kind::Normal).await;
    let remote = Backend::start(Kind::Normal).await;
    let mut c = pki.config(&[]);
    c.backends = vec![spec(remote.addr, false), spec(local.addr, true)];
    c.check_interval = Duration::from_millis(50);
    let front = troupe_front::start(c).await.expect("front");
    let f = front.addrs[0];
    for i in 0..6 {
        let r = pki
            .send(f, true, &catalog_request(&format!("facts={i}")))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
    }
    assert_eq!((local.hits(), remote.hits()), (6, 0));

    // The only local master gone (nothing listens there): the remote one answers, at once
    // and once the local one is down.
    let gone = closed_port().await;
    front
        .state
        .set_backends(vec![spec(remote.addr, false), spec(gone, true)])
        .expect("set_backends");
    let r = pki.send(f, true, &catalog_request("facts=fallback")).await;
    assert_eq!(r.status, 200, "{r:?}");
    eventually("the gone master marked down", || {
        front.state.backends().iter().any(|b| !b.is_up())
    })
    .await;
    for i in 0..3 {
        let r = pki
            .send(f, true, &catalog_request(&format!("facts=remote{i}")))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
    }
    assert_eq!((local.hits(), remote.hits()), (6, 4));
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

    // A local master back: preferred again; the metrics say which is which.
    front
        .state
        .set_backends(vec![spec(remote.addr, false), spec(local.addr, true)])
        .expect("set_backends");
    let r = pki.send(f, true, &catalog_request("facts=again")).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!((local.hits(), remote.hits()), (7, 4));
    let m = pki
        .send(
            f,
            false,
            b"GET /metrics HTTP/1.1\r\nHost: f\r\nConnection: close\r\n\r\n",
        )
        .await;
    assert!(
        m.body.contains(&format!(
            "troupe_front_backend_local{{backend=\"{}\"}} 0",
            remote.addr
        )) && m.body.contains(&format!(
            "troupe_front_backend_local{{backend=\"{}\"}} 1",
            local.addr
        )) && m.body.contains("troupe_front_backend_stalls_total"),
        "{}",
        m.body
    );
    front.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_listen_answers_the_health_path_only_and_says_draining() {
    let pki = Pki::fresh("health");
    let m = Backend::start(Kind::Normal).await;
    let mut c = pki.config(&[m.addr]);
    c.health_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    c.drain_timeout = Duration::from_secs(2);
    let front = troupe_front::start(c).await.expect("front");
    let h = front.health_addr.expect("health listener");
    assert_eq!(
        plain_get(h, "/troupe/health").await,
        (200, "ok: 1 of 1 masters up\n".into())
    );
    for other in ["/troupe/status", "/metrics", "/status/v1/simple", "/"] {
        assert_eq!(plain_get(h, other).await.0, 404, "{other}");
    }
    // The TLS port answers it too, to a client without a certificate.
    let r = pki
        .send(
            front.addrs[0],
            false,
            b"GET /troupe/health HTTP/1.1\r\nHost: f\r\nConnection: close\r\n\r\n",
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(m.hits(), 0, "the health path was sent to a master");

    // No master: 503 with the reason.
    front.state.set_backends(vec![]).expect("set_backends");
    assert_eq!(
        plain_get(h, "/troupe/health").await,
        (503, "no master is up\n".into())
    );
    front
        .state
        .set_backends(vec![spec(m.addr, true)])
        .expect("set_backends");
    assert_eq!(plain_get(h, "/troupe/health").await.0, 200);

    // Draining (a request is held in flight by a body that never completes): 503 draining.
    let mut slow = pki.connect(front.addrs[0], true).await;
    slow.write_all(
        b"PUT /puppet/v3/report/x HTTP/1.1\r\nHost: f\r\nContent-Length: 100\r\n\r\nhalf",
    )
    .await
    .expect("write");
    slow.flush().await.expect("flush");
    eventually("the request in flight", || {
        front.state.total_in_flight() > 0
    })
    .await;
    let state = front.state.clone();
    let stopping = tokio::spawn(front.stop());
    eventually("draining", || state.draining.load(Ordering::SeqCst)).await;
    assert_eq!(
        plain_get(h, "/troupe/health").await,
        (503, "draining\n".into())
    );
    stopping.await.expect("stop");
    drop(slow);
}
