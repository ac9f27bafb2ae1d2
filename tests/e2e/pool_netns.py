#!/usr/bin/env python3
"""The classic two-host pool, run by `troupe node`, in network namespaces this script creates
and removes, with real `puppet agent` runs, real etcd, and faults injected while they run.

Topology (the addresses of ../shared/lab/ha's keepalived + haproxy bed; they exist only inside
the namespaces):

    netns <P>br: br0 (bridge) -- p-A, p-B, p-E, p-C (veth)
    <P>A host A 10.88.0.11: troupe node (front :8140, 2 masters, VRRP VI_1 master, VI_2 backup), etcd
    <P>B host B 10.88.0.12: troupe node (front :8140, 2 masters, VRRP VI_2 master, VI_1 backup), etcd
    <P>E        10.88.0.13: the third etcd member
    <P>C client 10.88.0.100: puppet agents and request probers; puppet1 = VIP1 10.88.0.21 (VRID 51),
                             puppet2 = VIP2 10.88.0.22 (VRID 52)

Each host has one config file (`troupe node --config`), the pool lives in etcd (`troupe pool
init` on A; B gets only the endpoints and the join secret), and A and B have different
`site.pp`s (`Hello, I am Master 1` / `Master 2`), so a run shows which host compiled it.

    pool_netns.py test    bring the pool up, run agents through both VIPs, inject each fault,
                          print a table (failed runs, failed requests, worst wait, time to
                          normal) and write it as JSON (POOL_NETNS_OUT, default
                          /tmp/pool-netns.json); exits 1 when an outcome the issue requires
                          is not met
    pool_netns.py demo    bring it up, show one agent run through each VIP, tear it down
    pool_netns.py front [N]  only the front and node faults, N times each (default 3)

Needs root, iproute2, etcd (Debian's etcd-server), puppet (Debian's puppet-agent), openssl,
and for the status page step (pool_status.py) Debian's chromium.
"""
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pool_front_faults as faults  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("TROUPE_BIN", os.path.join(ROOT, "target", "release", "troupe"))
P = os.environ.get("TP_PREFIX", "tp%d-" % (os.getpid() % 10000))
NET = "10.88.0"
IP = {"A": NET + ".11", "B": NET + ".12", "E": NET + ".13", "C": NET + ".100"}
VIP = {"puppet1": NET + ".21", "puppet2": NET + ".22"}
ETCD_HOSTS = ("A", "B", "E")
STORE = "etcd://" + ",".join("%s:2379" % IP[h] for h in ETCD_HOSTS)


def sh(*cmd, check=True, timeout=60):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s%s" % (" ".join(cmd), r.stdout.strip(), r.stderr.strip()))
    return r.stdout


def ns(h):
    return P + h


def in_ns(h, *cmd, **kw):
    return sh("ip", "netns", "exec", ns(h), *cmd, **kw)


