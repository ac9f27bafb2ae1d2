#!/bin/bash
# Agents per host: `troupe bench agents` against troupe node (front + 2 masters on loopback)
# and, when installed, puppetserver 7.9.5 from ../shared/lab/puppet, both serving the lab's
# `rich` environment, in the same session. For each N it runs the simulated agents for
# DURATION seconds at runinterval 300 and prints runs/s, p50/p99 and failures; the largest N
# with p99 < 1 s and no failure is the figure.
#   scripts/bench-agents.sh [troupe|puppetserver|both] [N...]
# env: TROUPE_BIN (a binary to measure; default: build this checkout), DURATION (default 30), RUNINTERVAL (300), IDENTITIES (2000), KEY (rsa|ec), KEEP=1 keeps
# the work dir, ENVIRONMENT: rich (default) or apache (a heavy one: class apache and two
# apache::vhost from Debian's puppet-module-puppetlabs-apache, as in bench-compile.sh).
# puppetserver runs with environment_timeout = unlimited (code parsed once, as in production).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${TROUPE_SHARED:-$ROOT/../shared}"
WHICH="${1:-both}"; shift || true
LEVELS=("$@"); [ ${#LEVELS[@]} -gt 0 ] || LEVELS=(30000 60000 100000 150000)
DURATION="${DURATION:-30}"; RUNINTERVAL="${RUNINTERVAL:-300}"; IDENTITIES="${IDENTITIES:-2000}"
ENVIRONMENT="${ENVIRONMENT:-rich}"
case "$ENVIRONMENT" in
    rich) ;;
    apache) [ -d /usr/share/puppet/modules/apache ] || { echo "ENVIRONMENT=apache needs puppet-module-puppetlabs-apache" >&2; exit 2; } ;;
    *) echo "ENVIRONMENT must be rich or apache" >&2; exit 2 ;;
esac
# The heavy environment, added to an environments directory.
add_apache() {
    mkdir -p "$1/apache/manifests"
    echo 'modulepath = modules:/usr/share/puppet/modules' > "$1/apache/environment.conf"
    cat > "$1/apache/manifests/site.pp" <<'PP'
class { 'apache': default_vhost => false }
apache::vhost { 'www.example.test': port => 80, docroot => '/var/www/www' }
apache::vhost { 'api.example.test': port => 8080, docroot => '/var/www/api' }
PP
}
W="$(mktemp -d /tmp/troupe-bench-agents.XXXXXX)"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -n "${PS_STARTED:-}" ]; then LAB_ROOT="$W/lab" "$SHARED/lab/puppet/lab/stop-master.sh" bench >/dev/null 2>&1 || true; fi
    if [ -n "${KEEP:-}" ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
# TROUPE_BIN: a troupe binary to measure instead of building this checkout's.
if [ -n "${TROUPE_BIN:-}" ]; then
    BIN="$TROUPE_BIN"
else
    cargo build --release -q -p troupe --manifest-path "$ROOT/Cargo.toml"
    BIN="$ROOT/target/release/troupe"
fi
FACTS="$SHARED/lab/wire/facts-node4.json"

sweep() { # label server server-name domain
    local label=$1 server=$2 name=$3 domain=$4
    echo "== $label ($server)"
    printf '%-8s %-8s %-9s %-9s %-9s %-7s %s\n' agents offered runs/s p50_ms p99_ms failed verdict
    for n in "${LEVELS[@]}"; do
        "$BIN" bench agents --server "$server" --server-name "$name" --agents "$n" --runinterval "$RUNINTERVAL" \
            --duration "$DURATION" --facts "$FACTS" --environment "$ENVIRONMENT" --identities "$IDENTITIES" --domain "$domain" \
            --certs "$W/certs-$label" --key "${KEY:-rsa}" --json --quiet > "$W/$label-$n.json" 2> "$W/$label-$n.err" || { tail -3 "$W/$label-$n.err"; continue; }
        python3 - "$W/$label-$n.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ok = r["p99_ms"] < 1000 and r["failed"] == 0 and r["dropped"] == 0
print("%-8d %-8.1f %-9.1f %-9.1f %-9.1f %-7d %s" % (r["agents"], r["offered_rate"], r["runs_per_s"], r["p50_ms"],
      r["p99_ms"], r["failed"] + r["dropped"], "ok" if ok else "over" + (" " + json.dumps(r["errors"]) if r["errors"] else "")))
PY
    done
}

if [ "$WHICH" = troupe ] || [ "$WHICH" = both ]; then
    mkdir -p "$W/code/environments"
    cp -r "$SHARED/lab/puppet/lab/code/environments/rich" "$W/code/environments/rich"
    add_apache "$W/code/environments"
    cat > "$W/troupe.conf" <<CONF
[main]
certname = localhost
ssldir = $W/ssl
store = dir:$W/ssl/ca

[master]
instances = 2
base_port = 18240
codedir = $W/code
dns_alt_names = localhost
autosign = true
csr_rate_limit = 0
report_rate_limit = 0
# Steady state: a site's nodes each hold report_keep reports, and each new report replaces
# the oldest; a bench of a minute reaches that at 5.
report_keep = 5
reportdir = $W/reports

[front]
listen = 127.0.0.1:18200
# Every simulated agent comes from 127.0.0.1: the per-address cap is for real networks.
max_connections_per_source = 100000
CONF
    "$BIN" node --config "$W/troupe.conf" > "$W/node.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 100); do curl -sk -o /dev/null https://127.0.0.1:18200/status/v1/simple && break; sleep 0.1; done
    sweep troupe 127.0.0.1:18200 localhost bench.test
    grep -E "ERROR|WARN" "$W/node.log" | tail -3 || true
fi

if [ "$WHICH" = puppetserver ] || [ "$WHICH" = both ]; then
    if [ ! -d /usr/share/puppetserver ]; then
        echo "puppetserver is not installed (apt-get install puppetserver): skipped" >&2
    else
        export LAB_ROOT="$W/lab" SSL_PORT=18300
        ENV_TIMEOUT=unlimited "$SHARED/lab/puppet/lab/setup-master.sh" bench > "$W/ps-setup.log" 2>&1
        add_apache "$W/lab/bench/code/environments"
        PS_STARTED=1
        "$SHARED/lab/puppet/lab/start-master.sh" bench
        sweep puppetserver 127.0.0.1:18300 ha-puppet.example.test example.test
    fi
fi
