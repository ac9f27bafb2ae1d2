#!/usr/bin/env python3
"""Module sweep: troupe against the Ruby Puppet compiler on real modules' main classes.

Two modes:

    scripts/module-sweep.py --modules DIR [-k NAME] [--only defaults|params] [--report FILE] [--json FILE]
        For each module in tests/modules/sweep.json, and for each of {defaults, params}, builds an
        environment whose modulepath holds the module and its metadata.json dependencies (taken from
        DIR/<name>/), with `node default { class { 'X': ... } }` as site.pp, compiles it with troupe
        and with the Ruby compiler, and prints one row per case and a summary. DIR holds the modules'
        release trees (fetched by hand; module code is never committed). Without DIR it says so and
        exits 0 (CI has no GitHub access). Exit 0 whatever the figure: it measures, it does not gate.

    scripts/module-sweep.py --cases [-k NAME]
        Compiles each small environment under tests/modules/cases/<name>/ (our own code, in the shapes
        real modules use) with troupe and with the Ruby compiler and fails on any difference, except
        for the cases tests/modules/cases.json lists as `"expect": "fail"`; those must still differ
        (so the list stays true: a case that starts to pass must be moved to "pass").

Rows: equal / differs (first difference) / troupe error (category: message) / oracle error. A case
the Ruby compiler rejects counts only if troupe gives the same error (then it is equal); otherwise it
is left out of the percentage.
Runs at most 2 compiles at once (-j 1 or 2). Set TROUPE_SHARED to the shared lab directory when the
oracle is not at ../shared/lab/puppet/oracle beside the checkout.
"""
import argparse, concurrent.futures, json, os, re, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import conformance as conf  # noqa: E402  (normalize_catalog, normalize_error, compare)

DATA = os.path.join(ROOT, 'tests/modules/sweep.json')
CASES = os.path.join(ROOT, 'tests/modules/cases')
CASES_DATA = os.path.join(ROOT, 'tests/modules/cases.json')
FACTS = os.path.join(ROOT, 'tests/modules/facts/debian12.json')
CERTNAME = 'node1.example.test'


def shared_dir():
    if os.environ.get('TROUPE_SHARED'):
        return os.environ['TROUPE_SHARED']
    if os.path.isdir(conf.SHARED):
        return conf.SHARED
    # In a git worktree the shared directory sits beside the main checkout.
    common = subprocess.run(['git', '-C', ROOT, 'rev-parse', '--path-format=absolute', '--git-common-dir'],
                            capture_output=True, text=True).stdout.strip()
    return os.path.join(os.path.dirname(os.path.dirname(common)), 'shared') if common else conf.SHARED


ORACLE = os.path.join(shared_dir(), 'lab/puppet/oracle/oracle-compile.sh')


# ---------------------------------------------------------------- environments

def short_name(dep):
    """`puppetlabs/stdlib`, `puppetlabs-stdlib` -> `stdlib`."""
    return re.split(r'[/-]', dep, maxsplit=1)[-1]


def closure(modules_dir, name):
    """The module and its metadata.json dependencies, transitively; missing ones are reported."""
    seen, missing, todo = [], [], [name]
    while todo:
        m = todo.pop()
        if m in seen or m in missing:
            continue
        md = os.path.join(modules_dir, m, 'metadata.json')
        if not os.path.isfile(md):
            missing.append(m)
            continue
        seen.append(m)
        for d in json.load(open(md)).get('dependencies', []):
            todo.append(short_name(d['name']))
    return sorted(seen), sorted(missing)


def site_pp(cls, params):
    body = f'\n  {params.strip()},\n' if params and params.strip() else ''
    return f"node default {{\n  class {{ '{cls}':{body}}}\n}}\n"


def build_env(tmp, envname, site, modules):
    """modules: {name: source dir}; linked, so a module tree is never copied."""
    envdir = os.path.join(tmp, 'environments', envname)
    os.makedirs(os.path.join(envdir, 'manifests'))
    os.makedirs(os.path.join(envdir, 'modules'))
    with open(os.path.join(envdir, 'environment.conf'), 'w') as f:
        f.write('modulepath = modules\n')
    with open(os.path.join(envdir, 'manifests', 'site.pp'), 'w') as f:
        f.write(site)
    for m, src in modules.items():
        os.symlink(os.path.abspath(src), os.path.join(envdir, 'modules', m))
    return envdir


