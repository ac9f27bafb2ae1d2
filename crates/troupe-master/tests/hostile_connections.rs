//! Hostile connections: holding many, holding them silent, trickling bodies, CSR floods,
//! request smuggling.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

/// A TCP connection to `addr` from the loopback address `src` (127.0.0.x).
fn connect_from(src: &str, addr: SocketAddr) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let s = rt.block_on(async {
        let sock = tokio::net::TcpSocket::new_v4().expect("socket");
        let ip: IpAddr = src.parse().expect("ip");
        sock.bind(SocketAddr::new(ip, 0)).expect("bind");
        sock.connect(addr).await.expect("connect")
    });
    let s = s.into_std().expect("std");
    s.set_nonblocking(false).expect("blocking");
    s
}

/// Whether the server closes `s` within `within` (EOF or reset), without answering.
fn closed_by_server(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).expect("timeout");
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) => {
                return matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
                )
            }
        }
    }
}

fn status_on(mut s: TcpStream) -> Option<u16> {
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(&request("GET", "/status/v1/simple", &[], b""))
        .ok()?;
    let mut out = vec![];
    let _ = s.read_to_end(&mut out);
    parse(&out).map(|r| r.status)
}

#[test]
fn one_source_cannot_hold_more_than_its_connections() {
    let dir = Scratch::new("per-source");
    let mut c = config(dir.path(), false);
    c.limits.max_connections_per_source = 2;
    c.limits.header_read_timeout = 60;
    let m = start(c);
    let held: Vec<TcpStream> = (0..2).map(|_| connect_from("127.0.0.1", m.addr)).collect();
    // Let the server take them.
    std::thread::sleep(Duration::from_millis(200));
    let mut third = connect_from("127.0.0.1", m.addr);
    assert!(
        closed_by_server(&mut third, Duration::from_secs(10)),
        "a third connection from one source was kept"
    );
    // Another source is served meanwhile.
    assert_eq!(status_on(connect_from("127.0.0.2", m.addr)), Some(200));
    drop(held);
    let mut ok = None;
    for _ in 0..100 {
        ok = status_on(connect_from("127.0.0.1", m.addr));
        if ok == Some(200) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(ok, Some(200), "the source's slots were not freed");
}

#[test]
fn anonymous_tls_connections_leave_room_for_certified_clients() {
    let dir = Scratch::new("anon-share");
    let mut c = config(dir.path(), true);
    c.limits.max_anonymous_connections = 2;
    c.limits.header_read_timeout = 60;
    let (cadir, ssldir) = (c.cadir.clone().expect("cadir"), c.ssldir.clone());
    let m = start(c);
    let anonymous = tls_client(&ssldir, None);
    let held: Vec<_> = (0..2)
        .map(|_| tls_connect(m.addr, &anonymous).expect("anonymous connection"))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let r = https(m.addr, &anonymous, "GET", "/status/v1/simple", &[], b"");
    assert!(
        r.is_none(),
        "a third anonymous connection was served: {r:?}"
    );
    let node = tls_client(&ssldir, Some(&issue(&cadir, "node1.example.test", false)));
    let r = https(
        m.addr,
        &node,
        "GET",
        "/puppet/v3/node/node1.example.test?environment=production",
        &[],
        b"",
    );
    assert_eq!(
        r.map(|r| r.status),
        Some(200),
        "a certified client was refused"
    );
    drop(held);
}

#[test]
fn silent_client_before_the_tls_handshake_is_dropped() {
    let dir = Scratch::new("slow-tls");
    let mut c = config(dir.path(), true);
    c.limits.handshake_timeout = 1;
    let m = start(c);
    let mut s = TcpStream::connect(m.addr).expect("connect");
    assert!(
        closed_by_server(&mut s, Duration::from_secs(8)),
        "a connection without a handshake was held"
    );
}

#[test]
fn trickled_request_headers_are_dropped() {
    let dir = Scratch::new("slow-headers");
    let mut c = config(dir.path(), false);
    c.limits.header_read_timeout = 1;
    let m = start(c);
    let mut s = TcpStream::connect(m.addr).expect("connect");
    s.write_all(b"GET /status/v1/simple HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    assert!(
        closed_by_server(&mut s, Duration::from_secs(8)),
        "a connection sending half its headers was held"
    );
}

#[test]
fn trickled_request_body_is_refused() {
    let dir = Scratch::new("slow-body");
    let mut c = config(dir.path(), false);
    c.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    c.limits.body_timeout = 1;
    let m = start(c);
    let mut s = TcpStream::connect(m.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(8)))
        .expect("timeout");
    s.write_all(b"PUT /puppet/v3/report/node1.example.test HTTP/1.1\r\nHost: x\r\nX-Client-Verify: SUCCESS\r\nX-Client-DN: CN=node1.example.test\r\nContent-Length: 1000\r\n\r\n{\"host\":")
        .expect("write");
    let mut out = vec![];
    let _ = s.read_to_end(&mut out);
    let r = parse(&out);
    assert_eq!(
        r.map(|r| r.status),
        Some(408),
        "{}",
        String::from_utf8_lossy(&out)
    );
}