class Bed:
    """Namespaces, processes started in them (stopped by PID), files, and their cleanup."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="troupe-pool-netns-")
        self.procs = {}
        self.etc = "/etc/netns/" + ns("C")

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def up(self):
        for h in ("br", "A", "B", "E", "C"):
            sh("ip", "netns", "add", ns(h))
            sh("ip", "-n", ns(h), "link", "set", "lo", "up")
        sh("ip", "-n", ns("br"), "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", ns("br"), "link", "set", "br0", "up")
        for i, h in enumerate(("A", "B", "E", "C")):
            sh("ip", "-n", ns("br"), "link", "add", "p-" + h, "type", "veth", "peer", "name", "eth0",
               "netns", ns(h))
            sh("ip", "-n", ns(h), "link", "set", "eth0", "address", "02:88:00:00:01:%02x" % (0x11 + i))
            in_ns(h, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", check=False)
            sh("ip", "-n", ns(h), "addr", "add", IP[h] + "/24", "dev", "eth0")
            sh("ip", "-n", ns(h), "link", "set", "eth0", "up")
            sh("ip", "-n", ns("br"), "link", "set", "p-" + h, "master", "br0", "up")
        # The client resolves the VIPs by name (`ip netns exec` binds /etc/netns/NS/hosts).
        os.makedirs(self.etc, exist_ok=True)
        with open(os.path.join(self.etc, "hosts"), "w") as f:
            f.write("127.0.0.1 localhost\n%s puppet1\n%s puppet2\n" % (VIP["puppet1"], VIP["puppet2"]))

    def down(self):
        for key in list(self.procs):
            self.stop(key, sig=signal.SIGKILL)
        for h in ("A", "B", "E", "C", "br"):
            sh("ip", "netns", "del", ns(h), check=False)
        shutil.rmtree(self.etc, ignore_errors=True)
        if os.environ.get("KEEP"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, host, name, argv):
        log = open(self.path("%s-%s.log" % (host, name)), "a")
        p = subprocess.Popen(["ip", "netns", "exec", ns(host)] + argv, stdout=log, stderr=log,
                             stdin=subprocess.DEVNULL)
        self.procs[name] = p
        return p

    def stop(self, name, sig=signal.SIGTERM, wait=15):
        p = self.procs.pop(name, None)
        if p is None:
            return None
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return p.returncode

    def log(self, name):
        for f in sorted(os.listdir(self.dir)):
            if f.endswith("-%s.log" % name):
                with open(self.path(f), errors="replace") as fh:
                    return fh.read()
        return ""

    # --- the parts ---------------------------------------------------------------------------
    def etcd(self, h):
        ip = IP[h]
        cluster = ",".join("e%s=http://%s:2380" % (x, IP[x]) for x in ETCD_HOSTS)
        self.start(h, "etcd" + h, [
            "etcd", "--name", "e" + h, "--data-dir", self.path("etcd-" + h),
            "--listen-client-urls", "http://%s:2379" % ip, "--advertise-client-urls", "http://%s:2379" % ip,
            "--listen-peer-urls", "http://%s:2380" % ip, "--initial-advertise-peer-urls", "http://%s:2380" % ip,
            "--initial-cluster", cluster, "--initial-cluster-token", "troupe-netns",
            "--initial-cluster-state", "new", "--heartbeat-interval", "100", "--election-timeout", "1000"])

    def etcd_healthy(self, from_host="C", hosts=ETCD_HOSTS):
        eps = ",".join("http://%s:2379" % IP[h] for h in hosts)
        r = subprocess.run(["ip", "netns", "exec", ns(from_host), "etcdctl", "--endpoints", eps,
                            "--command-timeout=2s", "endpoint", "health"],
                           capture_output=True, text=True, env=dict(os.environ, ETCDCTL_API="3"))
        return r.returncode == 0

    def site_pp(self, h):
        return self.path(h, "code", "environments", "production", "manifests", "site.pp")

    def node_conf(self, h, same_code=False):
        """Host h's file. Its site.pp says which host compiled a catalog: from a different
        file on each host, or (same_code) from the same file on both, by the master's address,
        so both hosts' masters report the same code version."""
        first = h == "A"
        code = os.path.dirname(self.site_pp(h))
        os.makedirs(code, exist_ok=True)
        with open(self.site_pp(h), "w") as f:
            if same_code:
                f.write("$n = $server_facts['serverip'] ? { '%s' => 1, default => 2 }\n"
                        "notify { \"Hello, I am Master ${n}\": }\n" % IP["A"])
            else:
                f.write("notify { 'Hello, I am Master %d': }\n" % (1 if first else 2))
        text = """# host %(h)s of the classic two-host pool
[main]
certname = puppet
pool_host = host%(h)s
ssldir = %(d)s/ssl
store = %(store)s
join_secret_file = %(d)s/join.secret

[master]
instances = 2
# On the host's address, so the other host's front can use them too (discovered in etcd).
listen = %(ip)s:18140
trusted_proxy = 127.0.0.1, %(ipa)s, %(ipb)s
codedir = %(d)s/code
autosign = true
reportdir = %(d)s/reports

[front]
listen = 0.0.0.0:8140

[vrrp VI_1]
interface = eth0
vrid = 51
priority = %(p1)d
advert_int = 0.1
virtual_address = %(vip1)s/24

[vrrp VI_2]
interface = eth0
vrid = 52
priority = %(p2)d
advert_int = 0.1
virtual_address = %(vip2)s/24
""" % {"h": h, "d": self.path(h), "store": STORE, "p1": 150 if first else 100, "p2": 100 if first else 150,
            "vip1": VIP["puppet1"], "vip2": VIP["puppet2"],
            "ip": IP[h], "ipa": IP["A"], "ipb": IP["B"]}
        p = self.path(h, "troupe.conf")
        with open(p, "w") as f:
            f.write(text)
        return p

    def node(self, h):
        return self.start(h, "node" + h, [BIN, "node", "--config", self.path(h, "troupe.conf")])

    def roles(self, h):
        """The node's children: {'master 1': pid, 'master 2': pid, 'front': pid, 'vrrp': pid}."""
        p = self.procs.get("node" + h)
        out = {}
        if p is None:
            return out
        for pid in sh("pgrep", "-P", str(p.pid), check=False).split():
            try:
                args = [a for a in open("/proc/%s/cmdline" % pid).read().split("\0") if a]
            except OSError:
                continue
            if not args:
                continue  # a zombie, not reaped yet
            conf = os.path.basename(args[-1])
            for i in (1, 2):
                if conf == "master%d.conf" % i:
                    out["master %d" % i] = int(pid)
            if conf == "front.conf":
                out["front"] = int(pid)
            if conf == "vrrp.conf":
                out["vrrp"] = int(pid)
        return out

    def front_masters(self, h):
        """The masters host h's front balances over: [(address, local, state)]."""
        out = sh("ip", "netns", "exec", ns(h), "curl", "-sk", "--max-time", "2",
                 "https://127.0.0.1:8140/troupe/status?format=json", check=False)
        try:
            return [(b["address"], b["local"], b["state"]) for b in json.loads(out)["backends"]]
        except (ValueError, KeyError, TypeError):
            return []

    def holder(self, vip_name):
        vip = VIP[vip_name]
        return [h for h in ("A", "B")
                if (" %s/" % vip) in sh("ip", "-n", ns(h), "-4", "addr", "show", "dev", "eth0", check=False)]


