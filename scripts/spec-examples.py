#!/usr/bin/env python3
"""List the examples of Puppet 7.23's language specification that conformance cases cover.

    scripts/spec-examples.py PUPPET_CHECKOUT > conformance/spec/examples.txt

PUPPET_CHECKOUT is a checkout of puppetlabs/puppet at the 7.23.0 tag. Every `it`, `specify`
and `example` line of the spec files below becomes one line `PATH:LINE  DESCRIPTION`, PATH
relative to `spec/` without `_spec.rb` (so `unit/functions/abs:12`). An `it` inside a Ruby
loop is one line here, as it is one line in the spec file. Cases name the examples they
cover with `spec=PATH:LINE,LINE` in their header; scripts/conformance.py --coverage counts.
"""
import os, re, sys

DIRS = ['unit/functions', 'unit/pops/evaluator', 'integration/parser', 'unit/pops/types', 'unit/pops/lookup']
EXAMPLE = re.compile(r'^\s*(it|specify|example)\b\s*(.*)$')


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    spec = os.path.join(sys.argv[1], 'spec')
    for d in DIRS:
        for fn in sorted(os.listdir(os.path.join(spec, d))):
            if not fn.endswith('_spec.rb'):
                continue
            rel = f'{d}/{fn[:-len("_spec.rb")]}'
            for n, line in enumerate(open(os.path.join(spec, d, fn), encoding='utf-8'), 1):
                m = EXAMPLE.match(line)
                if m:
                    desc = re.sub(r'\s*(do|\{)\s*(\|.*\|)?\s*$', '', m.group(2)).strip()
                    print(f'{rel}:{n}  {desc[:160]}')


if __name__ == '__main__':
    main()
