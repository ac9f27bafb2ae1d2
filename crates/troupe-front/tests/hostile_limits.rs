//! Hostile input: resource exhaustion. Anonymous clients get small bodies only, refused before
//! any buffering; all bodies together have a byte budget; slow bodies, slow handshakes and
//! slow headers are cut off; connections are limited per source, and a share is kept for
//! clients with a verified certificate.

mod common;
use common::{closed_within, read_reply, Backend, Kind, Pki};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

fn post_head(len: usize) -> String {
    format!("PUT /puppet-ca/v1/certificate_request/n?environment=production HTTP/1.1\r\nHost: p\r\nContent-Type: text/plain\r\nContent-Length: {len}\r\n\r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_huge_upload_is_refused_before_buffering() {
    let pki = Pki::fresh("anon-cl");
    let m = Backend::start(Kind::Normal).await;
    let front = troupe_front::start(pki.config(&[m.addr]))
        .await
        .expect("front");
    // 63 MB announced, nothing sent: the answer comes at once, without waiting for the body.
    let r = pki
        .send(front.addrs[0], false, post_head(63_000_000).as_bytes())
        .await;
    assert_eq!(r.status, 413, "{r:?}");
    assert!(
        r.body.contains("without a verified client certificate"),
        "{}",
        r.body
    );
    // A CSR-sized body passes.
    let mut small = post_head(1000).into_bytes();
    small.extend(std::iter::repeat_n(b'a', 1000));
    assert_eq!(pki.send(front.addrs[0], false, &small).await.status, 200);
    assert_eq!(m.hits(), 1);
    front.stop().await;
}

fn chunked(total: usize) -> Vec<u8> {
    let mut raw = b"PUT /puppet-ca/v1/certificate_request/n HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let chunk = vec![b'a'; 16 * 1024];
    let mut sent = 0;
    while sent < total {
        raw.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        raw.extend_from_slice(&chunk);
        raw.extend_from_slice(b"\r\n");
        sent += chunk.len();
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    raw
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_chunked_body_past_64_kib_is_refused() {
    let pki = Pki::fresh("anon-chunked");
    let m = Backend::start(Kind::Normal).await;
    let front = troupe_front::start(pki.config(&[m.addr]))
        .await
        .expect("front");
    let r = pki.send(front.addrs[0], false, &chunked(80 * 1024)).await;
    assert_eq!(r.status, 413, "{r:?}");
    assert_eq!(m.hits(), 0);
    // The same body from a certified node is fine.
    assert_eq!(
        pki.send(front.addrs[0], true, &chunked(80 * 1024))
            .await
            .status,
        200
    );
    assert_eq!(m.hits(), 1);
    front.stop().await;
}

async fn buffered(pki: &Pki, f: std::net::SocketAddr) -> u64 {
    let r = pki
        .send(
            f,
            false,
            b"GET /troupe/status?format=json HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n",
        )
        .await;
    serde_json::from_str::<serde_json::Value>(&r.body).expect("status")["buffered_bytes"]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffered_bytes_over_the_cap_get_503_with_retry_after() {
    let pki = Pki::fresh("budget");
    let m = Backend::start(Kind::Normal).await;
    let mut c = pki.config(&[m.addr]);
    c.max_buffered_bytes = 1_000_000;
    let front = troupe_front::start(c).await.expect("front");
    let f = front.addrs[0];
    // A holds 900 kB of the budget while its body trickles in.
    let mut a = pki.connect(f, true).await;
    a.write_all(post_head(900_000).as_bytes())
        .await
        .expect("write");
    a.write_all(&[b'a'; 1000]).await.expect("write");
    a.flush().await.expect("flush");
    let mut held = 0;
    for _ in 0..100 {
        held = buffered(&pki, f).await;
        if held >= 900_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(held >= 900_000, "A's body is not accounted: {held}");
    // B would go over the cap: 503 at once, with Retry-After.
    let r = pki.send(f, true, post_head(200_000).as_bytes()).await;
    assert_eq!(r.status, 503, "{r:?}");
    assert!(r.header("retry-after").is_some(), "{r:?}");
    // A finishes; its bytes are given back and B gets through.
    a.write_all(&vec![b'a'; 899_000]).await.expect("write");
    a.flush().await.expect("flush");
    assert_eq!(read_reply(&mut a).await.map(|r| r.status), Some(200));
    let mut b = post_head(200_000).into_bytes();
    b.extend(std::iter::repeat_n(b'b', 200_000));
    assert_eq!(pki.send(f, true, &b).await.status, 200);
    assert_eq!(buffered(&pki, f).await, 0);
    front.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_body_is_cut_off() {
    let pki = Pki::fresh("slowbody");
    let m = Backend::start(Kind::Normal).await;
    let mut c = pki.config(&[m.addr]);
    c.body_timeout = Duration::from_millis(500);
    c.body_min_rate = 500;
    let front = troupe_front::start(c).await.expect("front");
    let s = pki.connect(front.addrs[0], true).await;
    let (mut rd, mut wr) = tokio::io::split(s);
    wr.write_all(post_head(10_000).as_bytes())
        .await
        .expect("write");
    // One byte every 100 ms, far under 500 bytes a second.
    let dribble = tokio::spawn(async move {
        for _ in 0..100 {
            if wr.write_all(b"a").await.is_err() || wr.flush().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let r = read_reply(&mut rd).await;
    dribble.abort();
    assert_eq!(r.map(|r| r.status), Some(408));
    assert_eq!(m.hits(), 0);
    front.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connection_before_the_handshake_is_closed_soon() {
    let pki = Pki::fresh("handshake");
    let m = Backend::start(Kind::Normal).await;
    let mut c = pki.config(&[m.addr]);
    c.handshake_timeout = Duration::from_millis(300);
    let front = troupe_front::start(c).await.expect("front");
    let mut tcp = tokio::net::TcpStream::connect(front.addrs[0])
        .await
        .expect("connect");
    assert!(closed_within(&mut tcp, Duration::from_secs(5)).await);
    front.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_headers_are_cut_off() {
    let pki = Pki::fresh("headers");
    let m = Backend::start(Kind::Normal).await;
    let mut c = pki.config(&[m.addr]);
    c.header_timeout = Duration::from_millis(500);
    let front = troupe_front::start(c).await.expect("front");
    let mut s = pki.connect(front.addrs[0], false).await;
    s.write_all(b"GET /puppet/v3/node/n HTTP/1.1\r\nHost: p\r\nX-Slow: ")
        .await
        .expect("write");
    s.flush().await.expect("flush");
    assert!(closed_within(&mut s, Duration::from_secs(5)).await);
    assert_eq!(m.hits(), 0);
    front.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_from_one_source_are_limited() {
    let pki = Pki::fresh("persource");
    let m = Backend::start(Kind::Normal).await;
    let mut c = pki.config(&[m.addr]);
    c.max_connections_per_source = 2;
    let front = troupe_front::start(c).await.expect("front");
    let f = front.addrs[0];
    let a = pki.connect(f, true).await;
    let _b = pki.connect(f, true).await;
    assert!(
        pki.try_connect(f, true).await.is_err(),
        "a third connection was served"
    );
    drop(a);
    let mut ok = false;
    for _ in 0..250 {
        if pki.try_connect(f, true).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "a closed connection's place was not given back");
    front.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_kept_for_verified_clients() {
    let pki = Pki::fresh("reserved");
    let m = Backend::start(Kind::Normal).await;
    let mut c = pki.config(&[m.addr]);
    c.max_connections = 4;
    c.reserved_connections = 2;
    let front = troupe_front::start(c).await.expect("front");
    let f = front.addrs[0];
    let get = b"GET /puppet/v3/node/n HTTP/1.1\r\nHost: p\r\n\r\n";
    // Two anonymous connections held open use the anonymous share.
    let mut held = vec![];
    for _ in 0..2 {
        let mut s = pki.connect(f, false).await;
        s.write_all(get).await.expect("write");
        assert_eq!(read_reply(&mut s).await.map(|r| r.status), Some(200));
        held.push(s);
    }
    // A third anonymous one is closed after the handshake...
    let mut s = pki.connect(f, false).await;
    let _ = s.write_all(get).await;
    assert!(
        read_reply(&mut s).await.is_none(),
        "an anonymous client took a reserved place"
    );
    // ...while a certified node still gets in.
    assert_eq!(pki.send(f, true, get).await.status, 200);
    front.stop().await;
}
