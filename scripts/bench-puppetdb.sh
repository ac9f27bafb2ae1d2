#!/bin/bash
# The cost of storeconfigs: one `troupe master` serving the lab's `rich` environment to
# `troupe bench agents` (full runs: node, pluginsync, catalog with facts, report), once with
# `storeconfigs = true` + `reports = store, puppetdb` against a real PuppetDB 7.12 +
# PostgreSQL 15 (tests/e2e/puppetdb_fixture.sh), once without, same load, same session.
# Prints the master's CPU per run (from /proc/PID/stat), p50/p99 run time, and PuppetDB's
# own CPU per run and how far its command queue fell behind.
#   scripts/bench-puppetdb.sh [AGENTS] [DURATION]
# env: TROUPE_BIN (default: build this checkout), PDB_AOT_CACHE (see the fixture), KEEP=1.
set -euo pipefail
trap 'echo "bench-puppetdb: failed at line $LINENO" >&2' ERR
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${TROUPE_SHARED:-$ROOT/../shared}"
AGENTS="${1:-3000}"; DURATION="${2:-30}"
FIX="$ROOT/tests/e2e/puppetdb_fixture.sh"
if [ -n "${TROUPE_BIN:-}" ]; then BIN=$TROUPE_BIN; else
    cargo build --release -q -p troupe --manifest-path "$ROOT/Cargo.toml"; BIN="$ROOT/target/release/troupe"; fi
W=$(mktemp -d /tmp/troupe-bench-pdb.XXXXXX); chmod 711 "$W"
MPID=
cleanup() {
    [ -n "$MPID" ] && kill "$MPID" 2>/dev/null && wait "$MPID" 2>/dev/null || true
    "$FIX" stop "$W/fx" > /dev/null 2>&1 || true
    if [ -n "${KEEP:-}" ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ms() { awk '{ print ($14 + $15) * 1000 / '"$(getconf CLK_TCK)"' }' "/proc/$1/stat"; }

mkdir -p "$W/code/environments"
cp -r "$SHARED/lab/puppet/lab/code/environments/rich" "$W/code/environments/rich"
"$BIN" ca --ssldir "$W/ssl" --certname localhost --keylength 2048 generate pdb.localhost --dns-alt-names "localhost,IP:127.0.0.1" \
    --out "$W/pdbcert" > /dev/null
eval "$("$FIX" start "$W/fx" "$W/ssl/ca/ca_crt.pem" "$W/ssl/ca/ca_crl.pem" "$W/pdbcert/pdb.localhost.pem" "$W/pdbcert/pdb.localhost.key.pem" 2> "$W/fixture.log")"
printf '[main]\nserver_urls = %s\n' "$PDB_HTTPS" > "$W/puppetdb.conf"
PDB_PID=$(cat "$W/fx/pdb.pid")

run() { # label storeconfigs
    local port; port=$(free_port)
    cat > "$W/$1.conf" <<EOF
[master]
storeconfigs = $2
reports = $([ "$2" = true ] && echo "store, puppetdb" || echo store)
puppetdb_conf = $W/puppetdb.conf
puppetdb_queue = $W/queue-$1
report_keep = 5
csr_rate_limit = 100000
EOF
    "$BIN" master --config "$W/$1.conf" --listen "127.0.0.1:$port" --codedir "$W/code" --basemodulepath "$W/none" \
        --ssldir "$W/ssl" --certname localhost --dns-alt-names localhost --autosign true --keylength 2048 \
        --reportdir "$W/reports-$1" > "$W/master-$1.log" 2>&1 &
    MPID=$!
    for _ in $(seq 1 100); do curl -sfk "https://127.0.0.1:$port/status/v1/simple" > /dev/null 2>&1 && break; sleep 0.1; done
    # Certificates first (not measured), then the measured load.
    "$BIN" bench agents --server "127.0.0.1:$port" --server-name localhost --agents 600 --runinterval 60 --duration 3 \
        --facts "$SHARED/lab/wire/facts-node4.json" --environment rich --identities 200 --domain "$1.example.test" \
        --certs "$W/certs-$1" --key ec --json --quiet > /dev/null 2>&1 || true
    local m0 p0; m0=$(cpu_ms "$MPID"); p0=$(cpu_ms "$PDB_PID")
    "$BIN" bench agents --server "127.0.0.1:$port" --server-name localhost --agents "$AGENTS" --runinterval 60 \
        --duration "$DURATION" --facts "$SHARED/lab/wire/facts-node4.json" --environment rich --identities 200 \
        --domain "$1.example.test" --certs "$W/certs-$1" --key ec --json --quiet > "$W/$1.json" 2> "$W/$1.err"
    local m1 p1 waiting; m1=$(cpu_ms "$MPID"); p1=$(cpu_ms "$PDB_PID")
    waiting=$(curl -sk "https://127.0.0.1:$port/status/v1/services" | python3 -c 'import json,sys; print(json.load(sys.stdin)["master"]["status"].get("puppetdb",{}).get("waiting","-"))')
    python3 - "$W/$1.json" "$1" "$m0" "$m1" "$p0" "$p1" "$waiting" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); label = sys.argv[2]
m = (float(sys.argv[4]) - float(sys.argv[3])) / max(r["runs"], 1)
p = (float(sys.argv[6]) - float(sys.argv[5])) / max(r["runs"], 1)
print("%-14s runs %-6d runs/s %-6.1f p50 %-6.1f ms p99 %-7.1f ms failed %-3d master CPU %.2f ms/run  PuppetDB CPU %.2f ms/run  queue left %s"
      % (label, r["runs"], r["runs_per_s"], r["p50_ms"], r["p99_ms"], r["failed"] + r["dropped"], m, p, sys.argv[7]))
PY
    kill "$MPID"; wait "$MPID" 2>/dev/null || true; MPID=
}
echo "== $AGENTS agents, runinterval 60, ${DURATION}s, rich environment, one master (2 workers)"
run without false
run storeconfigs true
run without-again false
