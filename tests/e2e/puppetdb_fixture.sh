#!/bin/bash
# Test fixture: a private PostgreSQL 15 + PuppetDB 7.12 (Debian packages), run from DIR only.
#
#   puppetdb_fixture.sh start DIR CA_CRT CRL_OR_EMPTY CERT KEY
#       initdb (first time) + start PostgreSQL on a free 127.0.0.1 port (unix socket in DIR/pg),
#       create role+db puppetdb with pg_trgm, then start PuppetDB (config in DIR/pdb) and wait
#       until /status/v1/services/puppetdb-status says "running". Prints on stdout:
#         PDB_HTTPS=https://127.0.0.1:PORT PDB_HTTP=http://127.0.0.1:PORT2
#       CERT is PuppetDB's server certificate (for localhost/127.0.0.1, signed by CA_CRT), KEY its
#       private key (any format openssl reads; converted to PKCS#8 in DIR). The HTTPS port requires
#       a client certificate signed by CA_CRT; the HTTP port is plain text on 127.0.0.1.
#   puppetdb_fixture.sh stop DIR        stop PuppetDB, then PostgreSQL (by recorded PID, waits)
#   puppetdb_fixture.sh stop-pdb DIR    stop only PuppetDB (outage tests)
#   puppetdb_fixture.sh start-pdb DIR   start PuppetDB again on the same ports (PostgreSQL must run)
#   puppetdb_fixture.sh urls DIR        print the PDB_HTTPS=... PDB_HTTP=... line again
#
# Everything is idempotent: starting a running service only re-checks it, stopping a stopped one
# does nothing. Ports are chosen on the first start and kept in DIR/ports.env, so a restarted
# PuppetDB answers on the same URLs. Only processes whose PID is recorded in DIR and whose command
# line names DIR are ever signalled. Nothing outside DIR is written.
#
# Environment: PDB_START_TIMEOUT (seconds, default 300), PDB_JAVA_ARGS (default below),
# PDB_AOT_CACHE (directory, default DIR/pdb/aot; "off" disables it): Debian's puppetdb.jar ships
# only puppetlabs.puppetdb.core AOT-compiled, so every start compiles ~14k classes from Clojure
# source (~30 s here). The fixture compiles the services' namespaces once into this directory
# (~25 s, keyed by the jars' and java's identity) and puts it first on the classpath: a PuppetDB
# start then takes ~9 s. Point it at a directory shared between runs to pay the compile once.
# PostgreSQL refuses to run as root: when run as root, initdb/postgres run as the `postgres` user
# (setpriv), DIR/pg is chowned to it, and DIR gets o+x if that user could not traverse it.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PDB_JAR=${PDB_JAR:-/usr/share/puppetdb/puppetdb.jar}
PDB_JAVA_ARGS=${PDB_JAVA_ARGS:--Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:ActiveProcessorCount=2 -Djava.security.egd=file:/dev/urandom}
PDB_START_TIMEOUT=${PDB_START_TIMEOUT:-300}
PDB_AOT_CACHE=${PDB_AOT_CACHE:-}
PDB_DB_PASSWORD=puppetdb

die() { echo "puppetdb_fixture: $*" >&2; exit 1; }
# messages go to stderr and to DIR/fixture.log (with a timestamp)
log() {
  echo "puppetdb_fixture: $*" >&2
  if [ -d "${DIR:-/nonexistent}" ]; then echo "$(date -u +%FT%TZ) $*" >>"$DIR/fixture.log"; fi
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# run a command as the postgres user when we are root (PostgreSQL refuses root)
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
  else
    "$@"
  fi
}

# is PID (from FILE) alive and ours (its command line mentions DIR)?
ours_alive() {
  local file=$1 pid
  [ -s "$file" ] || return 1
  pid=$(head -n1 "$file")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$DIR/" || return 1
  echo "$pid"
}

