#!/bin/sh
# Trust: a command that needs a key says, on failure, which key it looked for,
# where, and how to give one; `install --pubkey` keeps the key it was given
# (only after a good install), so later runs need no --pubkey.
# ok and not_ok always succeed, so "test && ok || not_ok" is an if-then-else here.
# shellcheck disable=SC2015
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/bundle-lib.sh"
skip_unless zstd
skip_unless helm

make_keys "$T/keys"
PUB="$T/keys/bundle-signing.pub"
make_bundle "$T/v1.bundle" 1.0.0 one
ID=$("$OUTPOST" bundle list --pubkey "$PUB" "$T/v1.bundle" | sed -n 's/.* key \([0-9a-f]*\)$/\1/p')
[ ${#ID} -eq 64 ] && ok "bundle list names the signing key" || not_ok "bundle list names the signing key ($ID)"
SHORT=$(printf %.16s "$ID")

# The built-in trust store follows configure's --sysconfdir.
DIR=$("$OUTPOST" bundle verify --help | sed -n 's|^Trusted keys: \(.*\)/\*\.pub.*|\1|p')
case $DIR in */outpost/trusted-keys) ok "verify --help names the trust store ($DIR)" ;;
	*) not_ok "verify --help names the trust store ($DIR)" ;; esac
if [ -e "$DIR" ]; then
	skip_note="$DIR exists on this machine"
	echo "# not checking the no-store messages of verify and list: $skip_note"
else
	for sub in verify list; do
		expect_exit 3 "bundle $sub without a trusted key is refused" -- "$OUTPOST" bundle $sub "$T/v1.bundle"
		expect_fgrep "outpost: bundle $sub: " "$T/err" "bundle $sub: the README's error form"
		expect_fgrep "$ID" "$T/err" "bundle $sub names the key it looked for"
		expect_fgrep "$DIR" "$T/err" "bundle $sub names where it looked"
		expect_fgrep "pubkey FILE" "$T/err" "bundle $sub says how to give one"
	done
fi

# A wrong key: the same three facts.
make_keys "$T/other"
expect_exit 3 "verify with another key is refused" -- "$OUTPOST" bundle verify --pubkey "$T/other/bundle-signing.pub" "$T/v1.bundle"
expect_fgrep "$ID" "$T/err" "names the key it looked for"
expect_fgrep "$T/other/bundle-signing.pub" "$T/err" "names where it looked"
expect_fgrep "pubkey FILE" "$T/err" "says how to give one"

# install --root without any trusted key: refused, nothing written.
R="$T/root"
inst() { "$OUTPOST" install --root "$R" --no-start --skip-preflight --quiet "$@"; }
expect_exit 3 "install without a trusted key is refused" -- inst --bundle "$T/v1.bundle"
expect_fgrep "outpost: install: " "$T/err" "install: the README's error form"
expect_fgrep "$ID" "$T/err" "install names the key it looked for"
expect_fgrep "$R/etc/outpost/trusted-keys" "$T/err" "install names the root's trust store"
expect_fgrep "pubkey FILE" "$T/err" "install says how to give one"
[ ! -e "$R" ] && ok "a refused install writes nothing" || not_ok "a refused install writes nothing"

# A wrong --pubkey: refused, and that key is not kept.
expect_exit 3 "install with a key that did not sign the bundle is refused" -- \
	inst --pubkey "$T/other/bundle-signing.pub" --bundle "$T/v1.bundle"
[ ! -e "$R/etc/outpost/trusted-keys" ] && ok "the refused key is not kept" || not_ok "the refused key is not kept"
expect_exit 2 "--pubkey naming no file is a usage error" -- inst --pubkey "$T/nope.pub" --bundle "$T/v1.bundle"
expect_fgrep "$T/nope.pub" "$T/err" "the usage error names the file"

# A bundle that does not carry its key: the key given once is kept.
"$PYTHON3" - "$T/in-1.0.0/bundle.lock" "$T/in-1.0.0/nokey.lock" <<'PY'
import json, sys
lock = json.load(open(sys.argv[1]))
lock["inputs"] = [i for i in lock["inputs"] if i["role"] != "key"]
json.dump(lock, open(sys.argv[2], "w"))
PY
if "$OUTPOST" bundle build --quiet --lock "$T/in-1.0.0/nokey.lock" --key "$T/keys/bundle-signing.key" --out "$T/nokey.bundle" >/dev/null; then
	ok "a bundle without its key builds"
else
	not_ok "a bundle without its key builds"
fi
expect_exit 0 "install --pubkey succeeds" -- inst --pubkey "$PUB" --bundle "$T/nokey.bundle"
expect_fgrep "trusted key $ID kept in $R/etc/outpost/trusted-keys" "$T/out" "reports the kept key"
K="$R/etc/outpost/trusted-keys/$SHORT.pub"
[ "$(stat -c %a "$K" 2>/dev/null)" = 644 ] && cmp -s "$K" "$PUB" &&
	ok "kept as $SHORT.pub, 0644, the same bytes" || not_ok "kept as $SHORT.pub, 0644, the same bytes"
[ -z "$(find "$R/etc/outpost/trusted-keys" -name "*.tmp.*")" ] && ok "no temporary file left" || not_ok "no temporary file left"
expect_exit 0 "a later install needs no --pubkey" -- inst --bundle "$T/nokey.bundle"
expect_fgrep "already installed" "$T/out" "the rerun sees the same bundle"
expect_exit 0 "verify against the root's store" -- "$OUTPOST" bundle verify --quiet --pubkey "$R/etc/outpost/trusted-keys" "$T/v1.bundle"

# A bundle that lays out its own key already trusts it: nothing extra kept.
R="$T/root2"
expect_exit 0 "install --pubkey of a bundle carrying the key" -- inst --pubkey "$PUB" --bundle "$T/v1.bundle"
[ ! -e "$R/etc/outpost/trusted-keys/$SHORT.pub" ] && [ -f "$R/etc/outpost/trusted-keys/bundle-signing.pub" ] &&
	ok "no second copy of a key the bundle laid out" || not_ok "no second copy of a key the bundle laid out"
finish
