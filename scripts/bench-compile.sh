#!/bin/bash
# Compile benchmark: troupe vs the Ruby Puppet compiler, both warm (code parsed once, then
# compiled N times in one process), in the same run on the same machine.
#   scripts/bench-compile.sh [N]
# Cases: the lab's `rich` environment (node4 facts), a synthetic site of 100 classes x 10 notify,
# and real modules from Debian's puppet-module-* packages: apache with two vhosts, and
# `include keystone`.
# Both sides keep each environment for the whole run: troupe with `--environment-timeout
# unlimited`, the Ruby side with Puppet's `environment_timeout = unlimited` (see
# scripts/bench/ruby-warm-compile.rb), so neither looks at the disk for changed code between
# compiles.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${TROUPE_SHARED:-$ROOT/../shared}"
N="${1:-50}"
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
cargo build --release -q -p troupe --manifest-path "$ROOT/Cargo.toml"
T="$ROOT/target/release/troupe"
FACTS="$ROOT/conformance/facts/debian12.json"

mkdir -p "$WORK/environments"
cp -r "$SHARED/lab/puppet/lab/code/environments/rich" "$WORK/environments/rich"
S="$WORK/environments/synthetic"; mkdir -p "$S/manifests"
echo 'modulepath = modules' > "$S/environment.conf"
python3 - "$S/manifests/site.pp" <<'PY'
import sys
with open(sys.argv[1], 'w') as f:
    for c in range(100):
        f.write(f"class synth::c{c} (Integer $n = {c}) {{\n")
        for r in range(10):
            f.write(f"  notify {{ 'c{c}-r{r}': message => \"class ${{name}} n=${{n}} r={r}\" }}\n")
        f.write("}\n")
    f.write("node default {\n")
    for c in range(100):
        f.write(f"  include synth::c{c}\n")
    f.write("}\n")
PY

A="$WORK/environments/apache"; mkdir -p "$A/manifests"
echo 'modulepath = modules:/usr/share/puppet/modules' > "$A/environment.conf"
cat > "$A/manifests/site.pp" <<'PP'
class { 'apache': default_vhost => false }
apache::vhost { 'www.example.test': port => 80, docroot => '/var/www/www' }
apache::vhost { 'api.example.test': port => 8080, docroot => '/var/www/api' }
PP
K="$WORK/environments/keystone"; mkdir -p "$K/manifests"
echo 'modulepath = modules:/usr/share/puppet/modules' > "$K/environment.conf"
echo 'include keystone' > "$K/manifests/site.pp"

run() { # name env [facts]
  local tr rb facts=${3:-$FACTS}
  tr=$("$T" compile --codedir "$WORK" --environment "$2" --certname node4.example.test --facts "$facts" \
        --basemodulepath /etc/puppet/code/modules:/usr/share/puppet/modules \
        --environment-timeout unlimited --repeat "$N")
  rb=$(ruby "$ROOT/scripts/bench/ruby-warm-compile.rb" "$WORK/environments" "$2" node4.example.test "$facts" "$N" 2>/dev/null)
  local tm rm
  tm=$(sed -E 's/.*median_ms=([0-9.]+).*/\1/' <<<"$tr")
  rm=$(sed -E 's/.*median_ms=([0-9.]+).*/\1/' <<<"$rb")
  printf '%-10s troupe: %s\n%-10s ruby:   %s\n' "$1" "$tr" "$1" "$rb"
  python3 -c "t=$tm; r=$rm; print(f'$1: troupe {t:.3f} ms ({1000/t:.0f} compiles/s) vs ruby {r:.3f} ms ({1000/r:.1f}/s): {r/t:.1f}x faster')"
}
run rich rich
run synthetic synthetic
if [ -d /usr/share/puppet/modules/keystone ]; then
  run apache apache
  run keystone keystone "$ROOT/conformance/facts/debian12-openstack.json"
fi
