#!/usr/bin/env python3
"""Talk to a running test API server (tests/kubeapi/server.py) from tests.

    ctl.py --dir DIR ready [--timeout S] [--pid P]   wait until /readyz
                                               answers ok (or P exits)
    ctl.py --dir DIR counters                  GET /_admin/counters
    ctl.py --dir DIR reset-counters            (prints the counters before)
    ctl.py --dir DIR objects [--kind K] [--namespace N]
    ctl.py --dir DIR faults [JSON]             show or set fault injection
    ctl.py --dir DIR controllers [JSON]        show or set the controllers
    ctl.py --dir DIR settings JSON             e.g. {"ns_delete_delay": 1}
    ctl.py --dir DIR compact                   expire continue tokens
    ctl.py --dir DIR request METHOD PATH [BODY] [--content-type T]
        prints "<code>" on the first line, then the body; exit 0

It authenticates with DIR/admin.crt and admin.key and verifies the server
with DIR/ca.crt, as any client of the server must.
"""
import argparse
import http.client
import json
import os
import ssl
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from client import Client  # noqa: E402


def request(d, method, path, body=None, ctype="application/json"):
    c = Client(d)
    try:
        return c.req(method, path, body, ctype)
    finally:
        c.close()


def admin(d, method, path, body=None):
    code, out = request(d, method, path, body)
    if code != 200:
        sys.exit(f"ctl.py: {method} {path}: HTTP {code}: {out}")
    return out


def alive(pid):
    """Running, not a zombie its parent has yet to reap."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("ready")
    r.add_argument("--timeout", type=float, default=30)
    r.add_argument("--pid", type=int, help="give up early if it exits")
    sub.add_parser("counters")
    sub.add_parser("reset-counters")
    o = sub.add_parser("objects")
    o.add_argument("--kind")
    o.add_argument("--namespace")
    for name in ("faults", "controllers"):
        s = sub.add_parser(name)
        s.add_argument("json", nargs="?")
    s = sub.add_parser("settings")
    s.add_argument("json")
    sub.add_parser("compact")
    q = sub.add_parser("request")
    q.add_argument("method")
    q.add_argument("path")
    q.add_argument("body", nargs="?")
    q.add_argument("--content-type", default="application/json")
    a = p.parse_args()
    d = a.dir

    if a.cmd == "ready":
        deadline = time.monotonic() + a.timeout
        last = "no port file"
        while time.monotonic() < deadline:
            if a.pid and not alive(a.pid):
                sys.exit(f"ctl.py: server (pid {a.pid}) exited before it was "
                         "ready")
            try:
                with open(os.path.join(d, "pid")) as f:
                    pid = int(f.read())
                # With --pid, only that server's files count (not those a
                # previous server left in the same directory).
                if not a.pid or pid == a.pid:
                    code, text = request(d, "GET", "/readyz")
                    if code == 200 and text == "ok":
                        return
                    last = f"HTTP {code}"
            except (OSError, ValueError, ssl.SSLError,
                    http.client.HTTPException) as e:
                last = str(e)
            time.sleep(0.1)
        sys.exit(f"ctl.py: server in {d} not ready after {a.timeout:g} s: "
                 f"{last}")
    if a.cmd == "request":
        code, out = request(d, a.method.upper(), a.path, a.body,
                            a.content_type)
        print(code)
        print(out if isinstance(out, str) else json.dumps(out, indent=1))
        return
    if a.cmd == "objects":
        q = {k: v for k, v in (("kind", a.kind), ("namespace", a.namespace))
             if v is not None}
        out = admin(d, "GET", "/_admin/objects" +
                    ("?" + urllib.parse.urlencode(q) if q else ""))
    elif a.cmd in ("faults", "controllers"):
        if a.json is None:
            out = admin(d, "GET", f"/_admin/{a.cmd}")
        else:
            out = admin(d, "POST", f"/_admin/{a.cmd}", a.json)
    elif a.cmd == "settings":
        out = admin(d, "POST", "/_admin/settings", a.json)
    elif a.cmd == "reset-counters":
        out = admin(d, "POST", "/_admin/reset-counters", "")
    elif a.cmd == "compact":
        out = admin(d, "POST", "/_admin/compact", "")
    else:
        out = admin(d, "GET", "/_admin/counters")
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
