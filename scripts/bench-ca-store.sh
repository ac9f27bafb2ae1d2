#!/bin/sh
# CSRs signed per second by the CA, dir store against a 3-member etcd store (real etcd
# members on loopback, started by the test), in the same run; and the time a revocation takes.
# Needs /usr/bin/etcd (Debian etcd-server). Pass --release to measure an optimized build.
set -eu
cd "$(dirname "$0")/.."
TROUPE_REQUIRE_ETCD=1 exec cargo test "$@" -p troupe-ca --test bench_ca_store -- \
    --ignored --nocapture --test-threads=1
