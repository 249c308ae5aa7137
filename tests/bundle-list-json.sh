#!/bin/sh
# outpost bundle list --json prints the signed manifest byte for byte: the
# same bytes as the archive's manifest.json member, valid JSON, whose SHA-256
# is the digest `bundle verify` reports; nothing is printed for a bundle
# signed by a key that is not trusted.
. "$top_srcdir/tests/lib.sh"
skip_unless zstd

"$OUTPOST" bundle keygen --out "$T/keys" >/dev/null
"$OUTPOST" bundle keygen --out "$T/other" >/dev/null
mkdir "$T/in"
printf '#!/bin/sh\necho k3s\n' >"$T/in/k3s"
chmod 0755 "$T/in/k3s"
echo "notes" >"$T/in/notes.txt"
sha() { sha256sum "$1" | cut -d' ' -f1; }
cat >"$T/lock" <<LOCK
{ "bundle_version": "1.2.3", "k3s_version": "v1.31.4+k3s1", "inputs": [
  { "source": "$T/in/k3s", "path": "k3s/k3s", "role": "k3s-binary", "sha256": "$(sha "$T/in/k3s")" },
  { "source": "$T/in/notes.txt", "path": "doc/notes.txt", "role": "doc", "sha256": "$(sha "$T/in/notes.txt")" }
] }
LOCK
"$OUTPOST" bundle build --quiet --lock "$T/lock" --key "$T/keys/bundle-signing.key" --out "$T/b.bundle" >/dev/null
PUB="$T/keys/bundle-signing.pub"

expect_exit 0 "bundle list --json" -- "$OUTPOST" bundle list --json --pubkey "$PUB" "$T/b.bundle"
cp "$T/out" "$T/json"
zstd -dc "$T/b.bundle" | tar -xOf - manifest.json >"$T/member"
expect_true "the output is the signed manifest.json member, byte for byte" -- cmp -s "$T/json" "$T/member"
expect_exit 0 "bundle verify" -- "$OUTPOST" bundle verify --pubkey "$PUB" "$T/b.bundle"
expect_fgrep "manifest sha256 $(sha "$T/json")" "$T/out" "its SHA-256 is the digest verify reports"
expect_exit 0 "the output is JSON with the bundle's version and files" -- "$PYTHON3" -c '
import json, sys
m = json.load(open(sys.argv[1]))
assert m["bundle_version"] == "1.2.3", m
assert [f["path"] for f in m["files"]] == ["doc/notes.txt", "k3s/k3s"], m
assert [f["role"] for f in m["files"]] == ["doc", "k3s-binary"], m
' "$T/json"

expect_exit 3 "an untrusted key is refused" -- "$OUTPOST" bundle list --json \
	--pubkey "$T/other/bundle-signing.pub" "$T/b.bundle"
expect_true "and nothing is printed" -- test ! -s "$T/out"
expect_exit 2 "verify has no --json" -- "$OUTPOST" bundle verify --json --pubkey "$PUB" "$T/b.bundle"
expect_exit 2 "list has no --extract" -- "$OUTPOST" bundle list --extract "$T/x" --pubkey "$PUB" "$T/b.bundle"
expect_true "and extracts nothing" -- test ! -e "$T/x"
finish
