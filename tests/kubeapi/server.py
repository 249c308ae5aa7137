#!/usr/bin/env python3
"""A small Kubernetes API server for Outpost's tests (standard library only).

    python3 tests/kubeapi/server.py --dir DIR [--port 0] [--faults JSON]
        [--token TOKEN] [--controllers [JSON]] [--ns-delete-delay SECONDS]
        [--compact-interval SECONDS] [--log FILE]
        [--write-kubeconfig PATH]

Makes (or reuses) a CA, a server certificate for 127.0.0.1/localhost and an
admin client certificate in DIR, listens on 127.0.0.1, writes DIR/kubeconfig
(k3s.yaml shape), DIR/kubeconfig-token (with --token), the kubeconfig again at PATH (with
--write-kubeconfig, as k3s's flag of that name), then DIR/port and
DIR/pid: once DIR/pid exists the server answers.  Clients must present a
certificate signed by the CA, or (with --token) the bearer token.

Admin endpoints (same authentication, never faulted):
  GET  /_admin/counters          requests by verb and kind, totals, faults
  POST /_admin/reset-counters
  GET  /_admin/objects[?kind=K&namespace=N]   every stored object
  GET|POST /_admin/faults        see faults.py
  GET|POST /_admin/controllers   see controllers.py
  POST /_admin/settings          {"ns_delete_delay": seconds}
  POST /_admin/compact           expire every continue token issued so far
tests/kubeapi/ctl.py wraps them for shell tests.  README.md lists the
simplifications.
"""
import argparse
import json
import os
import signal
import ssl
import sys
import threading
import time

# Tests run from read-only source trees (distcheck): no __pycache__.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import certs  # noqa: E402
import controllers  # noqa: E402
import faults  # noqa: E402
import handler  # noqa: E402
from apierrors import ApiError, bad_request  # noqa: E402
from store import Store  # noqa: E402


class App:
    def __init__(self, args):
        self.store = Store(args.ns_delete_delay, args.compact_interval)
        self.faults = faults.Faults(args.faults)
        self.counters = faults.Counters()
        self.controllers = controllers.Controllers(self.store,
                                                   args.controllers)
        self.token = args.token
        self.logfile = args.log
        self.loglock = threading.Lock()

    def log(self, msg):
        if self.logfile:
            with self.loglock:
                self.logfile.write(f"{time.strftime('%H:%M:%S')} {msg}\n")
                self.logfile.flush()

    def admin(self, method, path, query, body):
        def config(obj):
            if method == "GET":
                return obj.get()
            try:
                obj.set(json.loads(body or b"{}"))
            except (ValueError, TypeError) as e:
                raise bad_request(str(e)) from None
            return obj.get()

        if path == "/_admin/counters":
            return self.counters.snapshot()
        if path == "/_admin/reset-counters" and method == "POST":
            before = self.counters.snapshot()
            self.counters.reset()
            return before
        if path == "/_admin/objects":
            dump = self.store.dump()
            kind, ns = query.get("kind"), query.get("namespace")
            dump["items"] = [o for o in dump["items"]
                             if (not kind or o["kind"] == kind) and
                             (ns is None or
                              o["metadata"].get("namespace", "") == ns)]
            return dump
        if path == "/_admin/faults":
            return config(self.faults)
        if path == "/_admin/controllers":
            return config(self.controllers)
        if path == "/_admin/settings" and method == "POST":
            try:
                s = json.loads(body or b"{}")
                self.store.ns_delete_delay = float(s["ns_delete_delay"])
            except (ValueError, KeyError, TypeError) as e:
                raise bad_request(f"settings: {e}") from None
            return {"ns_delete_delay": self.store.ns_delete_delay}
        if path == "/_admin/compact" and method == "POST":
            return {"compacted": self.store.compact()}
        raise ApiError(404, "NotFound", f"no admin endpoint {method} {path}")


def _json_arg(text):
    try:
        value = json.loads(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not JSON: {e}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def _write_atomic(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--faults", type=_json_arg, default={})
    p.add_argument("--token")
    p.add_argument("--controllers", nargs="?", type=_json_arg,
                   const={"helm": True, "jobs": True, "workloads": True},
                   default={})
    p.add_argument("--ns-delete-delay", type=float, default=0.2)
    p.add_argument("--compact-interval", type=float, default=300.0)
    p.add_argument("--log", type=argparse.FileType("a"))
    p.add_argument("--write-kubeconfig")
    args = p.parse_args()
    try:
        app = App(args)
    except ValueError as e:
        p.error(str(e))

    d = os.path.abspath(args.dir)
    for n in ("port", "pid"):
        if os.path.exists(os.path.join(d, n)):
            os.unlink(os.path.join(d, n))
    certs.ensure(d)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.path.join(d, "server.crt"),
                        os.path.join(d, "server.key"))
    ctx.load_verify_locations(os.path.join(d, "ca.crt"))
    # Without a token every client needs a certificate, checked in the
    # handshake; with one, the handler accepts either.
    ctx.verify_mode = ssl.CERT_OPTIONAL if args.token else ssl.CERT_REQUIRED
    ctx.set_alpn_protocols(["http/1.1"])

    srv = handler.Server(("127.0.0.1", args.port), ctx, app)
    port = srv.server_address[1]
    certs.write_kubeconfig(d, port, args.token, args.write_kubeconfig)
    _write_atomic(os.path.join(d, "port"), f"{port}\n")
    _write_atomic(os.path.join(d, "pid"), f"{os.getpid()}\n")

    def stop(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        srv.serve_forever(poll_interval=0.2)
    except SystemExit:
        pass
    finally:
        for n in ("port", "pid"):
            try:
                os.unlink(os.path.join(d, n))
            except OSError:
                pass


if __name__ == "__main__":
    main()
