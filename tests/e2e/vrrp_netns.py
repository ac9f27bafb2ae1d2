#!/usr/bin/env python3
"""troupe vrrp in network namespaces that this script creates and removes.

Topology (all addresses exist only inside the namespaces):

    netns <P>br: br0 (bridge) -- p-A, p-B, p-C (veth)
    netns <P>A: eth0 10.99.0.11   netns <P>B: eth0 10.99.0.12   netns <P>C (client): eth0 10.99.0.100
    VIP1 10.99.0.21 (VRID 51), VIP2 10.99.0.22 (VRID 52)

Each host runs a tiny HTTP server on :8080 that answers its own name, so the client sees which
host holds a VIP. The VRRP speaker on a host is `troupe vrrp` or Debian's keepalived.

    vrrp_netns.py test            the functional tests (election, kill, link down, fail-back,
                                  track weight, active-active, notify, shutdown, bad packets,
                                  keepalived interop both ways); exits 1 on a failure
    vrrp_netns.py bench [TRIALS]  failover time and failed client requests, troupe vs keepalived,
                                  advert 1 s and 100 ms, link down / vrrp process killed /
                                  front (HTTP server) killed

Needs root, iproute2, python3, and keepalived for the interop and the benchmark.
"""
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("TROUPE_BIN", os.path.join(ROOT, "target", "release", "troupe"))
P = os.environ.get("TV_PREFIX", "tv%d-" % (os.getpid() % 10000))
NET = "10.99.0"
IP = {"A": NET + ".11", "B": NET + ".12", "C": NET + ".100"}
VIP = {51: NET + ".21", 52: NET + ".22"}

WHOAMI = r'''
import http.server, sys, os
name = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def log_message(self, *a): pass
    def do_GET(self):
        b = (name + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
class S(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True
S(("0.0.0.0", 8080), H).serve_forever()
'''


def sh(*cmd, check=True, quiet=False):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), r.stderr.strip()))
    return r.stdout


def ns(h):
    return P + h


