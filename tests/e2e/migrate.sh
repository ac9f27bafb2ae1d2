#!/usr/bin/env bash
# `troupe migrate` against a real puppetserver install (puppetserver 7.9.5, Debian's packages,
# through the lab scripts of ../shared/lab/puppet/lab), on loopback only:
#   1. a lab puppetserver instance with its own CA is started on SSL_PORT (default 18350), and
#      the real agent gets its certificate from it (autosign) and its catalog;
#   2. puppetserver is stopped; `troupe migrate` reads the instance's layout (puppet.conf,
#      conf.d, the CA directory, the server's certificate) and writes a troupe node config;
#   3. `troupe node` starts with that config on the same port, and the same agent runs again:
#      same certificate file, same serial, no new request; a new agent gets the next serial of
#      puppetserver's CA, and the inventory continues; the source directories are unchanged.
# Heavy (puppetserver takes minutes to start on a busy box), so scripts/test.sh runs it only
# when puppetserver and the lab are installed. Every process started here is stopped by PID on
# exit, and the scratch directory is removed (KEEP=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=${TROUPE_BIN:-$ROOT/target/release/troupe}
SHARED="${TROUPE_SHARED:-$ROOT/../shared}"
LAB="$SHARED/lab/puppet/lab"
if ! command -v puppetserver >/dev/null 2>&1 || [ ! -x "$LAB/setup-master.sh" ]; then
    echo "skipped: needs puppetserver and the lab scripts in $LAB"
    exit 0
fi
T0=$(date +%s)
W=$(mktemp -d /tmp/troupe-migrate.XXXXXX)
export LAB_ROOT=$W/lab SSL_PORT=${SSL_PORT:-18350} CERTNAME=puppet.migrate.test DNS_ALT_NAMES=puppet,localhost
INST=$LAB_ROOT/m1
NODE_PID=
cleanup() {
    [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null || true
    [ -f "$INST/run/server.pid" ] && "$LAB/stop-master.sh" m1 >/dev/null 2>&1 || true
    if [ -n "${KEEP:-}" ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$W"/*.log; do echo "--- $f" >&2; tail -30 "$f" >&2; done; exit 1; }
pass() { echo "ok: $*"; }
agent() { # dir -> runs the agent, output in $W/agent-N.log
    local n=$1 rc=0
    puppet agent -t --config "$2/puppet.conf" > "$W/agent-$n.log" 2>&1 || rc=$?
    # 0: no changes, 2: changes applied
    [ "$rc" = 0 ] || [ "$rc" = 2 ] || fail "agent run $n exited $rc"
    grep -q 'Hello, I am Master 1' "$W/agent-$n.log" || fail "agent run $n did not apply the catalog"
}
serial() { openssl x509 -noout -serial -in "$1" | cut -d= -f2; }

# --- 1. puppetserver with its own CA, and an agent signed by it
"$LAB/setup-master.sh" m1 > "$W/setup.log"
JAVA_HEAP=${JAVA_HEAP:--Xms256m -Xmx768m} "$LAB/start-master.sh" m1 > "$W/puppetserver-start.log" 2>&1 ||
    fail "puppetserver did not start"
pass "puppetserver: $(cat "$W/puppetserver-start.log")"
A1=$("$LAB/setup-agent.sh" a1.example.test localhost "$SSL_PORT")
agent 1 "$A1"
C1=$A1/conf/ssl/certs/a1.example.test.pem
SUM1=$(sha256sum < "$C1")
S1=$(serial "$C1")
pass "agent a1 signed by puppetserver's CA (serial $S1) and applied its catalog"
"$LAB/stop-master.sh" m1 > /dev/null
NEXT=$(cat "$INST/ca/serial")
snapshot() { (cd "$INST" && find ca confdir conf.d code -type f -print0 | sort -z | xargs -0 sha256sum; find ca confdir -printf '%p %m\n' | sort); }
snapshot > "$W/source-before.txt"

# --- 2. migrate
"$BIN" migrate --from "$INST" --to "$W/troupe.conf" --ssldir "$W/troupe-ssl" --dry-run > "$W/dry.txt" 2> "$W/migrate-dry.log" ||
    fail "migrate --dry-run"
[ ! -e "$W/troupe.conf" ] && [ ! -e "$W/troupe-ssl" ] || fail "--dry-run wrote files"
"$BIN" migrate --from "$INST" --to "$W/troupe.conf" --ssldir "$W/troupe-ssl" 2> "$W/migrate.log" || fail "migrate"
diff <(grep -v '^#' "$W/dry.txt") <(grep -v '^#' "$W/troupe.conf") > /dev/null || fail "--dry-run printed another config"
grep -qx "codedir = $INST/code" "$W/troupe.conf" || fail "codedir not mapped"
grep -qx "listen = 127.0.0.1:$SSL_PORT" "$W/troupe.conf" || fail "ssl-host/ssl-port not mapped"
grep -qx "autosign = $INST/confdir/autosign.conf" "$W/troupe.conf" || fail "autosign not mapped"
grep -q "^warning: .*environment_timeout" "$W/migrate.log" || fail "an unmapped setting was not reported"
cmp -s "$INST/confdir/ssl/certs/$CERTNAME.pem" "$W/troupe-ssl/certs/$CERTNAME.pem" || fail "server certificate not reused"
pass "migrate: $(grep -c '^mapped:' "$W/migrate.log") mapped, $(grep -c '^warning:' "$W/migrate.log") warnings"
BASE=$((20000 + RANDOM % 20000))
sed -i "s/^\[master\]$/[master]\ninstances = 1\nbase_port = $BASE/" "$W/troupe.conf"
"$BIN" node --config "$W/troupe.conf" --check > "$W/check.log" 2>&1 || fail "node --check"

# --- 3. troupe node on the same port, the same agent, then a new one
"$BIN" node --config "$W/troupe.conf" > "$W/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 1 300); do
    [ "$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$SSL_PORT/status/v1/simple" || true)" = 200 ] && break
    kill -0 "$NODE_PID" 2>/dev/null || fail "troupe node exited"
    sleep 0.2
done
agent 2 "$A1"
[ "$(sha256sum < "$C1")" = "$SUM1" ] || fail "a1's certificate changed"
[ "$(serial "$C1")" = "$S1" ] || fail "a1's serial changed"
grep -q 'Certificate Request\|Requesting certificate' "$W/agent-2.log" && fail "a1 asked for a new certificate"
pass "agent a1 ran against troupe with its puppetserver certificate (serial $S1)"
A2=$("$LAB/setup-agent.sh" a2.example.test localhost "$SSL_PORT")
agent 3 "$A2"
S2=$(serial "$A2/conf/ssl/certs/a2.example.test.pem")
[ "$((16#$S2))" = "$((16#$NEXT))" ] || fail "a2 got serial $S2, puppetserver's CA was at $NEXT"
grep -q "^0x$(printf '%04x' "$((16#$NEXT))") .*/CN=a2.example.test$" "$W/troupe-ssl/ca/inventory.txt" || fail "inventory does not continue"
grep -q "/CN=a1.example.test$" "$W/troupe-ssl/ca/inventory.txt" || fail "inventory lost a1"
pass "a new agent got the CA's next serial ($S2) and the inventory continues"
snapshot > "$W/source-after.txt"
diff "$W/source-before.txt" "$W/source-after.txt" > /dev/null || fail "the source install changed"
pass "the puppetserver install is unchanged"
echo "migrate e2e passed in $(( $(date +%s) - T0 )) s"