# stop_pid FILE SIGNAL NAME: signal the recorded process, wait up to 60 s, then SIGKILL it
stop_pid() {
  local file=$1 sig=$2 name=$3 pid i
  if ! pid=$(ours_alive "$file"); then
    rm -f "$file"
    return 0
  fi
  kill "-$sig" "$pid" 2>/dev/null || true
  for i in $(seq 1 600); do
    [ -e "/proc/$pid" ] || break
    # a zombie child of nobody we know: gone for our purposes
    if grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then break; fi
    sleep 0.1
  done
  if [ -e "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
    log "$name (pid $pid) did not stop in 60 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$file"
  log "$name stopped"
}

load_ports() {
  [ -s "$DIR/ports.env" ] || die "$DIR/ports.env missing: run start first"
  # shellcheck disable=SC1091
  . "$DIR/ports.env"
}

print_urls() {
  echo "PDB_HTTPS=https://127.0.0.1:$PDB_SSL_PORT PDB_HTTP=http://127.0.0.1:$PDB_PORT"
}

start_pg() {
  local t0 pid i
  t0=$(now)
  mkdir -p "$DIR/pg"
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$DIR/pg"
    if ! as_pg test -x "$DIR" ; then chmod o+x "$DIR"; fi
    as_pg test -w "$DIR/pg" || die "the postgres user cannot reach $DIR/pg (a parent directory is not searchable)"
  fi
  chmod 700 "$DIR/pg"
  if pid=$(ours_alive "$DIR/pg.pid"); then
    log "PostgreSQL already running (pid $pid)"
    return 0
  fi
  if [ ! -s "$DIR/pg/data/PG_VERSION" ]; then
    # superuser password (needed for password auth on TCP; the fixture itself uses the socket)
    (umask 077; echo postgres >"$DIR/pg/pwfile")
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$DIR/pg/pwfile"; fi
    as_pg "$PG_BIN/initdb" -D "$DIR/pg/data" -U postgres -E UTF8 --locale=C \
      --auth-local=trust --auth-host=scram-sha-256 --pwfile="$DIR/pg/pwfile" >"$DIR/pg/initdb.log" 2>&1 \
      || { cat "$DIR/pg/initdb.log" >&2; die "initdb failed"; }
    rm -f "$DIR/pg/pwfile"
    log "initdb done in $(elapsed "$t0") s"
  fi
  rm -f "$DIR/pg/data/postmaster.pid"   # stale after a crash/kill; we checked no recorded postgres runs
  local as=()
  if [ "$(id -u)" = 0 ]; then as=(setpriv --reuid=postgres --regid=postgres --init-groups --); fi
  setsid nohup "${as[@]}" \
    "$PG_BIN/postgres" -D "$DIR/pg/data" -p "$PG_PORT" -k "$DIR/pg" -c listen_addresses=127.0.0.1 \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50 \
    -c shared_buffers=32MB -c logging_collector=off \
    </dev/null >>"$DIR/postgres.log" 2>&1 &
  echo $! >"$DIR/pg.pid"
  for i in $(seq 1 300); do
    if "$PG_BIN/pg_isready" -q -h "$DIR/pg" -p "$PG_PORT" -U postgres; then break; fi
    ours_alive "$DIR/pg.pid" >/dev/null || { tail -n 20 "$DIR/postgres.log" >&2; die "PostgreSQL exited"; }
    sleep 0.1
  done
  "$PG_BIN/pg_isready" -q -h "$DIR/pg" -p "$PG_PORT" -U postgres || die "PostgreSQL did not accept connections in 30 s"
  local psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR/pg" -p "$PG_PORT" -U postgres)
  if [ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'puppetdb'")" != 1 ]; then
    "${psql[@]}" -c "CREATE ROLE puppetdb LOGIN PASSWORD '$PDB_DB_PASSWORD'"
  fi
  if [ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = 'puppetdb'")" != 1 ]; then
    "${psql[@]}" -c "CREATE DATABASE puppetdb OWNER puppetdb ENCODING 'UTF8' TEMPLATE template0"
  fi
  "${psql[@]}" -d puppetdb -c "CREATE EXTENSION IF NOT EXISTS pg_trgm"
  log "PostgreSQL up on 127.0.0.1:$PG_PORT in $(elapsed "$t0") s"
}

write_pdb_config() {
  local ca=$1 crl=$2 cert=$3 key=$4 c="$DIR/pdb"
  mkdir -p "$c/conf.d" "$c/ssl" "$c/var"
  cp "$ca" "$c/ssl/ca.pem"
  cp "$cert" "$c/ssl/cert.pem"
  (umask 077; openssl pkey -in "$key" -out "$c/ssl/key.pem") || die "cannot read private key $key"
  local crl_line=''
  if [ -n "$crl" ]; then
    cp "$crl" "$c/ssl/crl.pem"
    crl_line="ssl-crl-path = $c/ssl/crl.pem"
  fi
  cat >"$c/conf.d/config.ini" <<EOF
[global]
vardir = $c/var
logging-config = $c/logback.xml

[puppetdb]
disable-update-checking = true

[command-processing]
threads = 1
EOF
  cat >"$c/conf.d/database.ini" <<EOF
[database]
subname = //127.0.0.1:$PG_PORT/puppetdb
username = puppetdb
password = $PDB_DB_PASSWORD
EOF
  cat >"$c/conf.d/jetty.ini" <<EOF
[jetty]
host = 127.0.0.1
port = $PDB_PORT
ssl-host = 127.0.0.1
ssl-port = $PDB_SSL_PORT
ssl-key = $c/ssl/key.pem
ssl-cert = $c/ssl/cert.pem
ssl-ca-cert = $c/ssl/ca.pem
$crl_line
access-log-config = $c/request-logging.xml
EOF
  cp /etc/puppetdb/conf.d/auth.conf "$c/conf.d/auth.conf"
  grep -v dashboard /etc/puppetdb/bootstrap.cfg >"$c/bootstrap.cfg"
  cat >"$c/logback.xml" <<EOF
<configuration>
  <appender name="F1" class="ch.qos.logback.core.FileAppender">
    <file>$DIR/puppetdb.log</file>
    <append>true</append>
    <encoder><pattern>%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5p [%c{2}] %m%n</pattern></encoder>
  </appender>
  <logger name="org.eclipse.jetty" level="warn"/>
  <root level="info"><appender-ref ref="F1"/></root>
</configuration>
EOF
  cat >"$c/request-logging.xml" <<EOF
<configuration debug="false">
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>$DIR/puppetdb-access.log</file>
    <append>true</append>
    <encoder><pattern>%h %l %u [%t] "%r" %s %b %D</pattern></encoder>
  </appender>
  <appender-ref ref="FILE" />
</configuration>
EOF
}

# identity of what the AOT classes were compiled from: the jars on PuppetDB's classpath and java
aot_stamp() {
  {
    java -version 2>&1
    stat -L -c '%n %s %Y' "$PDB_JAR"
    unzip -p "$PDB_JAR" META-INF/MANIFEST.MF | tr -d '\r\n ' | sed 's/.*Class-Path://; s/Created-By.*//' \
      | grep -o '/usr/share/java/[^/]*\.jar' | xargs -r stat -L -c '%n %s %Y' 2>/dev/null
  } | sha256sum | cut -c1-16
}

# print the classpath for PuppetDB, compiling the AOT cache first when it is missing; the cache
# has one subdirectory per stamp, so a stale one is never overwritten under a running PuppetDB
pdb_classpath() {
  local base=${PDB_AOT_CACHE:-$DIR/pdb/aot} cache tmp t0 nss
  if [ "$base" = off ]; then echo "$PDB_JAR"; return; fi
  cache="$base/$(aot_stamp)"
  if [ ! -e "$cache/.complete" ]; then
    t0=$(now)
    mkdir -p "$base"
    tmp=$(mktemp -d "$base/tmp.XXXXXX")
    nss=$(sed -n 's|^\(puppetlabs\.[^/#]*\)/.*|\1|p' "$DIR/pdb/bootstrap.cfg" | sort -u | tr '\n' ' ')
    # shellcheck disable=SC2086
    if java $PDB_JAVA_ARGS -Xmx512m -cp "$tmp:$PDB_JAR" clojure.main -e "
        (binding [*compile-path* \"$tmp\"]
          (doseq [n '[puppetlabs.puppetdb.core puppetlabs.trapperkeeper.main $nss]] (compile n)))" \
        >"$DIR/aot-compile.log" 2>&1; then
      touch "$tmp/.complete"
      mv -T "$tmp" "$cache" 2>/dev/null || rm -rf "$tmp"   # another fixture may have won the race
      log "compiled PuppetDB's namespaces into $cache in $(elapsed "$t0") s"
    else
      rm -rf "$tmp"
      log "AOT compile failed (see $DIR/aot-compile.log); starting PuppetDB from source"
      echo "$PDB_JAR"
      return
    fi
  fi
  echo "$cache:$PDB_JAR"
}

pdb_state() {
  curl -s --max-time 5 "http://127.0.0.1:$PDB_PORT/status/v1/services/puppetdb-status" 2>/dev/null \
    | python3 -c 'import json,sys; print(json.load(sys.stdin).get("state",""))' 2>/dev/null || true
}

start_pdb() {
  local t0 pid
  t0=$(now)
  ours_alive "$DIR/pg.pid" >/dev/null || die "PostgreSQL is not running (start it with: $0 start ...)"
  if pid=$(ours_alive "$DIR/pdb.pid"); then
    log "PuppetDB already running (pid $pid)"
  else
    rm -f "$DIR/pdb/restart"
    local cp
    cp=$(pdb_classpath)
    # shellcheck disable=SC2086
    setsid nohup java $PDB_JAVA_ARGS -XX:OnOutOfMemoryError="kill -9 %p" \
      -cp "$cp" clojure.main -m puppetlabs.puppetdb.core services \
      --config "$DIR/pdb/conf.d" --bootstrap-config "$DIR/pdb/bootstrap.cfg" \
      --restart-file "$DIR/pdb/restart" \
      </dev/null >>"$DIR/puppetdb-stdout.log" 2>&1 &
    echo $! >"$DIR/pdb.pid"
  fi
  local deadline state=''
  deadline=$(( $(date +%s) + PDB_START_TIMEOUT ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    state=$(pdb_state)
    [ "$state" = running ] && break
    if ! ours_alive "$DIR/pdb.pid" >/dev/null; then
      tail -n 30 "$DIR/puppetdb.log" "$DIR/puppetdb-stdout.log" >&2 2>/dev/null || true
      die "PuppetDB exited during startup (logs: $DIR/puppetdb.log, $DIR/puppetdb-stdout.log)"
    fi
    sleep 0.5
  done
  if [ "$state" != running ]; then
    tail -n 30 "$DIR/puppetdb.log" >&2 2>/dev/null || true
    die "PuppetDB not running after ${PDB_START_TIMEOUT} s (state '${state}'); it is left running: $0 stop $DIR"
  fi
  log "PuppetDB running on https://127.0.0.1:$PDB_SSL_PORT and http://127.0.0.1:$PDB_PORT after $(elapsed "$t0") s"
}

cmd=${1:-}
[ $# -ge 2 ] || die "usage: $0 start DIR CA_CRT CRL_OR_EMPTY CERT KEY | stop DIR | stop-pdb DIR | start-pdb DIR | urls DIR"
DIR=$(realpath -m -- "$2")
DIR=${DIR%/}

case "$cmd" in
  start)
    [ $# -eq 6 ] || die "usage: $0 start DIR CA_CRT CRL_OR_EMPTY CERT KEY"
    ca=$3 crl=$4 cert=$5 key=$6
    for f in "$ca" "$cert" "$key" ${crl:+"$crl"}; do [ -r "$f" ] || die "cannot read $f"; done
    mkdir -p "$DIR"
    if [ ! -s "$DIR/ports.env" ]; then
      PG_PORT=$(free_port); PDB_PORT=$(free_port); PDB_SSL_PORT=$(free_port)
      while [ "$PDB_PORT" = "$PG_PORT" ]; do PDB_PORT=$(free_port); done
      while [ "$PDB_SSL_PORT" = "$PG_PORT" ] || [ "$PDB_SSL_PORT" = "$PDB_PORT" ]; do PDB_SSL_PORT=$(free_port); done
      printf 'PG_PORT=%s\nPDB_PORT=%s\nPDB_SSL_PORT=%s\n' "$PG_PORT" "$PDB_PORT" "$PDB_SSL_PORT" >"$DIR/ports.env"
    fi
    load_ports
    start_pg
    ours_alive "$DIR/pdb.pid" >/dev/null || write_pdb_config "$ca" "$crl" "$cert" "$key"
    start_pdb
    print_urls
    ;;
  start-pdb)
    load_ports
    [ -s "$DIR/pdb/conf.d/jetty.ini" ] || die "no PuppetDB config in $DIR/pdb: run start first"
    start_pdb
    print_urls
    ;;
  stop-pdb)
    stop_pid "$DIR/pdb.pid" TERM PuppetDB
    ;;
  stop)
    stop_pid "$DIR/pdb.pid" TERM PuppetDB
    # SIGINT = PostgreSQL's "fast" shutdown (disconnects clients)
    stop_pid "$DIR/pg.pid" INT PostgreSQL
    ;;
  urls)
    load_ports
    print_urls
    ;;
  *)
    die "unknown command '$cmd'"
    ;;
esac
