#!/usr/bin/env bash
# The Debian package end to end, as root on a host without troupe installed: builds it
# (scripts/package-deb.sh), installs it with dpkg -i (twice: the second is an upgrade's
# configure), checks the files, owners and modes, the troupe user, `systemd-analyze verify` on
# every unit, `troupe node --check` on the packaged config and `troupe node` on it as the troupe
# user (the front answers, the CA is created in /var/lib/troupe/ssl); then dpkg -r (the conffile and
# the state stay) and dpkg -P (everything gone). On any failure the package is purged.
# `--no-build` packages target/release/troupe as it is.
set -euo pipefail
cd "$(dirname "$0")/../.."
build_flag=()
[ "${1:-}" = --no-build ] && build_flag=(--no-build)

[ "$(id -u)" = 0 ] || { echo "deb.sh: needs root (dpkg -i)" >&2; exit 1; }
if dpkg-query -W -f='${Status}' troupe 2>/dev/null | grep -qv 'not-installed'; then
  echo "deb.sh: a troupe package is already on this host; refusing to replace and purge it" >&2
  exit 1
fi
wants=/etc/systemd/system/multi-user.target.wants
if getent passwd troupe >/dev/null || [ -e /var/lib/troupe ] || [ -e /etc/troupe ] \
  || [ -L "$wants/troupe-node.service" ] || [ -L "$wants/troupe-master@1.service" ]; then
  echo "deb.sh: a troupe user, /var/lib/troupe, /etc/troupe or an enabled troupe unit exists already; refusing to purge it" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/troupe-deb-test.XXXXXX")
cleanup() {
  rm -f "$wants/troupe-node.service" "$wants/troupe-master@1.service"
  if dpkg-query -W -f='${Status}' troupe 2>/dev/null | grep -qv 'not-installed'; then
    dpkg -P troupe >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "deb.sh: FAIL: $*" >&2; exit 1; }
# expect PATH "MODE OWNER GROUP" (stat's %a %U %G)
expect() {
  [ -e "$1" ] || fail "$1 is missing"
  got=$(stat -c '%a %U %G' "$1")
  [ "$got" = "$2" ] || fail "$1 is '$got', expected '$2'"
}
gone() { for p in "$@"; do [ ! -e "$p" ] || fail "$p is still there"; done; }
status() { dpkg-query -W -f='${db:Status-Abbrev}' troupe 2>/dev/null | tr -d ' ' || true; }

start=$(date +%s)
echo "-- build"
deb=$(scripts/package-deb.sh "${build_flag[@]}" --out "$work" | tail -1)
echo "$deb: $(stat -c %s "$deb") bytes"
version=$(awk '/^\[workspace.package\]/{p=1; next} /^\[/{p=0} p && /^version *=/{gsub(/[" ]/, ""); sub(/^version=/, ""); print; exit}' Cargo.toml)
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "the package's version is not Cargo.toml's $version"

if command -v lintian >/dev/null 2>&1; then
  echo "-- lintian (errors and warnings fail; the overrides are packaging/debian/lintian-overrides)"
  lint=$(lintian --fail-on error,warning "$deb" 2>&1) || { echo "$lint" >&2; fail "lintian"; }
  echo "$lint" | grep -v 'running with root privileges' || true
fi
echo "-- dpkg -i"
dpkg -i "$deb" >/dev/null
[ "$(status)" = ii ] || fail "dpkg status is '$(status)' after dpkg -i"
echo "-- dpkg -i again (an upgrade's configure: the user and directories are kept)"
dpkg -i "$deb" >/dev/null
[ "$(status)" = ii ] || fail "dpkg status is '$(status)' after the second dpkg -i"

echo "-- files, owners and modes"
units="troupe-node.service troupe-master@.service troupe-front.service troupe-vrrp.service"
expect /usr/bin/troupe "755 root root"
if readelf -S /usr/bin/troupe | grep -q '\.symtab'; then fail "/usr/bin/troupe is not stripped"; fi
/usr/bin/troupe --version >/dev/null || fail "/usr/bin/troupe --version"
for u in $units; do expect "/lib/systemd/system/$u" "644 root root"; done
expect /etc/troupe "755 root root"
expect /etc/troupe/troupe.conf "644 root root"
dpkg-query -W -f='${Conffiles}\n' troupe | grep -q '^ /etc/troupe/troupe.conf ' || fail "troupe.conf is not a conffile"
for f in copyright changelog.gz README.md.gz; do expect "/usr/share/doc/troupe/$f" "644 root root"; done
expect /usr/share/man/man1/troupe.1.gz "644 root root"
expect /usr/share/lintian/overrides/troupe "644 root root"
expect /var/lib/troupe "750 troupe troupe"
expect /var/lib/troupe/ssl "771 troupe troupe"
expect /var/lib/troupe/reports "750 troupe troupe"
expect /var/log/troupe "750 troupe troupe"