fn put_csr(s: TcpStream, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut s = s;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(&request(
        "PUT",
        "/puppet-ca/v1/certificate_request/node7.example.test",
        headers,
        body,
    ))
    .expect("write");
    let mut out = vec![];
    let _ = s.read_to_end(&mut out);
    parse(&out).expect("response")
}

#[test]
fn csr_flood_from_one_source_is_rate_limited() {
    let dir = Scratch::new("csr-flood");
    let mut c = config(dir.path(), false);
    c.limits.csr_rate_limit = 2;
    let m = start(c);
    let codes: Vec<Resp> = (0..4)
        .map(|_| put_csr(connect_from("127.0.0.1", m.addr), &[], b"not a csr"))
        .collect();
    assert!(codes[..2].iter().all(|r| r.status == 400), "{codes:?}");
    assert!(codes[2..].iter().all(|r| r.status == 429), "{codes:?}");
    assert!(codes[3]
        .header("retry-after")
        .is_some_and(|v| v.parse::<u64>().is_ok_and(|n| n >= 1)));
    // Another source is not held back.
    assert_eq!(
        put_csr(connect_from("127.0.0.2", m.addr), &[], b"not a csr").status,
        400
    );
}

#[test]
fn csr_flood_through_a_front_is_limited_per_client() {
    let dir = Scratch::new("csr-front");
    let mut c = config(dir.path(), false);
    c.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    c.limits.csr_rate_limit = 2;
    let m = start(c);
    let via = |client: &str| {
        put_csr(
            connect_from("127.0.0.1", m.addr),
            &[("X-Forwarded-For", client)],
            b"not a csr",
        )
        .status
    };
    let codes: Vec<u16> = (0..3).map(|_| via("10.0.0.1")).collect();
    assert_eq!(codes, vec![400, 400, 429]);
    assert_eq!(via("10.0.0.2"), 400, "another client behind the same front");
}

#[test]
fn oversized_csr_is_refused_with_413() {
    let dir = Scratch::new("csr-big");
    let m = start(config(dir.path(), false));
    let big = vec![b'A'; 65 * 1024];
    let r = put_csr(TcpStream::connect(m.addr).expect("connect"), &[], &big);
    assert_eq!(r.status, 413, "{}", r.body);
}

#[test]
fn content_length_with_transfer_encoding_cannot_smuggle_a_request() {
    let dir = Scratch::new("smuggle");
    let mut c = config(dir.path(), false);
    c.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    let m = start(c);
    // A body that, read by Content-Length, hides a second request for node1's node object
    // after a chunked terminator (and the other way round).
    let hidden = "GET /puppet/v3/node/node1.example.test?environment=production HTTP/1.1\r\nHost: x\r\nX-Client-Verify: SUCCESS\r\nX-Client-DN: CN=node1.example.test\r\n\r\n";
    let body = format!("0\r\n\r\n{hidden}");
    for framing in [
        format!(
            "Content-Length: {}\r\nTransfer-Encoding: chunked\r\n",
            body.len()
        ),
        "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n".to_string(),
        "Transfer-Encoding: chunked, identity\r\n".to_string(),
    ] {
        let req = format!(
            "PUT /puppet-ca/v1/certificate_request/node8.example.test HTTP/1.1\r\nHost: x\r\n{framing}\r\n{body}"
        );
        let out = String::from_utf8_lossy(&raw(m.addr, req.as_bytes())).to_string();
        assert!(out.starts_with("HTTP/1.1 400"), "{framing:?}: {out}");
        assert_eq!(out.matches("HTTP/1.1 ").count(), 1, "{framing:?}: {out}");
        assert!(
            !out.contains("node1.example.test"),
            "a smuggled request was answered: {out}"
        );
    }
    // Duplicate Content-Length values that disagree are refused outright.
    let req = "PUT /puppet-ca/v1/certificate_request/node8.example.test HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc";
    let out = String::from_utf8_lossy(&raw(m.addr, req.as_bytes())).to_string();
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
}
