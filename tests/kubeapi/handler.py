"""HTTP side: TLS with client-certificate (or bearer token) authentication,
routing of the Kubernetes REST paths, discovery, tables for kubectl, watch,
fault injection, counters and the /_admin endpoints.

HTTP/1.1 with keep-alive: every response carries Content-Length (watches
use chunked encoding), so clients reuse connections.  The TLS handshake runs
in the connection's own thread, so a slow client cannot stall accept().
"""
import hmac
import json
import os
import select
import socket
import ssl
import sys
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import apierrors
import labelsel
import openapi
import patch as patchlib
import resources
from apierrors import ApiError

VERSION = {"major": "1", "minor": "33", "gitVersion": "v1.33.5+k3s1",
           "gitCommit": "0000000000000000000000000000000000000000",
           "gitTreeState": "clean", "buildDate": "2025-09-01T00:00:00Z",
           "goVersion": "go1.24.6", "compiler": "gc",
           "platform": "linux/amd64"}
HEALTH = ("/readyz", "/livez", "/healthz")
WATCH_POLL = 1.0


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, addr, ssl_ctx, app):
        self.ssl_ctx = ssl_ctx
        self.app = app
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        request.settimeout(30)
        # Small responses must not wait for a delayed ACK (Nagle).
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self.ssl_ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.app.log(f"TLS handshake from {client_address[0]} failed: "
                         f"{e}")
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        if sys.exc_info()[0] in (BrokenPipeError, ConnectionResetError,
                                 ssl.SSLError, TimeoutError, socket.timeout):
            return
        super().handle_error(request, client_address)


def _truthy(v):
    return v not in (None, "", "0", "false", "False")