class Bed:
    """The namespaces, the processes started in them, and their cleanup."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="troupe-vrrp-")
        self.procs = {}  # (host, name) -> Popen
        with open(os.path.join(self.dir, "whoami.py"), "w") as f:
            f.write(WHOAMI)
        self.events = os.path.join(self.dir, "events.log")
        notify = os.path.join(self.dir, "notify.sh")
        with open(notify, "w") as f:
            f.write('#!/bin/sh\necho "$(date +%%s.%%N) $HOST_NAME $*" >> %s\n' % self.events)
        os.chmod(notify, 0o755)
        self.notify = notify

    def up(self):
        for h in ("br", "A", "B", "C"):
            sh("ip", "netns", "add", ns(h))
            sh("ip", "-n", ns(h), "link", "set", "lo", "up")
        sh("ip", "-n", ns("br"), "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", ns("br"), "link", "set", "br0", "up")
        for i, h in enumerate(("A", "B", "C")):
            sh("ip", "-n", ns("br"), "link", "add", "p-" + h, "type", "veth", "peer", "name", "eth0", "netns", ns(h))
            sh("ip", "-n", ns(h), "link", "set", "eth0", "address", "02:99:00:00:00:%02x" % (0x11 + i))
            sh("ip", "netns", "exec", ns(h), "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", check=False)
            sh("ip", "-n", ns(h), "addr", "add", IP[h] + "/24", "dev", "eth0")
            sh("ip", "-n", ns(h), "link", "set", "eth0", "up")
            sh("ip", "-n", ns("br"), "link", "set", "p-" + h, "master", "br0", "up")

    def down(self):
        for key in list(self.procs):
            self.stop(*key, sig=signal.SIGKILL)
        for h in ("A", "B", "C", "br"):
            sh("ip", "netns", "del", ns(h), check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, host, name, argv, env=None):
        log = open(os.path.join(self.dir, "%s-%s.log" % (host, name)), "a")
        e = dict(os.environ, HOST_NAME="host" + host)
        e.update(env or {})
        p = subprocess.Popen(["ip", "netns", "exec", ns(host)] + argv, stdout=log, stderr=log,
                             stdin=subprocess.DEVNULL, env=e)
        self.procs[(host, name)] = p
        with open(os.path.join(self.dir, "%s-%s.pid" % (host, name)), "w") as f:
            f.write(str(p.pid))
        return p

    def pidfile(self, host, name):
        return os.path.join(self.dir, "%s-%s.pid" % (host, name))

    def stop(self, host, name, sig=signal.SIGTERM, wait=True):
        p = self.procs.pop((host, name), None)
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(sig)
            if wait:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        else:
            p.wait()

    def whoami(self, host):
        self.start(host, "whoami", [sys.executable, os.path.join(self.dir, "whoami.py"), "host" + host])

    def log(self, host, name):
        try:
            return open(os.path.join(self.dir, "%s-%s.log" % (host, name))).read()
        except OSError:
            return ""

    # --- configurations -------------------------------------------------------------------
    def troupe(self, host, instances, checks=(), extra_env=None):
        """instances: list of dicts (vrid, priority, advert, version, track, preempt...)."""
        lines = []
        for i in instances:
            lines += ["[instance VI_%d]" % i["vrid"], "interface = eth0", "vrid = %d" % i["vrid"],
                      "priority = %d" % i["priority"], "advert_int = %s" % i.get("advert", 0.1),
                      "version = %d" % i.get("version", 3), "virtual_address = %s/24" % VIP[i["vrid"]],
                      "garp_count = 2", "garp_delay = 0.1", "notify = " + self.notify]
            if not i.get("preempt", True):
                lines.append("nopreempt = true")
            for t in i.get("track", []):
                lines.append("track = " + t)
            for peer in i.get("unicast", []):
                lines.append("unicast_peer = " + peer)
            lines.append("")
        for c in checks:
            lines += ["[check %s]" % c["name"], "%s = %s" % (c["kind"], c["target"]),
                      "interval = %s" % c.get("interval", 0.05), "timeout = 0.5",
                      "weight = %d" % c["weight"], "rise = %d" % c.get("rise", 1), "fall = %d" % c.get("fall", 1), ""]
        path = os.path.join(self.dir, "troupe-%s.conf" % host)
        with open(path, "w") as f:
            f.write("\n".join(lines))
        return self.start(host, "vrrp", [BIN, "vrrp", "--config", path], env=extra_env)

    def keepalived(self, host, instances, checks=()):
        lines = ["global_defs {", "  router_id host%s" % host, "  script_user root", "  enable_script_security",
                 "  vrrp_garp_master_delay 0", "  vrrp_garp_master_repeat 2", "}"]
        for c in checks:
            lines += ["vrrp_script %s {" % c["name"], '  script "%s"' % c["script"],
                      "  interval %d" % max(1, int(c.get("interval", 1))), "  timeout 1", "  fall 1", "  rise 1",
                      "  weight %d" % c["weight"], "}"]
        for i in instances:
            lines += ["vrrp_instance VI_%d {" % i["vrid"], "  state BACKUP", "  interface eth0",
                      "  virtual_router_id %d" % i["vrid"], "  priority %d" % i["priority"],
                      "  advert_int %s" % i.get("advert", 0.1), "  version %d" % i.get("version", 3),
                      "  virtual_ipaddress {", "    %s/24 dev eth0" % VIP[i["vrid"]], "  }",
                      '  notify "%s"' % self.notify]
            if i.get("track"):
                lines += ["  track_script {"] + ["    " + t for t in i["track"]] + ["  }"]
            lines.append("}")
        path = os.path.join(self.dir, "keepalived-%s.conf" % host)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        d = self.dir
        return self.start(host, "vrrp", ["keepalived", "-n", "-l", "-D", "-P", "-f", path,
                                         "-p", "%s/ka-%s.pid" % (d, host), "-r", "%s/ka-%s-vrrp.pid" % (d, host),
                                         "-c", "%s/ka-%s-chk.pid" % (d, host)])

    def kill_keepalived(self, host):
        """SIGKILL keepalived's parent and VRRP child (frozen first, so neither reacts)."""
        pids = []
        for f in ("ka-%s.pid" % host, "ka-%s-vrrp.pid" % host):
            try:
                pids.append(int(open(os.path.join(self.dir, f)).read().strip()))
            except (OSError, ValueError):
                pass
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for p in pids:
                try:
                    os.kill(p, sig)
                except ProcessLookupError:
                    pass
        self.stop(host, "vrrp", sig=signal.SIGKILL)
        # Its pid files would name zombies until init reaps them; keepalived would then refuse
        # to start ("daemon is already running").
        for f in ("ka-%s.pid" % host, "ka-%s-vrrp.pid" % host, "ka-%s-chk.pid" % host):
            try:
                os.unlink(os.path.join(self.dir, f))
            except OSError:
                pass

    def link(self, host, up):
        sh("ip", "-n", ns("br"), "link", "set", "p-" + host, "up" if up else "down")

    def holder(self, vip):
        """Which hosts have the VIP configured."""
        return [h for h in ("A", "B") if (" %s/" % vip) in sh("ip", "-n", ns(h), "-4", "addr", "show", "dev", "eth0", check=False)]


