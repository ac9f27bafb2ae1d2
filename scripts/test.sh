#!/usr/bin/env bash
# The project's test command (README): lints, the language-crate layering rule, every test,
# the catalog conformance harness, and the parser and catalog expectations re-checked against
# the Ruby Puppet parser and compiler when they are installed (required under CI=true), and
# the real puppet agent end to end against troupe master; as root, the namespace tests and the
# Debian package (tests/e2e/deb.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets -q -- -D warnings

echo "== layering: language crates use no async runtime, HTTP or TLS stack"
for c in troupe-syntax troupe-values troupe-ruby troupe-eval troupe-compiler; do
  if cargo tree -p "$c" -e normal --prefix none | grep -E '^(tokio|hyper|rustls|axum) ' ; then
    echo "$c must not depend on tokio/hyper/rustls/axum" >&2
    exit 1
  fi
done

if [ "${CI:-}" = "true" ]; then
  export TROUPE_REQUIRE_CORPUS=1
  export TROUPE_REQUIRE_ETCD=1
fi

echo "== cargo test (the hostile-input suite is crates/*/tests/hostile_*.rs; index: tests/HOSTILE.md)"
cargo test --workspace -q -- --test-threads=2

echo "== catalog conformance: troupe vs the committed Ruby-compiler goldens"
cargo build --release -q -p troupe
python3 scripts/conformance.py

if command -v puppet >/dev/null 2>&1; then
  echo "== broken-file expectations are still Puppet's answers"
  python3 scripts/broken-expect.py --check
  echo "== catalog conformance against the live Ruby compiler"
  python3 scripts/conformance.py --oracle
  echo "== module cases (our own modules in the shapes real ones use) against the live Ruby compiler"
  python3 scripts/module-sweep.py --cases
  echo "== external node classifiers against the Ruby compiler with Puppet's exec terminus"
  python3 tests/enc/enc_cases.py
  echo "== end to end: the real puppet agent against troupe master"
  tests/e2e/master-agent.sh
  echo "== end to end: the real puppet agent through troupe front to two masters"
  tests/e2e/front-agent.sh
  echo "== end to end: the README's main command, troupe node on its embedded default, with the real agent"
  tests/e2e/node-default.sh
  echo "== the pool console in headless Chromium: drain from the page with real agents, drain-enable cycles under load"
  python3 tests/e2e/console.py
  echo "== hostile input, pool level: killer catalogs, replayed reports, forged admin headers through a front and two masters"
  tests/e2e/hostile-pool.sh
  if command -v puppetserver >/dev/null 2>&1; then
    # puppetserver starts in one to three minutes; .ci/run installs it
    echo "== troupe migrate: a real puppetserver's layout taken over by troupe node, agents keep their certificates"
    tests/e2e/migrate.sh
  fi
  if [ -f /usr/share/puppetdb/puppetdb.jar ] && [ -x /usr/lib/postgresql/15/bin/initdb ] \
     && [ -f /usr/lib/ruby/vendor_ruby/puppet/indirector/resource/puppetdb.rb ]; then
    # PuppetDB's Clojure namespaces are compiled once (about 25 s) and shared by both scripts.
    PDB_AOT_CACHE=$(mktemp -d /tmp/troupe-pdb-aot.XXXXXX)
    export PDB_AOT_CACHE
    echo "== PuppetDB: the fixture itself (real PostgreSQL + PuppetDB, the Ruby terminus as oracle)"
    tests/e2e/puppetdb_fixture_selftest.sh
    echo "== PuppetDB: exported resources across two masters, the terminus's catalogs, an outage during agent runs"
    tests/e2e/puppetdb.sh
    rm -rf "$PDB_AOT_CACHE"
    unset PDB_AOT_CACHE
  elif [ "${CI:-}" = "true" ]; then
    echo "CI needs puppetdb, puppet-terminus-puppetdb and postgresql for the PuppetDB end to end" >&2
    exit 1
  fi
  if command -v etcd >/dev/null 2>&1; then
    echo "== end to end: two hosts sharing one CA and pool certificate through a 3-member etcd cluster"
    tests/e2e/pool-etcd.sh
  elif [ "${CI:-}" = "true" ]; then
    echo "CI needs etcd (Debian's etcd-server) for the shared-store end to end" >&2
    exit 1
  fi
fi

if [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1 && command -v keepalived >/dev/null 2>&1; then
  echo "== vrrp in network namespaces: election, failover, fail-back, tracking, active-active, keepalived interop"
  python3 tests/e2e/vrrp_netns.py test
  if command -v etcd >/dev/null 2>&1 && command -v puppet >/dev/null 2>&1; then
    echo "== the classic two-host pool under troupe node in network namespaces: real agents, etcd, faults"
    python3 tests/e2e/pool_netns.py test
  elif [ "${CI:-}" = "true" ]; then
    echo "CI needs etcd and puppet for the two-host pool namespace tests" >&2
    exit 1
  fi
elif [ "${CI:-}" = "true" ]; then
  echo "CI needs root, iproute2 and keepalived for the vrrp namespace tests" >&2
  exit 1
fi

if [ "$(id -u)" = 0 ] && command -v dpkg-shlibdeps >/dev/null 2>&1 && command -v systemd-analyze >/dev/null 2>&1; then
  echo "== the Debian package: build, install, files and modes, the troupe user, systemd-analyze verify, remove, purge"
  tests/e2e/deb.sh
elif [ "${CI:-}" = "true" ]; then
  echo "CI needs root, dpkg-dev and systemd (systemd-analyze) for the Debian package test" >&2
  exit 1
fi

if ! command -v puppet >/dev/null 2>&1 && [ "${CI:-}" = "true" ]; then
  echo "puppet is not installed; CI needs it to check tests/broken against Puppet" >&2
  exit 1
fi
