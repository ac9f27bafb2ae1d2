#!/usr/bin/env python3
"""Asks the Ruby Puppet parser (Debian's puppet-agent) what it reports for each broken file
in tests/broken, and writes the answer beside it as NAME.expect:

    message: <Puppet's message>
    line: <line or ->
    col: <column or ->

With --check, compares instead of writing and exits 1 on any difference, so CI proves the
committed expectations are still Puppet's own answers.
"""
import pathlib
import re
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent.parent / "tests" / "broken"
PAT = re.compile(
    r"^Error: (?:Could not parse for environment \w+: )?(?P<msg>.*?)"
    r" \(file: [^,)]*(?:, line: (?P<line>\d+))?(?:, column: (?P<col>\d+))?\)\s*$"
)


def puppet_says(path: pathlib.Path) -> str:
    tool = ["puppet", "epp", "validate"] if path.suffix == ".epp" else ["puppet", "parser", "validate"]
    out = subprocess.run(
        tool + ["--color=false", path.name], cwd=path.parent, capture_output=True, text=True
    )
    for line in (out.stdout + out.stderr).splitlines():
        m = PAT.match(line)
        if m:
            return "message: {}\nline: {}\ncol: {}\n".format(
                m["msg"], m["line"] or "-", m["col"] or "-"
            )
    raise SystemExit(f"{path.name}: puppet reported no located error:\n{out.stdout}{out.stderr}")


def main() -> int:
    check = "--check" in sys.argv
    bad = 0
    files = sorted(p for p in HERE.iterdir() if p.suffix in (".pp", ".epp"))
    for p in files:
        said = puppet_says(p)
        exp = p.with_name(p.name + ".expect")
        if check:
            if not exp.exists() or exp.read_text() != said:
                print(f"{p.name}: expectation differs from puppet:\n{said}")
                bad += 1
        else:
            exp.write_text(said)
    print(f"{len(files)} broken files, {bad} differ from puppet" if check else f"wrote {len(files)} expectations")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
