#!/usr/bin/env python3
"""Plays systemd's side of sd_notify for the tests: binds an AF_UNIX datagram
socket (a path, or @name for an abstract one) and appends every message to
OUTFILE as '<CLOCK_MONOTONIC seconds> <message>' (newlines inside a message
become ' | '). Runs until SIGTERM."""
import os
import signal
import socket
import sys
import time

addr, out = sys.argv[1], sys.argv[2]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind("\0" + addr[1:] if addr.startswith("@") else addr)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
with open(out, "a") as f:
    f.write("%.6f LISTENING\n" % time.monotonic())
    f.flush()
    while True:
        msg = sock.recv(4096).decode(errors="replace").strip()
        f.write("%.6f %s\n" % (time.monotonic(), msg.replace("\n", " | ")))
        f.flush()
