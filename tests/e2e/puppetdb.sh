#!/usr/bin/env bash
# End to end with a real PuppetDB 7.12 + PostgreSQL 15 (tests/e2e/puppetdb_fixture.sh) and the
# real Puppet 7 agent, against two `troupe master` processes of one pool (one CA directory),
# both with `storeconfigs = true` and `reports = store, puppetdb`, on loopback only:
#   1. two agents export @@file resources through master A; a third agent, compiled by master
#      B, collects them and writes the files; PuppetDB holds their facts, catalogs and reports;
#   2. the collector's catalog equals the Ruby compiler's with the PuppetDB terminus
#      (tests/e2e/puppetdb_oracle.rb) for the same facts and the same PuppetDB;
#   3. the catalog troupe stored for an exporter equals the one puppetserver's terminus stores
#      (its replace_catalog captured by the oracle and submitted under another name);
#   4. a catalog request without facts compiles with the node's facts from PuppetDB;
#   5. PuppetDB stopped: every agent run succeeds, commands wait in the masters' queues;
#      PuppetDB started again: all are delivered, every report counted in PuppetDB.
# Every process started here is stopped by PID on exit; the scratch directory is removed.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=${TROUPE_BIN:-$ROOT/target/release/troupe}
SHARED=${TROUPE_SHARED:-$ROOT/../shared}
FIX=$ROOT/tests/e2e/puppetdb_fixture.sh
ORACLE=$ROOT/tests/e2e/puppetdb_oracle.rb
W=$(mktemp -d /tmp/troupe-pdb.XXXXXX)
chmod 711 "$W"   # PostgreSQL runs as the postgres user and must reach $W/fx/pg
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    "$FIX" stop "$W/fx" > /dev/null 2>&1 || true
    if [ -n "${KEEP:-}" ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    for f in "$W"/*.log "$W/fx/puppetdb.log"; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
    exit 1
}
pass() { echo "ok: $*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
t0=$(date +%s)

# --- the code: exporters export their host line; the collector gathers them
ENVS=$W/code/environments
mkdir -p "$ENVS/production/manifests" "$W/out"
cat > "$ENVS/production/manifests/site.pp" <<EOF
node /^exporter/ {
  @@file { "$W/out/hosts.d/\${trusted['certname']}":
    content => "\${trusted['certname']} \${facts['os']['family']}\n",
    tag     => ['hosts'],
  }
  @@notify { "not for collection from \${trusted['certname']}": tag => 'other' }
  notify { "exporter \${trusted['certname']}": }
}
node /^collector/ {
  file { "$W/out/hosts.d": ensure => directory }
  File <<| tag == 'hosts' and title != '$W/out/hosts.d/none' |>> { mode => '0640' }
  notify { "collector \${trusted['certname']}": }
}
EOF
printf '*.example.test\n' > "$W/autosign.conf"
# A real module's exported resources: puppetlabs-haproxy's balancer members (Debian's package).
mkdir -p "$ENVS/lb/manifests"
echo 'modulepath = modules:/usr/share/puppet/modules' > "$ENVS/lb/environment.conf"
cat > "$ENVS/lb/manifests/site.pp" <<'EOF'
node /^web/ {
  @@haproxy::balancermember { "member-${trusted['certname']}":
    listening_service => 'puppet00',
    ports             => '8140',
    server_names      => $trusted['certname'],
    ipaddresses       => '192.0.2.10',
    options           => 'check',
  }
}
node /^lb/ {
  class { 'haproxy': }
  haproxy::listen { 'puppet00': collect_exported => true, ipaddress => '192.0.2.1', ports => '8140' }
}
EOF

# --- the CA, and PuppetDB's certificate from it
CA=(--ssldir "$W/ssl" --certname puppet.example.test --keylength 2048)
"$BIN" ca "${CA[@]}" generate localhost --dns-alt-names "IP:127.0.0.1" --out "$W/pdbcert" > "$W/ca.log" 2>&1 \
    || fail "troupe ca generate: $(cat "$W/ca.log")"
CA_CRT=$W/ssl/ca/ca_crt.pem
[ -f "$CA_CRT" ] || fail "no CA certificate in $W/ssl/ca"
urls=$("$FIX" start "$W/fx" "$CA_CRT" "$W/ssl/ca/ca_crl.pem" "$W/pdbcert/localhost.pem" "$W/pdbcert/localhost.key.pem" 2> "$W/fixture.log") \
    || fail "PuppetDB fixture: $(tail -5 "$W/fixture.log")"
eval "$urls"
echo "  PuppetDB up at $PDB_HTTPS after $(( $(date +%s) - t0 )) s"
printf '[main]\nserver_urls = %s\nserver_url_timeout = 10\n' "$PDB_HTTPS" > "$W/puppetdb.conf"

# --- two masters of one pool (one CA directory), both storing in PuppetDB
PA=$(free_port); PB=$(free_port)
for m in a b; do
    cat > "$W/$m.conf" <<EOF
[master]
storeconfigs = true
storeconfigs_backend = puppetdb
reports = store, puppetdb
puppetdb_conf = $W/puppetdb.conf
puppetdb_queue = $W/queue-$m
EOF
done
"$BIN" master --config "$W/a.conf" --listen "127.0.0.1:$PA" --codedir "$W/code" --basemodulepath "$W/none" \
    --ssldir "$W/ssl" --certname puppet.example.test --dns-alt-names localhost --autosign "$W/autosign.conf" \
    --keylength 2048 --reportdir "$W/reports-a" > "$W/master-a.log" 2>&1 &
PIDS+=($!)
"$BIN" master --config "$W/b.conf" --listen "127.0.0.1:$PB" --codedir "$W/code" --basemodulepath "$W/none" \
    --ssldir "$W/ssl-b" --cadir "$W/ssl/ca" --certname puppet-b.example.test --dns-alt-names localhost \
    --autosign "$W/autosign.conf" --keylength 2048 --reportdir "$W/reports-b" > "$W/master-b.log" 2>&1 &
PIDS+=($!)
for p in $PA $PB; do
    for _ in $(seq 1 100); do curl -sfk "https://127.0.0.1:$p/status/v1/simple" > /dev/null 2>&1 && break; sleep 0.1; done
    curl -sfk "https://127.0.0.1:$p/status/v1/simple" > /dev/null || fail "master on $p did not start"
done

agent() { # certname port -> exit code; output in $W/<certname>.out
    local n=$1 port=$2 d=$W/agents/$1
    mkdir -p "$d/conf"
    set +e
    timeout 120 puppet agent -t --confdir "$d/conf" --vardir "$d/var" --ssldir "$d/ssl" --publicdir "$d/public" \
        --logdir "$d/log" --rundir "$d/run" --codedir "$d/code" --server localhost --masterport "$port" \
        --certname "$n" > "$W/$n.out" 2>&1
    local rc=$?
    set -e
    return $rc
}
run_ok() { # certname port: exit 0 or 2 (changes)
    local rc=0
    agent "$1" "$2" || rc=$?
    [ "$rc" = 0 ] || [ "$rc" = 2 ] || fail "$1 via $2 exited $rc: $(grep -v /proc/1/environ "$W/$1.out" | tail -15)"
}
pdb_get() { curl -sS --max-time 10 -G "$PDB_HTTP$1" ${2:+--data-urlencode "query=$2"}; }
wait_pdb() { # what query-path query expected-count
    for _ in $(seq 1 150); do
        [ "$(pdb_get "$2" "$3" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)" = "$4" ] && return 0
        sleep 0.2
    done
    fail "PuppetDB: $1: $(pdb_get "$2" "$3" | head -c 400)"
}

# 1. export through A, collect through B
run_ok exporter1.example.test "$PA"
run_ok exporter2.example.test "$PA"
wait_pdb "the two exported host files" /pdb/query/v4/resources '["and",["=","type","File"],["=","exported",true],["=","tag","hosts"]]' 2
run_ok collector.example.test "$PB"
for n in exporter1 exporter2; do
    f=$W/out/hosts.d/$n.example.test
    [ -f "$f" ] || fail "the collector did not write $f: $(tail -15 "$W/collector.example.test.out")"
    grep -q "^$n.example.test Debian" "$f" || fail "$f: $(cat "$f")"
    [ "$(stat -c %a "$f")" = 640 ] || fail "the collector's override (mode) is not applied to $f"
done
[ ! -e "$W/out/hosts.d/collector.example.test" ] || fail "a node collected its own export"
grep -q "Notice: not for collection" "$W/collector.example.test.out" && fail "the collector got a resource its query excludes"
completed() { curl -sk "https://127.0.0.1:$1/status/v1/services" | python3 -c 'import json,sys; print(json.load(sys.stdin)["master"]["status"]["compile_pool"]["completed"])'; }
[ "$(completed "$PB")" = 1 ] || fail "master B compiled $(completed "$PB") catalogs, expected only the collector's"
wait_pdb "three nodes' facts" /pdb/query/v4/factsets '["~","certname","example.test$"]' 3
wait_pdb "three catalogs" /pdb/query/v4/catalogs '["~","certname","example.test$"]' 3
wait_pdb "three reports" /pdb/query/v4/reports '["~","certname","example.test$"]' 3
pdb_get /pdb/query/v4/nodes/exporter1.example.test/facts | python3 -c '
import json, sys
f = {r["name"]: r["value"] for r in json.load(sys.stdin)}
assert f["trusted"]["certname"] == "exporter1.example.test" and f["trusted"]["authenticated"] == "remote", f["trusted"]
assert f["os"]["family"] == "Debian"' || fail "the exporter's facts in PuppetDB"
pass "two agents exported through master A, a third collected through master B (files written, override applied); facts, catalogs and reports of all three are in PuppetDB"

# 2. the collector's catalog against the Ruby compiler with the PuppetDB terminus
FACTS=$ROOT/conformance/facts/debian12.json
C=$W/agents/collector.example.test/ssl
CURLC=(-sS --cacert "$C/certs/ca.pem" --cert "$C/certs/collector.example.test.pem" --key "$C/private_keys/collector.example.test.pem")
python3 -c 'import json,sys,urllib.parse; f=json.load(open(sys.argv[1])); v=f.get("values",f); print("environment=production&facts_format=application%2Fjson&facts="+urllib.parse.quote(json.dumps({"name":"collector.example.test","values":v})))' "$FACTS" > "$W/form"
curl "${CURLC[@]}" -o "$W/troupe-collector.json" -w '%{http_code}' --data @"$W/form" \
    "https://localhost:$PB/puppet/v3/catalog/collector.example.test" > "$W/code.txt"
[ "$(cat "$W/code.txt")" = 200 ] || fail "catalog POST: $(cat "$W/code.txt") $(head -c 300 "$W/troupe-collector.json")"
mkdir -p "$W/oracle-ssl/certs" "$W/oracle-ssl/private_keys"
cp "$CA_CRT" "$W/oracle-ssl/certs/ca.pem"
cp "$W/ssl/certs/puppet.example.test.pem" "$W/oracle-ssl/certs/"
cp "$W/ssl/private_keys/puppet.example.test.pem" "$W/oracle-ssl/private_keys/"
ruby "$ORACLE" "$W/code" production collector.example.test "$FACTS" "$W/oracle-ssl" "$PDB_HTTPS" puppet.example.test \
    > "$W/ruby-collector.json" 2> "$W/oracle.log" || fail "the oracle: $(tail -5 "$W/oracle.log")"
python3 "$SHARED/lab/puppet/oracle/catalog-diff.py" "$W/troupe-collector.json" "$W/ruby-collector.json" > "$W/diff.txt" \
    || fail "the collector's catalog differs from the Ruby compiler's: $(head -30 "$W/diff.txt")"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert sum(1 for r in c["resources"] if r["type"]=="File" and "/hosts.d/" in r["title"])==2' \
    "$W/troupe-collector.json" || fail "the compared catalog does not hold the two collected files"
pass "the collector's catalog equals the Ruby compiler's with the PuppetDB terminus (same facts, same PuppetDB)"

# 2b. the same with a real module: haproxy's exported balancer members
if [ -d /usr/share/puppet/modules/haproxy ]; then
    post_catalog() { # node environment out: the catalog POSTed with the facts file, as the node
        "$BIN" ca "${CA[@]}" generate "$1" --out "$W/certs-$1" > /dev/null 2>&1 || fail "troupe ca generate $1"
        python3 -c 'import json,sys,urllib.parse; f=json.load(open(sys.argv[1])); v=f.get("values",f); print("environment="+sys.argv[3]+"&facts_format=application%2Fjson&facts="+urllib.parse.quote(json.dumps({"name":sys.argv[2],"values":v})))' \
            "$FACTS" "$1" "$2" > "$W/form-$1"
        code=$(curl -sS --cacert "$CA_CRT" --cert "$W/certs-$1/$1.pem" --key "$W/certs-$1/$1.key.pem" -o "$3" -w '%{http_code}' \
            --data @"$W/form-$1" "https://localhost:$PB/puppet/v3/catalog/$1")
        [ "$code" = 200 ] || fail "catalog of $1: $code $(head -c 400 "$3")"
    }
    post_catalog web1.example.test lb "$W/web1.json"
    post_catalog web2.example.test lb "$W/web2.json"
    wait_pdb "the balancer members" /pdb/query/v4/resources '["and",["=","type","Haproxy::Balancermember"],["=","exported",true]]' 2
    post_catalog lb.example.test lb "$W/troupe-lb.json"
    ruby "$ORACLE" "$W/code" lb lb.example.test "$FACTS" "$W/oracle-ssl" "$PDB_HTTPS" puppet.example.test \
        > "$W/ruby-lb.json" 2> "$W/oracle-lb.log" || fail "the oracle (lb): $(tail -5 "$W/oracle-lb.log")"
    python3 "$SHARED/lab/puppet/oracle/catalog-diff.py" "$W/troupe-lb.json" "$W/ruby-lb.json" > "$W/diff-lb.txt" \
        || fail "the haproxy collector's catalog differs from the Ruby compiler's: $(head -30 "$W/diff-lb.txt")"
    python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); n=[r["title"] for r in c["resources"] if r["type"]=="Concat::Fragment" and "balancermember_member-web" in r["title"]]; assert len(n)==2, n' \
        "$W/troupe-lb.json" || fail "the haproxy catalog lacks the two members' fragments"
    pass "puppetlabs-haproxy: two nodes' exported balancer members collected by the load balancer's haproxy::listen, equal to the Ruby compiler's catalog"
fi

# 3. the catalog troupe stored for exporter1 against the one the terminus would store
pdb_get /pdb/query/v4/nodes/exporter1.example.test/facts > "$W/e1-facts-rows.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(json.dumps({"values":{x["name"]:x["value"] for x in r if x["name"]!="trusted"}}))' \
    "$W/e1-facts-rows.json" > "$W/e1-facts.json"
ruby "$ORACLE" --pdb-commands "$W/e1-commands.json" "$W/code" production exporter1.example.test "$W/e1-facts.json" \
    "$W/oracle-ssl" "$PDB_HTTPS" puppet.example.test > /dev/null 2> "$W/oracle-e1.log" || fail "the oracle (exporter1): $(tail -5 "$W/oracle-e1.log")"
python3 - "$W/e1-commands.json" > "$W/e1-ruby-cmd.json" <<'PY'
import json, sys
cmds = json.load(open(sys.argv[1]))
c = next(c for c in cmds if c["command"].replace(" ", "_") == "replace_catalog")
p = c["payload"]
p["certname"] = "ruby-exporter1.example.test"
print(json.dumps(p))
PY
ts=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["producer_timestamp"])' "$W/e1-ruby-cmd.json")
code=$(curl -sS -o "$W/submit.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data @"$W/e1-ruby-cmd.json" \
    "$PDB_HTTP/pdb/cmd/v1?command=replace_catalog&version=9&certname=ruby-exporter1.example.test&producer-timestamp=$ts")
[ "$code" = 200 ] || fail "submitting the terminus's catalog: $code $(cat "$W/submit.out")"
wait_pdb "the terminus's catalog" /pdb/query/v4/catalogs '["=","certname","ruby-exporter1.example.test"]' 1
for n in exporter1.example.test ruby-exporter1.example.test; do
    pdb_get "/pdb/query/v4/catalogs/$n/resources" > "$W/res-$n.json"
    pdb_get "/pdb/query/v4/catalogs/$n/edges" > "$W/edges-$n.json"
done
python3 - "$W" <<'PY' || fail "the catalog troupe stored for exporter1 differs from the terminus's"
import json, sys
w = sys.argv[1]
def load(n):
    res = json.load(open(f"{w}/res-{n}.json"))
    # The edges endpoint answers every catalog's edges: keep this node's.
    edges = [e for e in json.load(open(f"{w}/edges-{n}.json")) if e.get("certname") == n]
    rs = sorted(json.dumps({k: r.get(k) for k in ("type", "title", "exported", "parameters", "line")}
                           | {"tags": sorted(r["tags"]), "file": (r.get("file") or "").split("/environments/")[-1]},
                           sort_keys=True) for r in res)
    es = sorted(json.dumps({k: e[k] for k in ("source_type", "source_title", "target_type", "target_title", "relationship")},
                           sort_keys=True) for e in edges)
    return rs, es
a, b = load("exporter1.example.test"), load("ruby-exporter1.example.test")
if a != b:
    print("resources only troupe:", sorted(set(a[0]) - set(b[0]))[:5])
    print("resources only ruby:", sorted(set(b[0]) - set(a[0]))[:5])
    print("edges only troupe:", sorted(set(a[1]) - set(b[1]))[:5])
    print("edges only ruby:", sorted(set(b[1]) - set(a[1]))[:5])
    sys.exit(1)
assert len(a[0]) >= 5 and len(a[1]) >= 4, a
print(f"  exporter1 in PuppetDB: {len(a[0])} resources, {len(a[1])} edges, equal to the terminus's")
PY
pass "PuppetDB holds the same catalog for exporter1 from troupe as from puppetserver's terminus (resources, parameters, tags, edges)"

# 4. a catalog request without facts uses the node's facts in PuppetDB
E1=$W/agents/exporter1.example.test/ssl
curl -sS --cacert "$E1/certs/ca.pem" --cert "$E1/certs/exporter1.example.test.pem" --key "$E1/private_keys/exporter1.example.test.pem" \
    -o "$W/nofacts.json" "https://localhost:$PB/puppet/v3/catalog/exporter1.example.test?environment=production"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert any(r["title"]=="exporter exporter1.example.test" for r in c["resources"]), c' \
    "$W/nofacts.json" || fail "catalog without facts: $(head -c 300 "$W/nofacts.json")"
pass "a catalog request without facts compiled with the node's facts from PuppetDB"

# 5. PuppetDB stopped during agent runs
reports_before=$(pdb_get /pdb/query/v4/reports '["~","certname","example.test$"]' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
"$FIX" stop-pdb "$W/fx" > /dev/null 2>> "$W/fixture.log" || fail "stop-pdb"
runs=0
for i in 1 2 3; do
    run_ok exporter1.example.test "$PA"
    run_ok exporter2.example.test "$PB"
    runs=$((runs + 2))
done
waiting() { curl -sk "https://127.0.0.1:$1/status/v1/services" | python3 -c 'import json,sys; print(json.load(sys.stdin)["master"]["status"]["puppetdb"]["waiting"])'; }
wa=$(waiting "$PA"); wb=$(waiting "$PB")
[ "$wa" -ge 3 ] && [ "$wb" -ge 3 ] || fail "commands waiting while PuppetDB is down: A $wa, B $wb"
echo "  PuppetDB down: $runs agent runs succeeded; commands waiting: master A $wa, master B $wb"
"$FIX" start-pdb "$W/fx" > /dev/null 2>> "$W/fixture.log" || fail "start-pdb"
for _ in $(seq 1 300); do
    [ "$(waiting "$PA")" = 0 ] && [ "$(waiting "$PB")" = 0 ] && break
    sleep 0.2
done
[ "$(waiting "$PA")" = 0 ] && [ "$(waiting "$PB")" = 0 ] || fail "the queues did not drain after PuppetDB came back"
wait_pdb "every report" /pdb/query/v4/reports '["~","certname","example.test$"]' $((reports_before + runs))
grep -q "PuppetDB takes commands again" "$W/master-a.log" || fail "master A did not log the end of the outage"
pass "PuppetDB stopped: $runs/$runs agent runs succeeded, their commands waited and were delivered after the restart ($runs reports counted in PuppetDB, none lost)"
echo "  puppetdb e2e: $(( $(date +%s) - t0 )) s"
