//! A client connection's life: an idle keep-alive connection is closed cleanly (TLS
//! close_notify, so an agent's next request opens a new connection instead of failing on a
//! stale one), and a draining front still serves the request a connection opened before the
//! drain sends late, keeps accepting for `drain_linger` (one request per connection), then
//! stops accepting.

mod common;
use common::{read_reply, Backend, Kind, Pki};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const GET: &[u8] = b"GET /puppet/v3/node/x HTTP/1.1\r\nHost: f\r\n\r\n";

#[tokio::test]
async fn an_idle_keepalive_connection_is_closed_cleanly_after_the_timeout() {
    let pki = Pki::fresh("idle");
    let m = Backend::start(Kind::Normal).await;
    let mut c = pki.config(&[m.addr]);
    c.keepalive_timeout = Duration::from_millis(300);
    let front = troupe_front::start(c).await.expect("front");
    let mut s = pki.connect(front.addrs[0], true).await;
    // Requests close together keep the connection.
    for _ in 0..3 {
        s.write_all(GET).await.expect("write");
        let r = read_reply(&mut s).await.expect("a reply");
        assert_eq!(r.status, 200, "{r:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let idle_from = Instant::now();
    let mut buf = [0u8; 64];
    // A clean close reads as end of stream; a close without close_notify is an error.
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("closed within 5 s")
        .expect("closed with close_notify");
    assert_eq!(n, 0);
    let idle = idle_from.elapsed();
    assert!(idle >= Duration::from_millis(150), "closed after {idle:?}");
    front.stop().await;
}

#[tokio::test]
async fn a_draining_front_serves_late_first_requests_and_lingers_before_it_stops_accepting() {
    let pki = Pki::fresh("linger");
    let m = Backend::start(Kind::Normal).await;
    let mut c = pki.config(&[m.addr]);
    c.drain_linger = Duration::from_millis(700);
    c.drain_timeout = Duration::from_secs(5);
    let front = troupe_front::start(c).await.expect("front");
    let addr = front.addrs[0];
    // Connected (TLS done) before the drain, its request sent only after it began.
    let mut early = pki.connect(addr, true).await;
    // An idle keep-alive connection: closed at once when the drain begins.
    let mut idle = pki.connect(addr, true).await;
    idle.write_all(GET).await.expect("write");
    assert_eq!(read_reply(&mut idle).await.expect("reply").status, 200);

    let state = front.state.clone();
    let stopping = tokio::spawn(front.stop());
    let t0 = Instant::now();
    while !state.draining.load(std::sync::atomic::Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(2), idle.read(&mut buf))
        .await
        .expect("the idle connection closed at once")
        .expect("cleanly");
    assert_eq!(n, 0);

    tokio::time::sleep(Duration::from_millis(100)).await;
    early.write_all(GET).await.expect("write");
    let r = read_reply(&mut early)
        .await
        .expect("the late first request answered");
    assert_eq!(r.status, 200, "{r:?}");

    // Still accepting within the linger: one request, then the connection closes.
    let r = pki.send(addr, true, GET).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(t0.elapsed() < Duration::from_millis(700));

    stopping.await.expect("stop");
    assert!(
        t0.elapsed() >= Duration::from_millis(700),
        "stopped after the linger, {:?}",
        t0.elapsed()
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn the_catalog_answer_closes_its_connection_and_a_node_answer_keeps_it() {
    let pki = Pki::fresh("close");
    let m = Backend::start(Kind::Normal).await;
    let front = troupe_front::start(pki.config(&[m.addr]))
        .await
        .expect("front");
    let mut s = pki.connect(front.addrs[0], true).await;
    s.write_all(GET).await.expect("write");
    let r = read_reply(&mut s).await.expect("the node answer");
    assert_eq!(r.status, 200, "{r:?}");
    s.write_all(b"POST /puppet/v3/catalog/x HTTP/1.1\r\nHost: f\r\nContent-Length: 2\r\n\r\n{}")
        .await
        .expect("the same connection is kept");
    let r = read_reply(&mut s).await.expect("the catalog answer");
    assert_eq!(r.status, 200, "{r:?}");
    let close = r
        .headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close"));
    assert!(close, "{:?}", r.headers);
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
        .await
        .expect("closed")
        .expect("cleanly");
    assert_eq!(n, 0);
    front.stop().await;
}
