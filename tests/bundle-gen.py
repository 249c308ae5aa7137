#!/usr/bin/env python3
"""Writes a corpus of bad bundles, one per rule of bundle/FORMAT.md section 6,
plus good ones, with an implementation independent of outpost's: Python's
tarfile, the zstd and gzip command-line tools, and openssl for Ed25519.

usage: bundle-gen.py KEY.pem OTHER_KEY.pem CAPACITY_JSON OUTDIR

Writes OUTDIR/<case>.bundle and OUTDIR/cases.tsv: "<case>\t<expected text>"
(the text the refusal must contain; for good-* cases, "OK").
"""
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile

KEY, OTHER, CAPACITY, OUT = sys.argv[1:5]


def key_id(key):
    der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return hashlib.sha256(der[-32:]).hexdigest()


def sign(key, data):
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        return subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key,
                               "-in", f.name], check=True, capture_output=True).stdout


def pseudo_random(n, seed=1):
    out, h = bytearray(), hashlib.sha256(str(seed).encode()).digest()
    while len(out) < n:
        h = hashlib.sha256(h).digest()
        out += h
    return bytes(out[:n])


# The payload every case starts from: path -> (role, mode, content).
with open(CAPACITY, "rb") as f:
    capacity = f.read()
BASE = {
    "data/big.bin": ("doc", 0o644, pseudo_random(256 * 1024)),
    "data/capacity.json": ("capacity", 0o644, capacity),
    "k3s/k3s": ("k3s-binary", 0o755, b"#!/bin/sh\necho fake k3s\n"),
}


def manifest_for(files, kid, links=None, extra=None):
    m = {"format": 1, "bundle_version": "9.9.9-gen", "k3s_version": "v1.31.4+k3s1",
         "created": "2026-01-01T00:00:00Z", "key_id": kid,
         "files": [{"path": p, "role": r, "size": len(c), "mode": "%04o" % mo,
                    "sha256": hashlib.sha256(c).hexdigest()}
                   for p, (r, mo, c) in sorted(files.items())]}
    if links:
        m["links"] = links
    if extra:
        m.update(extra)
    return (json.dumps(m, indent=2) + "\n").encode()


