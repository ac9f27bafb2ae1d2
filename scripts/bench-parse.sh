#!/usr/bin/env bash
# Parse throughput over the module corpus: troupe parser validate vs puppet parser validate
# (Debian's puppet-agent), on the same files, in the same run. Prints both wall times and
# the ratio. Usage: scripts/bench-parse.sh [CORPUS_DIR] [RUNS]
set -euo pipefail
corpus=${1:-/usr/share/puppet/modules}
runs=${2:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
troupe=${TROUPE_BIN:-$here/target/release/troupe}
[ -x "$troupe" ] || (cd "$here" && cargo build --release -p troupe >/dev/null)
list=$(mktemp)
trap 'rm -f "$list"' EXIT
find -L "$corpus" -name '*.pp' | sort > "$list"
files=$(wc -l < "$list")
lines=$(xargs cat < "$list" | wc -l)
bytes=$(xargs cat < "$list" | wc -c)
now() { date +%s.%N; }
best_troupe=999999
for _ in $(seq "$runs"); do
  t0=$(now); xargs "$troupe" parser validate < "$list" 2>/dev/null || true; t1=$(now)
  t=$(echo "$t1 - $t0" | bc -l)
  best_troupe=$(echo "if ($t < $best_troupe) $t else $best_troupe" | bc -l)
done
best_puppet=999999
for _ in $(seq "$runs"); do
  t0=$(now); xargs -n 100000 puppet parser validate --color=false < "$list" >/dev/null 2>&1 || true; t1=$(now)
  t=$(echo "$t1 - $t0" | bc -l)
  best_puppet=$(echo "if ($t < $best_puppet) $t else $best_puppet" | bc -l)
done
printf 'corpus: %d .pp files, %d lines, %d bytes (%s)\n' "$files" "$lines" "$bytes" "$corpus"
printf 'troupe parser validate: best of %d: %.3f s  (%.0f lines/s)\n' "$runs" "$best_troupe" "$(echo "$lines / $best_troupe" | bc -l)"
printf 'puppet parser validate: best of %d: %.3f s  (%.0f lines/s)\n' "$runs" "$best_puppet" "$(echo "$lines / $best_puppet" | bc -l)"
printf 'ratio (puppet / troupe): %.1fx\n' "$(echo "$best_puppet / $best_troupe" | bc -l)"
