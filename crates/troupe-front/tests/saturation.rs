//! A saturated pool queues instead of turning agents away:
//! - a master whose health check is answered late (queued behind its compiles) while it goes
//!   on answering requests is busy, not stalled: it stays up and keeps its requests in flight;
//! - a request that finds every master at `max_in_flight` waits in the front's queue and is
//!   served when a slot frees; only after `queue_timeout` does it get the front's 503.

mod common;
use common::{catalog_request, Backend, Kind, Pki, BUSY_CHECK, BUSY_REQUEST};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `n` catalog requests at once, each on its own connection; their statuses.
async fn burst(pki: &Arc<Pki>, front: std::net::SocketAddr, n: usize) -> Vec<u16> {
    let mut tasks = vec![];
    for i in 0..n {
        let pki = pki.clone();
        tasks.push(tokio::spawn(async move {
            pki.send(front, true, &catalog_request(&format!("facts={i}")))
                .await
                .status
        }));
    }
    let mut out = vec![];
    for t in tasks {
        out.push(t.await.expect("join"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_master_whose_checks_lag_stays_up_and_requests_queue_for_it() {
    let pki = Arc::new(Pki::fresh("saturation"));
    let master = Backend::start(Kind::Busy).await;
    let mut config = pki.config(&[master.addr]);
    config.check_interval = Duration::from_millis(50);
    config.stall_timeout = Duration::from_millis(300);
    config.max_in_flight = 2;
    config.queue_timeout = Duration::from_secs(20);
    let front = troupe_front::start(config).await.expect("front");
    let f = front.addrs[0];
    let b = front.state.backends()[0].clone();

    // 2 at a time, 100 ms each: 24 requests keep it busy for about 1.2 s, longer than a
    // check takes (0.9 s) and than the stall timeout (0.3 s).
    let t0 = Instant::now();
    let statuses = burst(&pki, f, 24).await;
    let took = t0.elapsed();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert!(
        took >= BUSY_REQUEST * 12,
        "two at a time: {took:?} for 24 requests"
    );
    assert!(
        master.hits() == 24,
        "each request reached the master once: {}",
        master.hits()
    );
    assert_eq!(
        b.stalls.load(Ordering::SeqCst),
        0,
        "a busy master is not stalled"
    );
    assert!(b.is_up());
    assert!(
        b.slow_checks.load(Ordering::SeqCst) >= 1,
        "its late checks were seen (check takes {BUSY_CHECK:?})"
    );
    assert!(front.state.queue.queued.load(Ordering::SeqCst) >= 20);
    assert_eq!(front.state.queue.timed_out.load(Ordering::SeqCst), 0);
    assert_eq!(front.state.queue.waiting.load(Ordering::SeqCst), 0);
    assert_eq!(front.state.rejected.load(Ordering::SeqCst), 0);
    front.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_waits_longer_than_queue_timeout_gets_the_fronts_503() {
    let pki = Arc::new(Pki::fresh("saturation-timeout"));
    let master = Backend::start(Kind::Busy).await;
    let mut config = pki.config(&[master.addr]);
    config.max_in_flight = 1;
    config.queue_timeout = Duration::from_millis(150);
    let front = troupe_front::start(config).await.expect("front");
    let f = front.addrs[0];
    // One at a time, 100 ms each, 150 ms of queue: the first two are served, the later ones
    // wait their 150 ms out.
    let statuses = burst(&pki, f, 6).await;
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 503).count();
    assert_eq!(ok + refused, 6, "{statuses:?}");
    assert!((1..=3).contains(&ok), "{statuses:?}");
    assert_eq!(
        front.state.queue.timed_out.load(Ordering::SeqCst) as usize,
        refused
    );
    let r = pki.send(f, true, &catalog_request("facts=again")).await;
    assert_eq!(r.status, 200, "the queue empties and serves again: {r:?}");
    front.stop().await;
}
