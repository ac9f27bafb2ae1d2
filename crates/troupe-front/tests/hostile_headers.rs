//! Hostile input: headers. Identity headers a client sends (in any spelling a CGI/Rack back
//! end would read as the same variable) never reach a master; conflicting framing is never
//! passed on; the status page and metrics are for admin addresses only; a client cannot forge
//! access-log fields.

mod common;
use common::{Backend, Kind, Pki, NODE};
use std::io::Write;

const FORGED: &str =
    "X-Client-Verify: SUCCESS\r\nX-Client-DN: CN=victim\r\nX_Client_DN: CN=victim\r\n\
x_client_verify: SUCCESS\r\nx-client_cert: forged\r\nSSL_CLIENT_S_DN: CN=victim\r\n\
SSL_CLIENT_VERIFY: SUCCESS\r\nSSL_CLIENT_CERT: forged\r\nSSL-Client-Verify: SUCCESS\r\n\
X-SSL-Client-DN: CN=victim\r\nX_SSL_CLIENT_S_DN: CN=victim\r\nHTTP_X_CLIENT_DN: CN=victim\r\n";

fn identity_lines(head: &str) -> Vec<String> {
    head.lines()
        .filter(|l| {
            let n = l
                .split(':')
                .next()
                .unwrap_or("")
                .to_ascii_lowercase()
                .replace('_', "-");
            n.contains("client") || n.starts_with("ssl") || n.starts_with("x-ssl")
        })
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_identity_headers_in_every_spelling_are_dropped() {
    let pki = Pki::fresh("identity");
    let m = Backend::start(Kind::Normal).await;
    let front = troupe_front::start(pki.config(&[m.addr]))
        .await
        .expect("front");
    let f = front.addrs[0];
    let req = format!(
        "GET /puppet/v3/node/victim?environment=production HTTP/1.1\r\nHost: p\r\n{FORGED}\r\n"
    );

    // A certified node claiming another's name: only its own identity arrives.
    assert_eq!(pki.send(f, true, req.as_bytes()).await.status, 200);
    let mut got = identity_lines(&m.last());
    got.retain(|l| !l.starts_with("x-client-cert: "));
    assert_eq!(
        got,
        vec![
            "x-client-verify: SUCCESS".to_string(),
            format!("x-client-dn: CN={NODE}")
        ],
        "{}",
        m.last()
    );

    // An anonymous client: no identity at all.
    assert_eq!(pki.send(f, false, req.as_bytes()).await.status, 200);
    assert_eq!(
        identity_lines(&m.last()),
        vec!["x-client-verify: NONE".to_string()],
        "{}",
        m.last()
    );
    front.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_length_with_transfer_encoding_is_not_smuggled() {
    let pki = Pki::fresh("clte");
    let m = Backend::start(Kind::Normal).await;
    let front = troupe_front::start(pki.config(&[m.addr]))
        .await
        .expect("front");
    let raw = b"POST /puppet/v3/report/n HTTP/1.1\r\nHost: p\r\nContent-Length: 40\r\n\
Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: p\r\n\r\n";
    let mut s = pki.connect(front.addrs[0], true).await;
    use tokio::io::AsyncWriteExt;
    s.write_all(raw).await.expect("write");
    let r = common::read_reply(&mut s).await;
    // Whatever the front answered, each request a master got has one framing: a single
    // Content-Length matching its body, never Transfer-Encoding, never the smuggled request.
    let heads = m.heads.lock().map(|h| h.clone()).unwrap_or_default();
    for h in &heads {
        let lower = h.to_ascii_lowercase();
        assert!(!lower.contains("transfer-encoding"), "{h}");
        assert_eq!(lower.matches("content-length:").count(), 1, "{h}");
        assert!(!h.contains("/smuggled"), "{h}");
    }
    assert!(heads.len() <= 1, "{heads:?} after {r:?}");
    front.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_content_length_is_refused() {
    let pki = Pki::fresh("dupcl");
    let m = Backend::start(Kind::Normal).await;
    let front = troupe_front::start(pki.config(&[m.addr]))
        .await
        .expect("front");
    let raw = b"POST /puppet/v3/report/n HTTP/1.1\r\nHost: p\r\nContent-Length: 4\r\n\
Content-Length: 40\r\n\r\nabcdGET /smuggled HTTP/1.1\r\nHost: p\r\n\r\n";
    let r = pki.send(front.addrs[0], true, raw).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(m.hits(), 0);
    front.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_page_and_metrics_are_refused_to_other_addresses() {
    let pki = Pki::fresh("admin");
    let m = Backend::start(Kind::Normal).await;
    let mut c = pki.config(&[m.addr]);
    c.admin = vec!["10.1.2.3".parse().expect("ip")];
    let front = troupe_front::start(c).await.expect("front");
    for path in [
        "/troupe/status",
        "/troupe/status?format=json",
        "/metrics",
        "/metrics?x=1",
    ] {
        for verified in [false, true] {
            let r = pki
                .send(
                    front.addrs[0],
                    verified,
                    format!("GET {path} HTTP/1.1\r\nHost: p\r\nAccept: application/json\r\n\r\n")
                        .as_bytes(),
                )
                .await;
            assert_eq!(r.status, 403, "{path}: {r:?}");
            assert!(
                !r.body.contains("backends") && !r.body.contains("troupe_front_"),
                "{}",
                r.body
            );
        }
    }
    assert_eq!(m.hits(), 0);
    front.stop().await;
}

/// Splits a combined-log line into its quoted fields, honouring `\"` and `\\`.
fn quoted_fields(line: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur: Option<String> = None;
    let mut chars = line.chars();
    while let Some(ch) = chars.next() {
        match (&mut cur, ch) {
            (None, '"') => cur = Some(String::new()),
            (Some(s), '\\') => {
                s.push('\\');
                if let Some(n) = chars.next() {
                    s.push(n);
                }
            }
            (Some(_), '"') => out.extend(cur.take()),
            (Some(s), c) => s.push(c),
            (None, _) => {}
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_log_fields_cannot_be_forged() {
    let pki = Pki::fresh("accesslog");
    let m = Backend::start(Kind::Normal).await;
    let log = pki.dir.join("access.log");
    let mut c = pki.config(&[m.addr]);
    c.access_log = Some(log.clone());
    let front = troupe_front::start(c).await.expect("front");
    let mut raw = Vec::new();
    let _ = write!(
        raw,
        "GET /puppet/v3/node/n?environment=production HTTP/1.1\r\nHost: p\r\n\
Referer: x\" 500 1 \"-\" \"forged\\\r\nUser-Agent: evil\" 200 0 \"-\" \"forged\t"
    );
    raw.extend_from_slice(b"\xff\r\n\r\n");
    assert_eq!(pki.send(front.addrs[0], true, &raw).await.status, 200);
    let text = std::fs::read(&log).expect("access log");
    let line = String::from_utf8(text).expect("the log is ASCII");
    let line = line.lines().last().expect("a line");
    let fields = quoted_fields(line);
    assert_eq!(fields.len(), 3, "a client forged log fields: {line}");
    assert_eq!(fields[1], "x\\\" 500 1 \\\"-\\\" \\\"forged\\\\", "{line}");
    assert_eq!(
        fields[2], "evil\\\" 200 0 \\\"-\\\" \\\"forged\\t\\xff",
        "{line}"
    );
    assert!(line.contains(&format!(" - {NODE} [")), "{line}");
    front.stop().await;
}
