"""Puppet 7.23 spec coverage of the conformance cases (used by scripts/conformance.py).

conformance/spec/examples.txt lists every example of the language specification
(scripts/spec-examples.py writes it from a checkout at 7.23.0). A case names the examples it
exercises in its header (`spec=unit/functions/abs:14,24`, may repeat). Examples that test
only Ruby internals with no behaviour a manifest can observe are listed, with the reason, in
conformance/spec/not-applicable.txt (`PATH:LINE,LINE  reason` or `PATH:*  reason`).

The table (conformance/spec/coverage.txt) counts per spec file: examples, covered by a case
that equals Puppet, covered by a case listed in known-differences.txt or pending.txt (it
differs), not applicable, and not covered yet. The harness fails when the committed table
is not the one the cases give, so it stays true.
"""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = os.path.join(ROOT, 'conformance', 'spec')
COVERAGE = os.path.join(SPEC, 'coverage.txt')


def examples():
    """{(path, line): description} in file order."""
    out = {}
    for line in open(os.path.join(SPEC, 'examples.txt'), encoding='utf-8'):
        ref, _, desc = line.rstrip('\n').partition('  ')
        path, _, n = ref.rpartition(':')
        out[(path, int(n))] = desc
    return out


def parse_ref(text):
    """`unit/functions/abs:14,24` -> ('unit/functions/abs', ['14', '24'])."""
    path, _, lines = text.rpartition(':')
    return path, [x for x in lines.split(',') if x]


def not_applicable(ex, errors):
    out = {}
    p = os.path.join(SPEC, 'not-applicable.txt')
    if not os.path.exists(p):
        return out
    for n, line in enumerate(open(p, encoding='utf-8'), 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        ref, _, reason = line.partition(' ')
        if not reason.strip():
            errors.append(f'not-applicable.txt:{n}: {ref} has no reason')
        path, lines = parse_ref(ref)
        if lines == ['*']:
            keys = [k for k in ex if k[0] == path]
            if not keys:
                errors.append(f'not-applicable.txt:{n}: no spec file {path}')
        else:
            keys = []
            for x in lines:
                if not x.isdigit() or (path, int(x)) not in ex:
                    errors.append(f'not-applicable.txt:{n}: {path}:{x} is not an example line')
                else:
                    keys.append((path, int(x)))
        for k in keys:
            out[k] = reason.strip()
    return out


def table(cases, known, pending):
    """(table text, errors)."""
    errors = []
    ex = examples()
    covered = {}  # key -> 'equal' | 'differs'
    for c in cases:
        state = 'differs' if c['name'] in known or c['name'] in pending else 'equal'
        for ref in c.get('spec', []):
            path, lines = parse_ref(ref)
            for x in lines:
                if not x.isdigit() or (path, int(x)) not in ex:
                    errors.append(f'case {c["name"]}: spec={ref}: {path}:{x} is not an example line of conformance/spec/examples.txt')
                    continue
                k = (path, int(x))
                if covered.get(k) != 'differs':
                    covered[k] = state
    na = not_applicable(ex, errors)
    for k in sorted(set(na) & set(covered)):
        errors.append(f'{k[0]}:{k[1]} is both covered by a case and listed in not-applicable.txt')
    rows = {}
    for k in ex:
        r = rows.setdefault(k[0], [0, 0, 0, 0, 0])
        r[0] += 1
        if k in covered:
            r[1 if covered[k] == 'equal' else 2] += 1
        elif k in na:
            r[3] += 1
        else:
            r[4] += 1
    w = max(len(p) for p in rows)
    head = ('# Puppet 7.23 spec examples covered by conformance cases (scripts/conformance.py --write-coverage).\n'
            '# equal: covered by a case equal to Puppet; differs: by a case in known-differences.txt or pending.txt;\n'
            '# n/a: Ruby internals no manifest can observe (conformance/spec/not-applicable.txt).\n')
    lines = [f'{"spec file":<{w}}  examples  equal  differs  n/a  uncovered']
    tot = [0, 0, 0, 0, 0]
    for p, r in rows.items():
        lines.append(f'{p:<{w}}  {r[0]:>8}  {r[1]:>5}  {r[2]:>7}  {r[3]:>3}  {r[4]:>9}')
        tot = [a + b for a, b in zip(tot, r)]
    lines.append(f'{"total":<{w}}  {tot[0]:>8}  {tot[1]:>5}  {tot[2]:>7}  {tot[3]:>3}  {tot[4]:>9}')
    return head + '\n'.join(lines) + '\n', errors


def check_current(text):
    have = open(COVERAGE, encoding='utf-8').read() if os.path.exists(COVERAGE) else ''
    if have != text:
        return ['conformance/spec/coverage.txt is not current: run scripts/conformance.py --write-coverage']
    return []


def write(text):
    with open(COVERAGE, 'w', encoding='utf-8') as f:
        f.write(text)
