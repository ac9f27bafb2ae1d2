#!/usr/bin/env bash
# Writes `troupe compile`'s raw output (stdout, stderr, exit code) for every conformance case
# into OUTDIR, one file per case, so two builds' outputs can be compared byte for byte:
#   scripts/compare-compile.sh /tmp/before; (change, rebuild); scripts/compare-compile.sh /tmp/after
#   diff -r /tmp/before /tmp/after
# Each case is compiled in a fixed directory so paths in the output are the same from run to run.
# Usage: scripts/compare-compile.sh OUTDIR [BINARY]
set -euo pipefail
out=${1:?usage: scripts/compare-compile.sh OUTDIR [BINARY]}
here=$(cd "$(dirname "$0")/.." && pwd)
binary=${2:-$here/target/release/troupe}
mkdir -p "$out"
python3 - "$here" "$out" "$binary" <<'PY'
import os, shutil, subprocess, sys
here, out, binary = sys.argv[1:4]
sys.path.insert(0, os.path.join(here, 'scripts'))
import conformance as c
if not os.path.isdir(c.LAB_ENVS):
    # In a git worktree the shared directory sits beside the main checkout, not beside this one.
    common = subprocess.run(['git', '-C', here, 'rev-parse', '--path-format=absolute', '--git-common-dir'],
                            capture_output=True, text=True).stdout.strip()
    c.LAB_ENVS = os.path.join(os.path.dirname(os.path.dirname(common)), 'shared/lab/puppet/lab/code/environments')
work = os.path.join('/tmp', 'troupe-compare-compile')
for case in c.parse_bundles():
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    envdir = c.materialize(case, work)
    cmd = [binary, 'compile', '--codedir', work, '--environment', c.envname(case), '--certname', case['certname'],
           '--facts', c.facts_path(case), '--basemodulepath', c.BASEMODULEPATH, '--normalize']
    for sf in c.SERVER_FACTS:
        cmd += ['--server-fact', sf]
    if case['extensions']:
        cmd += ['--extensions', case['extensions']]
    p = subprocess.run(cmd, capture_output=True, cwd=envdir)
    with open(os.path.join(out, case['name']), 'wb') as f:
        f.write(b'== exit %d\n== stdout\n' % p.returncode + p.stdout + b'\n== stderr\n' + p.stderr)
shutil.rmtree(work, ignore_errors=True)
print(f'wrote {len(os.listdir(out))} outputs to {out}')
PY
