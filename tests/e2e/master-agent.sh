#!/usr/bin/env bash
# End to end with the real Puppet 7 agent (Debian's puppet-agent) against `troupe master`
# in standalone HTTPS mode, on loopback only:
#   1. a fresh agent is autosigned (glob), pluginsyncs a module's custom fact, gets and applies
#      its catalog (with $trusted extensions from its CSR), and its report is stored; twice;
#   2. an agent outside the autosign glob gets no certificate until `troupe ca sign`;
#   3. a revoked agent is refused once the master has picked up the new CRL;
#   4. auth.conf: a node cannot fetch another node's catalog;
#   5. plain HTTP behind a front: identity headers count only from a trusted proxy address;
#   6. three master processes share one CA directory: concurrent CSRs get distinct serials;
#   7. back-pressure: a saturated compile pool answers 503 with Retry-After.
# Every process started here is stopped by PID on exit; the scratch directory is removed.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${TROUPE_BIN:-$PWD/target/release/troupe}
W=$(mktemp -d /tmp/troupe-e2e.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ -n "${KEEP:-}" ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$W"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done; exit 1; }
pass() { echo "ok: $*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- code: the seed's notify, a module with a custom fact, and a slow environment
ENVS=$W/code/environments
mkdir -p "$ENVS/production/manifests" "$ENVS/production/modules/site/lib/facter" "$ENVS/slow/manifests"
cat > "$ENVS/production/manifests/site.pp" <<'EOF'
notify { 'Hello, I am Master 1': }
notify { "custom fact: ${facts['troupe_fact']}": }
notify { "role: ${trusted['extensions']['pp_role']}": }
EOF
cat > "$ENVS/production/modules/site/lib/facter/troupe_fact.rb" <<'EOF'
Facter.add(:troupe_fact) do
  setcode { 'synced-by-troupe' }
end
EOF
mkdir -p "$ENVS/production/modules/site/files"
echo 'served by troupe' > "$ENVS/production/modules/site/files/greeting.txt"
cat >> "$ENVS/production/manifests/site.pp" <<EOF
file { "$W/greeting-\${trusted['certname']}.txt": source => 'puppet:///modules/site/greeting.txt' }
EOF
echo 'modulepath = modules' > "$ENVS/production/environment.conf"
echo 'notify { "sum ${Integer[1, 4000000].reduce(0) |$a, $b| { $a + $b }}": }' > "$ENVS/slow/manifests/site.pp"
printf '# agents of the pool\n*.example.test\n' > "$W/autosign.conf"

PORT=$(free_port)
MASTER=(--codedir "$W/code" --basemodulepath "$W/none" --certname puppet.example.test --dns-alt-names localhost,puppet
        --autosign "$W/autosign.conf" --keylength 2048 --reportdir "$W/reports")
start() { # name args...
    local name=$1; shift
    "$BIN" master "$@" > "$W/$name.log" 2>&1 &
    PIDS+=($!)
}
wait_up() { # url [curl args]
    local url=$1; shift
    for _ in $(seq 1 100); do
        curl -sfk "$@" "$url" > /dev/null 2>&1 && return 0
        sleep 0.1
    done
    fail "no answer from $url"
}
start master1 --listen "127.0.0.1:$PORT" --ssldir "$W/ssl" "${MASTER[@]}"
wait_up "https://127.0.0.1:$PORT/status/v1/simple"
CA=(--ssldir "$W/ssl" --certname puppet.example.test --keylength 2048)

agent() { # certname [agent args] -> exit code; output in $W/<certname>.out
    local n=$1; shift
    local d=$W/agents/$n
    mkdir -p "$d/conf"
    [ -f "$W/$n.csr_attributes.yaml" ] && cp "$W/$n.csr_attributes.yaml" "$d/conf/csr_attributes.yaml"
    set +e
    timeout 120 puppet agent -t --confdir "$d/conf" --vardir "$d/var" --ssldir "$d/ssl" --publicdir "$d/public" \
        --logdir "$d/log" --rundir "$d/run" --codedir "$d/code" --server localhost --masterport "${AGENT_PORT:-$PORT}" \
        --certname "$n" "$@" > "$W/$n.out" 2>&1
    local rc=$?
    set -e
    return $rc
}
expect_rc() { # want cmd...
    local want=$1; shift
    local rc=0
    "$@" || rc=$?
    [ "$rc" = "$want" ] || fail "$* exited $rc, expected $want: $(grep -v /proc/1/environ "$W/$2.out" | tail -15)"
}
has() { grep -qF -- "$2" "$W/$1.out" || fail "$1: output lacks '$2': $(grep -v /proc/1/environ "$W/$1.out" | tail -15)"; }

# 1. autosigned agent, pluginsync, trusted extensions, report, second run
printf 'extension_requests:\n  pp_role: webserver\n' > "$W/node1.example.test.csr_attributes.yaml"
expect_rc 2 agent node1.example.test
has node1.example.test "Notice: Hello, I am Master 1"
has node1.example.test "Notice: custom fact: synced-by-troupe"
has node1.example.test "Notice: role: webserver"
[ "$(find "$W/reports/node1.example.test" -name '*.json' | wc -l)" = 1 ] || fail "report not stored"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["host"]=="node1.example.test" and r["status"]=="changed", r["status"]' \
    "$(find "$W/reports/node1.example.test" -name '*.json' | head -1)" || fail "stored report is not the agent's"
expect_rc 2 agent node1.example.test
[ "$(find "$W/reports/node1.example.test" -name '*.json' | wc -l)" = 2 ] || fail "second report not stored"
[ "$(cat "$W/greeting-node1.example.test.txt")" = "served by troupe" ] || fail "puppet:///modules source not served"
pass "fresh agent autosigned, pluginsynced its custom fact, applied the catalog (incl. a puppet:///modules file), reports stored (2 runs)"

# 1b. troupe bench agents: simulated agents (own certificates, full runs) against this master
"$BIN" bench agents --server "127.0.0.1:$PORT" --server-name localhost --agents 600 --runinterval 60 --duration 3 \
    --environment production --identities 4 --domain example.test --certs "$W/bench" --key ec --json --quiet \
    > "$W/bench.json" 2> "$W/bench.err" || fail "bench agents: $(tail -5 "$W/bench.err")"
python3 - "$W/bench.json" <<'PY' || fail "bench agents: $(cat "$W/bench.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["runs"] >= 10 and r["failed"] == 0 and r["dropped"] == 0, r
print("  bench: %d runs, p50 %.1f ms, p99 %.1f ms" % (r["runs"], r["p50_ms"], r["p99_ms"]))
PY
[ "$(find "$W/reports/bench-00000.example.test" -name '*.json' | wc -l)" -ge 1 ] || fail "bench agents' reports not stored"
pass "troupe bench agents: simulated agents with their own certificates ran node, pluginsync, catalog and report, none failed"

# 2. outside the glob: waits for a manual signature
expect_rc 1 agent node2.other.test
has node2.other.test "Couldn't fetch certificate from CA server"
has node2.other.test "Exiting now because the waitforcert setting is set to 0"
"$BIN" ca "${CA[@]}" list | grep -q "requested  node2.other.test" || fail "troupe ca list does not show the request"
expect_rc 1 agent node2.other.test
has node2.other.test "Couldn't fetch certificate from CA server"
"$BIN" ca "${CA[@]}" sign node2.other.test | grep -q "Successfully signed certificate request for node2.other.test" || fail "troupe ca sign"
expect_rc 2 agent node2.other.test
has node2.other.test "Notice: Hello, I am Master 1"
pass "unmatched agent got no certificate until 'troupe ca sign', then ran"

# 4. a node may fetch only its own catalog and node object
N2=$W/agents/node2.other.test/ssl
CURL2=(-s --cacert "$N2/certs/ca.pem" --cert "$N2/certs/node2.other.test.pem" --key "$N2/private_keys/node2.other.test.pem")
code=$(curl "${CURL2[@]}" -o "$W/forbidden.body" -w '%{http_code}' "https://localhost:$PORT/puppet/v3/catalog/node1.example.test?environment=production")
[ "$code" = 403 ] || fail "another node's catalog: HTTP $code"
grep -qF "Forbidden request: /puppet/v3/catalog/node1.example.test (method :get)" "$W/forbidden.body" || fail "403 body: $(cat "$W/forbidden.body")"
code=$(curl "${CURL2[@]}" -o /dev/null -w '%{http_code}' "https://localhost:$PORT/puppet/v3/node/node2.other.test?environment=production")
[ "$code" = 200 ] || fail "own node object: HTTP $code"
code=$(curl -s --cacert "$N2/certs/ca.pem" -o /dev/null -w '%{http_code}' "https://localhost:$PORT/puppet/v3/node/node2.other.test?environment=production")
[ "$code" = 403 ] || fail "anonymous node object: HTTP $code"
code=$(curl "${CURL2[@]}" -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' --data '{}' "https://localhost:$PORT/puppet/v3/report/node1.example.test?environment=production")
[ "$code" = 403 ] || fail "report for another node: HTTP $code"
code=$(curl "${CURL2[@]}" -o "$W/envs.json" -w '%{http_code}' "https://localhost:$PORT/puppet/v3/environments")
[ "$code" = 200 ] && grep -q '"production"' "$W/envs.json" || fail "environments: HTTP $code"
for evil in "plugins//etc/passwd" "plugins/%2Fetc/passwd" "modules/site//etc/passwd" "plugins/../../../../etc/passwd" "pluginfacts/..%2F..%2F..%2Fetc/passwd"; do
    code=$(curl "${CURL2[@]}" --path-as-is -o "$W/evil.body" -w '%{http_code}' "https://localhost:$PORT/puppet/v3/file_content/$evil?environment=production")
    [ "$code" = 404 ] || fail "file_content/$evil: HTTP $code $(head -c 100 "$W/evil.body")"
done
for env in . .git ..; do
    code=$(curl "${CURL2[@]}" -o /dev/null -w '%{http_code}' "https://localhost:$PORT/puppet/v3/file_metadatas/plugins?environment=$env")
    [ "$code" = 404 ] || [ "$code" = 400 ] || fail "environment '$env': HTTP $code"
done
pass "auth.conf: own catalog/node/report only, anonymous refused; environments listed; no path out of a mount"

# 4b. gzip as puppetserver answers the agent's Accept-Encoding; plain for a client without it
AE='Accept-Encoding: gzip;q=1.0,deflate;q=0.6,identity;q=0.3'
CAT="https://localhost:$PORT/puppet/v3/catalog/node2.other.test?environment=production"
code=$(curl "${CURL2[@]}" -H "$AE" -D "$W/gz.headers" -o "$W/catalog.gz" -w '%{http_code}' "$CAT")
[ "$code" = 200 ] && grep -qi '^content-encoding: gzip' "$W/gz.headers" && grep -qi '^vary: accept-encoding' "$W/gz.headers" \
    || fail "catalog with Accept-Encoding: gzip: HTTP $code, headers: $(cat "$W/gz.headers")"
curl "${CURL2[@]}" -D "$W/plain.headers" -o "$W/catalog.plain" "$CAT"
grep -qi '^content-encoding' "$W/plain.headers" && fail "catalog without Accept-Encoding came encoded"
python3 - "$W/catalog.gz" "$W/catalog.plain" <<'PY' || fail "the gzip catalog is not the plain one"
import gzip, json, sys
z, p = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
a, b = json.loads(gzip.decompress(z)), json.loads(p)
for c in (a, b):
    c.pop("version", None); c.pop("catalog_uuid", None)
assert a == b, "catalogs differ"
print("  catalog: %d bytes plain, %d gzip" % (len(p), len(z)))
PY
code=$(curl "${CURL2[@]}" -H "$AE" -D "$W/gz2.headers" -o /dev/null -w '%{http_code}' "https://localhost:$PORT/puppet/v3/file_metadatas/plugins?environment=production&recurse=true")
[ "$code" = 200 ] && grep -qi '^content-encoding: gzip' "$W/gz2.headers" || fail "file_metadatas with gzip: HTTP $code"
pass "gzip: catalog and file metadata compressed for Accept-Encoding: gzip (Vary set), plain otherwise"

# code changes are seen without a restart
sed -i 's/Hello, I am Master 1/Hello again from Master 1/' "$ENVS/production/manifests/site.pp"
expect_rc 2 agent node2.other.test
has node2.other.test "Notice: Hello again from Master 1"
sed -i 's/Hello again from Master 1/Hello, I am Master 1/' "$ENVS/production/manifests/site.pp"
pass "edited code compiled on the next run, no restart"

# the CA admin API, for certificates carrying pp_cli_auth (the master's own)
ADM=(-s --cacert "$W/ssl/certs/ca.pem" --cert "$W/ssl/certs/puppet.example.test.pem" --key "$W/ssl/private_keys/puppet.example.test.pem")
curl "${ADM[@]}" "https://localhost:$PORT/puppet-ca/v1/certificate_statuses/any_key?state=signed" > "$W/statuses.json"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); n={x["name"] for x in s}; assert {"node1.example.test","node2.other.test"} <= n, n; assert all(x["state"]=="signed" for x in s)' "$W/statuses.json" || fail "certificate_statuses: $(head -c 300 "$W/statuses.json")"
code=$(curl "${CURL2[@]}" -o /dev/null -w '%{http_code}' "https://localhost:$PORT/puppet-ca/v1/certificate_statuses/any_key")
[ "$code" = 403 ] || fail "certificate_statuses for an ordinary node: HTTP $code"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=manual.other.test" -keyout "$W/manual.key" -out "$W/manual.csr" 2> /dev/null
curl -sk -o /dev/null -X PUT --data-binary "@$W/manual.csr" "https://127.0.0.1:$PORT/puppet-ca/v1/certificate_request/manual.other.test"
code=$(curl "${ADM[@]}" -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' --data '{"desired_state":"signed"}' "https://localhost:$PORT/puppet-ca/v1/certificate_status/manual.other.test")
[ "$code" = 204 ] || fail "sign through certificate_status: HTTP $code"
curl -s --cacert "$W/ssl/certs/ca.pem" "https://localhost:$PORT/puppet-ca/v1/certificate/manual.other.test" | openssl x509 -noout -subject | grep -q manual.other.test || fail "signed certificate not served"
curl "${ADM[@]}" "https://localhost:$PORT/puppet-ca/v1/expirations" | grep -q '"Puppet CA: puppet.example.test"' || fail "expirations"
"$BIN" ca "${CA[@]}" generate pool.example.test --dns-alt-names front1.example.test,IP:127.0.0.1 --out "$W/pool" > /dev/null
openssl x509 -noout -text -in "$W/pool/pool.example.test.pem" | grep -q "DNS:front1.example.test, DNS:pool.example.test, IP Address:127.0.0.1" || fail "troupe ca generate alt names: $(openssl x509 -noout -ext subjectAltName -in "$W/pool/pool.example.test.pem")"
openssl verify -CAfile "$W/ssl/certs/ca.pem" "$W/pool/pool.example.test.pem" > /dev/null || fail "generated certificate does not verify"
"$BIN" ca "${CA[@]}" generate ecpool.example.test --ecdsa --out "$W/pool" > /dev/null
openssl x509 -noout -text -in "$W/pool/ecpool.example.test.pem" | grep -q "id-ecPublicKey" || fail "troupe ca generate --ecdsa did not make an ECDSA key"
openssl verify -CAfile "$W/ssl/certs/ca.pem" "$W/pool/ecpool.example.test.pem" > /dev/null || fail "ECDSA certificate does not verify"
pass "CA admin API (statuses, sign via certificate_status, expirations) and troupe ca generate (RSA and ECDSA)"

# 3. revocation: the master reloads the CRL and refuses the node, on an open connection too
python3 tests/e2e/keepalive.py "$PORT" "$W/agents/node1.example.test/ssl" node1.example.test "$W/reload.flag" > "$W/keepalive1.txt" 2>&1 &
KA1=$!
sleep 0.5
"$BIN" ca "${CA[@]}" revoke node1.example.test > /dev/null
for _ in $(seq 1 50); do grep -q "reloaded" "$W/master1.log" && break; sleep 0.2; done
grep -q "reloaded" "$W/master1.log" || fail "master did not reload the CRL"
touch "$W/reload.flag"
wait $KA1 || true
grep -q "first 200 after-reload 403 same-connection True" "$W/keepalive1.txt" || fail "revoked node on an open connection: $(cat "$W/keepalive1.txt")"
expect_rc 1 agent node1.example.test
grep -qiE "revoked|SSL_connect|certificate verify failed|alert" "$W/node1.example.test.out" || fail "revoked agent: $(tail -5 "$W/node1.example.test.out")"
[ "$(find "$W/reports/node1.example.test" -name '*.json' | wc -l)" = 2 ] || fail "revoked agent stored a report"
pass "revoked agent refused (CRL reloaded without restart; an open keep-alive connection is refused from its next request)"

# 5. plain HTTP behind a front: identity headers only from a trusted proxy
PPORT=$(free_port)
start plain --listen "127.0.0.1:$PPORT" --plain-http --no-ca --trusted-proxy 127.0.0.1 --ssldir "$W/ssl-plain" "${MASTER[@]}"
wait_up "http://127.0.0.1:$PPORT/status/v1/simple"
H=(-H "X-Client-Verify: SUCCESS" -H "X-Client-DN: CN=node2.other.test")
code=$(curl -s -o /dev/null -w '%{http_code}' "${H[@]}" "http://127.0.0.1:$PPORT/puppet/v3/node/node2.other.test?environment=production")
[ "$code" = 200 ] || fail "trusted proxy headers: HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 "${H[@]}" "http://127.0.0.1:$PPORT/puppet/v3/node/node2.other.test?environment=production")
[ "$code" = 403 ] || fail "headers from an untrusted address were honoured: HTTP $code"
code=$(curl -s -o "$W/plain-catalog.json" -w '%{http_code}' "${H[@]}" --data-urlencode 'facts={"name":"node2.other.test","values":{"os":{"family":"Debian"}}}' \
    --data 'environment=production&facts_format=application/json' "http://127.0.0.1:$PPORT/puppet/v3/catalog/node2.other.test")
[ "$code" = 200 ] || fail "catalog via trusted proxy: HTTP $code $(head -c 300 "$W/plain-catalog.json")"
grep -q '"Hello, I am Master 1"' "$W/plain-catalog.json" || fail "plain catalog lacks the notify"
FACTS=$(python3 -c 'import urllib.parse,json; print(urllib.parse.quote(urllib.parse.quote(json.dumps({"name":"node2.other.test","values":{"troupe_fact":"from-get"}}))))')
curl -s -o "$W/get-catalog.json" -H "X-Client-Verify: SUCCESS" -H "X-Client-DN: CN=node2.other.test" \
    "http://127.0.0.1:$PPORT/puppet/v3/catalog/node2.other.test?environment=production&facts_format=application%2Fjson&facts=$FACTS"
grep -q '"custom fact: from-get"' "$W/get-catalog.json" || fail "GET catalog with facts in the query: $(head -c 300 "$W/get-catalog.json")"
CERT1=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(open(sys.argv[1]).read()))' "$W/agents/node1.example.test/ssl/certs/node1.example.test.pem")
curl -s -o "$W/plain-catalog1.json" -H "X-Client-Verify: SUCCESS" -H "X-Client-DN: CN=node1.example.test" -H "X-Client-Cert: $CERT1" \
    "http://127.0.0.1:$PPORT/puppet/v3/catalog/node1.example.test?environment=production"
grep -q '"role: webserver"' "$W/plain-catalog1.json" || fail "X-Client-Cert extensions did not reach \$trusted: $(head -c 300 "$W/plain-catalog1.json")"
mkdir -p "$W/reports"; touch "$W/reports/broken.example.test"
code=$(curl -s -o "$W/report-fail.json" -w '%{http_code}' -X PUT -H "X-Client-Verify: SUCCESS" -H "X-Client-DN: CN=broken.example.test" \
    -H 'Content-Type: application/json' --data '{"host":"broken.example.test","transaction_uuid":"x"}' "http://127.0.0.1:$PPORT/puppet/v3/report/broken.example.test?environment=production")
[ "$code" = 500 ] || fail "a report that cannot be stored must be a 5xx, got $code"
grep -q 'Could not store the report' "$W/report-fail.json" || fail "report failure body: $(cat "$W/report-fail.json")"
pass "plain HTTP: identity headers honoured from the trusted proxy only; a report that cannot be stored is a 500"

# 6. several masters share one CA directory; concurrent CSRs never share a serial
P2=$(free_port); P3=$(free_port)
start master2 --listen "127.0.0.1:$P2" --ssldir "$W/ssl2" --cadir "$W/ssl/ca" --codedir "$W/code" --certname puppet2.example.test \
    --dns-alt-names localhost --autosign "$W/autosign.conf" --keylength 2048 --reportdir "$W/reports"
start master3 --listen "127.0.0.1:$P3" --ssldir "$W/ssl3" --cadir "$W/ssl/ca" --codedir "$W/code" --certname puppet3.example.test \
    --dns-alt-names localhost --autosign "$W/autosign.conf" --keylength 2048 --reportdir "$W/reports" --workers 1 --max-queued 0
wait_up "https://127.0.0.1:$P2/status/v1/simple"
wait_up "https://127.0.0.1:$P3/status/v1/simple"
mkdir -p "$W/csrs"
for i in $(seq 1 24); do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=c$i.example.test" \
        -keyout "$W/csrs/c$i.key" -out "$W/csrs/c$i.csr" 2> /dev/null
done
ports=("$PORT" "$P2" "$P3")
for i in $(seq 1 24); do
    p=${ports[$((i % 3))]}
    curl -sk -o /dev/null -w '%{http_code}\n' -X PUT -H 'Content-Type: text/plain' --data-binary "@$W/csrs/c$i.csr" \
        "https://127.0.0.1:$p/puppet-ca/v1/certificate_request/c$i.example.test" > "$W/csrs/c$i.code" &
done
wait_csr=0
for i in $(seq 1 24); do
    while [ ! -s "$W/csrs/c$i.code" ] && [ $wait_csr -lt 300 ]; do sleep 0.1; wait_csr=$((wait_csr + 1)); done
    [ "$(cat "$W/csrs/c$i.code")" = 200 ] || fail "CSR c$i: HTTP $(cat "$W/csrs/c$i.code")"
done
signed=$(ls "$W/ssl/ca/signed" | grep -c '^c[0-9]*\.example\.test\.pem$')
[ "$signed" = 24 ] || fail "$signed of 24 concurrent CSRs signed"
serials=$(for f in "$W"/ssl/ca/signed/*.pem; do openssl x509 -noout -serial -in "$f"; done | sort)
[ "$(echo "$serials" | wc -l)" = "$(echo "$serials" | uniq | wc -l)" ] || fail "two certificates share a serial: $serials"
[ "$(cut -d' ' -f1 "$W/ssl/ca/inventory.txt" | sort | uniq -d | wc -l)" = 0 ] || fail "duplicate serial in inventory.txt"
for f in "$W"/ssl/ca/signed/c*.pem; do
    openssl verify -CAfile "$W/ssl/ca/ca_crt.pem" "$f" > /dev/null || fail "$f does not verify"
done
pass "3 masters on one CA dir: 24 concurrent CSRs, 24 certificates, all serials distinct"

# 6b. an external node classifier (node_terminus = exec): environment, classes, parameters
mkdir -p "$ENVS/encenv/manifests" "$ENVS/encenv/modules/encmod/manifests"
echo 'notify { "encenv site": }' > "$ENVS/encenv/manifests/site.pp"
cat > "$ENVS/encenv/modules/encmod/manifests/init.pp" <<'EOF'
class encmod (String $greeting = 'none') { notify { "enc class says ${greeting}, tier ${tier}, env ${environment}": } }
EOF
echo 'modulepath = modules' > "$ENVS/encenv/environment.conf"
cat > "$W/enc.sh" <<'EOF'
#!/bin/sh
case "$1" in
  node2.other.test) printf 'environment: encenv\nclasses:\n  encmod:\n    greeting: hello\nparameters:\n  tier: gold\n' ;;
  *) exit 0 ;;
esac
EOF
chmod +x "$W/enc.sh"
RP=$(free_port)
python3 - "$RP" "$W/posted" <<'PY' &
import http.server, os, sys
port, out = int(sys.argv[1]), sys.argv[2]
os.makedirs(out, exist_ok=True)
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        n = len(os.listdir(out))
        with open(os.path.join(out, "%d.yaml" % n), "wb") as f:
            f.write(("# %s %s\n" % (self.path, self.headers.get("Content-Type"))).encode() + body)
        self.send_response(200); self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
PIDS+=($!)
printf 'node_terminus = exec\nexternal_nodes = %s\nreports = store, http\nreporturl = http://127.0.0.1:%s/upload\n' "$W/enc.sh" "$RP" > "$W/enc.conf"
P4=$(free_port)
start master4 --config "$W/enc.conf" --listen "127.0.0.1:$P4" --ssldir "$W/ssl4" --cadir "$W/ssl/ca" --codedir "$W/code" \
    --certname puppet4.example.test --dns-alt-names localhost --autosign "$W/autosign.conf" --keylength 2048 --reportdir "$W/reports"
wait_up "https://127.0.0.1:$P4/status/v1/simple"
AGENT_PORT=$P4 expect_rc 2 agent node2.other.test
has node2.other.test "restarting agent run with environment 'encenv'"
has node2.other.test "Notice: enc class says hello, tier gold, env encenv"
has node2.other.test "Notice: encenv site"
C1=(-s --cacert "$W/ssl/ca/ca_crt.pem" --cert "$W/ssl/ca/signed/c1.example.test.pem" --key "$W/csrs/c1.key")
code=$(curl "${C1[@]}" -o "$W/enc-node2.body" -w '%{http_code}' "https://localhost:$P4/puppet/v3/node/c1.example.test?environment=production")
[ "$code" = 404 ] || fail "a node the classifier does not know: HTTP $code $(cat "$W/enc-node2.body")"
code=$(curl "${C1[@]}" -o "$W/enc-cat2.body" -w '%{http_code}' "https://localhost:$P4/puppet/v3/catalog/c1.example.test?environment=production")
[ "$code" = 500 ] && grep -qF "Could not find node 'c1.example.test'; cannot compile" "$W/enc-cat2.body" \
    || fail "catalog of a node the classifier does not know: HTTP $code $(cat "$W/enc-cat2.body")"
pass "external node classifier: the agent switched to its environment and applied its class with parameters; unknown nodes refused"
for _ in $(seq 1 50); do [ -n "$(ls "$W/posted" 2>/dev/null)" ] && break; sleep 0.1; done
ruby -ryaml -e 'f = Dir[ARGV[0] + "/*.yaml"].first or abort("no report posted")
  t = File.read(f); head, _, doc = t.partition("\n")
  abort("posted as: " + head) unless head == "# /upload application/x-yaml"
  r = YAML.safe_load(doc.sub("!ruby/object:Puppet::Transaction::Report", ""))
  abort("report host: #{r["host"]}") unless r["host"] == "node2.other.test" && r["environment"] == "encenv"' "$W/posted" \
    || fail "the http report processor"
curl -sk "https://127.0.0.1:$P4/status/v1/services" | python3 -c 'import json,sys; r=json.load(sys.stdin)["master"]["status"]["reports"]; assert r["received"] >= 1 and r["http_sent"] >= 1 and r["stored"] >= 1, r' \
    || fail "report counts in /status/v1/services"
pass "report processors store and http: the report posted to reporturl as Puppet's YAML, counted in /status/v1/services"

# 7. back-pressure: one worker, no queue; concurrent slow compiles get 503 + Retry-After
C2=(-sk --cert "$N2/certs/node2.other.test.pem" --key "$N2/private_keys/node2.other.test.pem")
for i in 1 2 3 4; do
    curl "${C2[@]}" -D "$W/bp$i.h" -o /dev/null "https://127.0.0.1:$P3/puppet/v3/catalog/node2.other.test?environment=slow" &
done
wait_bp=0
while [ "$(ls "$W"/bp*.h 2>/dev/null | wc -l)" -lt 4 ] || [ "$(cat "$W"/bp*.h | grep -c '^HTTP/1.1')" -lt 4 ]; do
    sleep 0.2; wait_bp=$((wait_bp + 1)); [ $wait_bp -lt 150 ] || fail "back-pressure requests did not finish"
done
grep -l '^HTTP/1.1 503' "$W"/bp*.h > /dev/null || fail "no 503 under saturation: $(grep -h '^HTTP' "$W"/bp*.h)"
grep -il '^Retry-After: ' "$W"/bp*.h > /dev/null || fail "503 without Retry-After"
grep -l '^HTTP/1.1 200' "$W"/bp*.h > /dev/null || fail "no request was served under saturation"
rejected=$(curl -sk "https://127.0.0.1:$P3/status/v1/services" | python3 -c 'import json,sys; print(json.load(sys.stdin)["master"]["status"]["compile_pool"]["rejected"])')
[ "$rejected" -ge 1 ] || fail "status/v1/services does not count rejections"
pass "saturated pool: 503 + Retry-After, counted in /status/v1/services"

echo "master e2e: all passed"
