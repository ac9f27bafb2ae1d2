#!/usr/bin/env python3
"""A keep-alive TLS client for the e2e scripts: one request, wait for FLAG to appear, a second
request on the same connection; prints both statuses and whether the connection was kept.
usage: keepalive.py PORT SSLDIR CERTNAME FLAG"""
import http.client, os, ssl, sys, time
port, d, name, flag = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=f"{d}/certs/ca.pem")
ctx.load_cert_chain(f"{d}/certs/{name}.pem", f"{d}/private_keys/{name}.pem")
c = http.client.HTTPSConnection("localhost", port, context=ctx)
path = f"/puppet/v3/node/{name}?environment=production"
c.request("GET", path); r = c.getresponse(); r.read(); first = r.status
sock = c.sock
for _ in range(150):
    if os.path.exists(flag): break
    time.sleep(0.1)
c.request("GET", path); r = c.getresponse(); r.read()
print("first", first, "after-reload", r.status, "same-connection", c.sock is sock)