def client_get(bed, vip, timeout=0.3):
    """One request from the client namespace, answered by host A or B, or None."""
    r = subprocess.run(["ip", "netns", "exec", ns("C"), sys.executable, "-c", PROBE, vip, "0", "0", str(timeout)],
                       capture_output=True, text=True)
    try:
        return json.loads(r.stdout)[0][1]
    except (ValueError, IndexError):
        return None


PROBE = r'''
import socket, sys, time, json
vip, dur, every, tmo = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
end = time.time() + dur
out = []
while True:  # at least one request, then until the end
    t = time.time()
    who = None
    try:
        s = socket.create_connection((vip, 8080), timeout=tmo)
        s.settimeout(tmo)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        d = b""
        while True:
            x = s.recv(4096)
            if not x: break
            d += x
        s.close()
        who = d.split(b"\r\n\r\n", 1)[1].decode().strip()
    except Exception:
        pass
    out.append((t, who))
    if time.time() >= end:
        break
    rest = every - (time.time() - t)
    if rest > 0:
        time.sleep(rest)
print(json.dumps(out))
'''


def wait_for(what, fn, timeout):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def answers(bed, vid, host, timeout=8.0):
    wait_for("%s answering on VIP %s" % ("host" + host, VIP[vid]),
             lambda: client_get(bed, VIP[vid]) == "host" + host, timeout)


class Probe:
    """A client loop in the client namespace: a new TCP connection every `every` s."""

    def __init__(self, bed, vip, dur, every=0.01, tmo=0.05):
        self.p = subprocess.Popen(["ip", "netns", "exec", ns("C"), sys.executable, "-c", PROBE, vip,
                                   str(dur), str(every), str(tmo)], stdout=subprocess.PIPE, text=True)

    def result(self):
        out, _ = self.p.communicate(timeout=120)
        return json.loads(out)


def failover(bed, vip, fault, dur=3.0, new_host="hostB"):
    """Runs a client probe, injects `fault()` after 0.3 s, and measures the hand-over."""
    probe = Probe(bed, vip, dur)
    time.sleep(0.3)
    t0 = time.time()
    fault()
    return measure(probe.result(), t0, new_host)


def measure(samples, t0, new_host):
    """ms from t0 to the first answer by new_host; failed requests after t0 until then."""
    first = next((t for t, w in samples if t >= t0 and w == new_host), None)
    failed = sum(1 for t, w in samples if t >= t0 and (first is None or t < first) and w is None)
    return (None if first is None else (first - t0) * 1000.0), failed


# --- functional tests --------------------------------------------------------------------------

FAST = dict(advert=0.1, version=3)
RESULTS = []


