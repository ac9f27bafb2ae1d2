#!/usr/bin/env python3
"""Request prober for tests/e2e/pool_netns.py, run inside the client namespace.

    pool_prober.py VIP SERVERNAME CA CERT KEY CERTNAME OUT.jsonl [RATE] [TIMEOUT]

Starts RATE requests per second (default 20), each on a new TCP + TLS connection with the agent's
client certificate, `GET /puppet/v3/node/CERTNAME?environment=production` (answered by a master
through the front), and appends one JSON line per request to OUT: start time, duration, ok,
and the error kind (refused, timeout, reset, tls, http NNN). Runs until SIGTERM. Each request
runs in its own thread, so a hung master does not slow the rate down (as lab/ha's prober).
"""
import json
import signal
import socket
import ssl
import sys
import threading
import time

vip, server, ca, cert, key, certname, out = sys.argv[1:8]
rate = float(sys.argv[8]) if len(sys.argv) > 8 else 20.0
timeout = float(sys.argv[9]) if len(sys.argv) > 9 else 5.0

ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cert, key)
lock = threading.Lock()
f = open(out, "a", buffering=1)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())


def one(t0):
    err = None
    try:
        with socket.create_connection((vip, 8140), timeout=timeout) as raw:
            raw.settimeout(max(0.05, timeout - (time.time() - t0)))
            with ctx.wrap_socket(raw, server_hostname=server) as s:
                req = ("GET /puppet/v3/node/%s?environment=production HTTP/1.1\r\nHost: %s:8140\r\n"
                       "Accept: application/json\r\nConnection: close\r\n\r\n" % (certname, server))
                s.sendall(req.encode())
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                status = data.split(b" ", 2)[1] if data.startswith(b"HTTP/") else b"?"
                if status != b"200":
                    err = "http " + status.decode(errors="replace")
    except ConnectionRefusedError:
        err = "refused"
    except (socket.timeout, TimeoutError):
        err = "timeout"
    except ConnectionResetError:
        err = "reset"
    except ssl.SSLError as e:
        err = "tls " + (e.reason or str(e))
    except OSError as e:
        err = "os " + (e.strerror or str(e))
    line = json.dumps({"t": t0, "dur": time.time() - t0, "ok": err is None, "err": err})
    with lock:
        f.write(line + "\n")


nxt = time.time()
while not stop.is_set():
    threading.Thread(target=one, args=(time.time(),), daemon=True).start()
    nxt += 1.0 / rate
    time.sleep(max(0.0, nxt - time.time()))
# Let requests in flight finish (up to the timeout) so none is lost from the record.
deadline = time.time() + timeout + 0.5
while threading.active_count() > 1 and time.time() < deadline:
    time.sleep(0.05)