class Agents:
    """Real `puppet agent -t` runs in a loop from the client namespace, one agent per VIP."""

    def __init__(self, bed):
        self.bed = bed
        self.runs = []  # (certname, start, end, rc, master)
        self.stop_ev = threading.Event()
        self.threads = []

    def dirs(self, name):
        return self.bed.path("C", name)

    def run_once(self, name, servers):
        d = self.dirs(name)
        t0 = time.time()
        r = subprocess.run(
            ["ip", "netns", "exec", ns("C"), "timeout", "180", "puppet", "agent", "-t",
             "--confdir", d + "/conf", "--vardir", d + "/var", "--ssldir", d + "/ssl", "--publicdir", d + "/public",
             "--logdir", d + "/log", "--rundir", d + "/run", "--codedir", d + "/code",
             "--server_list", servers, "--certname", name],
            capture_output=True, text=True)
        out = r.stdout + r.stderr
        master = "1" if "Master 1" in out else "2" if "Master 2" in out else "?"
        self.runs.append((name, t0, time.time(), r.returncode, master))
        if r.returncode not in (0, 2):
            with open(self.bed.path("agent-failures.log"), "a") as f:
                f.write("--- %s rc=%d at %.3f\n%s\n" % (name, r.returncode, t0, out[-3000:]))
        return r.returncode, out

    def loop(self, name, servers):
        while not self.stop_ev.is_set():
            self.run_once(name, servers)

    def start(self):
        for name, servers in (("agent1.example.test", "puppet1,puppet2"), ("agent2.example.test", "puppet2,puppet1")):
            t = threading.Thread(target=self.loop, args=(name, servers), daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(timeout=200)

    def failed_between(self, t0, t1):
        """Runs that overlapped [t0, t1] and failed, and all runs that overlapped it."""
        over = [r for r in self.runs if r[1] < t1 and r[2] > t0]
        return [r for r in over if r[3] not in (0, 2)], over


class Probers:
    """20 requests/s to each VIP on new TLS connections (tests/e2e/pool_prober.py)."""

    def __init__(self, bed, cert_of):
        self.bed = bed
        self.cert_of = cert_of
        self.procs = []

    def start(self):
        d = self.bed.path("C", self.cert_of, "ssl")
        for vip in ("puppet1", "puppet2"):
            out = self.bed.path("probe-%s.jsonl" % vip)
            self.procs.append(self.bed.start("C", "probe-" + vip, [
                sys.executable, os.path.join(HERE, "pool_prober.py"), VIP[vip], vip, d + "/certs/ca.pem",
                d + "/certs/%s.pem" % self.cert_of, d + "/private_keys/%s.pem" % self.cert_of, self.cert_of, out,
                "20", "5"]))

    def stop(self):
        for vip in ("puppet1", "puppet2"):
            self.bed.stop("probe-" + vip, wait=10)

    def records(self, t0, t1):
        out = []
        for vip in ("puppet1", "puppet2"):
            try:
                with open(self.bed.path("probe-%s.jsonl" % vip)) as f:
                    for line in f:
                        r = json.loads(line)
                        if t0 <= r["t"] < t1:
                            r["vip"] = vip
                            out.append(r)
            except OSError:
                pass
        return out


def wait_for(pred, timeout, step=0.01):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def csr_signed(bed, name, server):
    """A new key and CSR from the client, submitted through a VIP; autosign answers with the
    certificate. Returns the HTTP status of the certificate fetch (200 when signed)."""
    d = bed.path("C", "csr-" + name)
    os.makedirs(d, exist_ok=True)
    sh("openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/key.pem",
       "-subj", "/CN=" + name, "-out", d + "/csr.pem")
    ca = bed.path("C", "agent1.example.test", "ssl", "certs", "ca.pem")
    base = "https://%s:8140/puppet-ca/v1" % server
    put = subprocess.run(["ip", "netns", "exec", ns("C"), "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                          "--max-time", "10", "--cacert", ca, "-X", "PUT", "-H", "Content-Type: text/plain",
                          "--data-binary", "@" + d + "/csr.pem",
                          "%s/certificate_request/%s?environment=production" % (base, name)],
                         capture_output=True, text=True)
    get = subprocess.run(["ip", "netns", "exec", ns("C"), "curl", "-s", "-o", d + "/cert.pem", "-w", "%{http_code}",
                          "--max-time", "10", "--cacert", ca, "%s/certificate/%s" % (base, name)],
                         capture_output=True, text=True)
    return put.stdout.strip(), get.stdout.strip()


def csr_signed_within(bed, prefix, server, timeout):
    """Submits fresh CSRs through a VIP until one is signed (an agent re-sends its CSR too);
    returns the seconds it took, or None."""
    t = time.time()
    n = 0
    while time.time() - t < timeout:
        n += 1
        t1 = time.time()
        put, got = csr_signed(bed, "%s%d.example.test" % (prefix, n), server)
        if got == "200":
            return round(time.time() - t, 2)
        print("    CSR %s%d through %s: PUT %s, GET %s after %.2f s" % (prefix, n, server, put, got, time.time() - t1))
        time.sleep(0.5)
    return None


def summarize(name, t_fault, t_end, probers, agents, extra):
    recs = probers.records(t_fault - 1.0, t_end)
    failed = [r for r in recs if not r["ok"]]
    slow = [r for r in recs if r["ok"] and r["dur"] > 2.0]
    kinds = sorted({r["err"] for r in failed})
    last_bad = max([r["t"] + r["dur"] for r in failed + slow], default=None)
    fr, runs = agents.failed_between(t_fault, t_end)
    row = {
        "fault": name, "requests": len(recs), "failed_requests": len(failed), "error_kinds": kinds,
        "requests_over_2s": len(slow), "worst_wait_s": round(max([r["dur"] for r in recs], default=0), 3),
        "normal_after_s": round(last_bad - t_fault, 3) if last_bad else 0.0,
        "agent_runs": len(runs), "failed_runs": len(fr),
    }
    row.update(extra)
    print("  %-22s reqs %4d failed %3d (%s) >2s %d worst %.2fs normal after %.2fs; runs %d failed %d %s" % (
        name, row["requests"], row["failed_requests"], ",".join(kinds) or "-", row["requests_over_2s"],
        row["worst_wait_s"], row["normal_after_s"], row["agent_runs"], row["failed_runs"],
        " ".join("%s=%s" % kv for kv in extra.items())))
    sys.stdout.flush()
    return row


def bring_up(bed, same_code=False):
    bed.up()
    for h in ETCD_HOSTS:
        bed.etcd(h)
    if not wait_for(bed.etcd_healthy, 30, 0.3):
        raise RuntimeError("etcd did not come up:\n" + bed.log("etcdA")[-2000:])
    for h in ("A", "B"):
        os.makedirs(bed.path(h), exist_ok=True)
        bed.node_conf(h, same_code)
    # The pool: created on A; B gets the endpoints (in its file) and the join secret only.
    in_ns("A", BIN, "pool", "init", "--store", STORE, "--ssldir", bed.path("A", "ssl"), "--name", "puppet",
          "--dns-alt-names", "puppet,puppet1,puppet2", "--keylength", "2048",
          "--secret-out", bed.path("A", "join.secret"))
    shutil.copy(bed.path("A", "join.secret"), bed.path("B", "join.secret"))
    os.chmod(bed.path("B", "join.secret"), 0o600)
    for h in ("A", "B"):
        bed.node(h)
    ok = wait_for(lambda: bed.holder("puppet1") == ["A"] and bed.holder("puppet2") == ["B"], 60, 0.2)
    if not ok:
        raise RuntimeError("VIPs never settled (puppet1 on %s, puppet2 on %s)\n%s" % (
            bed.holder("puppet1"), bed.holder("puppet2"), bed.log("nodeA")[-3000:]))
    ca = bed.path("A", "ssl", "certs", "ca.pem")
    for vip in ("puppet1", "puppet2"):
        url = "https://%s:8140/status/v1/simple" % vip
        if not wait_for(lambda: in_ns("C", "curl", "-sk", "--max-time", "2", url, check=False) == "running", 60, 0.3):
            raise RuntimeError("%s never answered through its front\n%s" % (vip, bed.log("node" + (
                "A" if vip == "puppet1" else "B"))[-3000:]))
    return ca


def status_page(bed, need):
    """The pool's status page in a real browser (tests/e2e/pool_status.py)."""
    sys.path.insert(0, HERE)
    import pool_status
    return pool_status.check(bed, need, in_ns, bed.site_pp("B"),
                             {"hostA": VIP["puppet1"] + "/24", "hostB": VIP["puppet2"] + "/24"})


def test(bed):
    rows = []
    problems = []

    def need(cond, what):
        if not cond:
            problems.append(what)
            print("  NOT MET:", what)

    t_up = time.time()
    bring_up(bed, same_code=True)
    print("pool up in %.1f s: VIP puppet1 on A, puppet2 on B" % (time.time() - t_up))
    agents = Agents(bed)
    for name, servers in (("agent1.example.test", "puppet1,puppet2"), ("agent2.example.test", "puppet2,puppet1")):
        rc, out = agents.run_once(name, servers)
        if rc not in (0, 2):
            raise RuntimeError("first run of %s failed (%d):\n%s" % (name, rc, out[-3000:]))
    masters = {r[0]: r[4] for r in agents.runs}
    print("first runs: agent1 through puppet1 compiled by Master %s, agent2 through puppet2 by Master %s" % (
        masters["agent1.example.test"], masters["agent2.example.test"]))
    need(masters == {"agent1.example.test": "1", "agent2.example.test": "2"},
         "each VIP's agent is compiled by its own host (Hello, I am Master 1 / Master 2)")
    t = time.time()
    found = wait_for(lambda: sorted((m[1], m[2]) for m in bed.front_masters("A")) ==
                     [(False, "up"), (False, "up"), (True, "up"), (True, "up")], 20, 0.2)
    print("A's front balances over %s" % bed.front_masters("A"))
    need(found, "A's front balances over its 2 local masters and B's 2 (remote, from etcd), all up")
    rows.append(status_page(bed, need))
    probers = Probers(bed, "agent1.example.test")
    probers.start()
    agents.start()
    time.sleep(4)
    rows.append(summarize("steady state", time.time() - 3, time.time(), probers, agents, {}))

    # 1. kill -9 one master instance on A
    pid = bed.roles("A").get("master 1")
    t = time.time()
    os.kill(pid, signal.SIGKILL)
    back = wait_for(lambda: bed.roles("A").get("master 1") not in (None, pid) and in_ns(
        "A", "curl", "-s", "--max-time", "1", "http://%s:18140/status/v1/simple" % IP["A"], check=False) == "running", 20)
    t_back = time.time() - t
    time.sleep(6)
    r = summarize("kill -9 master", t, time.time(), probers, agents, {"instance_back_s": round(t_back, 2)})
    need(back, "the killed master instance is back")
    need(r["failed_runs"] == 0, "kill -9 master: 0 failed agent runs")
    rows.append(r)

    # 2. SIGSTOP one master on A for 8 s
    pid = bed.roles("A").get("master 2")
    t = time.time()
    os.kill(pid, signal.SIGSTOP)
    time.sleep(8)
    os.kill(pid, signal.SIGCONT)
    time.sleep(4)
    r = summarize("SIGSTOP master 8 s", t, time.time(), probers, agents, {})
    need(r["failed_runs"] == 0, "SIGSTOP master: 0 failed agent runs")
    need(r["requests_over_2s"] == 0, "SIGSTOP master: no request waits more than 2 s")
    rows.append(r)

    # 2b. both masters of A stopped: A's front sends VIP1's requests to B's masters (remote,
    # discovered through etcd)
    pids = [bed.roles("A").get("master 1"), bed.roles("A").get("master 2")]
    t = time.time()
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    time.sleep(6)
    for pid in pids:
        os.kill(pid, signal.SIGCONT)
    time.sleep(3)
    r = summarize("SIGSTOP both masters A", t, time.time(), probers, agents, {})
    need(r["failed_runs"] == 0, "both masters of A stopped: 0 failed agent runs (B's masters serve)")
    need(r["requests_over_2s"] == 0, "both masters of A stopped: no request waits more than 2 s")
    need(r["failed_requests"] == 0, "both masters of A stopped: 0 failed requests")
    rows.append(r)

    # 2c. host B's link down: its leases expire and A's front drops B's masters; they come back
    t = time.time()
    sh("ip", "-n", ns("br"), "link", "set", "p-B", "down")
    dropped = wait_for(lambda: len(bed.front_masters("A")) == 2, 15, 0.1)
    t_drop = time.time() - t
    sh("ip", "-n", ns("br"), "link", "set", "p-B", "up")
    t_up = time.time()
    again = wait_for(lambda: len(bed.front_masters("A")) == 4, 20, 0.1)
    t_again = time.time() - t_up
    wait_for(lambda: bed.holder("puppet2") == ["B"], 30, 0.05)
    time.sleep(3)
    r = summarize("host B link down", t, time.time(), probers, agents,
                  {"A_dropped_B_masters_s": round(t_drop, 2) if dropped else None,
                   "A_took_them_back_s": round(t_again, 2) if again else None})
    need(dropped, "B's link down: A's front drops B's masters when their leases expire")
    need(again, "B's link up: A's front balances over B's masters again")
    # Not asserted: a run with a request in flight on the host whose link went down loses it
    # (as with A's link below); the issue asks for the hand-over and quorum there.
    rows.append(r)

    # 3. kill -9 the front on A: started again at once on the socket the node holds; then
    # killed twice in a row: VIP1 moves to B (tests/e2e/pool_front_faults.py)
    rows.append(faults.kill_front(sys.modules[__name__], bed, probers, agents, need))
    rows.append(faults.front_crash_loop(sys.modules[__name__], bed, probers, agents, need))

    # 4. host A's link down for 8 s: VIP1 to B, etcd keeps quorum, CSRs signed on B
    t = time.time()
    sh("ip", "-n", ns("br"), "link", "set", "p-A", "down")
    moved = wait_for(lambda: bed.holder("puppet1") == ["A", "B"] or "B" in bed.holder("puppet1"), 10, 0.005)
    t_move = time.time() - t
    quorum = wait_for(lambda: bed.etcd_healthy("C", ("B", "E")), 10, 0.3)
    signed = csr_signed_within(bed, "linkdown", "puppet2", 20)
    time.sleep(max(0.0, 8 - (time.time() - t)))
    sh("ip", "-n", ns("br"), "link", "set", "p-A", "up")
    back = wait_for(lambda: bed.holder("puppet1") == ["A"], 30, 0.05)
    time.sleep(4)
    r = summarize("host A link down 8 s", t, time.time(), probers, agents,
                  {"vip_moved_s": round(t_move, 3) if moved else None, "etcd_quorum": quorum,
                   "csr_signed_on_B_s": signed})
    need(moved, "link down: VIP1 handed over to B")
    need(quorum, "link down: etcd keeps quorum (B and E)")
    need(signed is not None, "link down: a CSR through B is signed")
    rows.append(r)

    # 5. one etcd member killed; then all of etcd stopped
    t = time.time()
    bed.stop("etcdE", sig=signal.SIGKILL)
    signed = csr_signed_within(bed, "onedown", "puppet1", 20)
    time.sleep(3)
    bed.etcd("E")
    time.sleep(3)
    r = summarize("etcd member killed", t, time.time(), probers, agents, {"csr_signed_s": signed})
    need(signed is not None, "one etcd member down: a CSR is signed")
    need(r["failed_runs"] == 0, "one etcd member down: 0 failed agent runs")
    rows.append(r)

    t = time.time()
    for h in ETCD_HOSTS:
        bed.stop("etcd" + h, sig=signal.SIGTERM)
    put_down, _ = csr_signed(bed, "alldown.example.test", "puppet2")
    time.sleep(8)
    for h in ETCD_HOSTS:
        bed.etcd(h)
    healthy = wait_for(bed.etcd_healthy, 30, 0.3)
    t_heal = time.time()
    signed = wait_for(lambda: csr_signed(bed, "after%d.example.test" % int(time.time() * 1000), "puppet2")[1] == "200",
                      30, 0.5)
    r = summarize("all etcd stopped 8 s", t, time.time(), probers, agents,
                  {"csr_while_down": put_down, "signing_back_s": round(time.time() - t_heal, 2) if signed else None})
    need(put_down == "503", "etcd stopped: a CSR answers 503")
    need(healthy and signed, "etcd back: CSRs are signed again")
    need(r["failed_runs"] == 0, "etcd stopped: 0 failed agent runs (catalogs keep flowing)")
    rows.append(r)

    # 6. revocation on A refused on B within 1 s
    put, got = csr_signed(bed, "revokeme.example.test", "puppet1")
    d = bed.path("C", "csr-revokeme.example.test")
    ca = bed.path("C", "agent1.example.test", "ssl", "certs", "ca.pem")

    def refused_by_b():
        code = in_ns("C", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", "--cacert", ca,
                     "--cert", d + "/cert.pem", "--key", d + "/key.pem",
                     "https://puppet2:8140/puppet/v3/node/revokeme.example.test?environment=production",
                     check=False).strip()
        return code not in ("200",)
    before = not refused_by_b()
    ca_conf = bed.path("A", "ca.conf")
    with open(ca_conf, "w") as f:
        f.write("store = %s\njoin_secret_file = %s\n" % (STORE, bed.path("A", "join.secret")))
    t = time.time()
    in_ns("A", BIN, "ca", "--config", ca_conf, "--ssldir", bed.path("A", "ssl-ca"), "revoke", "revokeme.example.test")
    t_rev = time.time()
    refused = wait_for(refused_by_b, 10, 0.02)
    rows.append({"fault": "revoke on A, refused on B", "served_before": before,
                 "refused_after_s": round(time.time() - t_rev, 3) if refused else None})
    print("  revoke on A: B refused the certificate after %s s" % rows[-1]["refused_after_s"])
    need(got == "200" and before, "revocation: the certificate worked through B before")
    need(refused and time.time() - t_rev < 3.0, "revocation on A refused on B (within 1 s; 3 s with CI slack)")

    # 7. SIGTERM troupe node on A: VIP1 to B, in-flight requests complete
    rows.append(faults.sigterm_node(sys.modules[__name__], bed, probers, agents, need))

    agents.stop()
    probers.stop()
    total_runs = len(agents.runs)
    failed_runs = [x for x in agents.runs if x[3] not in (0, 2)]
    print("agent runs in all: %d, failed %d" % (total_runs, len(failed_runs)))
    out = os.environ.get("POOL_NETNS_OUT", "/tmp/pool-netns.json")
    with open(out, "w") as f:
        json.dump({"rows": rows, "agent_runs": total_runs, "failed_runs": len(failed_runs),
                   "problems": problems}, f, indent=1)
    print("wrote", out)
    if problems:
        try:
            print(open(bed.path("agent-failures.log")).read()[-6000:])
        except OSError:
            pass
        for name in ("nodeA", "nodeB"):
            print("--- %s log (tail)" % name)
            print(bed.log(name)[-4000:])
    return not problems


def demo(bed):
    t = time.time()
    bring_up(bed)
    print("pool up in %.1f s: two hosts, one config file each, etcd on three members" % (time.time() - t))
    agents = Agents(bed)
    for name, servers in (("agent1.example.test", "puppet1"), ("agent2.example.test", "puppet2")):
        rc, out = agents.run_once(name, servers)
        hello = [l.strip() for l in out.splitlines() if "Hello, I am" in l and "defined 'message'" in l]
        print("%s --server %s: exit %d; %s" % (name, servers, rc, hello[0] if hello else out[-500:]))
    return True


def front_only(bed, rounds):
    """Only the front and node faults, `rounds` times each (to study them)."""
    problems = []

    def need(cond, what):
        if not cond:
            problems.append(what)
            print("  NOT MET:", what)
    bring_up(bed, same_code=True)
    agents = Agents(bed)
    for name, servers in (("agent1.example.test", "puppet1,puppet2"), ("agent2.example.test", "puppet2,puppet1")):
        agents.run_once(name, servers)
    probers = Probers(bed, "agent1.example.test")
    probers.start()
    agents.start()
    time.sleep(4)
    me = sys.modules[__name__]
    for _ in range(rounds):
        faults.kill_front(me, bed, probers, agents, need)
    for _ in range(rounds):
        faults.front_crash_loop(me, bed, probers, agents, need)
    for _ in range(rounds):
        faults.sigterm_node(me, bed, probers, agents, need)
        bed.node("A")
        wait_for(lambda: bed.holder("puppet1") == ["A"], 60, 0.1)
        time.sleep(3)
    agents.stop()
    probers.stop()
    try:
        print(open(bed.path("agent-failures.log")).read()[-6000:])
    except OSError:
        pass
    return not problems


def main():
    if os.geteuid() != 0:
        print("needs root (network namespaces)")
        return 1
    what = sys.argv[1] if len(sys.argv) > 1 else "test"
    bed = Bed()
    try:
        if what == "test":
            ok = test(bed)
        elif what == "front":
            ok = front_only(bed, int(sys.argv[2]) if len(sys.argv) > 2 else 3)
        else:
            ok = demo(bed)
    finally:
        bed.down()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
