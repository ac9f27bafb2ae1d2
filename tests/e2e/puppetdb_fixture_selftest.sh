#!/bin/bash
# Self-test of puppetdb_fixture.sh and puppetdb_oracle.rb, without troupe:
#  - a throwaway CA (with a CRL), PuppetDB's server cert (localhost/127.0.0.1), a master client cert
#  - fixture start; replace_facts v5 + replace_catalog v9 for exporter.example.test (exports
#    Host[db.example.test] tagged db) posted with curl; poll /pdb/query/v4/resources until it shows
#  - the HTTPS port requires a client cert: refused without one, answers with the master's
#  - puppetdb_oracle.rb compiles collector.example.test (`Host <<| tag == 'db' |>>`) and the
#    collected Host is in its catalog; the collector's own @@host is filtered out; nothing was
#    written to PuppetDB by the oracle; --pdb-commands captures replace_facts/replace_catalog
#  - outage: stop-pdb, the oracle fails (exit 1, PuppetDB error on stderr); start-pdb, it
#    collects again; stop
# Exits non-zero on any failure. KEEP=1 keeps the temp dir (the fixture is stopped anyway).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
FIX="$HERE/puppetdb_fixture.sh"
ORACLE="$HERE/puppetdb_oracle.rb"
T=$(mktemp -d /tmp/pdb-selftest.XXXXXX)
chmod 711 "$T"   # PostgreSQL runs as the postgres user and must reach $T/fx/pg
FAILED=1

