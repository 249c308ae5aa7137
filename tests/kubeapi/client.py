"""A keep-alive HTTPS client for the test server, with the admin client
certificate from the server's directory; and a way to start a server from
Python.  Used by ctl.py, the semantics tests and the benchmark."""
import http.client
import json
import os
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def start_server(d, *args):
    """Start server.py on DIR d; returns (process, port) once it answers."""
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "server.log"), "a") as log:
        proc = subprocess.Popen([sys.executable,
                                 os.path.join(HERE, "server.py"),
                                 "--dir", d, *args], stderr=log)
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(d, "pid")):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            with open(os.path.join(d, "server.log")) as f:
                raise RuntimeError("server did not start: " + f.read())
        time.sleep(0.05)
    return proc, read_port(d)


def read_port(d):
    with open(os.path.join(d, "port")) as f:
        return int(f.read())


class Client:
    """Requests over one connection, reopened after a failure."""

    def __init__(self, d, port=None, cert=True, timeout=30):
        self.ctx = ssl.create_default_context(cafile=os.path.join(d,
                                                                  "ca.crt"))
        if cert:
            self.ctx.load_cert_chain(os.path.join(d, "admin.crt"),
                                     os.path.join(d, "admin.key"))
        self.port = port if port is not None else read_port(d)
        self.timeout = timeout
        self.conn = None

    def raw(self, method, path, body=None, ctype="application/json",
            headers=None):
        """(response, body bytes)."""
        if self.conn is None:
            self.conn = http.client.HTTPSConnection(
                "127.0.0.1", self.port, context=self.ctx,
                timeout=self.timeout)
        h = dict(headers or {})
        if body is not None:
            h["Content-Type"] = ctype
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
        try:
            self.conn.request(method, path, body=body, headers=h)
            resp = self.conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        return resp, data

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def req(self, method, path, body=None, ctype="application/json"):
        """(status, decoded JSON body, or the text when it is not JSON)."""
        resp, data = self.raw(method, path, body, ctype)
        try:
            return resp.status, json.loads(data)
        except ValueError:
            return resp.status, data.decode()

    def admin(self, path, body=None):
        """GET /_admin/PATH, or POST it with a body; fails unless 200."""
        code, out = self.req("POST" if body is not None else "GET",
                             "/_admin/" + path, body)
        if code != 200:
            raise RuntimeError(f"/_admin/{path}: HTTP {code}: {out}")
        return out