def check(name, fn, bed):
    t = time.time()
    try:
        fn(bed)
        RESULTS.append((name, True, ""))
        print("ok: %s (%.1f s)" % (name, time.time() - t), flush=True)
    except Exception as e:  # noqa: BLE001 - report and go on
        RESULTS.append((name, False, str(e)))
        print("FAIL: %s: %s" % (name, e), flush=True)
        for h in ("A", "B"):
            print("--- host%s vrrp log:\n%s" % (h, bed.log(h, "vrrp")[-3000:]), flush=True)
    finally:
        for key in list(bed.procs):
            if key[1] != "whoami":
                bed.stop(*key)
        for h in ("A", "B"):
            bed.link(h, True)
            for v in VIP.values():
                sh("ip", "-n", ns(h), "addr", "del", v + "/24", "dev", "eth0", check=False)
        for h in ("A", "B"):
            if (h, "whoami") not in bed.procs:
                bed.whoami(h)


def t_election_kill_failback(bed):
    bed.troupe("A", [dict(vrid=51, priority=101, **FAST)])
    bed.troupe("B", [dict(vrid=51, priority=100, **FAST)])
    answers(bed, 51, "A")
    assert bed.holder(VIP[51]) == ["A"], bed.holder(VIP[51])
    # Killed outright: no priority-0 advert; B takes over after the master-down interval.
    ms, failed = failover(bed, VIP[51], lambda: bed.stop("A", "vrrp", sig=signal.SIGKILL))
    assert ms is not None and ms < 2000, "B did not take over after A was killed (%s ms)" % ms
    print("   killed master: hostB answers after %.0f ms, %d failed requests" % (ms, failed))
    # A comes back, removes its stale address, and preempts (higher priority).
    bed.troupe("A", [dict(vrid=51, priority=101, **FAST)])
    answers(bed, 51, "A")
    wait_for("B to release the VIP", lambda: bed.holder(VIP[51]) == ["A"], 3)
    ev = open(bed.events).read()
    assert "hostA INSTANCE VI_51 MASTER" in ev and "hostB INSTANCE VI_51 MASTER" in ev \
        and "hostB INSTANCE VI_51 BACKUP" in ev, "notify hooks: " + ev


def t_link_down(bed):
    bed.troupe("A", [dict(vrid=51, priority=101, **FAST)])
    bed.troupe("B", [dict(vrid=51, priority=100, **FAST)])
    answers(bed, 51, "A")
    ms, failed = failover(bed, VIP[51], lambda: bed.link("A", False))
    assert ms is not None, "B did not take over after A's link went down"
    print("   link down: hostB answers after %.0f ms, %d failed requests" % (ms, failed))
    wait_for("A in FAULT without the VIP", lambda: bed.holder(VIP[51]) == ["B"], 3)
    assert "FAULT" in bed.log("A", "vrrp"), "A logged no FAULT"
    bed.link("A", True)
    answers(bed, 51, "A")


def t_shutdown_priority0(bed):
    bed.troupe("A", [dict(vrid=51, priority=101, advert=1, version=3)])
    bed.troupe("B", [dict(vrid=51, priority=100, advert=1, version=3)])
    answers(bed, 51, "A", timeout=10)
    ms, failed = failover(bed, VIP[51], lambda: bed.stop("A", "vrrp", sig=signal.SIGTERM, wait=False))
    # Master_Down would be 3.6 s at advert 1 s; priority 0 cuts it to the skew (0.6 s).
    assert ms is not None and ms < 1500, "hand-over on shutdown took %s ms" % ms
    print("   SIGTERM (priority 0) at advert 1 s: hostB answers after %.0f ms" % ms)
    assert bed.holder(VIP[51]) == ["B"], bed.holder(VIP[51])


def t_track_weight(bed):
    chk = [dict(name="front", kind="http", target="http://127.0.0.1:8080/", weight=2)]
    bed.troupe("A", [dict(vrid=51, priority=101, track=["front"], **FAST)], chk)
    bed.troupe("B", [dict(vrid=51, priority=100, track=["front"], **FAST)], chk)
    answers(bed, 51, "A")
    # A's front dies: 103 -> 101 < B's 102, B preempts.
    bed.stop("A", "whoami", sig=signal.SIGKILL)
    answers(bed, 51, "B", timeout=5)
    assert "priority 101" in bed.log("A", "vrrp") or "fails" in bed.log("A", "vrrp")
    bed.whoami("A")
    answers(bed, 51, "A", timeout=5)