# ---------------------------------------------------------------- compilers

def run_oracle(tmp, envname):
    envdir = os.path.join(tmp, 'environments', envname)
    cmd = [ORACLE, '--normalize']
    for sf in conf.SERVER_FACTS:
        cmd += ['--server-fact', sf]
    cmd += [envdir, CERTNAME, FACTS]
    env = dict(os.environ, RUBYLIB=':'.join(conf.module_libs(envdir) + [os.environ.get('RUBYLIB', '')]))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=envdir, env=env, timeout=300)
    except subprocess.TimeoutExpired:
        return ('error', 'oracle timed out')
    if p.returncode == 0 and p.stdout.strip():
        # The oracle runs with a scratch confdir; a server's is Debian's /etc/puppet, which
        # troupe's $settings::confdir gives (puppetdb derives its SSL paths from it).
        out = re.sub(r'/tmp/oracle-compile[^/"]*/conf', '/etc/puppet', p.stdout)
        return ('catalog', conf.normalize_catalog(out, envdir))
    return ('error', conf.normalize_error(p.stderr, envdir) or p.stderr.strip())


def run_troupe(tmp, envname, binary):
    envdir = os.path.join(tmp, 'environments', envname)
    empty = os.path.join(tmp, 'no-basemodules')
    os.makedirs(empty, exist_ok=True)
    cmd = [binary, 'compile', '--codedir', tmp, '--environment', envname, '--certname', CERTNAME,
           '--facts', FACTS, '--basemodulepath', empty, '--normalize']
    for sf in conf.SERVER_FACTS:
        cmd += ['--server-fact', sf]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=envdir, timeout=300)
    except subprocess.TimeoutExpired:
        return ('crash', 'troupe timed out')
    if p.returncode == 0:
        return ('catalog', conf.normalize_catalog(p.stdout, envdir))
    if p.returncode != 1:
        return ('crash', f'exit {p.returncode}: ' + p.stderr.strip()[-500:])
    return ('error', conf.normalize_error(p.stderr, envdir) or p.stderr.strip())


# ---------------------------------------------------------------- verdicts

CATEGORIES = [
    ('unknown function', re.compile(r"Unknown function:? '?([\w:]+)'?")),
    ('erb', re.compile(r'\berb\b|ERB|template \(|\.erb', re.I)),
    ('type', re.compile(r'parameterizable|expects a|type mismatch|Type\b|not a valid|resolve.*type|alias', re.I)),
]


def categorize(msg):
    for name, rx in CATEGORIES:
        m = rx.search(msg or '')
        if m:
            return name, (m.group(1) if m.groups() else None)
    return 'other', None


def verdict(troupe, oracle):
    """(status, detail, category, function) for one case."""
    tk, tv = troupe
    ok, ov = oracle
    if ok == 'error':
        if tk == 'error' and tv == ov:
            return ('equal', 'both reject: ' + one_line(ov), None, None)
        return ('oracle error', one_line(ov), None, None)
    if tk == 'crash':
        return ('troupe error', one_line(tv), 'crash', None)
    if tk == 'error':
        cat, fn = categorize(tv)
        return ('troupe error', one_line(tv), cat, fn)
    problems = conf.compare(troupe, oracle)
    if not problems:
        return ('equal', f"{len(ov.get('resources', []))} resources", None, None)
    return ('differs', f'{len(problems)} differences; first: ' + one_line(explain(tv, ov)[0]), None, None)


def explain(a, b):
    """Each differing parameter of resources in both catalogs, strings as their first differing line."""
    out = [p for p in conf.diff_catalogs(a, b) if '.parameters:' not in p]
    ra = {(r['type'], r['title']): r for r in a.get('resources', [])}
    rb = {(r['type'], r['title']): r for r in b.get('resources', [])}
    for key in sorted(set(ra) & set(rb)):
        pa, pb = ra[key].get('parameters', {}), rb[key].get('parameters', {})
        for k in sorted(set(pa) | set(pb)):
            x, y = pa.get(k), pb.get(k)
            if x == y:
                continue
            if isinstance(x, str) and isinstance(y, str):
                xl, yl = x.split('\n'), y.split('\n')
                i = next((i for i in range(min(len(xl), len(yl))) if xl[i] != yl[i]), min(len(xl), len(yl)))
                out.append(f'{key[0]}[{key[1]}].{k} line {i + 1}: troupe {xl[i] if i < len(xl) else "(end)"!r} '
                           f'puppet {yl[i] if i < len(yl) else "(end)"!r}')
            else:
                out.append(f'{key[0]}[{key[1]}].{k}: troupe {json.dumps(x)[:300]} puppet {json.dumps(y)[:300]}')
    return out


