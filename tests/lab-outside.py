#!/usr/bin/env python3
"""The outside world for the lab command's test, on loopback over HTTPS:
static files (k3s's GitHub release downloads) and the read-only part of the
registry API (GET/HEAD /v2/, /v2/<name>/manifests/<digest>,
/v2/<name>/blobs/<digest>) served from one directory:

    DIR/<any path>                         served as is
    DIR/v2/<name>/manifests/sha256:<hex>   served with the mediaType it names

usage: lab-outside.py DIR CERT KEY PORTFILE
Writes the port it listens on to PORTFILE once it accepts connections; each
request is logged to stderr as "METHOD PATH STATUS".
"""
import http.server
import json
import os
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    root = "."

    def log_message(self, fmt, *args):
        sys.stderr.write("%s\n" % (fmt % args))

    def send_file(self, body_wanted):
        path = self.path.split("?", 1)[0]
        if path in ("/v2", "/v2/"):
            return self.reply(200, b"{}", "application/json", body_wanted)
        local = os.path.realpath(os.path.join(self.root, path.lstrip("/")))
        if not local.startswith(os.path.realpath(self.root) + os.sep) or not os.path.isfile(local):
            body = json.dumps({"errors": [{"code": "NOT_FOUND", "message": path}]}).encode()
            return self.reply(404, body, "application/json", body_wanted)
        with open(local, "rb") as f:
            data = f.read()
        ctype = "application/octet-stream"
        if "/manifests/" in path:
            ctype = json.loads(data).get("mediaType", ctype)
        headers = {"Docker-Content-Digest": os.path.basename(path)} if path.startswith("/v2/") else {}
        return self.reply(200, data, ctype, body_wanted, headers)

    def reply(self, code, data, ctype, body_wanted, headers=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if body_wanted:
            self.wfile.write(data)

    def do_GET(self):
        self.send_file(True)

    def do_HEAD(self):
        self.send_file(False)


def main():
    root, cert, key, portfile = sys.argv[1:5]
    Handler.root = root
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()


if __name__ == "__main__":
    main()