def t_fault_check_fast(bed):
    chk = [dict(name="front", kind="pidfile", target=bed.pidfile("A", "whoami"), weight=0, interval=0.02)]
    bed.troupe("A", [dict(vrid=51, priority=101, track=["front"], **FAST)], chk)
    bed.troupe("B", [dict(vrid=51, priority=100, **FAST)])
    answers(bed, 51, "A")
    ms, failed = failover(bed, VIP[51], lambda: bed.stop("A", "whoami", sig=signal.SIGKILL), dur=2.0)
    assert ms is not None and ms < 1000, "dead front not handed over (%s ms)" % ms
    print("   dead front (pidfile check 20 ms, weight 0): hostB answers after %.0f ms, %d failed" % (ms, failed))


def t_active_active(bed):
    bed.troupe("A", [dict(vrid=51, priority=101, **FAST), dict(vrid=52, priority=100, **FAST)])
    bed.troupe("B", [dict(vrid=51, priority=100, **FAST), dict(vrid=52, priority=101, **FAST)])
    answers(bed, 51, "A")
    answers(bed, 52, "B")
    assert bed.holder(VIP[51]) == ["A"] and bed.holder(VIP[52]) == ["B"]
    bed.stop("B", "vrrp")
    answers(bed, 52, "A")
    assert client_get(bed, VIP[51]) == "hostA"


def t_unicast(bed):
    bed.troupe("A", [dict(vrid=51, priority=101, unicast=[IP["B"]], **FAST)])
    bed.troupe("B", [dict(vrid=51, priority=100, unicast=[IP["A"]], **FAST)])
    answers(bed, 51, "A")
    bed.stop("A", "vrrp", sig=signal.SIGKILL)
    answers(bed, 51, "B")


def t_bad_packets(bed):
    bed.troupe("A", [dict(vrid=51, priority=101, **FAST)])
    answers(bed, 51, "A")
    sender = r'''
import socket, struct, sys
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
src, dst = socket.inet_aton(sys.argv[1]), socket.inet_aton("224.0.0.18")
def vrrp(ver=3, vrid=51, prio=200, addrs=[sys.argv[2]], bad_sum=False):
    a = b"".join(socket.inet_aton(x) for x in addrs)
    if ver == 2:  # auth type 0, advert 1 s, 8 bytes of authentication data
        m = struct.pack("!BBBBBB", 0x21, vrid, prio, len(addrs), 0, 1) + b"\0\0" + a + b"\0" * 8
        c = csum(m)
    else:
        m = struct.pack("!BBBBH", (ver << 4) | 1, vrid, prio, len(addrs), 10) + b"\0\0" + a
        c = csum(src + dst + struct.pack("!BBH", 0, 112, len(m)) + m)
    c ^= 0x1111 if bad_sum else 0
    return m[:6] + struct.pack("!H", c) + m[8:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
def send(m, ttl=255):
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
    s.sendto(m, ("224.0.0.18", 0))
for _ in range(3):
    send(vrrp(), ttl=64)                      # TTL not 255
    send(vrrp(bad_sum=True))                  # bad checksum
    send(vrrp(ver=2))                         # wrong version for this instance
    send(vrrp(vrid=77))                       # unknown VRID
    send(vrrp(addrs=["10.99.0.99"]))          # unknown addresses
'''
    subprocess.run(["ip", "netns", "exec", ns("C"), sys.executable, "-c", sender, IP["C"], VIP[51]], check=True)
    time.sleep(0.5)
    # Each of them carried priority 200 and would have taken A down had it been accepted.
    assert bed.holder(VIP[51]) == ["A"], "a bad packet moved the VIP"
    os.kill(bed.procs[("A", "vrrp")].pid, signal.SIGUSR1)
    time.sleep(0.3)
    log = bed.log("A", "vrrp")
    for why in ("ttl_not_255=3", "bad_checksum=3", "wrong_version=3", "unknown_vrid=3", "address_mismatch=3"):
        assert why in log, "drop counter %s missing in: %s" % (why, log[-800:])


