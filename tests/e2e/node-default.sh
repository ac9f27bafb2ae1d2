#!/usr/bin/env bash
# The README's main command, end to end: `troupe node` with no config file runs its embedded
# default (a front on 127.0.0.1:8140 over two master instances, a CA in a directory with
# autosign), and a fresh real `puppet agent -t --server localhost` gets its certificate, its
# catalog (the starter environment's notify) and applies it, twice. Then SIGTERM stops the node
# and every role it started. The state directory is a scratch one (TROUPE_STATE_DIR); needs
# /etc/troupe/troupe.conf absent and port 8140 free on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${TROUPE_BIN:-$PWD/target/release/troupe}
W=$(mktemp -d /tmp/troupe-node-default.XXXXXX)
NODE=""
cleanup() {
    if [ -n "$NODE" ]; then kill "$NODE" 2>/dev/null || true; wait "$NODE" 2>/dev/null || true; fi
    if [ -n "${KEEP:-}" ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; tail -30 "$W/node.log" >&2; exit 1; }
pass() { echo "ok: $*"; }

[ -e /etc/troupe/troupe.conf ] && { echo "skip: /etc/troupe/troupe.conf exists (the default is not used)"; exit 0; }
if python3 -c 'import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(("127.0.0.1",8140))!=0)'; then
    fail "port 8140 on 127.0.0.1 is taken"
fi

export TROUPE_STATE_DIR=$W/state
"$BIN" node --check > "$W/check.out" || fail "node --check of the default"
grep -q 'the embedded default' "$W/check.out" || fail "check names the default: $(cat "$W/check.out")"
"$BIN" node --pidfile "$W/node.pid" > "$W/node.log" 2>&1 &
NODE=$!
for _ in $(seq 1 150); do
    curl -skf https://127.0.0.1:8140/puppet-ca/v1/certificate/ca -o /dev/null && break
    sleep 0.2
done
curl -skf https://127.0.0.1:8140/puppet-ca/v1/certificate/ca -o /dev/null || fail "the front never answered"
[ "$(cat "$W/node.pid")" = "$NODE" ] || fail "pidfile holds $(cat "$W/node.pid"), not $NODE"
pass "troupe node on its embedded default listens on 127.0.0.1:8140"

code_is_ours=true
[ -d /etc/puppet/code/environments/production ] && code_is_ours=false
A=$W/agent
for run in 1 2; do
    set +e
    timeout 120 puppet agent -t --confdir "$A/conf" --vardir "$A/var" --ssldir "$A/ssl" --publicdir "$A/public" \
        --logdir "$A/log" --rundir "$A/run" --codedir "$A/code" --server localhost --certname agent1.example.test \
        > "$W/agent.$run.out" 2>&1
    rc=$?
    set -e
    # 2: changes applied (the notify), 0: nothing to change.
    [ "$rc" = 0 ] || [ "$rc" = 2 ] || { cat "$W/agent.$run.out" >&2; fail "agent run $run exited $rc"; }
    if $code_is_ours; then
        grep -q 'Hello agent1.example.test: this catalog was compiled by troupe' "$W/agent.$run.out" \
            || { cat "$W/agent.$run.out" >&2; fail "agent run $run did not apply the starter notify"; }
    fi
done
pass "puppet agent -t --server localhost: certificate autosigned, catalog applied, twice"

kids=$(pgrep -P "$NODE" | tr '\n' ' ')
[ "$(echo $kids | wc -w)" = 3 ] || fail "expected 3 roles (2 masters, 1 front), found: $kids"
kill -TERM "$NODE"
for _ in $(seq 1 100); do kill -0 "$NODE" 2>/dev/null || break; sleep 0.1; done
kill -0 "$NODE" 2>/dev/null && fail "troupe node still runs 10 s after SIGTERM"
wait "$NODE" && rc=0 || rc=$?
NODE=""
[ "$rc" = 0 ] || fail "troupe node exited $rc after SIGTERM"
for k in $kids; do kill -0 "$k" 2>/dev/null && fail "role $k still runs after the node stopped"; done
[ -e "$W/node.pid" ] && fail "pidfile left behind"
pass "SIGTERM stopped the node and its 3 roles, exit 0, pidfile removed"
