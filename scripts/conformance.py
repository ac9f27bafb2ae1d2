#!/usr/bin/env python3
"""Catalog conformance harness: troupe vs the Ruby Puppet compiler (Debian puppet-agent).

Cases live in conformance/cases/*.txt bundles:

    === NAME [certname=C] [facts=F] [extensions=JSON] [env=lab:rich]
    --- manifests/site.pp          (any path inside the environment)
    ...code...

Each case becomes an environment directory. Golden results from the oracle are kept in
conformance/expected/NAME.json (a normalized catalog) or NAME.err (the error message).

    scripts/conformance.py                 # compile every case with troupe, compare with goldens
    scripts/conformance.py --oracle        # also run the Ruby compiler live and compare with it
    scripts/conformance.py --regen         # rewrite goldens from the Ruby compiler
    scripts/conformance.py -k NAME         # only cases whose name contains NAME

Cases not yet equal (work in progress) are listed in conformance/pending.txt, and must fail
like known differences.
Known differences are listed in conformance/known-differences.txt (NAME  reason). A listed
case must fail; if it passes the harness fails, so the list stays true.
"""
import argparse, concurrent.futures, json, os, re, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spec_coverage  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONF = os.path.join(ROOT, 'conformance')
SHARED = os.environ.get('TROUPE_SHARED') or os.path.join(os.path.dirname(ROOT), 'shared')
ORACLE = os.path.join(SHARED, 'lab/puppet/oracle/oracle-compile.sh')
ORACLE_RB = os.path.join(SHARED, 'lab/puppet/oracle/oracle-compile.rb')
LAB_ENVS = os.path.join(SHARED, 'lab/puppet/lab/code/environments')
BASEMODULEPATH = '/etc/puppet/code/modules:/usr/share/puppet/modules'
SERVER_FACTS = ['servername=puppet.example.test', 'serverip=127.0.0.1']


def module_libs(envdir):
    """The `lib` directories of the modules on the environment's modulepath (only those: a
    3.x function on Ruby's load path is found even outside the modulepath)."""
    modulepath = 'modules'
    conf = os.path.join(envdir, 'environment.conf')
    if os.path.exists(conf):
        for line in open(conf):
            k, _, v = line.partition('=')
            if k.strip() == 'modulepath':
                modulepath = v.strip()
    dirs = []
    for d in modulepath.split(':'):
        if d == '$basemodulepath':
            dirs += BASEMODULEPATH.split(':')
        else:
            dirs.append(d if os.path.isabs(d) else os.path.join(envdir, d))
    return [os.path.join(d, m, 'lib') for d in dirs if os.path.isdir(d)
            for m in sorted(os.listdir(d)) if os.path.isdir(os.path.join(d, m, 'lib'))]


def parse_bundles():
    cases = []
    for fn in sorted(os.listdir(os.path.join(CONF, 'cases'))):
        if not fn.endswith('.txt'):
            continue
        cur, path = None, None
        for line in open(os.path.join(CONF, 'cases', fn), encoding='utf-8'):
            if line.startswith('=== '):
                words = line[4:].split()
                cur = {'name': words[0], 'files': {}, 'certname': 'node1.example.test', 'facts': 'debian12',
                       'extensions': None, 'env': None, 'bundle': fn, 'spec': []}
                for w in words[1:]:
                    k, _, v = w.partition('=')
                    if k == 'spec':
                        # spec=unit/functions/abs:14,24 (may repeat): the Puppet 7.23 spec examples covered.
                        cur['spec'].append(v)
                    else:
                        cur[k] = v
                cases.append(cur)
                path = None
            elif line.startswith('--- ') and cur is not None:
                path = line[4:].strip()
                cur['files'][path] = ''
            elif cur is not None and path is not None:
                cur['files'][path] += line
    names = [c['name'] for c in cases]
    dups = {n for n in names if names.count(n) > 1}
    if dups:
        sys.exit(f'duplicate case names: {sorted(dups)}')
    return cases