def t_interop(bed):
    if not shutil.which("keepalived"):
        raise AssertionError("keepalived is not installed")
    for version, advert in ((2, 1), (3, 0.1)):
        # troupe (101) against keepalived (100): troupe wins, then hands over and takes back.
        bed.troupe("A", [dict(vrid=51, priority=101, advert=advert, version=version)])
        bed.keepalived("B", [dict(vrid=51, priority=100, advert=advert, version=version)])
        answers(bed, 51, "A", timeout=12)
        time.sleep(3 * advert + 0.5)
        assert bed.holder(VIP[51]) == ["A"], "v%d: keepalived took the VIP from a higher troupe: %s" % (version, bed.holder(VIP[51]))
        bed.stop("A", "vrrp")                       # priority 0: keepalived takes over
        answers(bed, 51, "B", timeout=8)
        bed.troupe("A", [dict(vrid=51, priority=101, advert=advert, version=version)])
        answers(bed, 51, "A", timeout=12)           # troupe preempts keepalived
        wait_for("keepalived to drop the VIP", lambda: bed.holder(VIP[51]) == ["A"], 5)
        bed.stop("A", "vrrp")
        bed.stop("B", "vrrp")
        # keepalived (101) against troupe (100): keepalived wins; killed, troupe takes over.
        bed.keepalived("B", [dict(vrid=51, priority=101, advert=advert, version=version)])
        bed.troupe("A", [dict(vrid=51, priority=100, advert=advert, version=version)])
        answers(bed, 51, "B", timeout=12)
        time.sleep(3 * advert + 0.5)
        assert bed.holder(VIP[51]) == ["B"], "v%d: troupe took the VIP from a higher keepalived" % version
        bed.kill_keepalived("B")
        answers(bed, 51, "A", timeout=8)
        bed.stop("A", "vrrp")
        for v in VIP.values():
            sh("ip", "-n", ns("B"), "addr", "del", v + "/24", "dev", "eth0", check=False)
        print("   interop VRRPv%d advert %s s: both directions" % (version, advert))


def run_tests(only=None):
    bed = Bed()
    try:
        bed.up()
        bed.whoami("A")
        bed.whoami("B")
        tests = [("election, killed master, fail-back with preemption, notify hooks", t_election_kill_failback),
                 ("failover when the master's link goes down", t_link_down),
                 ("SIGTERM hands over at once with priority 0", t_shutdown_priority0),
                 ("a track check's weight hands the VIP over", t_track_weight),
                 ("a weight-0 check (dead front) faults the master: fast hand-over", t_fault_check_fast),
                 ("two VIPs active-active", t_active_active),
                 ("unicast peers", t_unicast),
                 ("bad packets are dropped and counted", t_bad_packets),
                 ("interop with keepalived, VRRPv2 and v3, both directions", t_interop)]
        for name, fn in tests:
            if only and only not in fn.__name__:
                continue
            check(name, fn, bed)
    finally:
        bed.down()
    failed = [r for r in RESULTS if not r[1]]
    print("vrrp netns: %d passed, %d failed" % (len(RESULTS) - len(failed), len(failed)))
    return 1 if failed else 0


# --- benchmark ---------------------------------------------------------------------------------

def trial(bed, impl, fault, advert, version):
    if impl == "troupe":
        chk = [dict(name="front", kind="http", target="http://127.0.0.1:8080/", weight=0, interval=0.05)]
        bed.troupe("A", [dict(vrid=51, priority=101, advert=advert, version=version, track=["front"])], chk)
        bed.troupe("B", [dict(vrid=51, priority=100, advert=advert, version=version, track=["front"])], chk)
    else:
        chk = [dict(name="front", script="/usr/bin/curl -sf -m 1 -o /dev/null http://127.0.0.1:8080/",
                    weight=0, interval=1)]
        bed.keepalived("A", [dict(vrid=51, priority=101, advert=advert, version=version, track=["front"])], chk)
        bed.keepalived("B", [dict(vrid=51, priority=100, advert=advert, version=version, track=["front"])], chk)
    answers(bed, 51, "A", timeout=15)
    time.sleep(max(1.0, 4 * advert))
    probe = Probe(bed, VIP[51], 8.0 if advert == 1 else 3.0)
    time.sleep(0.5)
    t0 = time.time()
    if fault == "link down":
        bed.link("A", False)
    elif fault == "vrrp killed":
        if impl == "keepalived":
            bed.kill_keepalived("A")
        else:
            bed.stop("A", "vrrp", sig=signal.SIGKILL)
    else:
        bed.stop("A", "whoami", sig=signal.SIGKILL)
    return measure(probe.result(), t0, "hostB")


