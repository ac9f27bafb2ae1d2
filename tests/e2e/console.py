#!/usr/bin/env python3
"""The pool console in a real browser, with real agents.

`troupe node` runs on loopback (ports this script picks; a scratch directory): a front over two
master instances, the CA in a directory with autosign. Debian's chromium, headless, driven over
the DevTools protocol on a pipe (`--remote-debugging-pipe`, Python's stdlib only):

1. the console renders with its charts (inline SVG, no script); a screenshot is written and its
   size and the page's render time are printed;
2. a slow agent (its catalog calls `generate('/bin/sleep', ...)`) has its catalog in flight on
   one master; an administrator (loopback is an admin address) drains that master from the
   page: it shows DRAINING, the next agent runs' catalogs all go to the other master (the
   front's access log says where each went), the slow run finishes on the drained master, which
   then shows DRAINED;
3. Enable on the page brings it back (agent runs reach it again);
4. a post without the form's token (from the page) and one from a non-admin address
   (127.0.0.3, with the token) are refused 403;
5. the CA section shows a pending request (autosign covers every other agent) with its
   fingerprint and the counts; Sign on the page lets its agent run;
6. under load (agents looping) drain-enable cycles through `troupe node ctl`: every agent run
   must succeed; the counts are printed; a drain is kept across a node restart.

Usage: tests/e2e/console.py [--keep] [--load-seconds N]   (TROUPE_BIN names the binary)
"""
import argparse
import base64
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("TROUPE_BIN", os.path.join(ROOT, "target/release/troupe"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    raise SystemExit(1)


def ok(msg):
    print(f"ok: {msg}", flush=True)


def free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pick_ports():
    """The front's port F (its health listener takes F-1) and two masters' B, B+1."""
    for _ in range(200):
        f = random.randrange(30000, 60000)
        b = random.randrange(30000, 60000)
        ports = {f - 1, f, b, b + 1}
        if len(ports) == 4 and all(free(p) for p in ports):
            return f, b
    fail("no free ports on 127.0.0.1")


SITE = """node 'slow.example.test' {
  $waited = generate('/bin/sleep', '%d')
  notify { 'slow': message => "slow catalog done${waited}" }
}
node default {
  notify { 'hello': message => "Hello ${trusted['certname']}" }
}
"""

CONF = """[main]
certname = localhost
ssldir = {w}/ssl
store = dir:{w}/ssl/ca

[master]
instances = 2
base_port = {b}
codedir = {w}/code
dns_alt_names = localhost
autosign = {w}/autosign.conf
reportdir = {w}/reports

[front]
listen = 127.0.0.1:{f}
access_log = {w}/access.log
"""


class Node:
    def __init__(self, w, slow_seconds):
        self.w = w
        self.f, self.b = pick_ports()
        self.masters = [f"http://127.0.0.1:{self.b}", f"http://127.0.0.1:{self.b + 1}"]
        os.makedirs(f"{w}/code/environments/production/manifests")
        with open(f"{w}/code/environments/production/manifests/site.pp", "w") as fh:
            fh.write(SITE % slow_seconds)
        self.conf = f"{w}/troupe.conf"
        # Every agent but pending.example.test is signed at once; that one waits for the console.
        with open(f"{w}/autosign.conf", "w") as fh:
            fh.write("".join(f"{n}.example.test\n" for n in ["agent1", "slow", "load0", "load1", "load2"]))
        with open(self.conf, "w") as fh:
            fh.write(CONF.format(w=w, f=self.f, b=self.b))
        self.log = open(f"{w}/node.log", "w")
        self.p = subprocess.Popen([BIN, "node", "--config", self.conf], stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"https://127.0.0.1:{self.f}/troupe/console"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                self.state()
                return
            except Exception:
                time.sleep(0.3)
        self.stop()
        fail(f"the front never answered: {open(w + '/node.log').read()[-2000:]}")

    def request(self, path, data=None, headers=None, source=None):
        """One HTTPS request to the front (certificate not checked: loopback test)."""
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = socket.create_connection(("127.0.0.1", self.f), timeout=15, source_address=(source, 0) if source else None)
        s = ctx.wrap_socket(s, server_hostname="localhost")
        method = "POST" if data is not None else "GET"
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.f}\r\nConnection: close\r\n"
        for k, v in (headers or {}).items():
            head += f"{k}: {v}\r\n"
        body = (data or "").encode()
        if data is not None:
            head += f"Content-Length: {len(body)}\r\n"
        s.sendall(head.encode() + b"\r\n" + body)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        s.close()
        h, _, b = out.partition(b"\r\n\r\n")
        return int(h[9:12]), b.decode(errors="replace")

    def state(self):
        st, body = self.request("/troupe/console/api")
        if st != 200:
            raise RuntimeError(f"console API answered {st}")
        return json.loads(body)

    def master(self, name):
        return next(m for m in self.state()["masters"] if m["master"] == name)

    def ctl(self, *args):
        return subprocess.run([BIN, "node", "--config", self.conf, "ctl", *args], capture_output=True, text=True, timeout=30)

    def catalogs(self):
        """(certname, backend, status) of each catalog request in the access log, in order."""
        out = []
        try:
            lines = open(f"{self.w}/access.log").read().splitlines()
        except FileNotFoundError:
            return out
        for line in lines:
            m = re.search(r'"POST /puppet/v3/catalog/([^? ]+)[^"]*" (\d+) .* (\S+) (\d+)ms$', line)
            if m:
                out.append((m.group(1), "http://" + m.group(3), int(m.group(2))))
        return out

    def statuses(self):
        """The status of every request in the access log, in order."""
        try:
            lines = open(f"{self.w}/access.log").read().splitlines()
        except FileNotFoundError:
            return []
        return [int(m.group(1)) for m in (re.search(r'^\S+ - \S+ \[[^]]+\] "[^"]*" (\d{3}) ', l) for l in lines) if m]

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def agent(node, certname, out, *extra):
    """One `puppet agent -t` run through the front; its exit code (0 or 2 is success)."""
    a = f"{node.w}/agents/{certname}"
    with open(out, "w") as fh:
        return subprocess.run(
            ["puppet", "agent", "-t", "--confdir", f"{a}/conf", "--vardir", f"{a}/var", "--ssldir", f"{a}/ssl",
             "--publicdir", f"{a}/public", "--logdir", f"{a}/log", "--rundir", f"{a}/run", "--codedir", f"{a}/code",
             "--server", "localhost", "--masterport", str(node.f), "--certname", certname, *extra],
            stdout=fh, stderr=subprocess.STDOUT, timeout=240).returncode


class Browser:
    """Headless chromium over the DevTools protocol on a pipe (fd 3: commands in, fd 4: out)."""

    def __init__(self, w):
        cmd_r, self.cmd_w = os.pipe()
        self.out_r, out_w = os.pipe()

        def fds():
            a, b = os.dup(cmd_r), os.dup(out_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.err = open(f"{w}/chromium.err", "w")
        self.p = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--ignore-certificate-errors", f"--user-data-dir={w}/chromium", "--remote-debugging-pipe",
             "--window-size=1280,1000", "about:blank"],
            preexec_fn=fds, close_fds=False, stdout=subprocess.DEVNULL, stderr=self.err)
        os.close(cmd_r)
        os.close(out_w)
        self.buf = b""
        self.events = []
        self.next_id = 0
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable", session=True)

    def _read(self, timeout):
        while b"\0" not in self.buf:
            r, _, _ = select.select([self.out_r], [], [], timeout)
            if not r:
                return None
            chunk = os.read(self.out_r, 1 << 20)
            if not chunk:
                fail(f"chromium exited: {open(self.err.name).read()[-1500:]}")
            self.buf += chunk
        msg, _, self.buf = self.buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method, params=None, session=False, timeout=60):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self._read(max(0.1, deadline - time.time()))
            if m is None:
                break
            if m.get("id") == self.next_id:
                if "error" in m:
                    fail(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)
        fail(f"{method}: no answer from chromium within {timeout} s")

    def wait_load(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for i, e in enumerate(self.events):
                if e.get("method") == "Page.loadEventFired":
                    del self.events[: i + 1]
                    return
            m = self._read(max(0.1, deadline - time.time()))
            if m is not None:
                self.events.append(m)
        fail("the page did not load within %d s" % timeout)

    def drain_events(self):
        """Forgets the events already sent (a meta refresh's load, say)."""
        while True:
            m = self._read(0)
            if m is None:
                break
        self.events.clear()

    def wait_for(self, expr, timeout=30):
        """Polls a script until it returns something true (the page may still be loading)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session=True)
            v = r.get("result", {}).get("value")
            if "exceptionDetails" not in r and v:
                return v
            time.sleep(0.1)
        fail(f"{expr!r} not true within {timeout} s")

    def navigate(self, url):
        self.drain_events()
        t0 = time.time()
        self.call("Page.navigate", {"url": url}, session=True)
        self.wait_load()
        return time.time() - t0

    def js(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True}, session=True)
        if "exceptionDetails" in r:
            fail(f"script {expr!r}: {r['exceptionDetails']}")
        return r.get("result", {}).get("value")

    def click_and_load(self, expr):
        self.drain_events()
        self.js(expr)
        self.wait_load()

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=True)["data"]
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(data))
        return os.path.getsize(path)

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except SystemExit:
            pass
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def row_state(br, master):
    sel = f'document.querySelector(\'tr.master[data-master="{master}"]\')'
    return br.wait_for(f"document.readyState === 'complete' && {sel} && {sel}.dataset.state")


def browser_part(node, br, w):
    m1, m2 = node.masters
    # 1. the page with its charts
    took = br.navigate(node.url)
    dom = br.js("document.documentElement.outerHTML")
    charts = br.js("document.querySelectorAll('svg.chart').length")
    scripts = br.js("document.scripts.length")
    if charts < 9 or scripts != 0:
        fail(f"console: {charts} charts and {scripts} scripts (want >= 9 and 0)")
    for m in node.masters:
        if row_state(br, m) != "UP":
            fail(f"{m} is not UP on the page: {dom[:800]}")
    if "Certificate authority" not in dom or "signed" not in br.js("document.getElementById('ca').textContent"):
        fail("the CA section is missing")
    shot = f"{w}/console.png"
    size = br.screenshot(shot)
    st, html = node.request("/troupe/console")
    ok(f"console rendered in headless Chromium in {took * 1000:.0f} ms: {len(html)} bytes of HTML, {charts} SVG charts, "
       f"no script; screenshot {shot} ({size} bytes)")

    # 2. a slow catalog in flight; drain its master from the page
    slow_rc = {}
    slow = threading.Thread(target=lambda: slow_rc.setdefault("rc", agent(node, "slow.example.test", f"{w}/slow.out")))
    slow.start()
    # The catalog (seconds long), not one of the run's quick requests: in flight on the same
    # master for a second.
    busy, seen = None, []
    deadline = time.time() + 90
    while time.time() < deadline and busy is None:
        now = [m["master"] for m in node.state()["masters"] if m["in_flight"] > 0]
        seen = (seen + [now[0] if len(now) == 1 else None])[-5:]
        if len(seen) == 5 and seen[0] is not None and all(x == seen[0] for x in seen):
            busy = seen[0]
        time.sleep(0.2)
    if busy is None:
        fail("the slow catalog never showed in flight")
    other = m2 if busy == m1 else m1
    br.navigate(node.url)
    br.click_and_load(f'document.querySelector(\'tr.master[data-master="{busy}"] button[value="drain"]\').click()')
    msg = br.wait_for("(document.getElementById('msg')||{}).textContent")
    if row_state(br, busy) != "DRAINING" or "drained" not in msg:
        fail(f"after Drain the page shows {busy} as {row_state(br, busy)}")
    ok(f"Drain on the page: {busy} DRAINING while the slow catalog is in flight there")
    before = len(node.catalogs())
    for i in range(2):
        rc = agent(node, "agent1.example.test", f"{w}/drained.{i}.out")
        if rc not in (0, 2):
            fail(f"agent run {i} while {busy} is drained exited {rc}: {open(f'{w}/drained.{i}.out').read()[-1500:]}")
    new = [c for c in node.catalogs()[before:] if c[0] == "agent1.example.test"]
    if len(new) != 2 or any(c[1] != other for c in new):
        fail(f"the agents' catalogs while {busy} was drained went to {new}, not all to {other}")
    ok(f"the next 2 agent runs' catalogs all went to {other}")
    slow.join(240)
    if slow_rc.get("rc") not in (0, 2):
        fail(f"the slow agent run exited {slow_rc.get('rc')}: {open(f'{w}/slow.out').read()[-1500:]}")
    served = [c for c in node.catalogs() if c[0] == "slow.example.test"]
    if not served or served[-1][1] != busy or served[-1][2] != 200:
        fail(f"the slow catalog was not finished by the drained master: {served}")
    deadline = time.time() + 10
    while node.master(busy)["state"] != "DRAINED" and time.time() < deadline:
        time.sleep(0.2)
    br.navigate(node.url)
    if row_state(br, busy) != "DRAINED":
        fail(f"{busy} shows {row_state(br, busy)} after its last request finished")
    ok(f"the slow run finished on {busy} (200), which then shows DRAINED")

    # 3. enable brings it back
    br.click_and_load(f'document.querySelector(\'tr.master[data-master="{busy}"] button[value="enable"]\').click()')
    if row_state(br, busy) != "UP":
        fail(f"after Enable {busy} shows {row_state(br, busy)}")
    before = len(node.catalogs())
    for i in range(4):
        if agent(node, "agent1.example.test", f"{w}/enabled.{i}.out") not in (0, 2):
            fail(f"agent run {i} after enable failed")
    # Least outstanding with sequential runs: the round-robin tie-break spreads them.
    where = {c[1] for c in node.catalogs()[before:]}
    if busy not in where:
        fail(f"after Enable no catalog went to {busy}: {where}")
    ok(f"Enable on the page: {busy} UP and serving catalogs again")

    # weight from the page
    br.navigate(node.url)
    br.click_and_load(
        f'(() => {{ const f = document.querySelector(\'tr.master[data-master="{busy}"] form\');'
        f' f.querySelector(\'input[name="weight"]\').value = "3";'
        f' f.querySelector(\'button[value="weight"]\').click(); }})()')
    row_state(br, busy)
    shown = br.js(f'document.querySelector(\'tr.master[data-master="{busy}"] td:nth-child(4)\').textContent')
    if shown != "3" or node.master(busy)["weight"] != 3:
        fail(f"Set weight 3 on the page: the page shows {shown}, the API {node.master(busy)['weight']}")
    if node.ctl("weight", busy, "1").returncode != 0 or node.master(busy)["weight"] != 1:
        fail("troupe node ctl weight back to 1")
    ok(f"Set weight on the page: {busy} at weight 3 (shown and applied), back to 1 with troupe node ctl")

    # 4. refused posts
    br.navigate(node.url)
    br.click_and_load(
        f'(() => {{ const f = document.querySelector(\'tr.master[data-master="{busy}"] form\');'
        f' f.querySelector(\'input[name="token"]\').remove();'
        f' f.querySelector(\'button[value="disable"]\').click(); }})()')
    text = br.wait_for("document.readyState === 'complete' && document.body && document.body.innerText")
    if "Forbidden" not in text or node.master(busy)["state"] != "UP":
        fail(f"a post without the token was not refused: {text[:300]}")
    token = re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)
    form = urllib.parse.urlencode({"token": token, "master": busy, "action": "disable"})
    st, body = node.request("/troupe/console/action", form,
                            {"Content-Type": "application/x-www-form-urlencoded"}, source="127.0.0.3")
    if st != 403 or node.master(busy)["state"] != "UP":
        fail(f"a non-admin's post (from 127.0.0.3) got {st}: {body[:300]}")
    ok(f"a post without the form's token (from the page) and a non-admin's post (127.0.0.3) are refused 403")

    # 5. the CA at a glance: a pending request, signed from the page
    agent(node, "pending.example.test", f"{w}/pending.0.out", "--waitforcert", "0")
    br.navigate(node.url)
    sel = 'tr.request[data-name="pending.example.test"]'
    fp = br.wait_for(f"document.querySelector('{sel} code') && document.querySelector('{sel} code').textContent")
    if not re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", fp):
        fail(f"the pending request's fingerprint on the page: {fp!r}")
    counts = br.js("document.getElementById('ca').textContent")
    if "1 pending" not in counts or "CRL next update 20" not in counts:
        fail(f"CA counts on the page: {counts}")
    br.click_and_load(f"document.querySelector('{sel} button[value=\"sign\"]').click()")
    msg = br.wait_for("(document.getElementById('msg')||{}).textContent")
    if "Successfully signed" not in msg or "0 pending" not in br.js("document.getElementById('ca').textContent"):
        fail(f"Sign on the page: {msg}")
    if agent(node, "pending.example.test", f"{w}/pending.1.out") not in (0, 2):
        fail(f"the agent signed from the console failed: {open(f'{w}/pending.1.out').read()[-1500:]}")
    ok(f"the CA section showed pending.example.test ({fp[:11]}...) and {counts.split(' · ')[0]}; Sign on the page let its agent run")


def load_part(node, w, seconds):
    """Agents loop while `troupe node ctl` drains and enables each master in turn."""
    stop = threading.Event()
    runs, failed = [0], []
    lock = threading.Lock()

    def loop(k):
        i = 0
        while not stop.is_set():
            name = f"load{k}.example.test"
            rc = agent(node, name, f"{w}/load.{k}.{i}.out")
            with lock:
                runs[0] += 1
                if rc not in (0, 2):
                    failed.append(f"{name} run {i}: exit {rc}")
            i += 1

    threads = [threading.Thread(target=loop, args=(k,)) for k in range(3)]
    before = len(node.catalogs())
    before_all = len(node.statuses())
    for t in threads:
        t.start()
    cycles = 0
    t0 = time.time()
    while time.time() - t0 < seconds:
        for m in node.masters:
            r = node.ctl("drain", m)
            if r.returncode != 0:
                fail(f"troupe node ctl drain {m}: {r.stderr}")
            time.sleep(3)
            r = node.ctl("enable", m)
            if r.returncode != 0:
                fail(f"troupe node ctl enable {m}: {r.stderr}")
            time.sleep(2)
            cycles += 1
    stop.set()
    for t in threads:
        t.join(300)
    cats = node.catalogs()[before:]
    bad = [c for c in cats if c[2] >= 500]
    every = node.statuses()[before_all:]
    bad_all = [x for x in every if x >= 500]
    print(f"load: {runs[0]} agent runs ({len(failed)} failed), {len(every)} requests ({len(bad_all)} answered 5xx), "
          f"{len(cats)} catalogs, over {cycles} drain-enable cycles in {time.time() - t0:.0f} s", flush=True)
    if failed or bad or bad_all:
        fail(f"agents failed during drain-enable cycles: {failed[:5]} {bad[:5]}")
    r = node.ctl("status")
    if r.returncode != 0 or "DRAIN" in r.stdout:
        fail(f"troupe node ctl status after the cycles: {r.stdout} {r.stderr}")
    ok("agents kept succeeding throughout the drain-enable cycles")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--load-seconds", type=int, default=30)
    ap.add_argument("--slow-seconds", type=int, default=8)
    a = ap.parse_args()
    if not shutil.which("puppet"):
        print("skip: puppet is not installed")
        return
    if not CHROMIUM:
        if os.environ.get("CI") == "true":
            fail("chromium is not installed; CI needs it for the console test")
        print("skip: chromium is not installed")
        return
    w = tempfile.mkdtemp(prefix="troupe-console.")
    node = br = None
    try:
        node = Node(w, a.slow_seconds)
        ok(f"troupe node: front https://127.0.0.1:{node.f}, masters {', '.join(node.masters)}")
        if agent(node, "agent1.example.test", f"{w}/first.out") not in (0, 2):
            fail(f"the first agent run failed: {open(w + '/first.out').read()[-1500:]}")
        br = Browser(w)
        browser_part(node, br, w)
        br.close()
        br = None
        if a.load_seconds > 0:
            load_part(node, w, a.load_seconds)
        # Drained state is kept in the store: seen after a node restart.
        r = node.ctl("drain", node.masters[1])
        if r.returncode != 0:
            fail(f"ctl drain: {r.stderr}")
        node.stop()
        node.log = open(f"{w}/node2.log", "w")
        node.p = subprocess.Popen([BIN, "node", "--config", node.conf], stdout=node.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if node.master(node.masters[1])["state"] == "DRAINED":
                    break
            except Exception:
                pass
            time.sleep(0.3)
        else:
            fail("the drain was not kept across the restart")
        ok("a drained master stays drained across a restart (kept in the store)")
    finally:
        if br is not None:
            br.close()
        if node is not None:
            node.stop()
        if a.keep:
            print(f"kept {w}")
        else:
            shutil.rmtree(w, ignore_errors=True)


if __name__ == "__main__":
    main()
