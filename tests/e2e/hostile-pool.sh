#!/usr/bin/env bash
# The hostile-input suite, pool level: one front and two masters on loopback, the real Puppet 7
# agent, and the attacks of issue 14 sent through the front by a certified node:
#   1. killer catalogs (runaway recursion, 50,000 nested parentheses, a 200-million range
#      reduced, a memory bomb, a wedged generate()) fail only themselves: 500 with the
#      message, both masters stay up, nothing is quarantined, and the next agent run works;
#   2. a report replayed (as a front may replay it) is stored once;
#   3. forged admin identity headers from the masters' trusted address cannot sign or revoke;
#   4. an anonymous client cannot push a large body through the front.
# Every process started here is stopped by PID on exit; the scratch directory is removed.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${TROUPE_BIN:-$PWD/target/release/troupe}
W=$(mktemp -d /tmp/troupe-hostile-pool.XXXXXX)
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

E=$W/code/environments
env_site() { mkdir -p "$E/$1/manifests"; cat > "$E/$1/manifests/site.pp"; }
env_site production <<'EOF'
notify { 'all is well': }
EOF
env_site recurse <<'EOF'
function down(Integer $n) >> Integer { down($n + 1) }
notify { "never ${down(1)}": }
EOF
python3 -c 'print("$x = " + "(" * 50000 + "1" + ")" * 50000)' | env_site deep
env_site hugerange <<'EOF'
notify { "sum ${Integer[1, 200000000].reduce(0) |$a, $b| { $a + $b }}": }
EOF
env_site membomb <<'EOF'
$big = Integer[1, 200].map |$i| { sprintf('%10000000s', $i) }
notify { "size ${big.length}": }
EOF
env_site wedge <<'EOF'
notify { generate('/bin/sleep', '600'): }
EOF
echo '*.example.test' > "$W/autosign.conf"
"$BIN" ca --cadir "$W/ca" --certname puppet.example.test --keylength 2048 generate front.example.test --dns-alt-names localhost --out "$W/front" > /dev/null
"$BIN" ca --cadir "$W/ca" --certname puppet.example.test --keylength 2048 generate admin.example.test --cli-auth --out "$W/admin" > /dev/null

M1=$(free_port); M2=$(free_port); F=$(free_port)
start() { local name=$1; shift; "$BIN" "$@" > "$W/$name.log" 2>&1 & PIDS+=($!); eval "${name}_PID=$!"; }
master() { # name port
    start "$1" master --listen "127.0.0.1:$2" --plain-http --trusted-proxy 127.0.0.1 --cadir "$W/ca" --ssldir "$W/ssl-$1" \
        --certname puppet.example.test --codedir "$W/code" --basemodulepath "$W/none" --autosign "$W/autosign.conf" \
        --keylength 2048 --reportdir "$W/reports" --workers 1 --compile-timeout 3s --compile-memory-limit 512m
}
master m1 "$M1"
master m2 "$M2"
start front front --listen "127.0.0.1:$F" --backend "127.0.0.1:$M1" --backend "127.0.0.1:$M2" \
    --cert "$W/front/front.example.test.pem" --key "$W/front/front.example.test.key.pem" --ca-cert "$W/ca/ca_crt.pem" \
    --crl "$W/ca/ca_crl.pem" --balance round-robin --check-interval 0.2 --rise 1 --fall 2
for _ in $(seq 1 100); do curl -sfk "https://127.0.0.1:$F/status/v1/simple" > /dev/null 2>&1 && break; sleep 0.1; done

agent() { # certname -> exit code
    local d=$W/agents/$1
    timeout 120 puppet agent -t --confdir "$d/conf" --vardir "$d/var" --ssldir "$d/ssl" --publicdir "$d/public" \
        --logdir "$d/log" --rundir "$d/run" --codedir "$d/code" --server localhost --masterport "$F" --certname "$1" \
        > "$W/agent.out" 2>&1
}
agent node1.example.test || [ $? = 2 ] || fail "first agent run: $(tail -5 "$W/agent.out")"
N1=$W/agents/node1.example.test/ssl
C1=(-s --cacert "$N1/certs/ca.pem" --cert "$N1/certs/node1.example.test.pem" --key "$N1/private_keys/node1.example.test.pem")
alive() { kill -0 "$m1_PID" 2>/dev/null && kill -0 "$m2_PID" 2>/dev/null && kill -0 "$front_PID" 2>/dev/null; }
pass "the agent's first run through the front"