echo "-- the troupe user"
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd troupe) || fail "no troupe user"
[ "$uid" -lt 1000 ] || fail "troupe's uid $uid is not a system uid"
[ "$(getent group troupe | cut -d: -f3)" = "$gid" ] || fail "troupe's primary group is not troupe"
[ "$home" = /var/lib/troupe ] || fail "troupe's home is $home"
case "$shell" in */nologin|*/false) ;; *) fail "troupe's shell is $shell" ;; esac

echo "-- systemd-analyze verify (offline: units are loaded in a test manager, nothing runs)"
for u in $units; do
  # A template is checked through an instance of it.
  name=${u/@./@check.}
  out=$(systemd-analyze verify --man=no "/lib/systemd/system/$u:$name" 2>&1) || fail "systemd-analyze verify $u: $out"
  # verify exits 0 on some warnings (unknown keys, bad values it ignores): none are allowed.
  [ -z "$out" ] || fail "systemd-analyze verify $u: $out"
done

echo "-- troupe node --check on the packaged config, as root and as the troupe user"
/usr/bin/troupe node --check --config /etc/troupe/troupe.conf >"$work/check.out" || { cat "$work/check.out" >&2; fail "troupe node --check"; }
grep -q 'the configuration is valid' "$work/check.out" || fail "troupe node --check did not say the file is valid"
runuser -u troupe -- /usr/bin/troupe node --check --config /etc/troupe/troupe.conf >/dev/null || fail "troupe node --check as the troupe user"

echo "-- troupe node on the packaged config as the troupe user, in a private network namespace"
# Its own loopback, so 127.0.0.1:8140 is free whatever runs on the host; the node's children
# die with it (and the namespace with them).
unshare -n bash -c '
  set -e
  ip link set lo up
  runuser -u troupe -- /usr/bin/troupe node --config /etc/troupe/troupe.conf >"$1/node.log" 2>&1 &
  pid=$!
  trap "kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true" EXIT
  for _ in $(seq 1 150); do
    if curl -sfk https://127.0.0.1:8140/status/v1/simple >/dev/null 2>&1; then exit 0; fi
    kill -0 $pid 2>/dev/null || exit 1
    sleep 0.2
  done
  exit 1' _ "$work" || { cat "$work/node.log" >&2; fail "troupe node did not serve on 127.0.0.1:8140 as the troupe user"; }
expect /var/lib/troupe/ssl/ca/ca_key.pem "640 troupe troupe"
expect /var/lib/troupe/ssl/private_keys "750 troupe troupe"

echo "-- dpkg -r: the conffile, the state and the user stay"
echo "# an admin's edit" >> /etc/troupe/troupe.conf
touch /var/lib/troupe/ssl/state-of-the-ca
dpkg -r troupe >/dev/null
[ "$(status)" = rc ] || fail "dpkg status is '$(status)' after dpkg -r, expected rc"
gone /usr/bin/troupe /usr/share/doc/troupe /usr/share/man/man1/troupe.1.gz /usr/share/lintian/overrides/troupe
for u in $units; do gone "/lib/systemd/system/$u"; done
grep -q "an admin's edit" /etc/troupe/troupe.conf || fail "the conffile did not survive dpkg -r"
[ -e /var/lib/troupe/ssl/state-of-the-ca ] || fail "the state did not survive dpkg -r"
getent passwd troupe >/dev/null || fail "the troupe user did not survive dpkg -r"

echo "-- dpkg -P: everything is gone, links of units an admin enabled too"
mkdir -p "$wants"
ln -s /lib/systemd/system/troupe-node.service "$wants/troupe-node.service"
ln -s /lib/systemd/system/troupe-master@.service "$wants/troupe-master@1.service"
dpkg -P troupe >/dev/null
gone "$wants/troupe-node.service" "$wants/troupe-master@1.service"
[ -z "$(status)" ] || [ "$(status)" = un ] || fail "dpkg status is '$(status)' after dpkg -P"
gone /etc/troupe /var/lib/troupe /var/log/troupe
if getent passwd troupe >/dev/null; then fail "the troupe user is still there"; fi
if getent group troupe >/dev/null; then fail "the troupe group is still there"; fi

echo "deb.sh: ok ($(( $(date +%s) - start )) s)"
