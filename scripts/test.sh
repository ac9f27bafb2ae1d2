#!/usr/bin/env bash
# The project's test command (README): lints, the language-crate layering rule, every test,
# and the broken-file expectations re-checked against the Ruby Puppet parser when it is
# installed (required under CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets -q -- -D warnings

echo "== layering: language crates use no async runtime, HTTP or TLS stack"
if cargo tree -p troupe-syntax -e normal --prefix none | grep -E '^(tokio|hyper|rustls|axum) ' ; then
  echo "troupe-syntax must not depend on tokio/hyper/rustls/axum" >&2
  exit 1
fi

if [ "${CI:-}" = "true" ]; then
  export TROUPE_REQUIRE_CORPUS=1
fi

echo "== cargo test"
cargo test --workspace -q -- --test-threads=2

if command -v puppet >/dev/null 2>&1; then
  echo "== broken-file expectations are still Puppet's answers"
  python3 scripts/broken-expect.py --check
elif [ "${CI:-}" = "true" ]; then
  echo "puppet is not installed; CI needs it to check tests/broken against Puppet" >&2
  exit 1
fi
