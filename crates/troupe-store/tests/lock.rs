//! The store lock (`StoreLocker`) against a real etcd: taken in turn by two clients, and a key
//! left behind by a release that could not reach the store does not hold the lock for ever.

use std::time::{Duration, Instant};
use troupe_store::testing::EtcdCluster;
use troupe_store::StoreLocker;

const NAME: &str = "locks/test";

#[test]
fn two_clients_take_the_lock_in_turn() {
    let Some(cluster) = EtcdCluster::start(1) else {
        return;
    };
    let ttl = Duration::from_secs(2);
    let a = StoreLocker::new(&cluster.store(&[0]), NAME, ttl);
    let b = StoreLocker::new(&cluster.store(&[0]), NAME, ttl);
    let held = a
        .lock(Duration::from_secs(5))
        .expect("a takes the free lock");
    let e = b
        .lock(Duration::from_millis(300))
        .expect_err("b cannot take a lock a holds");
    assert!(e.to_string().contains("has been held by"), "{e}");
    drop(held);
    let t = Instant::now();
    drop(
        b.lock(Duration::from_secs(5))
            .expect("b takes it once a released it"),
    );
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
}

#[test]
fn a_key_whose_release_failed_expires_within_the_ttl() {
    let Some(mut cluster) = EtcdCluster::start(1) else {
        return;
    };
    let ttl = Duration::from_secs(2);
    let a = StoreLocker::new(&cluster.store(&[0]), NAME, ttl);
    let b = StoreLocker::new(&cluster.store(&[0]), NAME, ttl);
    let held = a.lock(Duration::from_secs(5)).expect("a takes the lock");
    let key = held.key().to_string();
    // The release cannot reach the store: the key stays, under a's lease.
    cluster.stop_all();
    drop(held);
    cluster.start_all();
    // a's process lives on (its locker too), yet the key goes within the lease's TTL and b
    // gets the lock; it used to be kept alive, and the lock held, for as long as a ran.
    let t = Instant::now();
    let got = b
        .lock(Duration::from_secs(10))
        .expect("b takes the lock once the left-behind key expired");
    assert!(t.elapsed() < ttl * 4, "{:?}", t.elapsed());
    drop(got);
    // a locks again, with a new lease.
    let again = a.lock(Duration::from_secs(5)).expect("a locks again");
    assert_ne!(again.key(), key);
}
