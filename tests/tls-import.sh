#!/bin/sh
# Operators' certificates: `outpost tls import` refuses a wrong key, a
# certificate for another host, one expiring within a week, a self-signed
# one and an incomplete chain, each with its reason and nothing stored; a
# good one (for a tenant, or a wildcard for a domain) is stored 0600, moves
# the tenants it serves so the next pass puts it into their TLS Secret in
# place of the appliance CA's; `tls rm` hands the host back to the CA.
# ok and not_ok always succeed, so "test && ok || not_ok" is an if-then-else here.
# shellcheck disable=SC2015,SC2119,SC2086
. "$top_srcdir/tests/lib.sh"
skip_unless kubectl
skip_unless sqlite3
skip_unless openssl
. "$top_srcdir/tests/reconcile/lib.sh"
rec_setup

P=$T/pki
mkdir -p "$P"
expect_exit 0 "an operator's PKI (tests/tls-pki.sh)" -- sh "$top_srcdir/tests/tls-pki.sh" "$P"
"$OUTPOST" tenant add shop --host shop.example.com >/dev/null
"$OUTPOST" tenant add blog --host blog.example.com >/dev/null
if rec_converge; then ok "two tenants converge"; else not_ok "two tenants converge"; fi
served() { # TENANT: the certificate its TLS Secret holds (the leaf)
	$K get secret "t-$1-tls" -n "t-$1" -o jsonpath='{.data.tls\.crt}' | base64 -d |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null
}
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
gen() { sqlite3 "$OUTPOST_STATE" "select generation from tenants where name = '$1'"; }

gen_before=$(gen shop)

refused() { # REASON ARGS...: exit 3, the reason, nothing stored, nothing moved
	why=$1; shift
	expect_exit 3 "refused: $why" -- "$OUTPOST" tls import "$@"
	expect_fgrep "$why" "$T/err" "the error says: $why"
}
refused "the key does not match the certificate" --tenant shop --cert "$P/host-full.pem" --key "$P/wild.key"
refused "the certificate does not cover blog.example.com" --tenant blog --cert "$P/host-full.pem" --key "$P/host.key"
refused "expires in less than 7 days" --tenant shop --cert "$P/soon-full.pem" --key "$P/soon.key"
refused "self-signed" --tenant shop --cert "$P/self.pem" --key "$P/self.key"
refused "the chain is incomplete" --tenant shop --cert "$P/host.pem" --key "$P/host.key"
refused "does not cover every host under example.com" --domain example.com --cert "$P/host-full.pem" --key "$P/host.key"
expect_exit 3 "a tenant that does not exist" -- "$OUTPOST" tls import --tenant nosuch --cert "$P/host-full.pem" --key "$P/host.key"
expect_exit 2 "neither --tenant nor --domain" -- "$OUTPOST" tls import --cert "$P/host-full.pem" --key "$P/host.key"
[ ! -e "$T/tls" ] || [ -z "$(find "$T/tls" -type f)" ] && ok "nothing was stored by a refusal" ||
	not_ok "files after refusals: $(find "$T/tls" -type f | tr '\n' ' ')"
[ "$(gen shop)" = "$gen_before" ] && ok "a refusal moves no generation" || not_ok "generation moved"

# The chain without its root, the root given with --ca.
expect_exit 0 "import for tenant shop" -- "$OUTPOST" tls import --tenant shop --cert "$P/host-noroot.pem" \
	--key "$P/host.key" --ca "$P/root.pem"
expect_grep "stored the certificate for tenant shop, valid until" "$T/out" "says until when"
[ "$(stat -c %a "$T/tls/tenant/shop.key")" = 600 ] && [ "$(stat -c %a "$T/tls/tenant")" = 700 ] &&
	ok "the key is 0600 in a 0700 directory" || not_ok "modes $(stat -c %a "$T/tls/tenant/shop.key" "$T/tls/tenant")"
[ "$(gen shop)" -gt "$gen_before" ] && ok "shop's generation moved (the daemon reconciles it now)" || not_ok "generation"
expect_exit 0 "tls list" -- "$OUTPOST" tls list
expect_grep "^tenant  *shop  *[0-9-]* ([0-9]* days)" "$T/out" "tls list shows it and its expiry"
rec_once --changed
[ "$(served shop)" = "$(fp "$P/host.pem")" ] && ok "the next pass serves the operator's certificate for shop" ||
	not_ok "shop serves $(served shop)"
[ "$(served blog)" != "$(fp "$P/host.pem")" ] && ok "blog keeps the CA's" || not_ok "blog got shop's certificate"

# A wildcard for the domain serves every tenant host under it without its own.
expect_exit 0 "import for domain example.com" -- "$OUTPOST" tls import --domain example.com \
	--cert "$P/wild-full.pem" --key "$P/wild.key"
rec_once --changed
[ "$(served blog)" = "$(fp "$P/wild.pem")" ] && ok "blog is served the wildcard" || not_ok "blog serves $(served blog)"
[ "$(served shop)" = "$(fp "$P/host.pem")" ] && ok "shop keeps its own" || not_ok "shop serves $(served shop)"
# What the metrics endpoint reads: each tenant's certificate and its source.
enddate() { date -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s; }
certs() { sqlite3 "$OUTPOST_STATE" "select name, source, not_after from tenant_certificates order by name" | tr '\n' ' '; }
[ "$(certs)" = "blog|operator|$(enddate "$P/wild.pem") shop|operator|$(enddate "$P/host.pem") " ] &&
	ok "the pass recorded both operators' certificates and their expiry" || not_ok "recorded: $(certs)"

