#!/usr/bin/env python3
"""Scrapes Outpost's metrics endpoint and parses the answer with Prometheus's
own parser (Debian's python3-prometheus-client), as a Prometheus server
would read it.

  metrics-scrape.py ADDRESS            ADDRESS: unix:PATH or HOST:PORT

Prints `# TYPE <family> <type>` per family and one line per sample,
`name{label=value,...} value` (labels sorted, integral values without a
fraction); exits 1 with the reason when the answer is not a 200 with the
0.0.4 text format, or does not parse.

  metrics-scrape.py ADDRESS --raw METHOD PATH

Sends one request and prints the status line only (for the error answers)."""
import http.client
import socket
import sys

from prometheus_client.parser import text_string_to_metric_families


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self.path)


def connection(address):
    if address.startswith("unix:"):
        return UnixConnection(address[5:])
    host, port = address.rsplit(":", 1)
    return http.client.HTTPConnection(host.strip("[]"), int(port), timeout=10)


def fmt(value):
    return "%d" % value if value == int(value) else repr(value)


def main():
    conn = connection(sys.argv[1])
    if len(sys.argv) == 5 and sys.argv[2] == "--raw":
        conn.request(sys.argv[3], sys.argv[4])
        r = conn.getresponse()
        print(r.status, r.reason)
        return 0
    conn.request("GET", "/metrics")
    r = conn.getresponse()
    body = r.read().decode("utf-8")
    if r.status != 200:
        sys.exit("HTTP %d %s" % (r.status, r.reason))
    ctype = r.getheader("Content-Type", "")
    if not ctype.startswith("text/plain; version=0.0.4"):
        sys.exit("Content-Type %r is not the text format 0.0.4" % ctype)
    if int(r.getheader("Content-Length", "-1")) != len(body.encode("utf-8")):
        sys.exit("Content-Length does not match the body")
    for family in text_string_to_metric_families(body):
        print("# TYPE %s %s" % (family.name, family.type))
        for s in family.samples:
            labels = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
            print("%s%s %s" % (s.name, "{%s}" % labels if labels else "", fmt(s.value)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