def envname(case):
    """Puppet environment names allow only [a-z0-9_]."""
    return case['name'].replace('-', '_')


def materialize(case, tmp):
    envdir = os.path.join(tmp, 'environments', envname(case))
    if case['env'] and case['env'].startswith('lab:'):
        shutil.copytree(os.path.join(LAB_ENVS, case['env'][4:]), envdir)
    else:
        os.makedirs(envdir)
        with open(os.path.join(envdir, 'environment.conf'), 'w') as f:
            f.write('modulepath = modules\n')
    for p, text in case['files'].items():
        # `/code/...` files go to the code dir itself (the global `hiera.yaml` and its data).
        full = os.path.join(tmp, p[len('/code/'):]) if p.startswith('/code/') else os.path.join(envdir, p)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, 'w', encoding='utf-8') as f:
            f.write(text)
    return envdir


def facts_path(case):
    return os.path.join(CONF, 'facts', case['facts'] + '.json')


def normalize_catalog(text, envdir):
    c = json.loads(text)
    c['version'] = 0
    c['catalog_uuid'] = '00000000-0000-0000-0000-000000000000'
    for r in c.get('resources', []):
        if r.get('file'):
            r['file'] = r['file'].replace(envdir + '/', '')
    return c


def normalize_error(stderr, envdir):
    # The last error wins; multi-line messages continue on lines that do not start with a level.
    lines = stderr.splitlines()
    msg = None
    for i, l in enumerate(lines):
        if l.startswith('Error: '):
            buf = [l[len('Error: '):]]
            for cont in lines[i + 1:]:
                if re.match(r'^(Error|Warning|Notice|Info|Debug): ', cont):
                    break
                buf.append(cont)
            msg = '\n'.join(buf).rstrip()
    if msg is None:
        return None
    msg = msg.replace(envdir + '/', '').replace(envdir, '')
    # Ruby object addresses change from run to run.
    return re.sub(r'(#<[\w:]+):0x[0-9a-f]+>', r'\1:0x...>', msg)


def run_oracle(case, tmp):
    envdir = materialize(case, tmp)
    if any(p.startswith('/code/') for p in case['files']):
        # The wrapper script uses an empty code dir; call the compiler with ours so Puppet
        # reads `<codedir>/hiera.yaml` as its global layer.
        cmd = ['ruby', ORACLE_RB, '--env', envname(case), '--environmentpath', os.path.join(tmp, 'environments'), '--normalize']
        tail = [tmp, case['certname'], facts_path(case)]
    else:
        cmd = [ORACLE, '--normalize']
        tail = [envdir, case['certname'], facts_path(case)]
    for sf in SERVER_FACTS:
        cmd += ['--server-fact', sf]
    if case['extensions']:
        cmd += ['--extensions', case['extensions']]
    cmd += tail
    # Relative paths in Hiera options (eyaml keys) resolve from the environment. Module Ruby
    # code that requires another module's (openstacklib's providers) finds it on the load
    # path, as on a puppetserver whose libdir holds the modules' lib directories.
    env = dict(os.environ, RUBYLIB=':'.join(module_libs(envdir) + [os.environ.get('RUBYLIB', '')]))
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=envdir, env=env)
    if p.returncode == 0 and p.stdout.strip():
        return ('catalog', normalize_catalog(p.stdout, envdir))
    return ('error', normalize_error(p.stderr, envdir) or p.stderr.strip())


def run_troupe(case, tmp, binary):
    envdir = materialize(case, tmp)
    cmd = [binary, 'compile', '--codedir', tmp, '--environment', envname(case), '--certname', case['certname'],
           '--facts', facts_path(case), '--basemodulepath', BASEMODULEPATH, '--normalize']
    for sf in SERVER_FACTS:
        cmd += ['--server-fact', sf]
    if case['extensions']:
        cmd += ['--extensions', case['extensions']]
    # Relative paths in Hiera options (eyaml keys) resolve from the environment.
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=envdir)
    if p.returncode == 0:
        return ('catalog', normalize_catalog(p.stdout, envdir))
    if p.returncode != 1:
        return ('crash', p.stderr.strip())
    return ('error', normalize_error(p.stderr, envdir) or p.stderr.strip())