cleanup() {
  "$FIX" stop "$T/fx" || true
  if [ "$FAILED" = 1 ]; then
    echo "SELFTEST FAILED (logs: $T/fx/*.log)" >&2
    tail -n 20 "$T/fx/puppetdb.log" >&2 2>/dev/null || true
  fi
  if [ "${KEEP:-0}" = 1 ] || [ "$FAILED" = 1 ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# --- certificates -------------------------------------------------------------------------------
mkdir -p "$T/ca" "$T/ssl/certs" "$T/ssl/private_keys"
cd "$T/ca"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 7 -subj "/CN=Selftest CA" \
  -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
issue() { # issue NAME CN SAN
  openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 7 \
    -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$3") 2>/dev/null
}
issue pdb localhost "DNS:localhost,IP:127.0.0.1"
issue master master.example.test "DNS:master.example.test"
: >index.txt
echo 1000 >crlnumber
cat >ca.cnf <<EOF
[ca]
default_ca = CA_default
[CA_default]
database = $T/ca/index.txt
crlnumber = $T/ca/crlnumber
default_md = sha256
default_crl_days = 7
EOF
openssl ca -config ca.cnf -gencrl -keyfile ca.key -cert ca.crt -out crl.pem 2>/dev/null
cp ca.crt "$T/ssl/certs/ca.pem"
cp crl.pem "$T/ssl/crl.pem"
cp master.crt "$T/ssl/certs/master.example.test.pem"
cp master.key "$T/ssl/private_keys/master.example.test.pem"
cd "$T"

# --- fixture ------------------------------------------------------------------------------------
t=$(now)
urls=$("$FIX" start "$T/fx" "$T/ca/ca.crt" "$T/ca/crl.pem" "$T/ca/pdb.crt" "$T/ca/pdb.key")
T_START=$(since "$t")
echo "fixture: $urls"
eval "$urls"
[[ "$PDB_HTTPS" =~ ^https://127\.0\.0\.1:[0-9]+$ ]] || fail "bad PDB_HTTPS '$PDB_HTTPS'"
[[ "$PDB_HTTP" =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "bad PDB_HTTP '$PDB_HTTP'"
# second start is a no-op
[ "$("$FIX" start "$T/fx" "$T/ca/ca.crt" "$T/ca/crl.pem" "$T/ca/pdb.crt" "$T/ca/pdb.key" 2>/dev/null)" = "$urls" ] \
  || fail "second start printed something else"

# TLS: client certificate required on the HTTPS port
if curl -s --max-time 10 --cacert ca/ca.crt "$PDB_HTTPS/pdb/query/v4/nodes" >/dev/null 2>&1; then
  fail "HTTPS port answered without a client certificate"
fi
[ "$(curl -sS --max-time 10 --cacert ca/ca.crt --cert ca/master.crt --key ca/master.key "$PDB_HTTPS/pdb/query/v4/nodes")" = "[]" ] \
  || fail "HTTPS query with the master's certificate did not return []"

# --- commands -----------------------------------------------------------------------------------
TS=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
cat >facts.json <<EOF
{"certname": "exporter.example.test", "environment": "production", "producer_timestamp": "$TS",
 "producer": "master.example.test",
 "values": {"networking": {"fqdn": "exporter.example.test"}, "os": {"family": "Debian"}}}
EOF
SITE=/etc/puppet/code/environments/production/manifests/site.pp
cat >catalog.json <<EOF
{"certname": "exporter.example.test", "version": "1764900000", "environment": "production",
 "transaction_uuid": "11111111-1111-4111-8111-111111111111",
 "catalog_uuid": "22222222-2222-4222-8222-222222222222",
 "producer_timestamp": "$TS", "producer": "master.example.test", "code_id": null, "job_id": null,
 "resources": [
  {"type": "Stage", "title": "main", "exported": false, "tags": ["stage"], "parameters": {"name": "main"}},
  {"type": "Class", "title": "Main", "exported": false, "tags": ["class"], "parameters": {"name": "main"}},
  {"type": "Host", "title": "db.example.test", "exported": true, "file": "$SITE", "line": 2,
   "tags": ["host", "db", "class"],
   "parameters": {"ensure": "present", "ip": "192.0.2.10", "host_aliases": ["db"], "comment": "exported"}},
  {"type": "Host", "title": "other.example.test", "exported": true, "file": "$SITE", "line": 3,
   "tags": ["host", "other", "class"], "parameters": {"ip": "192.0.2.11"}}
 ],
 "edges": [
  {"source": {"type": "Stage", "title": "main"}, "target": {"type": "Class", "title": "Main"}, "relationship": "contains"},
  {"source": {"type": "Class", "title": "Main"}, "target": {"type": "Host", "title": "db.example.test"}, "relationship": "contains"},
  {"source": {"type": "Class", "title": "Main"}, "target": {"type": "Host", "title": "other.example.test"}, "relationship": "contains"}
 ]}
EOF
submit() { # submit COMMAND VERSION FILE
  local out
  out=$(curl -sS --max-time 30 -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary "@$3" "$PDB_HTTP/pdb/cmd/v1?command=$1&version=$2&certname=exporter.example.test&producer-timestamp=$TS")
  [ "$(tail -n1 <<<"$out")" = 200 ] || fail "$1: HTTP $(tail -n1 <<<"$out"): $out"
  python3 -c 'import json,sys; d = json.loads(sys.argv[1]); assert list(d) == ["uuid"], d' "$(sed '$d' <<<"$out")" \
    || fail "$1: unexpected response $out"
  echo "$1 v$2 -> $(sed '$d' <<<"$out" | tr -d ' \n')"
}
t=$(now)
submit replace_facts 5 facts.json
submit replace_catalog 9 catalog.json
Q='["and",["=","type","Host"],["=","exported",true],["=","title","db.example.test"]]'
rows='[]'
for _ in $(seq 1 600); do
  rows=$(curl -sS --max-time 10 -G "$PDB_HTTP/pdb/query/v4/resources" --data-urlencode "query=$Q")
  [ "$rows" != '[]' ] && break
  sleep 0.05
done
T_QUERYABLE=$(since "$t")
[ "$rows" != '[]' ] || fail "exported Host never became queryable"
echo "exported resource row: $rows"
python3 - "$rows" <<'EOF' || fail "unexpected resource row"
import json, sys
[r] = json.loads(sys.argv[1])
assert r["certname"] == "exporter.example.test" and r["exported"] is True, r
assert r["parameters"] == {"ensure": "present", "ip": "192.0.2.10", "host_aliases": ["db"], "comment": "exported"}, r
assert sorted(r["tags"]) == ["class", "db", "host"], r
assert r["environment"] == "production" and r["line"] == 2, r
EOF
facts=$(curl -sS -G "$PDB_HTTP/pdb/query/v4/facts" --data-urlencode 'query=["=","certname","exporter.example.test"]')
grep -q '"os"' <<<"$facts" || fail "facts not stored: $facts"

# --- oracle -------------------------------------------------------------------------------------
mkdir -p code/environments/production/manifests
cat >code/environments/production/manifests/site.pp <<'EOF'
node default {
  Host <<| tag == 'db' |>>
  @@host { $facts['networking']['fqdn']: ip => '192.0.2.20', tag => ['web'] }
  notify { "collected on ${facts['networking']['fqdn']}": }
}
EOF
echo '{"networking": {"fqdn": "collector.example.test"}, "os": {"family": "Debian"}}' >cfacts.json
t=$(now)
ruby "$ORACLE" code production collector.example.test cfacts.json ssl "$PDB_HTTPS" master.example.test \
  >oracle.json 2>oracle.err || { cat oracle.err >&2; fail "oracle failed"; }
T_ORACLE=$(since "$t")
python3 - oracle.json <<'EOF' || { cat oracle.err >&2; fail "collected Host missing or wrong in the oracle's catalog"; }
import json, sys
cat = json.load(open(sys.argv[1]))
res = {(r["type"], r["title"]): r for r in cat["resources"]}
h = res.get(("Host", "db.example.test"))
assert h, sorted(res)
assert h["exported"] is False, h
assert h["parameters"] == {"ensure": "present", "ip": "192.0.2.10", "host_aliases": ["db"], "comment": "exported"}, h
assert ("Host", "other.example.test") not in res, "tag filter ignored"
assert ("Host", "collector.example.test") not in res, "own exported resource not filtered out"
assert ("Notify", "collected on collector.example.test") in res
print("oracle: collected Host[db.example.test], tags", h["tags"])
EOF
# --pdb-commands: the commands puppetserver would submit, captured and not sent
ruby "$ORACLE" --pdb-commands cmds.json code production collector.example.test cfacts.json ssl "$PDB_HTTPS" \
  master.example.test >oracle3.json 2>oracle3.err || { cat oracle3.err >&2; fail "oracle --pdb-commands failed"; }
strip() { python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); d.pop("version"); d.pop("catalog_uuid"); print(json.dumps(d, sort_keys=True))' "$1"; }
[ "$(strip oracle.json)" = "$(strip oracle3.json)" ] || fail "--pdb-commands changed the agent's catalog"
python3 - cmds.json <<'EOF' || fail "unexpected captured commands"
import json, sys
cmds = {c["command"]: c for c in json.load(open(sys.argv[1]))}
assert {"replace_facts", "replace_catalog"} <= set(cmds), sorted(cmds)
f, c = cmds["replace_facts"], cmds["replace_catalog"]
assert f["version"] == 5 and c["version"] == 9 and c["certname"] == "collector.example.test", (f, c)
assert f["payload"]["producer"] == "master.example.test" and "trusted" in f["payload"]["values"], f
res = {(r["type"], r["title"]): r for r in c["payload"]["resources"]}
own = res[("Host", "collector.example.test")]
assert own["exported"] is True and "web" in own["tags"], own
assert res[("Host", "db.example.test")]["exported"] is False
print("captured commands:", ", ".join(f'{k} v{v["version"]}' for k, v in cmds.items()))
EOF
nodes=$(curl -sS -G "$PDB_HTTP/pdb/query/v4/nodes" --data-urlencode 'query=["=","certname","collector.example.test"]')
[ "$nodes" = '[]' ] || fail "the oracle wrote to PuppetDB: $nodes"
grep -q 'cmd/v1' <(grep -v 'certname=exporter.example.test' "$T/fx/puppetdb-access.log") \
  && fail "a command other than the test's own reached PuppetDB"

# --- outage -------------------------------------------------------------------------------------
"$FIX" stop-pdb "$T/fx"
"$FIX" stop-pdb "$T/fx"   # idempotent
if ruby "$ORACLE" code production collector.example.test cfacts.json ssl "$PDB_HTTPS" master.example.test \
  >/dev/null 2>oracle-down.err; then
  fail "oracle succeeded with PuppetDB down"
fi
grep -q 'Could not retrieve resources from the PuppetDB' oracle-down.err || { cat oracle-down.err >&2; fail "unexpected outage error"; }
echo "oracle with PuppetDB down: $(grep '^Error:' oracle-down.err | tail -n1)"

t=$(now)
[ "$("$FIX" start-pdb "$T/fx")" = "$urls" ] || fail "start-pdb printed other URLs"
T_RESTART=$(since "$t")
ruby "$ORACLE" code production collector.example.test cfacts.json ssl "$PDB_HTTPS" master.example.test \
  >oracle2.json 2>oracle2.err || { cat oracle2.err >&2; fail "oracle failed after start-pdb"; }
grep -q '"db.example.test"' oracle2.json || fail "collected Host missing after start-pdb"

"$FIX" stop "$T/fx"
"$FIX" stop "$T/fx"       # idempotent
[ ! -e "$T/fx/pdb.pid" ] && [ ! -e "$T/fx/pg.pid" ] || fail "pid files left behind"
FAILED=0
echo "timings (fixture.log):"; grep -h 'initdb\|up on\|running on\|stopped\|compiled' "$T/fx/fixture.log" | sed 's/^/  /'
echo "timings: fixture start (PostgreSQL + PuppetDB, first start) ${T_START} s; command -> queryable ${T_QUERYABLE} s; oracle compile ${T_ORACLE} s; PuppetDB restart ${T_RESTART} s"
echo "SELFTEST OK"