def reg(name, data, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime = len(data), mode, 1700000000
    return (ti, data)


def special(name, kind, **kw):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime = kind, kw.pop("mode", 0o644), 1700000000
    for k, v in kw.items():
        setattr(ti, k, v)
    return (ti, None)


def payload(files):
    return [reg(p, c, mo) for p, (r, mo, c) in sorted(files.items())]


def tar_bytes(members, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for ti, data in members:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def without_marker(tb, zero_blocks=0):
    """The archive cut right after its last member's padded data, plus
    zero_blocks zero blocks: no complete end-of-archive marker. (tarfile pads
    the archive with zeros to a 10 KiB record, marker included.)"""
    end = len(tb.rstrip(b"\0"))
    end += (-end) % 512
    return tb[:end] + b"\0" * (512 * zero_blocks)


def zstd_single_segment(data):
    """One single-segment zstd frame (no Window_Descriptor: the decoder must
    hold the whole Frame_Content_Size) of raw blocks, built by hand as RFC
    8878 lays it out."""
    out = bytearray(b"\x28\xb5\x2f\xfd")
    out.append(0xA0)  # FCS field of 4 bytes, Single_Segment_flag, no checksum
    out += len(data).to_bytes(4, "little")
    step = 128 * 1024
    for i in range(0, max(len(data), 1), step):
        chunk = data[i:i + step]
        last = i + step >= len(data)
        out += ((len(chunk) << 3) | int(last)).to_bytes(3, "little")  # raw block
        out += chunk
    return bytes(out)


def raw_member_with_size(name, header_size, data, mode=0o644):
    """A ustar member whose header claims header_size but carries `data`
    padded to it: what a decompression bomb looks like to the reader."""
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime = header_size, mode, 1700000000
    hdr = ti.tobuf(tarfile.USTAR_FORMAT)
    body = data.ljust(header_size, b"\0")
    pad = (-len(body)) % 512
    return hdr + body + b"\0" * pad


def zstd(data):
    return subprocess.run(["zstd", "-q", "-c", "-3"], input=data, check=True,
                          capture_output=True).stdout


def zstd_long(data):
    # --long=27: a 128 MiB window, more memory than a bundle may ask for
    return subprocess.run(["zstd", "-q", "-c", "-3", "--long=27"], input=data, check=True,
                          capture_output=True).stdout


def gzip(data):
    return subprocess.run(["gzip", "-c", "-n"], input=data, check=True,
                          capture_output=True).stdout


KID, OTHER_KID = key_id(KEY), key_id(OTHER)
cases = []


def write(name, blob, expect):
    with open(os.path.join(OUT, name + ".bundle"), "wb") as f:
        f.write(blob)
    cases.append((name, expect))


def standard(files=None, extra_members=(), before=(), key=KEY, kid=None, man=None,
             sig=None, links=None, members=None):
    files = dict(BASE) if files is None else files
    man = man if man is not None else manifest_for(files, kid or key_id(key), links)
    sig = sig if sig is not None else sign(key, man)
    ms = list(before) + [reg("manifest.json", man), reg("manifest.json.sig", sig)]
    ms += members if members is not None else payload(files)
    ms += list(extra_members)
    return ms


os.makedirs(OUT, exist_ok=True)

# --- good bundles (must verify) ---
write("good-minimal", zstd(tar_bytes(standard())), "OK")
links = [{"path": "data/alias.json", "type": "symlink", "target": "capacity.json"},
         {"path": "data/hard.json", "type": "hardlink", "target": "data/capacity.json"}]
man = manifest_for(BASE, KID, links)
write("good-links", zstd(tar_bytes(standard(man=man, extra_members=[
    special("data/alias.json", tarfile.SYMTYPE, linkname="capacity.json"),
    special("data/hard.json", tarfile.LNKTYPE, linkname="data/capacity.json")]))), "OK")
write("good-gnu-format", zstd(tar_bytes(standard(), fmt=tarfile.GNU_FORMAT)), "OK")

# --- signature and keys ---
good_man = manifest_for(BASE, KID)
bad_sig = bytearray(sign(KEY, good_man))
bad_sig[10] ^= 0x01
write("bad-signature", zstd(tar_bytes(standard(man=good_man, sig=bytes(bad_sig)))),
      "manifest.json.sig: bad signature")
write("unknown-key", zstd(tar_bytes(standard(key=OTHER))), "signed by unknown key " + OTHER_KID)
tampered = good_man.replace(b'"9.9.9-gen"', b'"9.9.9-gex"')
write("manifest-tampered", zstd(tar_bytes(standard(man=tampered, sig=sign(KEY, good_man)))),
      "bad signature")
write("short-signature", zstd(tar_bytes(standard(sig=b"x" * 63))), "manifest.json.sig: 63 bytes")
# a signature by the other key, but the manifest claims the trusted key id
write("wrong-key-claims-trusted-id",
      zstd(tar_bytes(standard(man=good_man, sig=sign(OTHER, good_man)))), "bad signature")

# --- member order ---
ms = standard()
write("manifest-not-first", zstd(tar_bytes([ms[2]] + ms[:2] + ms[3:])),
      "member 'data/big.bin' comes where manifest.json must be")
write("signature-missing", zstd(tar_bytes([ms[0]] + ms[2:])),
      "member 'data/big.bin' comes where manifest.json.sig must be")

# --- manifest content (signed, so only the parser can refuse it) ---
def signed_manifest(text):
    return zstd(tar_bytes(standard(man=text, sig=sign(KEY, text))))


garbage = b'{"format": 1, "key_id": "' + KID.encode() + b'", "files": [ garbage'
write("garbage-manifest", signed_manifest(garbage), "manifest.json: line")
write("manifest-unknown-key", signed_manifest(manifest_for(BASE, KID, extra={"evil": 1})),
      "manifest.json: top level: unknown key 'evil'")
dup = good_man.replace(b'"format": 1,', b'"format": 1, "format": 1,')
write("manifest-duplicate-key", signed_manifest(dup), "duplicate")
unsorted = json.loads(good_man)
unsorted["files"].reverse()
write("manifest-unsorted", signed_manifest((json.dumps(unsorted, indent=2) + "\n").encode()),
      "out of order")
dotdot_man = json.loads(good_man)
dotdot_man["files"][0]["path"] = "../big.bin"
write("manifest-dotdot-path", signed_manifest(json.dumps(dotdot_man).encode()), "'..' component")
suid_man = json.loads(good_man)
suid_man["files"][2]["mode"] = "4755"
write("manifest-setuid-mode", signed_manifest(json.dumps(suid_man).encode()),
      "k3s/k3s: mode '4755' is not 0000-0777")
escaping = manifest_for(BASE, KID, [{"path": "data/esc", "type": "symlink",
                                      "target": "../../etc/passwd"}])
write("manifest-symlink-escapes", signed_manifest(escaping), "link data/esc: target '../../etc/passwd' leaves the bundle")

# --- payload members ---
write("entry-not-in-manifest", zstd(tar_bytes(standard(extra_members=[reg("data/extra.txt", b"x")]))),
      "data/extra.txt: not in the manifest")
write("duplicate-entry", zstd(tar_bytes(standard(extra_members=[reg("k3s/k3s", BASE["k3s/k3s"][2], 0o755)]))),
      "k3s/k3s: duplicate member")
files_missing = dict(BASE)
files_missing["data/missing.txt"] = ("doc", 0o644, b"never shipped")
write("missing-entry", zstd(tar_bytes(standard(files=files_missing, members=payload(BASE)))),
      "data/missing.txt: missing from the archive")
write("dotdot-entry", zstd(tar_bytes(standard(extra_members=[reg("../evil.txt", b"x")]))),
      "member '../evil.txt': '..' component")
write("dotdot-inner-entry", zstd(tar_bytes(standard(extra_members=[reg("data/../../evil.txt", b"x")]))),
      "member 'data/../../evil.txt': '..' component")
write("absolute-entry", zstd(tar_bytes(standard(extra_members=[reg("/etc/evil.conf", b"x")]))),
      "member '/etc/evil.conf': absolute path")
write("symlink-entry", zstd(tar_bytes(standard(extra_members=[
    special("data/passwd", tarfile.SYMTYPE, linkname="/etc/passwd")]))),
      "data/passwd: symlink not allowed by the manifest")
write("hardlink-entry", zstd(tar_bytes(standard(extra_members=[
    special("data/k3s-again", tarfile.LNKTYPE, linkname="k3s/k3s")]))),
      "data/k3s-again: hardlink not allowed by the manifest")
write("symlink-wrong-target", zstd(tar_bytes(standard(man=man, extra_members=[
    special("data/alias.json", tarfile.SYMTYPE, linkname="/etc/shadow"),
    special("data/hard.json", tarfile.LNKTYPE, linkname="data/capacity.json")]))),
      "data/alias.json: symlink to '/etc/shadow', manifest says 'capacity.json'")
write("char-device", zstd(tar_bytes(standard(extra_members=[
    special("data/null", tarfile.CHRTYPE, devmajor=1, devminor=3)]))),
      "data/null: character device")
write("block-device", zstd(tar_bytes(standard(extra_members=[
    special("data/sda", tarfile.BLKTYPE, devmajor=8, devminor=0)]))),
      "data/sda: block device")
write("fifo", zstd(tar_bytes(standard(extra_members=[special("data/pipe", tarfile.FIFOTYPE)]))),
      "data/pipe: FIFO")
setuid_members = payload(BASE)
setuid_members[2] = reg("k3s/k3s", BASE["k3s/k3s"][2], 0o4755)
write("setuid-bit", zstd(tar_bytes(standard(members=setuid_members))), "k3s/k3s: setuid bit set")
setgid_members = payload(BASE)
setgid_members[2] = reg("k3s/k3s", BASE["k3s/k3s"][2], 0o2755)
write("setgid-bit", zstd(tar_bytes(standard(members=setgid_members))), "k3s/k3s: setgid bit set")
write("sticky-dir", zstd(tar_bytes(standard(before=(), members=[
    special("data/", tarfile.DIRTYPE, mode=0o1777)] + payload(BASE)))), "data: sticky bit set")
mode_members = payload(BASE)
mode_members[2] = reg("k3s/k3s", BASE["k3s/k3s"][2], 0o777)
write("mode-mismatch", zstd(tar_bytes(standard(members=mode_members))),
      "k3s/k3s: mode 0777 in the archive, manifest says 0755")
hash_members = payload(BASE)
hash_members[2] = reg("k3s/k3s", b"#!/bin/sh\necho evil k3s\n", 0o755)
write("hash-mismatch", zstd(tar_bytes(standard(members=hash_members))),
      "k3s/k3s: sha256")
# size larger than the manifest: a 64 MiB run of zeros where 25 bytes are declared
head = b"".join(raw_member_with_size(ti.name, ti.size, data)
               for ti, data in standard(members=[]))
bomb = head + raw_member_with_size("k3s/k3s", 64 * 1024 * 1024, b"", 0o755)
write("size-bomb", zstd(bomb + b"\0" * 1024), "k3s/k3s: size 67108864 in the archive, manifest says 24")
# --- the stream itself ---
full = zstd(tar_bytes(standard()))
write("truncated", full[: len(full) * 2 // 3], "data/big.bin")
write("zstd-window-too-large", zstd_long(tar_bytes(standard())), "zstd window of 128 MiB")
write("gzip-instead-of-zstd", gzip(tar_bytes(standard())), "compressed with gzip; a bundle must be zstd")
write("uncompressed-tar", tar_bytes(standard()), "an uncompressed tar archive")
marker_tb = tar_bytes(standard())
write("no-end-marker", zstd(without_marker(marker_tb)), "no end-of-archive marker")
write("one-zero-block", zstd(without_marker(marker_tb, 1)), "no end-of-archive marker")
write("good-trailing-bytes-after-marker", zstd(without_marker(marker_tb, 2) + b"after the marker"), "OK")
# 40 MiB of content (the archive, then zeros after its marker, which a
# reader ignores) in one segment: a 40 MiB window.
write("zstd-single-segment-too-large",
      zstd_single_segment(marker_tb + b"\0" * (40 * 1024 * 1024 - len(marker_tb))),
      "zstd window of 40 MiB")
def v7(tb):
    """The archive with every ustar header made a pre-POSIX one: no magic,
    version, owner names or prefix, checksum recomputed."""
    b, at = bytearray(tb), 0
    while at + 512 <= len(b) and any(b[at:at + 512]):
        hdr = b[at:at + 512]
        size = int(hdr[124:136].rstrip(b"\0 ") or b"0", 8)
        hdr[257:512] = b"\0" * 255
        hdr[148:156] = b" " * 8
        hdr[148:156] = b"%06o\0 " % sum(hdr)
        b[at:at + 512] = hdr
        at += 512 + size + (-size) % 512
    return bytes(b)


write("v7-headers", zstd(v7(tar_bytes(standard(), fmt=tarfile.USTAR_FORMAT))), "pre-POSIX (v7) tar header")
write("good-zstd-single-segment", zstd_single_segment(marker_tb), "OK")
dict_frame = bytearray(zstd(marker_tb))
dict_frame[4] |= 0x01  # Dictionary_ID_flag: one byte of dictionary id follows
dict_frame[6:6] = b"\x07"
write("zstd-dictionary", bytes(dict_frame), "needs a dictionary")
write("not-tar", zstd(b"hello, this is not a tar archive at all\n" * 40), "start of archive")
write("empty-file", b"", "not a zstd stream")

with open(os.path.join(OUT, "cases.tsv"), "w") as f:
    for name, expect in cases:
        f.write("%s\t%s\n" % (name, expect))