def diff_catalogs(a, b):
    """Semantic differences (resources by type/title, edges/classes/tags as sets)."""
    problems = []
    for k in sorted(set(a) | set(b)):
        if k in ('resources', 'edges', 'classes', 'tags', 'version', 'catalog_uuid'):
            continue
        if a.get(k) != b.get(k):
            problems.append(f'top-level {k}: {a.get(k)!r} != {b.get(k)!r}')
    for k in ('classes', 'tags'):
        if set(a.get(k, [])) != set(b.get(k, [])):
            problems.append(f'{k}: only troupe {sorted(set(a.get(k, [])) - set(b.get(k, [])))} only puppet {sorted(set(b.get(k, [])) - set(a.get(k, [])))}')
    ra = {(r['type'], r['title']): r for r in a.get('resources', [])}
    rb = {(r['type'], r['title']): r for r in b.get('resources', [])}
    for key in sorted(set(ra) - set(rb)):
        problems.append(f'resource only in troupe: {key[0]}[{key[1]}]')
    for key in sorted(set(rb) - set(ra)):
        problems.append(f'resource only in puppet: {key[0]}[{key[1]}]')
    for key in sorted(set(ra) & set(rb)):
        x, y = ra[key], rb[key]
        for f in sorted(set(x) | set(y)):
            if f == 'tags':
                if set(x.get(f, [])) != set(y.get(f, [])):
                    problems.append(f'{key[0]}[{key[1]}] tags: {x.get(f)} != {y.get(f)}')
            elif x.get(f) != y.get(f):
                problems.append(f'{key[0]}[{key[1]}].{f}: {json.dumps(x.get(f))[:300]} != {json.dumps(y.get(f))[:300]}')
    ea = {(e['source'], e['target']) for e in a.get('edges', [])}
    eb = {(e['source'], e['target']) for e in b.get('edges', [])}
    for e in sorted(ea - eb):
        problems.append(f'edge only in troupe: {e[0]} -> {e[1]}')
    for e in sorted(eb - ea):
        problems.append(f'edge only in puppet: {e[0]} -> {e[1]}')
    return problems


def compare(got, want):
    gk, gv = got
    wk, wv = want
    if gk == 'crash':
        return [f'troupe crashed: {gv}']
    if gk != wk:
        return [f'troupe gave {gk}, puppet gave {wk}: ' + (gv if gk == 'error' else wv if wk == 'error' else '')]
    if gk == 'error':
        return [] if gv == wv else [f'error differs:\n    troupe: {gv}\n    puppet: {wv}']
    return diff_catalogs(gv, wv)


def golden_path(case):
    return os.path.join(CONF, 'expected', case['name'])


def load_golden(case):
    p = golden_path(case)
    if os.path.exists(p + '.json'):
        return ('catalog', json.load(open(p + '.json')))
    if os.path.exists(p + '.err'):
        return ('error', open(p + '.err').read().rstrip('\n'))
    return None


def save_golden(case, result):
    p = golden_path(case)
    for ext in ('.json', '.err'):
        if os.path.exists(p + ext):
            os.remove(p + ext)
    if result[0] == 'catalog':
        with open(p + '.json', 'w') as f:
            json.dump(result[1], f, indent=2)
            f.write('\n')
    else:
        with open(p + '.err', 'w') as f:
            f.write(result[1] + '\n')


