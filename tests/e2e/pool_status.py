"""The status page of the pool in a real browser, a step of pool_netns.py's test.

Debian's chromium (headless) loads host A's `https://127.0.0.1:8140/troupe/status` inside
host A's namespace (an admin address) and dumps the DOM it rendered: both hosts, each VIP held
by its own host, four masters with one code version for production. Then host B's site.pp
changes: the page shows the code-version mismatch for production (JSON within 10 s, then the
rendered DOM, in red, naming both hosts); restored, the mismatch goes. A screenshot of the
page goes to the scratch directory; its size and the render time are printed.
"""
import html.parser
import json
import os
import subprocess
import tempfile
import time

URL = "https://127.0.0.1:8140/troupe/status"


class Dom(html.parser.HTMLParser):
    """The pool section of a dumped DOM: host rows, master rows, mismatch boxes."""

    def __init__(self):
        super().__init__()
        self.hosts = {}  # name -> {"this": str, "held": text}
        self.masters = []  # {"host", "state", "codes": {env: (id, mismatch)}}
        self.mismatches = {}  # env -> text
        self.store = None
        self._host = None
        self._in_held = False
        self._box = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "tr" and "host" in cls:
            self._host = a.get("data-host")
            self.hosts[self._host] = {"this": a.get("data-this"), "held": ""}
        elif tag == "tr" and "master" in cls:
            self.masters.append({"host": a.get("data-host"), "state": a.get("data-state"), "codes": {}})
        elif tag == "td" and "vips-held" in cls and self._host:
            self._in_held = True
        elif tag == "span" and "code" in cls and self.masters:
            self.masters[-1]["codes"][a.get("data-env")] = (a.get("data-id"), "mismatch" in cls)
        elif tag == "span" and a.get("id") == "store":
            self.store = a.get("data-reachable")
        elif tag == "div" and "mismatch" in cls:
            self._box = a.get("data-env")
            self.mismatches[self._box] = ""

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_held = False
        elif tag == "tr":
            self._host = None
        elif tag == "div":
            self._box = None

    def handle_data(self, data):
        if self._in_held and self._host:
            self.hosts[self._host]["held"] += data
        if self._box:
            self.mismatches[self._box] += data


def chromium(bed, run_in, *args):
    """Runs headless chromium in host A's namespace with a fresh profile; (stdout, seconds)."""
    profile = tempfile.mkdtemp(prefix="chromium-", dir=bed.dir)
    t = time.time()
    try:
        r = run_in("A", "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   "--user-data-dir=" + profile, "--ignore-certificate-errors", *args, URL,
                   check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        print("  chromium failed: %s" % e)
        r = ""
    return r, time.time() - t


def page_json(run_in):
    out = run_in("A", "curl", "-sk", "--max-time", "2", URL + "?format=json", check=False)
    try:
        return json.loads(out).get("pool") or {}
    except ValueError:
        return {}


def check(bed, need, run_in, site_pp_b, vips):
    """The browser step; returns its row for the report. `vips`: {host: "ADDR/PREFIX"}."""
    t0 = time.time()
    # The page may lag the bring-up by a refresh: wait (JSON) until it shows all four masters.
    ready = False
    end = time.time() + 10
    while time.time() < end and not ready:
        pool = page_json(run_in)
        ready = (sum(len(h.get("masters", [])) for h in pool.get("hosts", [])) == 4
                 and all(h.get("vips_held") for h in pool.get("hosts", []))
                 and len(pool.get("hosts", [])) == 2)
        time.sleep(0.2)
    dom_text, render_s = chromium(bed, run_in, "--dump-dom")
    dom = Dom()
    dom.feed(dom_text)
    print("  status page rendered by chromium in %.2f s: hosts %s, %d masters" % (
        render_s, sorted(dom.hosts), len(dom.masters)))
    need(sorted(dom.hosts) == sorted(vips), "status page: both hosts shown (%s)" % sorted(dom.hosts))
    for host, vip in vips.items():
        held = dom.hosts.get(host, {}).get("held", "")
        need(held.strip() == vip, "status page: %s holds %s (page says %r)" % (host, vip, held))
    need(dom.hosts.get("hostA", {}).get("this") == "true", "status page: host A is this host")
    ids = [m["codes"].get("production", (None, None)) for m in dom.masters]
    need(len(dom.masters) == 4 and all(m["state"] == "up" for m in dom.masters),
         "status page: four masters, all up as A's front sees them (%s)" % [(m["host"], m["state"]) for m in dom.masters])
    need(len({i for i, _ in ids}) == 1 and ids[0][0] and not any(bad for _, bad in ids) and not dom.mismatches,
         "status page: the four masters report one code version for production (%s)" % ids)
    need(dom.store == "true", "status page: the CA store is reachable")

    shot = os.path.join(bed.dir, "status.png")
    _, shot_s = chromium(bed, run_in, "--screenshot=" + shot, "--window-size=1200,900")
    size = os.path.getsize(shot) if os.path.exists(shot) else 0
    print("  screenshot %s: %d bytes in %.2f s" % (shot, size, shot_s))
    need(size > 0, "status page: a screenshot was taken")

    with open(site_pp_b) as f:
        original = f.read()
    with open(site_pp_b, "a") as f:
        f.write("# changed on host B only\n")
    t = time.time()
    shown = None
    while time.time() - t < 10:
        pool = page_json(run_in)
        if any(m.get("environment") == "production" for m in pool.get("code_mismatches", [])):
            shown = time.time() - t
            break
        time.sleep(0.1)
    print("  code change on B: mismatch on A's page after %s s" % (round(shown, 2) if shown is not None else None))
    need(shown is not None, "status page: B's changed site.pp shows as a code-version mismatch within 10 s")
    dom_text, _ = chromium(bed, run_in, "--dump-dom")
    dom = Dom()
    dom.feed(dom_text)
    box = dom.mismatches.get("production", "")
    red = [m["host"] for m in dom.masters if m["codes"].get("production", (None, False))[1]]
    need("hostA" in box and "hostB" in box and len(red) == 4,
         "status page: the production mismatch is highlighted, naming both hosts (%r, %d red)" % (box, len(red)))
    with open(site_pp_b, "w") as f:
        f.write(original)
    t = time.time()
    cleared = None
    while time.time() - t < 10:
        if not page_json(run_in).get("code_mismatches", [1]):
            cleared = time.time() - t
            break
        time.sleep(0.1)
    need(cleared is not None, "status page: the mismatch goes once B's site.pp is restored")
    took = time.time() - t0
    print("  status page step: %.1f s" % took)
    return {"fault": "status page (chromium)", "render_s": round(render_s, 2), "screenshot_bytes": size,
            "screenshot_s": round(shot_s, 2), "mismatch_shown_s": round(shown, 2) if shown is not None else None,
            "mismatch_cleared_s": round(cleared, 2) if cleared is not None else None, "step_s": round(took, 1)}
