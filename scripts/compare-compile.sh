#!/bin/sh
# Compile every conformance case with a troupe binary into OUT/NAME.{out,err,rc}, so two builds'
# outputs can be compared byte for byte: `diff -r BEFORE AFTER`.
#
#   scripts/compare-compile.sh OUT [BINARY]
#
# Each case is materialized at the same fixed path (under $TMPDIR/troupe-compare) as
# scripts/conformance.py would, so file paths in catalogs and messages do not vary.
set -eu
out=${1:?usage: compare-compile.sh OUT [BINARY]}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${2:-$root/target/release/troupe}
mkdir -p "$out"
exec python3 - "$root" "$out" "$bin" <<'PY'
import os, shutil, subprocess, sys, tempfile
root, out, binary = sys.argv[1:4]
sys.path.insert(0, os.path.join(root, 'scripts'))
import importlib.util
spec = importlib.util.spec_from_file_location('conformance', os.path.join(root, 'scripts/conformance.py'))
conf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(conf)
# A worktree's sibling `shared/` may be absent: TROUPE_SHARED names the lab checkout then.
if os.environ.get('TROUPE_SHARED'):
    conf.LAB_ENVS = os.path.join(os.environ['TROUPE_SHARED'], 'lab/puppet/lab/code/environments')
work = os.path.join(tempfile.gettempdir(), 'troupe-compare')
for case in conf.parse_bundles():
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    envdir = conf.materialize(case, work)
    cmd = [binary, 'compile', '--codedir', work, '--environment', conf.envname(case), '--certname',
           case['certname'], '--facts', conf.facts_path(case), '--basemodulepath', conf.BASEMODULEPATH,
           '--normalize']
    for sf in conf.SERVER_FACTS:
        cmd += ['--server-fact', sf]
    if case['extensions']:
        cmd += ['--extensions', case['extensions']]
    p = subprocess.run(cmd, capture_output=True, cwd=envdir)
    base = os.path.join(out, case['name'])
    open(base + '.out', 'wb').write(p.stdout)
    open(base + '.err', 'wb').write(p.stderr)
    open(base + '.rc', 'w').write(f'{p.returncode}\n')
shutil.rmtree(work, ignore_errors=True)
print(f'{len(conf.parse_bundles())} cases compiled into {out}')
PY
