//! Benchmark (ignored by default; `scripts/bench-ca-store.sh` runs it): CSRs signed per second
//! by the CA in a directory and in a 3-member etcd store, in the same run, one thread and
//! several, and the time a revocation takes. Prints the figures.

mod common;

use common::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use troupe_ca::{Autosign, Ca};
use troupe_store::testing::EtcdCluster;

const N: usize = 200;

/// Signs `N` pre-made CSRs over `hosts` with `threads` threads per host; CSRs per second.
fn rate(hosts: &[Arc<Ca>], tag: &str, threads: usize) -> f64 {
    let names: Vec<String> = (0..N)
        .map(|i| format!("{tag}{i:04}.example.test"))
        .collect();
    let csrs: Vec<(String, String)> = names.iter().map(|n| (n.clone(), csr(n))).collect();
    let workers = hosts.len() * threads;
    let start = Instant::now();
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let ca = hosts[w % hosts.len()].clone();
            let mine: Vec<(String, String)> =
                csrs.iter().skip(w).step_by(workers).cloned().collect();
            std::thread::spawn(move || {
                for (n, pem) in mine {
                    assert_eq!(ca.submit_csr(&n, &pem), Ok(true), "{n}");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("worker");
    }
    N as f64 / start.elapsed().as_secs_f64()
}

fn revoke_time(ca: &Ca, name: &str) -> Duration {
    let t = Instant::now();
    ca.revoke(&[name.to_string()]).expect("revoke");
    t.elapsed()
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture (scripts/bench-ca-store.sh)"]
fn bench_signing_dir_store_against_etcd_store() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let dir = scratch("ca-bench");
    let mut s = dir_settings(&dir.path().join("dirca"));
    s.autosign = Autosign::All;
    let dir_ca = Arc::new(Ca::open_or_init(s).expect("dir CA"));
    let store = store_at(&cluster, "/bench/");
    let secret = secret();
    let a = Arc::new(open(host(dir.path(), "a", &store, Some(&secret))));
    let b = Arc::new(open(host(dir.path(), "b", &store, Some(&secret))));

    let dir1 = rate(std::slice::from_ref(&dir_ca), "d1-", 1);
    let dir4 = rate(std::slice::from_ref(&dir_ca), "d4-", 4);
    let etcd1 = rate(std::slice::from_ref(&a), "e1-", 1);
    let etcd4 = rate(&[a.clone(), b.clone()], "e4-", 2);
    let rev_dir = revoke_time(&dir_ca, "d1-0000.example.test");
    let rev_etcd = revoke_time(&a, "e1-0000.example.test");
    let t = Instant::now();
    let seen = loop {
        if b.revoked_serials().expect("CRL").len() == 1 {
            break t.elapsed();
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    println!("CSRs signed per second ({N} CSRs each, autosign, ECDSA P-256 CSRs, RSA-2048 CA):");
    println!("  dir store,  1 host,  1 thread : {dir1:8.1}/s");
    println!("  dir store,  1 host,  4 threads: {dir4:8.1}/s");
    println!("  etcd store, 1 host,  1 thread : {etcd1:8.1}/s");
    println!("  etcd store, 2 hosts, 2 threads each: {etcd4:8.1}/s");
    println!("revocation (new CRL written): dir {rev_dir:?}, etcd {rev_etcd:?}; seen by the other etcd host after {seen:?}");
    drop((a, b));
    drop(cluster);
}
