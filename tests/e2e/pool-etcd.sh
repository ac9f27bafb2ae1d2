#!/usr/bin/env bash
# End to end for the pool's shared state in etcd, on loopback only: a real 3-member etcd
# cluster, two "hosts" A and B (separate directories, each a front and a master; B also a
# master serving TLS itself) and the real Puppet 7 agent.
#   1. `pool init` on A; B joins with only the etcd endpoints and the join secret: both
#      serve the same pool certificate, no other file passes between them;
#   2. the agent gets its certificate through A and its catalog through B;
#   3. 200 concurrent CSRs spread over both hosts: 200 certificates, 200 distinct serials,
#      all verify against the CA;
#   4. a revocation on A is refused by B's front and master within a second (measured);
#   5. the etcd leader killed during a CSR burst: no serial reused, the inventory consistent;
#   6. all of etcd stopped: catalogs still served, signing answers 503 with a clear message,
#      everything recovers after etcd restarts;
#   7. an existing Puppet CA directory imported into a new pool keeps every certificate valid.
# Every process started here is stopped by PID on exit; the scratch directory is removed.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${TROUPE_BIN:-$PWD/target/release/troupe}
W=$(mktemp -d /tmp/troupe-pool-e2e.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ -n "${KEEP:-}" ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$W"/*.log; do echo "--- $f" >&2; tail -15 "$f" >&2; done; exit 1; }
pass() { echo "ok: $*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
command -v etcd > /dev/null || fail "etcd is not installed (Debian's etcd-server)"

# --- a 3-member etcd cluster ---------------------------------------------------------------
declare -a CP PP EPID
for i in 1 2 3; do CP[$i]=$(free_port); PP[$i]=$(free_port); done
INITIAL="e1=http://127.0.0.1:${PP[1]},e2=http://127.0.0.1:${PP[2]},e3=http://127.0.0.1:${PP[3]}"
etcd_start() { # member index
    local i=$1
    etcd --name "e$i" --data-dir "$W/etcd$i" \
        --listen-client-urls "http://127.0.0.1:${CP[$i]}" --advertise-client-urls "http://127.0.0.1:${CP[$i]}" \
        --listen-peer-urls "http://127.0.0.1:${PP[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${PP[$i]}" \
        --initial-cluster "$INITIAL" --initial-cluster-token troupe-e2e --initial-cluster-state new \
        --log-level warn > "$W/etcd$i.log" 2>&1 &
    PIDS+=($!); EPID[$i]=$!
}
etcd_stop() { kill -9 "${EPID[$1]}" 2>/dev/null || true; wait "${EPID[$1]}" 2>/dev/null || true; }
ENDPOINTS="127.0.0.1:${CP[1]},127.0.0.1:${CP[2]},127.0.0.1:${CP[3]}"
etcd_healthy() { ETCDCTL_API=3 etcdctl --endpoints "$ENDPOINTS" --command-timeout=2s endpoint health > /dev/null 2>&1; }
etcd_leader() { # the index of the leader member
    for i in 1 2 3; do
        ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:${CP[$i]}" endpoint status -w json 2>/dev/null |
            python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["Status"]; sys.exit(0 if s["leader"]==s["header"]["member_id"] else 1)' &&
            { echo "$i"; return; }
    done
}
for i in 1 2 3; do etcd_start "$i"; done
for _ in $(seq 1 100); do etcd_healthy && break; sleep 0.2; done
etcd_healthy || fail "the etcd cluster did not come up"
STORE="etcd://$ENDPOINTS"

# --- host A: pool init; host B: join with only the endpoints and the secret ----------------
mkdir -p "$W/A" "$W/B"
for h in A B; do
    mkdir -p "$W/$h/code/environments/production/manifests"
    echo "notify { 'Hello from host $h': }" > "$W/$h/code/environments/production/manifests/site.pp"
done
echo '*.example.test' > "$W/autosign.conf"
"$BIN" pool init --store "$STORE" --ssldir "$W/A/ssl" --name puppet --dns-alt-names localhost,IP:127.0.0.1 \
    --keylength 2048 --secret-out "$W/A/join.secret" > "$W/A/init.out" 2>&1 || fail "pool init: $(cat "$W/A/init.out")"
grep -q 'troupe-join-v1:' "$W/A/init.out" || fail "pool init printed no join token: $(cat "$W/A/init.out")"
# The one thing handed to host B: the join secret.
install -m 600 "$W/A/join.secret" "$W/B/join.secret"

MA=$(free_port); MB=$(free_port); MBT=$(free_port); FA=$(free_port); FB=$(free_port)
for h in A B; do
    cat > "$W/$h/store.conf" <<EOF
store = $STORE
join_secret_file = $W/$h/join.secret
EOF
done
"$BIN" pool join --config "$W/B/store.conf" --ssldir "$W/B/ssl" > "$W/B/join.out" 2>&1 || fail "pool join: $(cat "$W/B/join.out")"
"$BIN" pool join --config "$W/A/store.conf" --ssldir "$W/A/ssl" > "$W/A/join.out" 2>&1 || fail "pool join on A: $(cat "$W/A/join.out")"
cmp -s "$W/A/ssl/certs/puppet.pem" "$W/B/ssl/certs/puppet.pem" || fail "hosts A and B hold different pool certificates"
cmp -s "$W/A/ssl/certs/ca.pem" "$W/B/ssl/certs/ca.pem" || fail "hosts A and B hold different CA certificates"
openssl verify -CAfile "$W/B/ssl/certs/ca.pem" "$W/B/ssl/certs/puppet.pem" > /dev/null || fail "B's pool certificate does not verify"
cp "$W/A/store.conf" "$W/A/wrong.conf"; echo "join_secret_file = $W/wrong.secret" >> "$W/A/wrong.conf"
echo "troupe-join-v1:$(printf '%064d' 7)" > "$W/wrong.secret"; chmod 600 "$W/wrong.secret"
if "$BIN" pool join --config "$W/A/wrong.conf" --ssldir "$W/wrong-ssl" > "$W/wrong.out" 2>&1; then fail "join with a wrong secret succeeded"; fi
grep -q "join secret" "$W/wrong.out" || fail "a wrong secret is not named: $(cat "$W/wrong.out")"
pass "pool init on A, B joined with the endpoints and the secret: same CA and pool certificate; a wrong secret is refused"

start() { local name=$1; shift; "$BIN" "$@" > "$W/$name.log" 2>&1 & PIDS+=($!); eval "${name}_PID=$!"; }
master_conf() { # host port tls?
    { cat "$W/$1/store.conf"
      echo "listen = 127.0.0.1:$2"
      # Each "host" has its own name in the pool's registry of masters, as real hosts do; B's TLS
      # master serves agents directly (no front trusts it), so it is a host of its own, on
      # loopback: no front balances over it.
      if [ "$3" = plain ]; then echo "pool_host = host$1"; else echo "pool_host = host$1-direct"; fi
      echo "ssldir = $W/$1/ssl-m$2"
      echo "codedir = $W/$1/code"
      echo "basemodulepath = $W/none"
      echo "autosign = $W/autosign.conf"
      echo "reportdir = $W/$1/reports"
      echo "workers = 2"
      # Every client here is 127.0.0.1; in a site, the 30-per-minute CSR limit is per agent address.
      echo "csr_rate_limit = 0"
      if [ "$3" = plain ]; then echo "plain_http = true"; echo "trusted_proxy = 127.0.0.1"; fi
    } > "$W/$1/master-$2.conf"
}
front_conf() { # host port backend
    { cat "$W/$1/store.conf"
      echo "listen = 127.0.0.1:$2"
      echo "backend = 127.0.0.1:$3"
      echo "pool_host = host$1"
      echo "ssldir = $W/$1/ssl-front"
      echo "check_interval = 0.2"
    } > "$W/$1/front.conf"
}
master_conf A "$MA" plain; master_conf B "$MB" plain; master_conf B "$MBT" tls
front_conf A "$FA" "$MA"; front_conf B "$FB" "$MB"
start ma master --config "$W/A/master-$MA.conf"
start mb master --config "$W/B/master-$MB.conf"
start mbt master --config "$W/B/master-$MBT.conf"
start fa front --config "$W/A/front.conf"
start fb front --config "$W/B/front.conf"
CA=$W/B/ssl/certs/ca.pem
for p in "$FA" "$FB" "$MBT"; do
    for _ in $(seq 1 150); do curl -sf --cacert "$CA" "https://localhost:$p/status/v1/simple" > /dev/null 2>&1 && break; sleep 0.1; done
    curl -sf --cacert "$CA" "https://localhost:$p/status/v1/simple" > /dev/null || fail "port $p does not serve TLS with the pool certificate"
done
for p in "$FA" "$FB" "$MBT"; do
    openssl s_client -connect "127.0.0.1:$p" -servername localhost < /dev/null 2> /dev/null |
        openssl x509 -noout -fingerprint -sha256 > "$W/served-$p.fp"
done
openssl x509 -noout -fingerprint -sha256 -in "$W/B/ssl/certs/puppet.pem" > "$W/pool.fp"
for p in "$FA" "$FB" "$MBT"; do cmp -s "$W/served-$p.fp" "$W/pool.fp" || fail "port $p serves another certificate than the pool's"; done
pass "both fronts and B's TLS master serve the pool certificate"

# --- 2. certificate through A, catalog through B ---------------------------------------------
agent() { # certname port -> exit code
    local n=$1 d=$W/agents/$1
    set +e
    timeout 120 puppet agent -t --confdir "$d/conf" --vardir "$d/var" --ssldir "$d/ssl" --publicdir "$d/public" \
        --logdir "$d/log" --rundir "$d/run" --codedir "$d/code" --server localhost --masterport "$2" --certname "$n" \
        > "$W/$n.out" 2>&1
    local rc=$?
    set -e
    return $rc
}
rc=0; agent node1.example.test "$FA" || rc=$?
[ "$rc" = 2 ] || fail "agent run through A exited $rc: $(tail -5 "$W/node1.example.test.out")"
grep -q "Hello from host A" "$W/node1.example.test.out" || fail "run through A was not compiled by A"
rc=0; agent node1.example.test "$FB" || rc=$?
[ "$rc" = 2 ] || fail "agent run through B exited $rc: $(tail -5 "$W/node1.example.test.out")"
grep -q "Hello from host B" "$W/node1.example.test.out" || fail "run through B was not compiled by B"
pass "the agent got its certificate through host A and its catalog through host B"

# --- 3. 200 concurrent CSRs over both hosts ------------------------------------------------
mkdir -p "$W/csr"
for i in $(seq 1 200); do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/csr/n$i.key" \
        -subj "/CN=burst$i.example.test" -out "$W/csr/n$i.csr" 2> /dev/null
done
submit() { # index -> HTTP code (odd indexes to A, even to B)
    local i=$1 p=$FA
    [ $((i % 2)) = 0 ] && p=$FB
    curl -s -o /dev/null -w '%{http_code}\n' --cacert "$CA" -X PUT -H 'Content-Type: text/plain' \
        --data-binary "@$W/csr/n$i.csr" "https://localhost:$p/puppet-ca/v1/certificate_request/burst$i.example.test"
}
export -f submit; export W FA FB CA
seq 1 200 | xargs -P 20 -I{} bash -c 'submit {}' > "$W/burst.codes"
bad=$(grep -vc '^200$' "$W/burst.codes" || true)
[ "$bad" = 0 ] || fail "$bad of 200 CSR submissions failed: $(sort "$W/burst.codes" | uniq -c | tr '\n' ' ')"
for i in $(seq 1 200); do
    curl -sf --cacert "$CA" "https://localhost:$FB/puppet-ca/v1/certificate/burst$i.example.test" > "$W/csr/n$i.pem" ||
        fail "burst$i has no certificate"
done
cat "$W"/csr/n*.pem > "$W/burst-all.pem"
verified=$(for i in $(seq 1 200); do openssl verify -CAfile "$CA" "$W/csr/n$i.pem"; done 2> /dev/null | grep -c ': OK$' || true)
[ "$verified" = 200 ] || fail "only $verified of 200 certificates verify against the CA"
serials=$(for i in $(seq 1 200); do openssl x509 -noout -serial -in "$W/csr/n$i.pem"; done | sort -u | wc -l)
[ "$serials" = 200 ] || fail "200 certificates carry only $serials distinct serials"
pass "200 concurrent CSRs over both hosts: 200 certificates, 200 distinct serials, all verify"

# --- 4. revocation on A reaches B's front and TLS master within a second --------------------
N1=$W/agents/node1.example.test/ssl
C1=(--cacert "$CA" --cert "$N1/certs/node1.example.test.pem" --key "$N1/private_keys/node1.example.test.pem")
refused() { # port -> true when node1's certificate is refused
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' "${C1[@]}" "https://localhost:$1/puppet/v3/node/node1.example.test?environment=production" || true)
    [ "$code" != 200 ]
}
refused "$FB" && fail "B's front refuses node1 before the revocation"
refused "$MBT" && fail "B's master refuses node1 before the revocation"
"$BIN" ca --config "$W/A/store.conf" --ssldir "$W/A/ssl-ca" revoke node1.example.test > "$W/revoke.out" 2>&1 || fail "revoke on A: $(cat "$W/revoke.out")"
t0=$(now_ms); tf=""; tm=""
while [ $(( $(now_ms) - t0 )) -lt 10000 ]; do
    [ -z "$tf" ] && refused "$FB" && tf=$(( $(now_ms) - t0 ))
    [ -z "$tm" ] && refused "$MBT" && tm=$(( $(now_ms) - t0 ))
    [ -n "$tf" ] && [ -n "$tm" ] && break
    sleep 0.02
done
[ -n "$tf" ] && [ -n "$tm" ] || fail "after 10 s B still accepts the revoked certificate (front: ${tf:-no}, master: ${tm:-no})"
echo "revocation on A refused by B's front after ${tf} ms, by B's master after ${tm} ms" | tee "$W/propagation.txt"
[ "$tf" -le 3000 ] && [ "$tm" -le 3000 ] || fail "revocation took longer than 3 s to reach host B"
pass "a revocation on A is refused on B (front ${tf} ms, master ${tm} ms)"

# --- 5. the etcd leader killed during a CSR burst ----------------------------------------------
for i in $(seq 201 260); do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/csr/n$i.key" \
        -subj "/CN=burst$i.example.test" -out "$W/csr/n$i.csr" 2> /dev/null
done
leader=$(etcd_leader); [ -n "$leader" ] || fail "no etcd leader found"
(seq 201 260 | xargs -P 10 -I{} bash -c 'submit {}' > "$W/burst2.codes") &
burst=$!
sleep 0.3
etcd_stop "$leader"
wait "$burst" || true
etcd_start "$leader"
for _ in $(seq 1 100); do etcd_healthy && break; sleep 0.2; done
# Whatever failed while the leader was gone is submitted again, as an agent would.
for i in $(seq 201 260); do
    curl -sf --cacert "$CA" "https://localhost:$FA/puppet-ca/v1/certificate/burst$i.example.test" > "$W/csr/n$i.pem" 2> /dev/null && continue
    for _ in 1 2 3 4 5; do [ "$(submit "$i")" = 200 ] && break; sleep 1; done
    curl -sf --cacert "$CA" "https://localhost:$FA/puppet-ca/v1/certificate/burst$i.example.test" > "$W/csr/n$i.pem" ||
        fail "burst$i never got its certificate after the leader came back"
done
serials=$(for i in $(seq 1 260); do openssl x509 -noout -serial -in "$W/csr/n$i.pem"; done | sort -u | wc -l)
[ "$serials" = 260 ] || fail "260 certificates carry only $serials distinct serials after the leader was killed"
"$BIN" ca --config "$W/B/store.conf" --ssldir "$W/B/ssl-ca" list --all > "$W/list.out" 2>&1 || fail "ca list: $(cat "$W/list.out")"
listed=$(grep -c 'burst' "$W/list.out" || true)
[ "$listed" = 260 ] || fail "troupe ca list shows $listed burst certificates, not 260"
pass "etcd leader killed during a CSR burst ($(grep -vc '^200$' "$W/burst2.codes" || true) of 60 submissions refused during the election): 260 distinct serials, list consistent"

# --- 6. all of etcd stopped ---------------------------------------------------------------------
rc=0; agent node2.example.test "$FA" || rc=$?
[ "$rc" = 2 ] || fail "node2's first run exited $rc"
for i in 1 2 3; do etcd_stop "$i"; done
rc=0; agent node2.example.test "$FB" || rc=$?
[ "$rc" = 2 ] || fail "with etcd stopped, node2's run through B exited $rc: $(tail -5 "$W/node2.example.test.out")"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/csr/n261.key" \
    -subj "/CN=burst261.example.test" -out "$W/csr/n261.csr" 2> /dev/null
code=$(submit 261)
[ "$code" = 503 ] || fail "a CSR with etcd stopped answered $code, not 503"
if "$BIN" ca --config "$W/B/store.conf" --ssldir "$W/B/ssl-ca" sign burst261.example.test > "$W/sign-down.out" 2>&1; then fail "signing with etcd stopped succeeded"; fi
grep -q "the CA store is unavailable" "$W/sign-down.out" || fail "signing with etcd stopped says: $(cat "$W/sign-down.out")"
for i in 1 2 3; do etcd_start "$i"; done
for _ in $(seq 1 100); do etcd_healthy && break; sleep 0.2; done
ok=""
for _ in $(seq 1 30); do [ "$(submit 261)" = 200 ] && { ok=1; break; }; sleep 1; done
[ -n "$ok" ] || fail "CSR intake did not recover after etcd restarted"
curl -sf --cacert "$CA" "https://localhost:$FB/puppet-ca/v1/certificate/burst261.example.test" > "$W/csr/n261.pem" || fail "no certificate after recovery"
rc=0; agent node3.example.test "$FB" || rc=$?
[ "$rc" = 2 ] || fail "a new agent after etcd's return exited $rc"
pass "etcd stopped: catalogs served, CSRs 503, signing names the unavailable store; all recovered after restart"

# --- 7. import of an existing Puppet CA directory -----------------------------------------
"$BIN" ca --cadir "$W/old-ca" --certname oldca.example.test --keylength 2048 generate old1.example.test --out "$W/old" > /dev/null
"$BIN" ca --cadir "$W/old-ca" --certname oldca.example.test --keylength 2048 generate old2.example.test --out "$W/old" > /dev/null
"$BIN" ca --cadir "$W/old-ca" --certname oldca.example.test revoke old2.example.test > /dev/null
"$BIN" pool init --store "$STORE" --store-prefix /imported/ --ssldir "$W/import-init" --import "$W/old-ca" --name puppet \
    --dns-alt-names localhost --secret-out "$W/import.secret" > "$W/import.out" 2>&1 || fail "pool init --import: $(cat "$W/import.out")"
printf 'store = %s\nstore_prefix = /imported/\njoin_secret_file = %s\n' "$STORE" "$W/import.secret" > "$W/import.conf"
"$BIN" pool join --config "$W/import.conf" --ssldir "$W/import-ssl" > /dev/null 2>&1 || fail "join of the imported pool"
cmp -s "$W/import-ssl/certs/ca.pem" "$W/old-ca/ca_crt.pem" || fail "the imported pool has another CA certificate"
openssl verify -CAfile "$W/import-ssl/certs/ca.pem" "$W/old/old1.example.test.pem" > /dev/null || fail "old1 does not verify against the imported CA"
openssl verify -crl_check -CAfile "$W/import-ssl/certs/ca.pem" -CRLfile "$W/import-ssl/crl.pem" "$W/old/old1.example.test.pem" > /dev/null ||
    fail "old1 fails the imported CRL check"
if openssl verify -crl_check -CAfile "$W/import-ssl/certs/ca.pem" -CRLfile "$W/import-ssl/crl.pem" "$W/old/old2.example.test.pem" > /dev/null 2>&1; then
    fail "the revoked old2 passes the imported CRL"
fi
openssl verify -CAfile "$W/import-ssl/certs/ca.pem" "$W/import-ssl/certs/puppet.pem" > /dev/null || fail "the new pool certificate does not chain to the imported CA"
pass "an existing CA directory imported: its certificates verify, its revocations hold, the pool certificate chains to it"
echo "all pool-etcd checks passed"