def one_line(s, n=400):
    s = ' '.join((s or '').split())
    return s if len(s) <= n else s[:n] + '...'


# ---------------------------------------------------------------- sweep mode

def sweep(args):
    if not args.modules or not os.path.isdir(args.modules):
        print(f'module sweep skipped: no modules directory ({args.modules or "pass --modules DIR"}); '
              'fetch the releases listed in tests/modules/sweep.json into DIR/<name>/')
        return 0
    if not os.path.exists(ORACLE):
        print(f'module sweep skipped: no Ruby compiler oracle at {ORACLE} (set TROUPE_SHARED)')
        return 0
    data = json.load(open(DATA))
    jobs = []
    for mod in data['modules']:
        if args.k and not any(k in mod['name'] for k in args.k.split(',')):
            continue
        for mode in ('defaults', 'params'):
            if args.only and args.only != mode:
                continue
            jobs.append((mod, mode))

    def work(job):
        mod, mode = job
        name = f"{mod['name']}-{mode}"
        deps, missing = closure(args.modules, mod['name'])
        for extra in mod.get('extra_deps', []):
            more, gone = closure(args.modules, extra)
            deps, missing = sorted(set(deps) | set(more)), sorted(set(missing) | set(gone))
        # Puppet 7's vendored core-type modules (ssh_authorized_key, augeas, cron, host, mount...).
        deps = sorted(set(deps) | {v for v in data.get('vendored', []) if os.path.isdir(os.path.join(args.modules, v))})
        if mod['name'] in missing:
            return {'case': name, 'module': mod['name'], 'mode': mode, 'status': 'skipped',
                    'detail': f"{mod['name']} is not in {args.modules}", 'category': None, 'function': None}
        site = site_pp(mod['class'], mod.get('params', '') if mode == 'params' else '')
        envname = re.sub(r'[^a-z0-9_]', '_', name.lower())
        with tempfile.TemporaryDirectory(prefix='sweep-') as tmp:
            build_env(tmp, envname, site, {m: os.path.join(args.modules, m) for m in deps})
            o = run_oracle(tmp, envname)
            if args.troupe_modules:
                # A what-if probe: troupe compiles the same case against other module trees
                # (stand-ins for functions it lacks) to see what the next failure would be.
                shutil.rmtree(os.path.join(tmp, 'environments'))
                build_env(tmp, envname, site, {m: os.path.join(args.troupe_modules, m) for m in deps})
            t = run_troupe(tmp, envname, args.binary)
        status, detail, cat, fn = verdict(t, o)
        if args.diff and status == 'differs':
            print(f'--- {name}: every difference (troupe != puppet)')
            for p in explain(t[1], o[1]):
                print('    ' + p)
        res = {'case': name, 'module': mod['name'], 'mode': mode, 'status': status, 'detail': detail,
               'category': cat, 'function': fn, 'missing_deps': missing}
        if args.verbose:
            print(f'{status:13} {name}: {detail[:200]}', flush=True)
        return res

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(args.j, 2))) as ex:
        results = list(ex.map(work, jobs))
    print_table(results)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)
    return 0


def summary(results):
    counted = [r for r in results if r['status'] in ('equal', 'differs', 'troupe error')]
    equal = sum(r['status'] == 'equal' for r in counted)
    cats = {}
    for r in results:
        if r['status'] == 'troupe error':
            cats[r['category']] = cats.get(r['category'], 0) + 1
    return equal, len(counted), cats


