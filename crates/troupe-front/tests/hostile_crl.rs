//! Hostile input: an expired CRL. Client certificates are then refused (fail closed: nobody can
//! tell whether one was revoked since), and the expiry is warned about well before.

mod common;
use common::{Backend, Kind, Pki};
use time::{Duration, OffsetDateTime};
use troupe_front::tls::{crl_state, CrlState, Tls};

fn verify_line(head: &str) -> String {
    head.lines()
        .find(|l| l.starts_with("x-client-verify: "))
        .unwrap_or("")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_crl_fails_client_certificates_closed() {
    let now = OffsetDateTime::now_utc();
    let pki = Pki::new(
        "crl-expired",
        now - Duration::days(30),
        now - Duration::days(1),
    );
    let m = Backend::start(Kind::Normal).await;
    let front = troupe_front::start(pki.config(&[m.addr]))
        .await
        .expect("front");
    let get = b"GET /puppet/v3/node/n HTTP/1.1\r\nHost: p\r\n\r\n";
    assert_eq!(pki.send(front.addrs[0], true, get).await.status, 200);
    let head = m.last();
    assert!(
        verify_line(&head).starts_with("x-client-verify: FAILED:"),
        "{head}"
    );
    assert!(!head.contains("x-client-dn:"), "{head}");
    front.stop().await;

    // A fresh CRL: the same certificate is accepted.
    pki.write_crl(now - Duration::days(1), now + Duration::days(30));
    let front = troupe_front::start(pki.config(&[m.addr]))
        .await
        .expect("front");
    assert_eq!(pki.send(front.addrs[0], true, get).await.status, 200);
    assert_eq!(verify_line(&m.last()), "x-client-verify: SUCCESS");
    front.stop().await;
}

#[test]
fn crl_expiry_is_warned_well_before() {
    let now = OffsetDateTime::now_utc();
    let d = Duration::days;
    // A five-year CRL: warned in its last seven days.
    assert_eq!(crl_state(now - d(1800), now + d(30), now), CrlState::Fresh);
    assert_eq!(
        crl_state(now - d(1800), now + d(6), now),
        CrlState::ExpiresSoon
    );
    // A ten-day CRL: warned in its last quarter.
    assert_eq!(crl_state(now - d(5), now + d(5), now), CrlState::Fresh);
    assert_eq!(
        crl_state(now - d(8), now + d(2), now),
        CrlState::ExpiresSoon
    );
    assert_eq!(crl_state(now - d(8), now - d(1), now), CrlState::Expired);

    // From the file, with a message naming it.
    let pki = Pki::new("crl-soon", now - d(100), now + d(3));
    let tls = Tls::load(&pki.files()).expect("load");
    let w = tls.crl_warning(now).expect("a warning");
    assert!(w.contains("crl.pem") && w.contains("expires at"), "{w}");
    let w = tls.crl_warning(now + d(4)).expect("an error");
    assert!(w.contains("expired") && w.contains("refused"), "{w}");
    pki.write_crl(now - d(1), now + d(100));
    let tls = Tls::load(&pki.files()).expect("load");
    assert_eq!(tls.crl_warning(now), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remembered_verdict_ends_when_the_crl_expires() {
    // A certificate accepted once is remembered (new connections skip the chain check), but
    // never past the CRL's nextUpdate: the next connection after it is refused, closed.
    let now = OffsetDateTime::now_utc();
    let pki = Pki::new(
        "crl-cached",
        now - Duration::days(1),
        now + Duration::seconds(3),
    );
    let m = Backend::start(Kind::Normal).await;
    let front = troupe_front::start(pki.config(&[m.addr]))
        .await
        .expect("front");
    let get = b"GET /puppet/v3/node/n HTTP/1.1\r\nHost: p\r\n\r\n";
    for _ in 0..3 {
        assert_eq!(pki.send(front.addrs[0], true, get).await.status, 200);
        assert_eq!(verify_line(&m.last()), "x-client-verify: SUCCESS");
    }
    let tls = front.state.tls.read().map(|t| t.clone()).expect("tls");
    assert_eq!(tls.verdicts.len(), 1, "one chain, remembered once");
    let wait = (now + Duration::seconds(3) - OffsetDateTime::now_utc()).whole_milliseconds();
    tokio::time::sleep(std::time::Duration::from_millis(wait.max(0) as u64 + 1200)).await;
    assert_eq!(pki.send(front.addrs[0], true, get).await.status, 200);
    let head = m.last();
    assert!(
        verify_line(&head).starts_with("x-client-verify: FAILED:"),
        "an expired CRL fails closed even for a remembered certificate: {head}"
    );
    front.stop().await;
}
