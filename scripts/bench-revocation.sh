#!/usr/bin/env bash
# Revocation propagation, dir store against etcd store, in the same run: the time from
# `troupe ca revoke` returning to the moment a front and a TLS master refuse the revoked
# certificate (curl with the node's certificate, polled every 10 ms), ROUNDS times each.
#   dir:  one host, the CA in a directory; a front reading the CA's CRL file and a master with
#         the CA (it copies the CRL into its ssldir);
#   etcd: a 3-member etcd cluster; the revocation is made on host A, the front and the master
#         measured are host B's (their pool mirror follows the store's watch).
# Loopback only; every process started here is stopped by PID; the scratch dir is removed.
# Usage: scripts/bench-revocation.sh [ROUNDS]   (needs a release build and Debian's etcd-server)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TROUPE_BIN:-$PWD/target/release/troupe}
ROUNDS=${1:-5}
W=$(mktemp -d /tmp/troupe-bench-revoke.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$W"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
start() { local name=$1; shift; "$BIN" "$@" > "$W/$name.log" 2>&1 & PIDS+=($!); }
wait_tls() { # port ca
    for _ in $(seq 1 150); do curl -sf --cacert "$2" "https://localhost:$1/status/v1/simple" > /dev/null 2>&1 && return; sleep 0.1; done
    echo "port $1 did not come up" >&2; for f in "$W"/*.log; do echo "--- $f" >&2; tail -n 5 "$f" >&2; done; exit 1
}
mkdir -p "$W/code/environments/production/manifests"
echo "notify { 'x': }" > "$W/code/environments/production/manifests/site.pp"

# A certificate for node N from the CA at port $1 (autosign).
certify() { # port ca name -> files $W/n/NAME.{key,pem}
    mkdir -p "$W/n"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/n/$3.key" \
        -subj "/CN=$3" -out "$W/n/$3.csr" 2> /dev/null
    curl -sf --cacert "$2" -X PUT -H 'Content-Type: text/plain' --data-binary "@$W/n/$3.csr" \
        "https://localhost:$1/puppet-ca/v1/certificate_request/$3" > /dev/null
    curl -sf --cacert "$2" "https://localhost:$1/puppet-ca/v1/certificate/$3" > "$W/n/$3.pem"
}
refused() { # port ca name
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$2" --cert "$W/n/$3.pem" --key "$W/n/$3.key" \
        "https://localhost:$1/puppet/v3/node/$3?environment=production" || true)
    [ "$code" != 200 ]
}
measure() { # label ca front-port master-port revoke-command...
    local label=$1 ca=$2 fp=$3 mp=$4; shift 4
    for r in $(seq 1 "$ROUNDS"); do
        local n="$label$r.example.test"
        certify "$fp" "$ca" "$n"
        for _ in $(seq 1 50); do refused "$fp" "$ca" "$n" || break; sleep 0.1; done
        "$@" "$n" > /dev/null
        local t0 tf="" tm=""; t0=$(now_ms)
        while [ $(( $(now_ms) - t0 )) -lt 10000 ]; do
            [ -z "$tf" ] && refused "$fp" "$ca" "$n" && tf=$(( $(now_ms) - t0 ))
            [ -z "$tm" ] && refused "$mp" "$ca" "$n" && tm=$(( $(now_ms) - t0 ))
            [ -n "$tf" ] && [ -n "$tm" ] && break
            sleep 0.01
        done
        echo "$label front ${tf:-timeout} master ${tm:-timeout}" >> "$W/results"
    done
}

# --- dir: one host -------------------------------------------------------------------------
echo '*.example.test' > "$W/autosign.conf"
"$BIN" ca --cadir "$W/dir-ca" --certname puppet --keylength 2048 generate front.dir --dns-alt-names localhost --out "$W/dirfront" > /dev/null
DM=$(free_port); DMT=$(free_port); DF=$(free_port)
start dm master --listen "127.0.0.1:$DM" --plain-http --trusted-proxy 127.0.0.1 --cadir "$W/dir-ca" --ssldir "$W/dir-ssl1" \
    --certname puppet --codedir "$W/code" --basemodulepath "$W/none" --autosign "$W/autosign.conf" --keylength 2048 \
    --csr-rate-limit 0
start dmt master --listen "127.0.0.1:$DMT" --cadir "$W/dir-ca" --ssldir "$W/dir-ssl2" --certname puppet \
    --dns-alt-names localhost --codedir "$W/code" --basemodulepath "$W/none" --autosign "$W/autosign.conf" --keylength 2048
start df front --listen "127.0.0.1:$DF" --backend "127.0.0.1:$DM" --cert "$W/dirfront/front.dir.pem" \
    --key "$W/dirfront/front.dir.key.pem" --ca-cert "$W/dir-ca/ca_crt.pem" --crl "$W/dir-ca/ca_crl.pem" --check-interval 0.2
wait_tls "$DF" "$W/dir-ca/ca_crt.pem"; wait_tls "$DMT" "$W/dir-ca/ca_crt.pem"
measure dir "$W/dir-ca/ca_crt.pem" "$DF" "$DMT" "$BIN" ca --cadir "$W/dir-ca" --certname puppet revoke

# --- etcd: two hosts ----------------------------------------------------------------------
declare -a CP PP
for i in 1 2 3; do CP[$i]=$(free_port); PP[$i]=$(free_port); done
INITIAL="e1=http://127.0.0.1:${PP[1]},e2=http://127.0.0.1:${PP[2]},e3=http://127.0.0.1:${PP[3]}"
for i in 1 2 3; do
    etcd --name "e$i" --data-dir "$W/etcd$i" \
        --listen-client-urls "http://127.0.0.1:${CP[$i]}" --advertise-client-urls "http://127.0.0.1:${CP[$i]}" \
        --listen-peer-urls "http://127.0.0.1:${PP[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${PP[$i]}" \
        --initial-cluster "$INITIAL" --initial-cluster-token troupe-bench --initial-cluster-state new \
        --log-level warn > "$W/etcd$i.log" 2>&1 &
    PIDS+=($!)
done
STORE="etcd://127.0.0.1:${CP[1]},127.0.0.1:${CP[2]},127.0.0.1:${CP[3]}"
for _ in $(seq 1 100); do ETCDCTL_API=3 etcdctl --endpoints "${STORE#etcd://}" endpoint health > /dev/null 2>&1 && break; sleep 0.2; done
"$BIN" pool init --store "$STORE" --ssldir "$W/A/ssl" --name puppet --dns-alt-names localhost --keylength 2048 \
    --secret-out "$W/join.secret" > /dev/null
printf 'store = %s\njoin_secret_file = %s\n' "$STORE" "$W/join.secret" > "$W/store.conf"
"$BIN" pool join --config "$W/store.conf" --ssldir "$W/A/ssl" > /dev/null
EM=$(free_port); EMT=$(free_port); EF=$(free_port)
printf 'listen = 127.0.0.1:%s\nssldir = %s\ncodedir = %s\nbasemodulepath = %s\nautosign = %s\nplain_http = true\ntrusted_proxy = 127.0.0.1\ncsr_rate_limit = 0\n' \
    "$EM" "$W/B/m1" "$W/code" "$W/none" "$W/autosign.conf" | cat "$W/store.conf" - > "$W/m1.conf"
printf 'listen = 127.0.0.1:%s\nssldir = %s\ncodedir = %s\nbasemodulepath = %s\nautosign = %s\n' \
    "$EMT" "$W/B/m2" "$W/code" "$W/none" "$W/autosign.conf" | cat "$W/store.conf" - > "$W/m2.conf"
printf 'listen = 127.0.0.1:%s\nbackend = 127.0.0.1:%s\nssldir = %s\ncheck_interval = 0.2\n' "$EF" "$EM" "$W/B/front" |
    cat "$W/store.conf" - > "$W/f.conf"
start em master --config "$W/m1.conf"; start emt master --config "$W/m2.conf"; start ef front --config "$W/f.conf"
wait_tls "$EF" "$W/A/ssl/certs/ca.pem"; wait_tls "$EMT" "$W/A/ssl/certs/ca.pem"
measure etcd "$W/A/ssl/certs/ca.pem" "$EF" "$EMT" "$BIN" ca --config "$W/store.conf" --ssldir "$W/A/ssl" revoke

python3 - "$W/results" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
print(f"{'store':6} {'role':7} {'n':>3} {'min ms':>7} {'median':>7} {'max':>7}")
for store in ("dir", "etcd"):
    for role, col in (("front", 2), ("master", 4)):
        v = [int(r[col]) for r in rows if r[0] == store and r[col] != "timeout"]
        t = sum(1 for r in rows if r[0] == store and r[col] == "timeout")
        if v:
            print(f"{store:6} {role:7} {len(v):>3} {min(v):>7} {statistics.median(v):>7.0f} {max(v):>7}" + (f"  ({t} timeouts)" if t else ""))
EOF
