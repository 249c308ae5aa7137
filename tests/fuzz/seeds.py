#!/usr/bin/env python3
"""Seed inputs for tests/fuzz/fuzz_bundle.c: 2-byte manifest length, the
manifest (key_id = 64 zeros, replaced by the harness), raw tar payload."""
import hashlib, io, json, os, sys, tarfile

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def tar(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data, mode, kind, link in members:
            ti = tarfile.TarInfo(name)
            ti.mode, ti.type = mode, kind
            if kind == tarfile.REGTYPE:
                ti.size = len(data)
            else:
                ti.linkname = link
            t.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return buf.getvalue()


def seed(name, files, links=None, extra=()):
    m = {"format": 1, "bundle_version": "1.0.0", "k3s_version": "v1.31.4+k3s1",
         "created": "2026-01-01T00:00:00Z", "key_id": "0" * 64,
         "files": [{"path": p, "role": r, "size": len(d), "mode": "%04o" % mo,
                    "sha256": hashlib.sha256(d).hexdigest()} for p, r, d, mo in files]}
    if links:
        m["links"] = links
    mb = json.dumps(m).encode()
    payload = tar([(p, d, mo, tarfile.REGTYPE, None) for p, r, d, mo in files] + list(extra))
    with open(os.path.join(out, name), "wb") as f:
        f.write(len(mb).to_bytes(2, "big") + mb + payload)


k3s = ("k3s/k3s", "k3s-binary", b"#!/bin/sh\n", 0o755)
seed("minimal", [k3s])
seed("two", [("data/a.txt", "doc", b"hello\n" * 100, 0o644), k3s])
seed("links", [("data/a.txt", "doc", b"a", 0o644), k3s],
     [{"path": "data/h", "type": "hardlink", "target": "data/a.txt"},
      {"path": "data/s", "type": "symlink", "target": "a.txt"}],
     [("data/h", b"", 0o644, tarfile.LNKTYPE, "data/a.txt"),
      ("data/s", b"", 0o777, tarfile.SYMTYPE, "a.txt")])
seed("extra", [k3s], extra=[("../x", b"x", 0o644, tarfile.REGTYPE, None)])
