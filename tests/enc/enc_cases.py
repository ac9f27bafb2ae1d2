#!/usr/bin/env python3
"""External node classifiers (Puppet's node_terminus = exec) against the Ruby compiler.

Each case is a code directory (environments), an ENC script and facts. troupe compiles with
`troupe compile --external-nodes SCRIPT`; the Ruby compiler (the lab's offline oracle, with
Puppet's own exec terminus swapped in by exec_terminus.rb) compiles the same node. Catalogs
must be equal (catalog-diff.py), or both must fail with the same message.

  tests/enc/enc_cases.py            run every case
  tests/enc/enc_cases.py -k NAME    the cases whose name contains NAME
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("TROUPE_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
ORACLE = os.path.join(SHARED, "lab", "puppet", "oracle", "oracle-compile.sh")
DIFF = os.path.join(SHARED, "lab", "puppet", "oracle", "catalog-diff.py")
BIN = os.path.join(ROOT, "target", "release", "troupe")
PATCH = os.path.join(ROOT, "tests", "enc", "exec_terminus.rb")

MODULES = {
    "ntp/manifests/init.pp": "class ntp (Array[String] $servers = ['pool'], Integer $port = 123) {\n"
                             "  notify { \"ntp ${servers} ${port} role=${role}\": }\n}\n",
    "motd/manifests/init.pp": "class motd ($text = 'hi') { notify { \"motd ${text} in ${environment}\": } }\n",
    "site/manifests/web.pp": "class site::web { include motd\n  notify { \"web in ${environment} dc=${dc}\": } }\n",
    "site/manifests/vhost.pp": "define site::vhost ($port = 80) { notify { \"vhost ${title}:${port}\": } }\n",
}


def enc(yaml_text, code=0):
    body = "cat <<'YAML'\n%sYAML\n" % yaml_text if yaml_text else ""
    return "#!/bin/sh\n%sexit %d\n" % (body, code)


# name: (site.pp, ENC script, facts)
CASES = {
    "hash-classes-params-and-fact-shadowing": (
        "node default { notify { \"node default role=${role} os=${os}\": } }\n",
        enc("classes:\n  ntp:\n    servers: [a, b]\n  motd:\nparameters:\n  role: web\n  os: custom\n"),
        {"os": "Debian"}),
    "array-classes-no-node-blocks": (
        "notify { \"top ${dc}\": }\n",
        enc("classes:\n  - site::web\n  - ntp\nparameters:\n  dc: ams\n"),
        {}),
    "environment-from-the-classifier": (
        "notify { 'production site': }\n",
        enc("environment: other\nclasses: [motd]\n"),
        {}),
    "node-define-before-classifier-classes": (
        "node default { site::vhost { 'a': } notify { 'in node': } }\n",
        enc("classes:\n  ntp:\n    port: 9\n  motd: {}\n"),
        {}),
    "class-param-from-classifier-of-wrong-type": (
        "",
        enc("classes:\n  ntp:\n    port: not-a-number\n"),
        {}),
    "unknown-class": (
        "",
        enc("classes: [motd, nosuch::thing]\n"),
        {}),
    "include-then-classifier-params-duplicate": (
        "include motd\n",
        enc("classes:\n  motd:\n    text: from-enc\n"),
        {}),
    "include-then-classifier-plain": (
        "include motd\nnotify { 'after include': }\n",
        enc("classes: [motd, ntp]\n"),
        {}),
    "classifier-fails": (
        "",
        "#!/bin/sh\necho 'no such host in the CMDB'\nexit 3\n",
        {}),
    "classifier-knows-nothing": (
        "notify { 'x': }\n",
        enc(""),
        {}),
    "parameters-only": (
        "notify { \"role=${role} list=${list} h=${h['k']}\": }\n",
        enc("parameters:\n  role: db\n  list: [1, 2]\n  h:\n    k: v\n"),
        {"role": "from-fact"}),
}


def setup(work, site, script, facts):
    envs = os.path.join(work, "environments")
    for env in ("production", "other"):
        os.makedirs(os.path.join(envs, env, "manifests"))
        for path, text in MODULES.items():
            p = os.path.join(envs, env, "modules", path)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
        with open(os.path.join(envs, env, "manifests", "site.pp"), "w") as f:
            f.write(site if env == "production" else "notify { 'other site': }\n")
    enc_path = os.path.join(work, "enc.sh")
    with open(enc_path, "w") as f:
        f.write(script)
    os.chmod(enc_path, 0o755)
    facts_path = os.path.join(work, "facts.json")
    with open(facts_path, "w") as f:
        json.dump(facts, f)
    return envs, enc_path, facts_path


def error_line(text):
    lines = [l for l in text.splitlines() if l.startswith("Error: ")]
    return lines[-1] if lines else None


def run_case(name, case):
    site, script, facts = case
    work = tempfile.mkdtemp(prefix="troupe-enc-")
    try:
        envs, enc_path, facts_path = setup(work, site, script, facts)
        certname = "n1.example.test"
        env = dict(os.environ, RUBYOPT="-r" + PATCH, ORACLE_ENC=enc_path)
        ruby = subprocess.run([ORACLE, "--normalize", os.path.join(envs, "production"), certname, facts_path],
                              capture_output=True, text=True, env=env)
        ours = subprocess.run([BIN, "compile", "--codedir", work, "--environmentpath", envs, "--certname", certname,
                               "--facts", facts_path, "--external-nodes", enc_path, "--normalize"],
                              capture_output=True, text=True)
        if ruby.returncode != 0 or ours.returncode != 0:
            re_, oe = error_line(ruby.stderr), error_line(ours.stderr)
            if ruby.returncode != 0 and ours.returncode != 0 and re_ == oe:
                return True, "both fail: %s" % re_
            return False, "ruby rc=%d %s\n      troupe rc=%d %s" % (ruby.returncode, re_ or ruby.stderr[-300:],
                                                                    ours.returncode, oe or ours.stderr[-300:])
        a, b = os.path.join(work, "ruby.json"), os.path.join(work, "troupe.json")
        with open(a, "w") as f:
            f.write(ruby.stdout)
        with open(b, "w") as f:
            f.write(ours.stdout)
        d = subprocess.run([sys.executable, DIFF, a, b], capture_output=True, text=True)
        ra, rb = json.loads(ruby.stdout), json.loads(ours.stdout)
        same_order = [r["type"] + r["title"] for r in ra["resources"]] == [r["type"] + r["title"] for r in rb["resources"]]
        if "EQUIVALENT" in d.stdout and same_order and ra["classes"] == rb["classes"] \
                and ra["environment"] == rb["environment"]:
            return True, "equal (%d resources, environment %s)" % (len(ra["resources"]), ra["environment"])
        return False, d.stdout[-1500:] + ("" if same_order else "\n      resource order differs") + \
            ("" if ra["classes"] == rb["classes"] else "\n      classes %s != %s" % (ra["classes"], rb["classes"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="")
    a = ap.parse_args()
    failed = 0
    for name, case in CASES.items():
        if a.k not in name:
            continue
        ok, msg = run_case(name, case)
        print("%s %s: %s" % ("ok  " if ok else "FAIL", name, msg))
        failed += not ok
    print("enc cases: %d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