# Expiry shows in tenant show and status; within 14 days they warn.
expect_exit 0 "tenant show blog" -- "$OUTPOST" tenant show blog
expect_grep "^certificate: the operator's, expires [0-9-]* ([0-9]* days)\$" "$T/out" "tenant show: the operator's and its expiry"
"$OUTPOST" status --json >"$T/status.json"
expect_exit 0 "status --json lists both certificates" -- "${PYTHON3:-python3}" -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert sorted((c["for"], c["subject"]) for c in d["certificates"]) == [("domain", "example.com"), ("tenant", "shop")], d["certificates"]' "$T/status.json"
expect_exit 0 "a certificate valid for 10 more days is taken" -- "$OUTPOST" tls import --tenant shop \
	--cert "$P/ten-full.pem" --key "$P/ten.key"
expect_exit 0 "status" -- "$OUTPOST" status
expect_grep "^Certificate for tenant shop: expires on [0-9T:Z-]*; import a new one" "$T/out" "status warns 14 days ahead"
grep -q "example.com: expires" "$T/out" && not_ok "status warns about the wildcard" || ok "not about the wildcard (a year left)"
expect_exit 0 "tenant show shop" -- "$OUTPOST" tenant show shop
expect_grep "^certificate: the operator's, expires .* (9 days): renew it with outpost tls import" "$T/out" "tenant show warns too"
rec_once --changed
rec_once
expect_exit 0 "tenant show shop" -- "$OUTPOST" tenant show shop
expect_grep "Warning  *CertificateExpiring  *the operator's certificate for shop.example.com expires on " "$T/out" \
	"the daemon's pass left a warning event"
[ "$(sqlite3 "$OUTPOST_STATE" "select count(*) from events where reason = 'CertificateExpiring'")" = 1 ] &&
	ok "once per certificate, not at every pass" || not_ok "$(sqlite3 "$OUTPOST_STATE" "select count(*) from events where reason = 'CertificateExpiring'") events"
expect_exit 0 "shop's own again" -- "$OUTPOST" tls import --tenant shop --cert "$P/host-full.pem" --key "$P/host.key"
# A pass whose write of shop's TLS Secret fails records nothing new for shop:
# the cluster still serves the certificate of 10 days.
kubeapi_ctl faults '{"rules": [{"verb": "apply", "kind": "Secret", "namespace": "t-shop", "name": "t-shop-tls", "code": 500, "times": 0}]}' >/dev/null
rec_once --changed
[ "$(rec_status shop)" = Failed ] && [ "$(certs | sed -n 's/.*shop|operator|\([0-9]*\) .*/\1/p')" = "$(enddate "$P/ten.pem")" ] &&
	ok "a failed write keeps the recorded certificate (the one still served)" ||
	not_ok "after a failed write: $(rec_status shop), recorded $(certs)"
kubeapi_ctl faults '{}' >/dev/null
rec_once --changed
[ "$(certs | sed -n 's/.*shop|operator|\([0-9]*\) .*/\1/p')" = "$(enddate "$P/host.pem")" ] &&
	ok "once written, the new certificate is recorded" || not_ok "after the write: recorded $(certs)"

# Removal: shop falls back to the wildcard, then both to the appliance CA.
expect_exit 0 "tls rm --tenant shop" -- "$OUTPOST" tls rm --tenant shop
rec_once --changed
[ "$(served shop)" = "$(fp "$P/wild.pem")" ] && ok "shop falls back to the wildcard" || not_ok "shop serves $(served shop)"
expect_exit 0 "tls rm --domain example.com" -- "$OUTPOST" tls rm --domain example.com
rec_once --changed
expect_exit 0 "tenant show shop" -- "$OUTPOST" tenant show shop
expect_grep "^certificate: the appliance CA's" "$T/out" "tenant show: the appliance CA's again"
[ "$(certs | sed 's/|[0-9]* / /g')" = "blog|ca shop|ca " ] && ok "the pass recorded the CA's certificates again" ||
	not_ok "recorded: $(certs)"
for t in shop blog; do
	$K get secret "t-$t-tls" -n "t-$t" -o jsonpath='{.data.tls\.crt}' | base64 -d >"$T/$t.pem"
	openssl verify -CAfile "$T/ca/ca.crt" -verify_hostname "$t.example.com" "$T/$t.pem" >/dev/null 2>&1 &&
		ok "$t is served by the appliance CA again" || not_ok "$t is not served by the appliance CA"
done
expect_exit 3 "tls rm of nothing" -- "$OUTPOST" tls rm --domain example.com
expect_fgrep "no certificate stored for domain example.com" "$T/err" "says there is none"
for f in "$T/out" "$T/err" "$T/pass.out" "$T/pass.err"; do
	grep -q "PRIVATE KEY" "$f" && not_ok "a private key in $(basename "$f")" || ok "no private key in $(basename "$f")"
done
finish