def reset(bed, impl):
    for key in list(bed.procs):
        if key[1] == "vrrp":
            if impl == "keepalived" and key[0] == "A":
                bed.kill_keepalived("A")
            bed.stop(*key)
    bed.link("A", True)
    for h in ("A", "B"):
        sh("ip", "-n", ns(h), "addr", "del", VIP[51] + "/24", "dev", "eth0", check=False)
        if (h, "whoami") not in bed.procs:
            bed.whoami(h)
    # The client forgets where the VIP was.
    sh("ip", "-n", ns("C"), "neigh", "flush", "all", check=False)
    time.sleep(0.3)


def bench(trials):
    bed = Bed()
    rows = []
    try:
        bed.up()
        bed.whoami("A")
        bed.whoami("B")
        for advert in (1, 0.1):
            version = 3
            for impl in ("keepalived", "troupe"):
                for fault in ("link down", "vrrp killed", "front killed"):
                    got = []
                    for _ in range(trials):
                        try:
                            got.append(trial(bed, impl, fault, advert, version))
                            print("   %s advert %s %s: %s" % (impl, advert, fault, got[-1]), flush=True)
                        except AssertionError as e:
                            print("trial failed: %s; holders %s; A log:\n%s\nB log:\n%s" % (
                                e, bed.holder(VIP[51]), bed.log("A", "vrrp")[-1500:], bed.log("B", "vrrp")[-1500:]), flush=True)
                            got.append((None, None))
                        finally:
                            reset(bed, impl)
                    oks = [g[0] for g in got if g[0] is not None]
                    row = dict(advert_s=advert, impl=impl, fault=fault, trials=trials,
                               ms_median=round(statistics.median(oks)) if oks else None,
                               ms_min=round(min(oks)) if oks else None, ms_max=round(max(oks)) if oks else None,
                               failed_median=statistics.median(g[1] for g in got if g[1] is not None) if oks else None, missed=len(got) - len(oks))
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    finally:
        bed.down()
    print("\nfailover: ms from the fault until the VIP answers from host B (client namespace, a new")
    print("connection every 10 ms, 50 ms timeout); failed = client requests that failed meanwhile.")
    print("checks: troupe http every 50 ms, keepalived vrrp_script (curl) every 1 s (its minimum); both weight 0")
    print("%-8s %-12s %-14s %22s %22s %8s" % ("advert", "fault", "", "keepalived ms (failed)", "troupe ms (failed)", "ratio"))
    for advert in (1, 0.1):
        for fault in ("link down", "vrrp killed", "front killed"):
            k = next(r for r in rows if r["advert_s"] == advert and r["fault"] == fault and r["impl"] == "keepalived")
            t = next(r for r in rows if r["advert_s"] == advert and r["fault"] == fault and r["impl"] == "troupe")
            ratio = "%.2fx" % (t["ms_median"] / k["ms_median"]) if t["ms_median"] and k["ms_median"] else "-"
            print("%-8s %-12s %-14s %22s %22s %8s" % (
                "%s s" % advert, fault, "",
                "%s [%s-%s] (%s)" % (k["ms_median"], k["ms_min"], k["ms_max"], k["failed_median"]),
                "%s [%s-%s] (%s)" % (t["ms_median"], t["ms_min"], t["ms_max"], t["failed_median"]), ratio))
    return 0


if __name__ == "__main__":
    # SIGTERM unwinds like Ctrl-C, so the namespaces and processes are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if os.geteuid() != 0:
        print("needs root (network namespaces, raw sockets)")
        sys.exit(1)
    mode = sys.argv[1] if len(sys.argv) > 1 else "test"
    if mode == "bench":
        sys.exit(bench(int(sys.argv[2]) if len(sys.argv) > 2 else 3))
    sys.exit(run_tests(sys.argv[2] if len(sys.argv) > 2 else None))
