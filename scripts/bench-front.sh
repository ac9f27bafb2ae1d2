#!/usr/bin/env bash
# troupe front against haproxy (Debian's), same machine, same run, same backend (nginx
# returning a short body), on loopback. Each proxy is pinned to CPU 0, wrk to CPU 1.
# Measures, for an RSA-2048 and an ECDSA P-256 server key:
#   * requests/s and p99 latency with keep-alive (wrk -t1 -c32);
#   * new TLS handshakes/s (Connection: close, no session resumption on either side);
#   * the proxy's CPU time per request and per handshake (from /proc/PID/stat: robust on a
#     shared machine, where req/s swings);
#   * RSS of the proxy after the runs.
# Prints a table and the troupe/haproxy ratio per figure. Needs haproxy, wrk, nginx.
# usage: [REPS=3] scripts/bench-front.sh [SECONDS per run, default 5]; figures are medians over
# REPS interleaved repetitions (the machine is shared, single runs are noisy)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-5}
BIN=${TROUPE_BIN:-$PWD/target/release/troupe}
for t in haproxy wrk nginx taskset; do command -v $t > /dev/null || { echo "needs $t (apt-get install haproxy wrk nginx-light)"; exit 1; }; done
W=$(mktemp -d /tmp/troupe-bench-front.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# PKI from troupe's CA: one RSA-2048 and one ECDSA P-256 server certificate.
"$BIN" ca --cadir "$W/ca" --certname bench.example.test --keylength 2048 generate rsa.example.test --dns-alt-names localhost --out "$W/rsa" > /dev/null
"$BIN" ca --cadir "$W/ca" --certname bench.example.test --keylength 2048 generate ec.example.test --ecdsa --dns-alt-names localhost --out "$W/ec" > /dev/null
cat "$W/rsa/rsa.example.test.pem" "$W/rsa/rsa.example.test.key.pem" > "$W/rsa.bundle"
cat "$W/ec/ec.example.test.pem" "$W/ec/ec.example.test.key.pem" > "$W/ec.bundle"

NG=$(free_port)
cat > "$W/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $W/nginx.pid;
error_log $W/nginx.err;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$NG; location / { return 200 "ok\n"; } }
}
EOF
taskset -c 0 nginx -c "$W/nginx.conf" &
PIDS+=($!)

declare -A PORT PID
HR=$(free_port); HE=$(free_port); TR=$(free_port); TE=$(free_port)
cat > "$W/haproxy.cfg" <<EOF
global
  nbthread 1
  tune.ssl.cachesize 0
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend rsa
  bind 127.0.0.1:$HR ssl crt $W/rsa.bundle ca-file $W/ca/ca_crt.pem crl-file $W/ca/ca_crl.pem verify optional no-tls-tickets
  http-request del-header X-Client-Verify
  http-request del-header X-Client-DN
  http-request set-header X-Client-Verify NONE unless { ssl_c_used }
  default_backend nginx
frontend ec
  bind 127.0.0.1:$HE ssl crt $W/ec.bundle ca-file $W/ca/ca_crt.pem crl-file $W/ca/ca_crl.pem verify optional no-tls-tickets
  http-request del-header X-Client-Verify
  http-request del-header X-Client-DN
  http-request set-header X-Client-Verify NONE unless { ssl_c_used }
  default_backend nginx
backend nginx
  http-reuse always
  server n1 127.0.0.1:$NG
EOF
taskset -c 0 haproxy -db -f "$W/haproxy.cfg" > "$W/haproxy.log" 2>&1 &
PID[haproxy]=$!; PIDS+=($!)
taskset -c 0 "$BIN" front --listen "127.0.0.1:$TR" --listen "127.0.0.1:$TE" --backend "127.0.0.1:$NG" \
    --cert "$W/rsa/rsa.example.test.pem" --key "$W/rsa/rsa.example.test.key.pem" --ca-cert "$W/ca/ca_crt.pem" \
    --crl "$W/ca/ca_crl.pem" --max-in-flight 1000 > "$W/front-rsa.log" 2>&1 &
