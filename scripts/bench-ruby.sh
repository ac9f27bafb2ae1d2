#!/bin/bash
# The Ruby helper's figures: start-up (to its greeting), resident memory, the cost of one
# warm call of a module Ruby function (against the same function written in Puppet), and the
# compile time of tests' `ruby_env` (a site that uses Ruby functions and a Ruby-built type).
#   scripts/bench-ruby.sh [CALLS]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CALLS="${1:-2000}"
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
cargo build --release -q -p troupe --manifest-path "$ROOT/Cargo.toml"
T="$ROOT/target/release/troupe"
HELPER="$ROOT/crates/troupe-rubyhost/ruby/helper.rb"
FACTS="$WORK/facts.json"
echo '{"os":{"family":"Debian"},"osfamily":"Debian","fqdn":"n1.example.test"}' > "$FACTS"

echo "== helper start-up (spawn to answer of a first request) and max RSS, 5 runs"
for _ in 1 2 3 4 5; do
  echo '{"id":1,"op":"ping"}' | /usr/bin/time -f "%e s %M KB" ruby "$HELPER" 2>&1 >/dev/null | tail -1
done

echo "== one warm call: $CALLS calls of a Ruby function vs the same in Puppet"
E="$WORK/environments"; mkdir -p "$E/ruby/manifests" "$E/pp/manifests"
M="$E/ruby/modules/b/lib/puppet/functions/b"; mkdir -p "$M" "$E/pp/modules/b/functions"
cat > "$M/add.rb" <<'RB'
Puppet::Functions.create_function(:'b::add') do
  dispatch :add do
    param 'Integer', :a
    param 'Integer', :b
  end
  def add(a, b)
    a + b
  end
end
RB
echo 'function b::add(Integer $a, Integer $b) { $a + $b }' > "$E/pp/modules/b/functions/add.pp"
for env in ruby pp; do
  echo "\$s = Integer[1, $CALLS].reduce(0) |\$m, \$i| { b::add(\$m, \$i) } notify { 'sum': message => \$s }" > "$E/$env/manifests/site.pp"
done
for env in ruby pp; do
  printf '%-5s ' "$env"; "$T" compile --codedir "$WORK" --environment "$env" --certname n1 --facts "$FACTS" --repeat 7
done

echo "== tests' ruby_env: the first compile (helper start included), then warm"
"$T" compile --codedir "$WORK" --environmentpath "$ROOT/crates/troupe-compiler/tests" --environment ruby_env \
  --basemodulepath '' --certname n1.example.test --facts "$FACTS" --repeat 10