# 1. killer catalogs: each fails alone, with its message, and the pool keeps serving
killer() { # env expected-message-regex
    local code
    code=$(curl "${C1[@]}" --max-time 60 -o "$W/$1.body" -w '%{http_code}' \
        "https://localhost:$F/puppet/v3/catalog/node1.example.test?environment=$1" || true)
    [ "$code" = 500 ] || fail "killer '$1': HTTP $code $(head -c 300 "$W/$1.body")"
    grep -Eq "$2" "$W/$1.body" || fail "killer '$1': the message does not say why: $(head -c 300 "$W/$1.body")"
    alive || fail "killer '$1' took a process of the pool down"
    code=$(curl "${C1[@]}" --max-time 30 -o "$W/ok.body" -w '%{http_code}' \
        "https://localhost:$F/puppet/v3/catalog/node1.example.test?environment=production")
    [ "$code" = 200 ] && grep -q 'all is well' "$W/ok.body" || fail "after killer '$1' a normal catalog got HTTP $code"
    pass "killer '$1' answered 500 ($(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["message"][:90])' "$W/$1.body")...), both masters up"
}
killer recurse 'recursion|too deep'
killer deep 'nesting deeper than'
killer hugerange 'deadline'
killer membomb 'memory budget'
killer wedge 'deadline'
# with one worker per master, a second wedge on each must not block agents for good
for _ in 1 2; do curl "${C1[@]}" --max-time 30 -o /dev/null "https://localhost:$F/puppet/v3/catalog/node1.example.test?environment=wedge" || true; done
agent node1.example.test || [ $? = 2 ] || fail "agent run after the killers: $(tail -5 "$W/agent.out")"
grep -q 'all is well' "$W/agent.out" || fail "agent run after the killers did not apply its catalog"
refused=$(curl -sk "https://127.0.0.1:$F/troupe/status?format=json" | python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("refused_requests", [])))')
[ "$refused" = 0 ] || fail "the front quarantined $refused requests although no master died"
pass "after every killer (and wedged workers on both masters) the agent run succeeds; nothing quarantined"

# 2. a replayed report is stored once
python3 - "$W/report.json" <<'EOF'
import json, sys
json.dump({"host": "node1.example.test", "transaction_uuid": "6f1c2b0e-3f3a-4c55-9d0b-1a2b3c4d5e6f",
           "time": "2026-12-02T10:00:00.000000000+00:00", "configuration_version": 1, "report_format": 12,
           "puppet_version": "7.23.0", "status": "unchanged", "environment": "production", "kind": "apply",
           "logs": [], "metrics": {}, "resource_statuses": {}}, open(sys.argv[1], "w"))
EOF
for _ in 1 2 3; do
    code=$(curl "${C1[@]}" -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
        --data-binary "@$W/report.json" "https://localhost:$F/puppet/v3/report/node1.example.test?environment=production")
    [ "$code" = 200 ] || fail "report PUT: HTTP $code"
done
n=$(grep -rl '6f1c2b0e-3f3a-4c55-9d0b-1a2b3c4d5e6f' "$W/reports" | wc -l)
[ "$n" = 1 ] || fail "a report sent three times (round robin over two masters) is stored $n times"
pass "a report sent three times through the front, over both masters, is stored once"

# 3. forged admin identity from the trusted address: no CA administration
ADMIN_CERT=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(open(sys.argv[1]).read()))' "$W/admin/admin.example.test.pem")
for m in "$M1" "$M2"; do
    code=$(curl -s -o "$W/forged.body" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
        -H 'X-Client-Verify: SUCCESS' -H 'X-Client-DN: CN=admin.example.test' -H "X-Client-Cert: $ADMIN_CERT" \
        --data '{"desired_state":"revoked"}' "http://127.0.0.1:$m/puppet-ca/v1/certificate_status/node1.example.test")
    [ "$code" = 403 ] || fail "forged admin headers on the trusted address revoked a certificate: HTTP $code $(cat "$W/forged.body")"
done
"$BIN" ca --cadir "$W/ca" --certname puppet.example.test list --all | grep -Eq '^signed +node1.example.test ' \
    || fail "node1's certificate is no longer valid: $("$BIN" ca --cadir "$W/ca" --certname puppet.example.test list --all)"
pass "forged admin headers from the trusted address: 403 on both masters, the certificate stays valid"

# 4. anonymous clients cannot push large bodies through the front
code=$(head -c 5000000 /dev/zero | curl -s --cacert "$N1/certs/ca.pem" -o /dev/null -w '%{http_code}' -X PUT \
    -H 'Content-Type: text/plain' --data-binary @- "https://localhost:$F/puppet-ca/v1/certificate_request/big.example.test")
[ "$code" = 413 ] || fail "a 5 MB anonymous CSR through the front: HTTP $code"
alive || fail "the pool lost a process"
pass "an anonymous 5 MB upload is refused with 413"

echo "hostile pool e2e: all passed"
