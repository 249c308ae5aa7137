#!/bin/sh
# The appliance CA through the installed commands: the first `outpost
# install` creates it (key 0600 in a 0700 directory), `outpost ca` prints its
# certificate, a rerun, an upgrade and a rollback keep it byte for byte, and
# `outpost reset` removes it only with the state.
# ok and not_ok always succeed, so "test && ok || not_ok" is an if-then-else here.
# shellcheck disable=SC2015
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/bundle-lib.sh"
skip_unless zstd
skip_unless helm
skip_unless openssl

R=$T/root
mkdir -p "$R"
make_keys "$T/keys"
make_bundle "$T/v1.bundle" 1.0.0 one
make_bundle "$T/v2.bundle" 2.0.0 two
inst() { "$OUTPOST" install --root "$R" --pubkey "$T/keys/bundle-signing.pub" --no-start --skip-preflight --quiet "$@"; }
CA=$R/var/lib/outpost/ca

expect_exit 1 "outpost ca before any install" -- "$OUTPOST" ca --root "$R"
expect_fgrep "outpost: ca: no CA yet (outpost install creates it)" "$T/err" "says what creates it"
# What a first install killed while writing the CA leaves (util_write_atomic's temp files).
mkdir -p "$CA"
echo partial >"$CA/ca.key.tmp.12345"
echo partial >"$CA/ca.crt.tmp.12346"
expect_exit 0 "first install" -- inst --bundle "$T/v1.bundle"
[ -z "$(find "$CA" -name '*.tmp.*')" ] && ok "a killed write's temp files are gone" || not_ok "left: $(ls "$CA")"
expect_fgrep "created the appliance CA in $CA" "$T/out" "install says it created the CA"
[ "$(stat -c %a "$CA")" = 700 ] && ok "CA directory 0700" || not_ok "CA directory $(stat -c %a "$CA")"
[ "$(stat -c %a "$CA/ca.key")" = 600 ] && ok "CA key 0600" || not_ok "CA key $(stat -c %a "$CA/ca.key")"
expect_exit 0 "outpost ca" -- "$OUTPOST" ca --root "$R"
cp "$T/out" "$T/printed"
cmp -s "$T/printed" "$CA/ca.crt" && ok "outpost ca prints the CA certificate" || not_ok "outpost ca printed something else"
expect_exit 0 "openssl reads it as a CA" -- sh -c "openssl x509 -in '$T/printed' -noout -text | grep -q 'CA:TRUE'"
grep -q "PRIVATE KEY" "$T/printed" && not_ok "outpost ca printed a private key" || ok "no private key printed"
cp "$CA/ca.crt" "$T/ca.first"

expect_exit 0 "rerun" -- inst --bundle "$T/v1.bundle"
grep -q "created the appliance CA" "$T/out" && not_ok "rerun created another CA" || ok "rerun keeps the CA"
expect_exit 0 "upgrade" -- inst --bundle "$T/v2.bundle"
expect_exit 0 "rollback" -- "$OUTPOST" rollback --root "$R" --no-start
cmp -s "$T/ca.first" "$CA/ca.crt" && ok "upgrade and rollback keep the CA byte for byte" || not_ok "the CA changed"

expect_exit 0 "reset --keep-state" -- "$OUTPOST" reset --root "$R" --keep-state --yes
cmp -s "$T/ca.first" "$CA/ca.crt" && [ -f "$CA/ca.key" ] && ok "reset --keep-state keeps the CA" ||
	not_ok "reset --keep-state removed the CA"
expect_exit 0 "reset" -- "$OUTPOST" reset --root "$R" --yes
[ -e "$CA" ] && not_ok "reset left the CA" || ok "reset removes the CA with the state"
finish