def _age(ts):
    try:
        t = time.mktime(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ")) - \
            time.timezone
    except (TypeError, ValueError):
        return "<unknown>"
    s = max(0, int(time.time() - t))
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = m // 60
    if h < 48:
        return f"{h}h"
    return f"{h // 24}d"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-apiserver-test"
    sys_version = ""
    timeout = 300  # idle keep-alive connections close after this
    wbufsize = -1  # headers and body leave in one TLS record
    warnings = ()  # Warning headers of the current request (dispatch)

    def log_message(self, fmt, *args):
        self.server.app.log("%s %s" % (self.address_string(), fmt % args))

    # ---- plumbing ---------------------------------------------------------

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def handle_expect_100(self):
        # libcurl waits up to a second for "100 Continue" before sending a
        # large body: it must leave at once, not sit in the write buffer.
        self.send_response_only(100)
        self.end_headers()
        self.wfile.flush()
        return True

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, code, body, ctype="application/json", headers=None,
             count=True):
        if isinstance(body, (dict, list)):
            data = json.dumps(body, separators=(",", ":")).encode() + b"\n"
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        for w in self.warnings:
            quoted = w.replace('"', '\\"')
            self.send_header("Warning", f'299 - "{quoted}"')
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        if count:
            self.server.app.counters.response(code)

    def send_error(self, code, message=None, explain=None):
        # http.server's own errors (bad request line, unknown method ...)
        # also come as a Status, never as its HTML page.
        reasons = {400: "BadRequest", 404: "NotFound",
                   405: "MethodNotAllowed", 414: "RequestURITooLong",
                   431: "RequestHeaderFieldsTooLarge"}
        self.close_connection = True
        # A request line it could not parse leaves HTTP/0.9 (no status
        # line at all); answer as the HTTP/1.1 server this is.
        self.request_version = self.protocol_version
        try:
            self.send_error_status(ApiError(
                code, reasons.get(code, "InternalError" if code >= 500
                                  else "BadRequest"),
                message or explain or "error"))
        except OSError:
            pass

    def send_error_status(self, err, count=True):
        self.send(err.code, err.status(), headers=err.headers, count=count)

    def _drop(self):
        self.close_connection = True
        self.wfile = open(os.devnull, "wb")  # nothing buffered goes out
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _authenticated(self):
        if self.connection.getpeercert():
            return True
        token = self.server.app.token
        auth = self.headers.get("Authorization", "")
        return bool(token) and auth.startswith("Bearer ") and \
            hmac.compare_digest(auth[7:].strip().encode(), token.encode())

    def dispatch(self):
        app = self.server.app
        self.warnings = []
        url = urllib.parse.urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in
                 urllib.parse.parse_qs(url.query,
                                       keep_blank_values=True).items()}
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        if not self._authenticated():
            self.send_error_status(ApiError(401, "Unauthorized",
                                            "Unauthorized"))
            return
        if path.startswith("/_admin/"):
            try:
                self.send(200, app.admin(self.command, path, query, body),
                          count=False)
            except ApiError as e:
                self.send_error_status(e, count=False)
            return
        try:
            route = self.route(path, query)
        except ApiError as e:
            app.counters.request(None, None)
            self.send_error_status(e)
            return
        verb, res = route[0], route[1]
        kind = res.kind if res else None
        app.counters.request(verb, kind)
        if not app.faults.admit(verb):
            app.counters.fault("inflight", 0)
            self.send_fault(("throttle", app.faults.get().get("retry_after",
                                                              1)))
            return
        try:
            self._faulted(app, route, path, query, body)
        except (OSError, ssl.SSLError):
            raise
        except Exception as e:  # a bug here must not look like a dropped connection
            traceback.print_exc()
            self.send_error_status(ApiError(
                500, "InternalError", f"test API server bug: "
                f"{type(e).__name__}: {e} (traceback on its stderr)"))
        finally:
            app.faults.release()

    def _faulted(self, app, route, path, query, body):
        verb, res = route[0], route[1]
        kind = res.kind if res else None
        delay, action = app.faults.decide(
            verb, kind, health=verb is None and path in HEALTH +
            ("/version",), ns=route[2] if verb else None,
            name=route[3] if verb else None)
        app.counters.fault(action, delay)
        if delay > 0:
            time.sleep(delay)
        if action == "drop":
            self._drop()
            return
        if isinstance(action, tuple):
            self.send_fault(action)
            return
        try:
            if verb == "watch":
                self.watch(res, route[2], query)
                return
            code, out = self.serve(route, query, body)
        except ApiError as e:
            if action == "drop_after":
                self._drop()
                return
            self.send_error_status(e)
            return
        if action == "drop_after":
            self._drop()
            return
        if isinstance(out, tuple):
            self.send(code, out[0], ctype=out[1])
        else:
            self.send(code, out)

    def send_fault(self, action):
        kind, value = action
        if kind == "throttle":
            err = ApiError(429, "TooManyRequests", "Too many requests, "
                           "please try again later.",
                           {"retryAfterSeconds": value},
                           headers={"Retry-After": value})
            self.send_error_status(err)
        elif value == 502:
            self.send(502, "Bad Gateway (injected)\n", ctype="text/plain")
        else:
            reasons = {500: "InternalError", 503: "ServiceUnavailable",
                       504: "Timeout", 429: "TooManyRequests"}
            self.send_error_status(ApiError(
                value, reasons.get(value, "InternalError"),
                f"injected fault: HTTP {value}"))

    # ---- routing ----------------------------------------------------------

    def route(self, path, query):
        """(verb, resource, ns, name, subresource) for resource paths,
        (None, None, handler) for everything else."""
        if path in HEALTH or path.startswith(tuple(h + "/" for h in HEALTH)):
            return (None, None, lambda: (200, ("ok", "text/plain")))
        if path == "/version":
            return (None, None, lambda: (200, VERSION))
        if path == "/api":
            port = self.server.server_address[1]
            return (None, None, lambda: (200, {
                "kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{
                    "clientCIDR": "0.0.0.0/0",
                    "serverAddress": f"127.0.0.1:{port}"}]}))
        if path == "/apis":
            return (None, None, lambda: (200, resources.api_group_list()))
        if path.startswith("/openapi/"):
            doc = openapi.lookup(path)
            if doc is None:
                raise self.not_found()
            return (None, None, lambda: (200, doc))
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 2:
            if len(parts) == 2:
                doc = resources.api_group(parts[1])
                if doc is None:
                    raise self.not_found()
                return (None, None, lambda: (200, doc))
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise self.not_found()
        if not rest:
            doc = resources.resource_list(group, version)
            if doc is None:
                raise self.not_found()
            return (None, None, lambda: (200, doc))
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3 and \
                (group, version, rest[2]) in resources.BY_PATH:
            ns, rest = rest[1], rest[2:]
        res = resources.BY_PATH.get((group, version, rest[0]))
        if res is None or len(rest) > 3 or \
                (ns is not None and not res.namespaced) or \
                (ns is None and res.namespaced and len(rest) > 1):
            raise self.not_found()
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub not in (None, "status", "scale") or \
                (sub == "scale" and not res.scale):
            raise self.not_found()
        m = self.command
        if name is None:
            verb = {"GET": "watch" if _truthy(query.get("watch")) else "list",
                    "HEAD": "list", "POST": "create",
                    "DELETE": "deletecollection"}.get(m)
            if verb == "create" and res.namespaced and ns is None:
                raise self.not_found()
        else:
            ctype = self.headers.get("Content-Type", "")
            verb = {"GET": "get", "HEAD": "get", "PUT": "update",
                    "DELETE": "delete",
                    "PATCH": "apply" if "apply-patch" in ctype else "patch"
                    }.get(m)
            if sub and verb not in ("get", "update", "patch"):
                verb = None
        if verb is None:
            raise apierrors.method_not_allowed()
        return (verb, res, ns, name, sub)

    @staticmethod
    def not_found():
        return ApiError(404, "NotFound",
                        "the server could not find the requested resource",
                        {})

    # ---- resource verbs -----------------------------------------------------

    def _manager(self, query):
        m = query.get("fieldManager")
        if m:
            if len(m) > 128:
                raise ApiError(422, "Invalid", "fieldManager: Too long: may "
                               "not be longer than 128")
            return m
        ua = self.headers.get("User-Agent", "") or "unknown"
        return ua.split("/")[0][:128]

    def _selectors(self, query):
        try:
            return (labelsel.parse_labels(query.get("labelSelector")),
                    labelsel.parse_fields(query.get("fieldSelector")))
        except labelsel.SelectorError as e:
            raise apierrors.bad_request(str(e)) from None

    def serve(self, route, query, body):
        app = self.server.app
        if route[0] is None:
            return route[2]()
        verb, res, ns, name, sub = route
        st = app.store
        dry = query.get("dryRun") == "All"
        if verb == "get" and sub == "scale":
            return 200, st.scale_of(st.get(res, ns, name))
        if verb == "get":
            return 200, self._maybe_table(res, [st.get(res, ns, name)], None,
                                          single=True)
        if verb == "list":
            lsel, fsel = self._selectors(query)
            try:
                limit = int(query.get("limit") or 0)
            except ValueError:
                raise apierrors.bad_request("limit must be an integer") \
                    from None
            items, rv, token, remaining = st.list(
                res, ns, lsel, fsel, max(0, limit), query.get("continue"))
            meta = {"resourceVersion": rv}
            if token:
                meta["continue"] = token
            if remaining is not None:
                meta["remainingItemCount"] = remaining
            return 200, self._maybe_table(res, items, meta)
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        if verb in ("create", "update", "patch", "apply") and body:
            doc = patchlib.parse_body(body, ctype)
            if ctype != "application/json-patch+json":
                doc = self._field_validation(res, doc, query)
        else:
            doc = None
        if verb == "create":
            return 201, st.create(res, ns, doc, self._manager(query), dry)
        if sub == "scale" and verb in ("update", "patch"):
            kind = None if verb == "update" else \
                "json" if ctype == "application/json-patch+json" else "merge"
            return 200, st.write_scale(res, ns, name, kind, doc,
                                       self._manager(query), dry)
        if verb == "update":
            return 200, st.update(res, ns, name, doc, self._manager(query),
                                  sub, dry)
        if verb == "patch":
            kinds = {"application/merge-patch+json": "merge",
                     "application/strategic-merge-patch+json": "strategic",
                     "application/json-patch+json": "json"}
            if ctype not in kinds:
                raise apierrors.unsupported_media(ctype)
            if kinds[ctype] == "strategic" and not res.builtin:
                raise apierrors.unsupported_media(ctype)
            return 200, st.patch(res, ns, name, kinds[ctype], doc,
                                 self._manager(query), sub, dry)
        if verb == "apply":
            manager = query.get("fieldManager")
            if not manager:
                raise ApiError(
                    422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: '
                    "fieldManager: Required value: is required for apply "
                    "patch", {"kind": "PatchOptions", "group": "meta.k8s.io",
                              "causes": [{"reason": "FieldValueRequired",
                                          "message": "Required value: is "
                                          "required for apply patch",
                                          "field": "fieldManager"}]})
            if sub:
                raise apierrors.method_not_allowed(
                    "apply to a subresource is not supported by this test "
                    "server")
            obj, created = st.apply(res, ns, name, doc, manager,
                                    _truthy(query.get("force")), dry)
            return (201 if created else 200), obj
        opts = {}
        if body:
            try:
                opts = json.loads(body)
            except ValueError:
                raise apierrors.bad_request("invalid DeleteOptions") from None
        if query.get("propagationPolicy"):
            opts["propagationPolicy"] = query["propagationPolicy"]
        if dry:
            opts["dryRun"] = ["All"]
        if verb == "deletecollection":
            lsel, fsel = self._selectors(query)
            items = st.delete_collection(res, ns, lsel, fsel, opts)
            return 200, {"kind": res.kind + "List",
                         "apiVersion": res.api_version,
                         "metadata": {"resourceVersion": str(st.rv)},
                         "items": items}
        obj, now = st.delete(res, ns, name, opts)
        if not now or res.returns_deleted:
            return 200, obj
        details = {"name": name, "kind": res.plural,
                   "uid": obj["metadata"]["uid"]}
        if res.group:
            details["group"] = res.group
        return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                     "status": "Success", "details": details}

    def _wants_table(self):
        accept = self.headers.get("Accept", "")
        return "as=Table" in accept and "g=meta.k8s.io" in accept

    def _field_validation(self, res, doc, query):
        """Unknown fields (top level and metadata): 400 with
        fieldValidation=Strict, else dropped, with a Warning header unless
        Ignore, as typed decoding and CRD pruning do."""
        unknown = resources.unknown_fields(res, doc)
        if not unknown:
            return doc
        mode = query.get("fieldValidation") or "Warn"
        if mode == "Strict":
            raise apierrors.bad_request("strict decoding error: " + ", ".join(
                f'unknown field "{f}"' for f in unknown))
        if mode != "Ignore":
            self.warnings += [f'unknown field "{f}"' for f in unknown]
        doc = dict(doc)
        for f in unknown:
            if f.startswith("metadata."):
                doc["metadata"] = {k: v for k, v in doc["metadata"].items()
                                   if k != f[len("metadata."):]}
            else:
                del doc[f]
        return doc

    def _maybe_table(self, res, items, meta, single=False):
        if self._wants_table():
            return self._table(res, items, meta or {})
        if single:
            return items[0]
        if res.builtin:
            items = [{k: v for k, v in o.items()
                      if k not in ("apiVersion", "kind")} for o in items]
        return {"kind": res.kind + "List", "apiVersion": res.api_version,
                "metadata": meta, "items": items}

    def _table(self, res, items, meta):
        include = urllib.parse.parse_qs(
            urllib.parse.urlsplit(self.path).query).get(
                "includeObject", ["Metadata"])[-1]
        cols = [("Name", "string", "name")]
        extra = {"Namespace": [("Status", "string", "")],
                 "Deployment": [("Ready", "string", "")],
                 "StatefulSet": [("Ready", "string", "")],
                 "Job": [("Status", "string", ""),
                         ("Completions", "string", "")],
                 "Secret": [("Type", "string", ""),
                            ("Data", "string", "")],
                 "ConfigMap": [("Data", "string", "")]}.get(res.kind, [])
        cols += extra + [("Age", "string", "")]
        rows = []
        for o in items:
            st = o.get("status") or {}
            spec = o.get("spec") or {}
            cells = [o["metadata"]["name"]]
            if res.kind == "Namespace":
                cells.append(st.get("phase", ""))
            elif res.kind in ("Deployment", "StatefulSet"):
                cells.append(f"{st.get('readyReplicas', 0)}/"
                             f"{spec.get('replicas', 1)}")
            elif res.kind == "Job":
                done = st.get("succeeded", 0)
                cells.append("Complete" if done else
                             "Failed" if st.get("failed") else "Running")
                cells.append(f"{done}/{spec.get('completions', 1)}")
            elif res.kind == "Secret":
                cells += [o.get("type", ""), len(o.get("data") or {})]
            elif res.kind == "ConfigMap":
                cells.append(len(o.get("data") or {}))
            cells.append(_age(o["metadata"].get("creationTimestamp")))
            row = {"cells": cells}
            if include == "Object":
                row["object"] = o
            elif include != "None":
                row["object"] = {"kind": "PartialObjectMetadata",
                                 "apiVersion": "meta.k8s.io/v1",
                                 "metadata": o["metadata"]}
            rows.append(row)
        return {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
                "metadata": meta,
                "columnDefinitions": [
                    {"name": n, "type": t, "format": f, "description": n,
                     "priority": 0} for n, t, f in cols],
                "rows": rows}

    def watch(self, res, ns, query):
        st = self.server.app.store
        lsel, fsel = self._selectors(query)
        try:
            timeout = float(query.get("timeoutSeconds") or 1800)
        except ValueError:
            raise apierrors.bad_request("timeoutSeconds must be a number") \
                from None
        send_initial = _truthy(query.get("sendInitialEvents"))
        if send_initial and (
                query.get("resourceVersionMatch") != "NotOlderThan" or
                not _truthy(query.get("allowWatchBookmarks"))):
            # The API server's own rule for streaming lists (client-go 1.35's
            # kubectl wait/delete use them).
            raise apierrors.invalid(res, "", [(
                "sendInitialEvents", "true",
                "sendInitialEvents requires resourceVersionMatch=NotOlderThan "
                "and allowWatchBookmarks=true")])
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.server.app.counters.response(200)
        try:
            events, since = st.watch_start(res, ns, lsel, fsel,
                                           query.get("resourceVersion"),
                                           send_initial)
        except ApiError as e:
            events, since = [("ERROR", e.status())], None
        deadline = time.monotonic() + timeout
        tables = self._wants_table()
        try:
            while True:
                for etype, obj in events:
                    if tables and etype not in ("ERROR", "BOOKMARK"):
                        # kubectl get -w: every event carries a one-row
                        # Table, as the real server sends it.
                        obj = self._table(res, [obj], {
                            "resourceVersion":
                                obj["metadata"]["resourceVersion"]})
                    data = json.dumps({"type": etype, "object": obj},
                                      separators=(",", ":")).encode() + b"\n"
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
                left = deadline - time.monotonic()
                if since is None or left <= 0:
                    break
                # A watching client sends nothing: readable means it hung up.
                if select.select([self.connection], [], [], 0)[0]:
                    self.close_connection = True
                    return
                events, since = st.watch_next(res, ns, lsel, fsel, since,
                                              min(left, WATCH_POLL))
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (OSError, ssl.SSLError):
            self.close_connection = True