def print_table(results):
    w = max([len(r['case']) for r in results] + [4])
    print(f"{'case':{w}}  {'result':13}  detail")
    for r in results:
        cat = f"[{r['category']}{': ' + r['function'] if r['function'] else ''}] " if r['category'] else ''
        print(f"{r['case']:{w}}  {r['status']:13}  {cat}{r['detail'][:220]}")
    equal, counted, cats = summary(results)
    by = {}
    for r in results:
        by[r['status']] = by.get(r['status'], 0) + 1
    pct = 100.0 * equal / counted if counted else 0.0
    print(f"\nmodule sweep: {equal}/{counted} equal ({pct:.1f} %); "
          + ', '.join(f'{k}: {v}' for k, v in sorted(by.items())))
    if cats:
        print('troupe errors by category: ' + ', '.join(f'{k}: {v}' for k, v in sorted(cats.items(), key=lambda x: -x[1])))
    fns = {}
    for r in results:
        if r['function']:
            fns.setdefault(r['function'], []).append(r['case'])
    for fn, cs in sorted(fns.items(), key=lambda x: -len(x[1])):
        print(f'  unknown function {fn}: {", ".join(cs)}')


# ---------------------------------------------------------------- cases mode

def cases(args):
    if not os.path.exists(ORACLE):
        msg = f'module cases: no Ruby compiler oracle at {ORACLE} (set TROUPE_SHARED)'
        if os.environ.get('CI') == 'true':
            print(msg, file=sys.stderr)
            return 1
        print(msg + '; skipped')
        return 0
    data = json.load(open(CASES_DATA))
    names = sorted(n for n in os.listdir(CASES) if os.path.isdir(os.path.join(CASES, n)))
    names = [n for n in names if not args.k or any(k in n for k in args.k.split(','))]
    failed = []
    for n in names:
        if n not in data:
            failed.append((n, f'tests/modules/cases/{n} is not listed in tests/modules/cases.json'))
    for n in data:
        if n not in os.listdir(CASES):
            failed.append((n, 'listed in tests/modules/cases.json but there is no such directory'))

    def work(n):
        src = os.path.join(CASES, n)
        envname = re.sub(r'[^a-z0-9_]', '_', n.lower())
        with tempfile.TemporaryDirectory(prefix='sweep-case-') as tmp:
            envdir = os.path.join(tmp, 'environments', envname)
            shutil.copytree(src, envdir)
            if not os.path.exists(os.path.join(envdir, 'environment.conf')):
                with open(os.path.join(envdir, 'environment.conf'), 'w') as f:
                    f.write('modulepath = modules\n')
            o = run_oracle(tmp, envname)
            t = run_troupe(tmp, envname, args.binary)
        return n, t, o

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(args.j, 2))) as ex:
        results = list(ex.map(work, [n for n in names if n in data]))
    passed = xfail = 0
    for n, t, o in results:
        expect = data[n].get('expect', 'pass')
        if o[0] == 'error' and not data[n].get('oracle_error'):
            failed.append((n, 'the Ruby compiler rejects the case: ' + one_line(o[1])))
            continue
        problems = conf.compare(t, o)
        if expect == 'fail':
            if problems:
                xfail += 1
                print(f"xfail {n}: {data[n].get('reason', '')}: {one_line(problems[0], 160)}")
            else:
                failed.append((n, 'listed as "expect": "fail" in tests/modules/cases.json but now passes: set it to "pass"'))
        elif problems:
            failed.append((n, '\n    '.join(one_line(p, 300) for p in problems[:10])))
        else:
            passed += 1
            print(f'ok    {n}')
    for n, why in failed:
        print(f'FAIL {n}\n    {why}')
    print(f'module cases: {passed} pass, {xfail} expected failures, {len(failed)} failed')
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--modules', default=os.environ.get('TROUPE_SWEEP_MODULES'),
                    help='directory of module release trees, one per module name (env TROUPE_SWEEP_MODULES)')
    ap.add_argument('--cases', action='store_true', help='run the committed cases under tests/modules/cases')
    ap.add_argument('-k', default='', help='only modules/cases whose name contains one of these (comma-separated)')
    ap.add_argument('--only', choices=['defaults', 'params'])
    ap.add_argument('-j', type=int, default=2, help='compiles at once (at most 2)')
    ap.add_argument('--json', help='write the sweep results as JSON here')
    ap.add_argument('--troupe-modules', help='what-if probe: troupe compiles against these trees instead of --modules')
    ap.add_argument('--diff', action='store_true', help='print every difference of a case that differs')
    ap.add_argument('-v', '--verbose', action='store_true', help='print each case as it finishes')
    ap.add_argument('--binary', default=os.path.join(ROOT, 'target/release/troupe'))
    args = ap.parse_args()
    return cases(args) if args.cases else sweep(args)


if __name__ == '__main__':
    sys.exit(main())
