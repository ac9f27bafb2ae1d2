//! Hostile input: a request that kills masters must not empty the pool. Real backends on
//! 127.0.0.1 that read a whole request and then close without answering stand for masters
//! that die of it.

mod common;
use common::{catalog_request, closed_port, Backend, Kind, Pki, NODE};
use std::time::Duration;
use troupe_front::backend::Balance;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killer_request_is_refused_after_two_masters_and_never_replayed() {
    let pki = Pki::fresh("killer");
    let masters = [
        Backend::start(Kind::Dying).await,
        Backend::start(Kind::Dying).await,
        Backend::start(Kind::Dying).await,
    ];
    let mut c = pki.config(&masters.iter().map(|m| m.addr).collect::<Vec<_>>());
    c.balance = Balance::RoundRobin;
    let front = troupe_front::start(c).await.expect("front");
    let f = front.addrs[0];
    let total = || masters.iter().map(|m| m.hits()).sum::<usize>();

    let req = catalog_request("facts=a%20killer%20compile");
    let r = pki.send(f, true, &req).await;
    assert_eq!(r.status, 502, "{r:?}");
    assert!(
        r.body.contains("\"issue_kind\":\"RUNTIME_ERROR\"")
            && r.body.contains("not sent to any master again"),
        "{}",
        r.body
    );
    assert_eq!(total(), 2, "the request reached more than two masters");

    // The same request again: refused at once, no master touched.
    let r = pki.send(f, true, &req).await;
    assert_eq!(r.status, 502, "{r:?}");
    assert_eq!(total(), 2, "a request that killed two masters was replayed");

    // The status page names the node and the request.
    let s = pki
        .send(
            f,
            false,
            b"GET /troupe/status?format=json HTTP/1.1\r\nHost: f\r\nConnection: close\r\n\r\n",
        )
        .await;
    let j: serde_json::Value = serde_json::from_str(&s.body).expect("status JSON");
    let refused = &j["refused_requests"][0];
    assert_eq!(refused["node"], NODE, "{j}");
    assert!(
        refused["request"]
            .as_str()
            .is_some_and(|r| r.starts_with("POST /puppet/v3/catalog/")),
        "{j}"
    );
    front.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_master_death_is_retried_once_on_another_master() {
    let pki = Pki::fresh("death");
    let dying = Backend::start(Kind::Dying).await;
    let good = Backend::start(Kind::Normal).await;
    let mut c = pki.config(&[dying.addr, good.addr]);
    c.balance = Balance::RoundRobin;
    let front = troupe_front::start(c).await.expect("front");
    let f = front.addrs[0];
    // Round robin starts at the first backend: the dying one gets the first request.
    let req = catalog_request("facts=x");
    let r = pki.send(f, true, &req).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!((dying.hits(), good.hits()), (1, 1));
    // Answered by a master: the request is not held against anyone.
    assert!(front.state.quarantine.list().is_empty());
    for _ in 0..3 {
        assert_eq!(pki.send(f, true, &req).await.status, 200);
    }
    front.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_failure_is_retried_on_another_master() {
    let pki = Pki::fresh("connect");
    let gone = closed_port().await;
    let good = Backend::start(Kind::Normal).await;
    let mut c = pki.config(&[gone, good.addr]);
    c.balance = Balance::RoundRobin;
    let front = troupe_front::start(c).await.expect("front");
    for i in 0..4 {
        let r = pki
            .send(
                front.addrs[0],
                true,
                &catalog_request(&format!("facts={i}")),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
    }
    assert_eq!(good.hits(), 4);
    front.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killer_request_on_a_pooled_connection_is_not_sent_twice_to_one_master() {
    let pki = Pki::fresh("pooled");
    let a = Backend::start(Kind::OnceThenDying).await;
    let b = Backend::start(Kind::Dying).await;
    let mut c = pki.config(&[a.addr, b.addr]);
    c.balance = Balance::RoundRobin;
    let front = troupe_front::start(c).await.expect("front");
    let f = front.addrs[0];
    // First request: A answers it and keeps the connection for the next one.
    assert_eq!(
        pki.send(f, true, &catalog_request("facts=fine"))
            .await
            .status,
        200
    );
    // The killer: B first, then A over the kept connection; each gets it once.
    let r = pki.send(f, true, &catalog_request("facts=killer")).await;
    assert_eq!(r.status, 502, "{r:?}");
    assert_eq!(
        (a.hits(), b.hits()),
        (2, 1),
        "a master got the killer request twice"
    );
    front.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_503_goes_back_at_once_while_a_busy_master_is_passed_over() {
    // Every master answers 503: a CA request gets the first master's 503 (the CA is one for
    // the pool, so asking the others only makes the agent wait each one's timeout out: with
    // four masters over a stopped etcd, a CSR got no answer within 10 s); any other request
    // is tried on every master (each may merely be busy) before the front's own 503.
    let pki = Pki::fresh("ca503");
    let masters = [
        Backend::start(Kind::Unavailable).await,
        Backend::start(Kind::Unavailable).await,
        Backend::start(Kind::Unavailable).await,
    ];
    let mut config = pki.config(&masters.iter().map(|m| m.addr).collect::<Vec<_>>());
    config.queue_timeout = Duration::from_millis(300);
    let front = troupe_front::start(config).await.expect("front");
    let f = front.addrs[0];
    let total = || masters.iter().map(|m| m.hits()).sum::<usize>();
    let r = pki
        .send(
            f,
            false,
            b"PUT /puppet-ca/v1/certificate_request/new.example.test HTTP/1.1\r\nHost: f\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nCSR",
        )
        .await;
    assert_eq!(r.status, 503, "{r:?}");
    assert!(r.body.contains("the CA store is unavailable"), "{}", r.body);
    assert_eq!(total(), 1, "a CA 503 was sent on to other masters");
    // Every master busy: the request waits in the front's queue for `queue_timeout`, trying
    // the masters again when a slot frees (here: each of its own tries frees one, then the
    // one-second recheck), then gets the front's 503.
    let t0 = std::time::Instant::now();
    let r = pki.send(f, true, &catalog_request("facts=x")).await;
    assert_eq!(r.status, 503, "{r:?}");
    assert!(
        r.body.contains("every master is busy (waited 0.3 s)"),
        "{}",
        r.body
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t0.elapsed()
    );
    assert!(
        (4..=16).contains(&total()),
        "a busy master's 503 is passed over to the others, and tried again a bounded number of times: {}",
        total()
    );
    front.stop().await;
}