def known_differences(fn='known-differences.txt'):
    out = {}
    p = os.path.join(CONF, fn)
    if os.path.exists(p):
        for line in open(p):
            line = line.strip()
            if line and not line.startswith('#'):
                name, _, reason = line.partition(' ')
                out[name] = reason.strip()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--coverage', action='store_true', help='print the Puppet 7.23 spec coverage table and exit')
    ap.add_argument('--write-coverage', action='store_true', help='rewrite conformance/spec/coverage.txt and exit')
    ap.add_argument('--regen', action='store_true')
    ap.add_argument('--oracle', action='store_true')
    ap.add_argument('-k', default='')
    ap.add_argument('-j', type=int, default=2)
    ap.add_argument('--binary', default=os.path.join(ROOT, 'target/release/troupe'))
    args = ap.parse_args()
    all_cases = parse_bundles()
    if args.coverage or args.write_coverage:
        table, errors = spec_coverage.table(all_cases, known_differences(), known_differences('pending.txt'))
        for e in errors:
            print(f'FAIL {e}')
        if args.write_coverage and not errors:
            spec_coverage.write(table)
        print(table, end='')
        return 1 if errors else 0
    cases = [c for c in all_cases if args.k in c['name']]
    os.makedirs(os.path.join(CONF, 'expected'), exist_ok=True)
    known = known_differences()
    # Cases not yet equal (work in progress); like known differences they must still fail,
    # so the list only ever shrinks, but they are not deliberate.
    pending = known_differences('pending.txt')

    def work(case):
        with tempfile.TemporaryDirectory() as t1, tempfile.TemporaryDirectory() as t2:
            res = {'case': case}
            if args.regen or args.oracle:
                res['oracle'] = run_oracle(case, t1)
            if not args.regen:
                res['troupe'] = run_troupe(case, t2, args.binary)
            return res

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.j) as ex:
        results = list(ex.map(work, cases))

    if args.regen:
        for r in results:
            save_golden(r['case'], r['oracle'])
        print(f'wrote {len(results)} goldens')
        return 0

    passed, failed, stale = 0, [], []
    for r in results:
        case = r['case']
        want = load_golden(case)
        problems = []
        if want is None:
            problems = ['no golden (run scripts/conformance.py --regen)']
        else:
            problems = compare(r['troupe'], want)
        if args.oracle:
            live = r['oracle']
            if want is not None and compare(live, want):
                stale.append(case['name'])
        ok = not problems
        name = case['name']
        if name in pending:
            if ok:
                failed.append((name, ['listed in pending.txt but now passes: remove it from the list']))
            else:
                print(f'pending {name}: {pending[name]}: {problems[0][:160] if problems else ""}')
            continue
        if name in known:
            if ok:
                failed.append((name, [f'listed in known-differences.txt ({known[name]}) but now passes: remove it from the list']))
            else:
                passed += 1
                print(f'known  {name}: {known[name]}')
            continue
        if ok:
            passed += 1
        else:
            failed.append((name, problems))
    for name, problems in failed:
        print(f'FAIL {name}')
        for p in problems[:20]:
            print('    ' + p)
    for n in list(known) + list(pending):
        if n not in {c['name'] for c in cases} and not args.k:
            failed.append((n, ['listed in known-differences.txt but there is no such case']))
            print(f'FAIL {n}: listed in known-differences.txt but there is no such case')
    if not args.k:
        # The spec coverage table is derived from the case headers and the lists; it must be current.
        table, errors = spec_coverage.table(all_cases, known, pending)
        errors += spec_coverage.check_current(table)
        for e in errors:
            failed.append(('spec coverage', [e]))
            print(f'FAIL spec coverage: {e}')
    for n in stale:
        print(f'STALE golden {n}: the live Ruby compiler disagrees with the committed golden; run --regen')
    total = len(results)
    listed = sum(1 for c in cases if c['name'] in known)
    npending = sum(1 for c in cases if c['name'] in pending)
    print(f'conformance: {passed}/{total} cases pass ({listed} known differences, {passed - listed} match puppet exactly; {npending} pending, listed in pending.txt)')
    return 0 if not failed and not stale else 1


if __name__ == '__main__':
    sys.exit(main())