PID[troupe-rsa]=$!; PIDS+=($!)
TE2=$(free_port)
taskset -c 0 "$BIN" front --listen "127.0.0.1:$TE2" --backend "127.0.0.1:$NG" \
    --cert "$W/ec/ec.example.test.pem" --key "$W/ec/ec.example.test.key.pem" --ca-cert "$W/ca/ca_crt.pem" \
    --crl "$W/ca/ca_crl.pem" --max-in-flight 1000 > "$W/front-ec.log" 2>&1 &
PID[troupe-ec]=$!; PIDS+=($!)
sleep 1.5
for p in $HR $HE $TR $TE2; do curl -sfk "https://127.0.0.1:$p/" > /dev/null || { echo "port $p does not answer"; cat "$W"/*.log; exit 1; }; done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() { # pid url extra-wrk-args -> "req/s p99ms cpu-us-per-request"
    local pid=$1 out t0 t1
    shift
    t0=$(cpu_ticks "$pid")
    out=$(taskset -c 1 wrk -t1 -c32 -d"${DUR}s" --latency "$@" 2>&1)
    t1=$(cpu_ticks "$pid")
    local rps p99 total us
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    total=$(echo "$out" | awk '/requests in/ {print $1}')
    us=$(awk -v t=$((t1 - t0)) -v n="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')
    p99=$(echo "$out" | awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub("us","",v); v=v/1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v=v*1000}; print v}')
    echo "$rps $p99 $us"
}
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

REPS=${REPS:-3}
: > "$W/results.txt"
for rep in $(seq 1 "$REPS"); do
    for key in rsa ec; do
        for proxy in haproxy troupe; do
            if [ $proxy = haproxy ]; then
                port=$([ $key = rsa ] && echo $HR || echo $HE)
                pid=${PID[haproxy]}
            else
                port=$([ $key = rsa ] && echo $TR || echo $TE2)
                pid=${PID[troupe-$key]}
            fi
            read -r ka p99 kus <<< "$(run "$pid" "https://127.0.0.1:$port/")"
            read -r hs _ hus <<< "$(run "$pid" -H 'Connection: close' "https://127.0.0.1:$port/")"
            echo "$proxy $key $ka $p99 $hs $kus $hus" >> "$W/results.txt"
        done
    done
done
echo "$(date -u +%FT%TZ) $REPS repetitions x ${DUR}s, interleaved; medians:"
python3 - "$W/results.txt" "$(rss "${PID[haproxy]}")" "$(rss "${PID[troupe-rsa]}")" "$(rss "${PID[troupe-ec]}")" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
rss = {"haproxy": float(sys.argv[2]), ("troupe", "rsa"): float(sys.argv[3]), ("troupe", "ec"): float(sys.argv[4])}
med = {}
for proxy in ("haproxy", "troupe"):
    for key in ("rsa", "ec"):
        r = [x for x in rows if x[0] == proxy and x[1] == key]
        med[proxy, key] = [statistics.median(float(x[i]) for x in r) for i in (2, 3, 4, 5, 6)]
print(f"{'proxy':<10} {'key':<5} {'keepalive req/s':>16} {'p99 ms':>8} {'CPU us/req':>11} {'handshakes/s':>13} {'CPU us/hs':>10} {'RSS KiB':>9}")
for (proxy, key), (ka, p99, hs, kus, hus) in med.items():
    m = rss["haproxy"] if proxy == "haproxy" else rss[proxy, key]
    print(f"{proxy:<10} {key:<5} {ka:>16.0f} {p99:>8.2f} {kus:>11.1f} {hs:>13.0f} {hus:>10.1f} {m:>9.0f}")
print("ratios troupe/haproxy (req/s, handshakes/s: higher is better; p99, CPU per request, RSS: lower is better)")
for key in ("rsa", "ec"):
    h, t = med["haproxy", key], med["troupe", key]
    print(f"{key}: keep-alive req/s {t[0]/h[0]:.2f}x, p99 {t[1]/h[1]:.2f}x, CPU/req {t[3]/h[3]:.2f}x, handshakes/s {t[2]/h[2]:.2f}x, CPU/handshake {t[4]/h[4]:.2f}x, RSS {rss['troupe', key]/rss['haproxy']:.2f}x")
PY
