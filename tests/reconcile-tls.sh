#!/bin/sh
# HTTPS for tenant hosts through the reconciler: the appliance CA (made next
# to the state file when no install made it) issues each host a certificate,
# kept in the tenant's kubernetes.io/tls Secret and named in the app's
# values; the openssl command verifies it for the host; a pass in sync keeps
# it (no write); a new host, a certificate past two thirds of its life and
# one from another CA are each replaced; no private key reaches the output.
# ok and not_ok always succeed, so "test && ok || not_ok" is an if-then-else here.
# shellcheck disable=SC2015,SC2119,SC2086
. "$top_srcdir/tests/lib.sh"
skip_unless kubectl
skip_unless sqlite3
skip_unless openssl
. "$top_srcdir/tests/reconcile/lib.sh"
rec_setup

CA=$T/ca
# secret_field KEY: a data key of acme's TLS Secret, decoded.
secret_field() {
	$K get secret t-acme-tls -n t-acme -o json |
		"${PYTHON3:-python3}" -c 'import base64, json, sys; print(base64.b64decode(json.load(sys.stdin)["data"][sys.argv[1]]).decode(), end="")' "$1"
}
# verifies HOST: the Secret's certificate verifies against the CA for HOST.
verifies() {
	secret_field tls.crt >"$T/leaf.pem" &&
		openssl verify -CAfile "$CA/ca.crt" -purpose sslserver -verify_hostname "$1" "$T/leaf.pem" >/dev/null 2>&1
}
serial() { openssl x509 -in "$T/leaf.pem" -noout -serial; }

"$OUTPOST" tenant add acme --host acme.example.org >/dev/null
if rec_converge; then ok "acme converges"; else not_ok "acme converges"; fi
[ "$(stat -c %a "$CA/ca.key" 2>/dev/null)" = 600 ] && ok "the CA was made next to the state file, key 0600" ||
	not_ok "no CA key 0600 in $CA"
expect_exit 0 "the TLS Secret" -- $K get secret t-acme-tls -n t-acme -o jsonpath='{.type}'
[ "$(cat "$T/out")" = kubernetes.io/tls ] && ok "type kubernetes.io/tls" || not_ok "type '$(cat "$T/out")'"
verifies acme.example.org && ok "openssl verifies the certificate for acme.example.org against the CA" ||
	not_ok "the certificate does not verify for acme.example.org"
verifies other.example.org && not_ok "it verifies for another host" || ok "it does not verify for another host"
[ "$(secret_field tls.crt | grep -c 'BEGIN CERTIFICATE')" = 2 ] && ok "tls.crt carries the leaf and the CA" ||
	not_ok "tls.crt holds $(secret_field tls.crt | grep -c 'BEGIN CERTIFICATE') certificates"
secret_field tls.key | grep -q "BEGIN PRIVATE KEY" && ok "tls.key holds the key" || not_ok "no key in tls.key"
expect_exit 0 "the app's values" -- $K get helmchart t-acme -n kube-system -o jsonpath='{.spec.valuesContent}'
expect_grep '"tlsSecretName": "t-acme-tls"' "$T/out" "the app's Ingress is told the Secret"
first=$(serial)

# A pass in sync keeps the certificate: nothing is written.
rec_reset_counters
rec_once
expect_grep "writes=0 " "$T/pass.out" "a pass in sync writes nothing (the certificate is kept)"
verifies acme.example.org && [ "$(serial)" = "$first" ] && ok "same certificate" || not_ok "the certificate changed"

# A new host: a new certificate for it.
"$OUTPOST" tenant set acme --host shop.example.org >/dev/null
rec_once
verifies shop.example.org && ok "after a host change the certificate is for shop.example.org" ||
	not_ok "no certificate for shop.example.org"

# A certificate past two thirds of its life (made by the openssl command with
# the same CA, dated back) is replaced at the next pass.
mkdir -p "$T/oldca/new"
: >"$T/oldca/index.txt"
echo 1000 >"$T/oldca/serial"
cat >"$T/oldca/ca.cnf" <<CNF
[ ca ]
default_ca = old
[ old ]
dir = $T/oldca
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir/new
default_md = sha256
policy = any
copy_extensions = copy
[ any ]
commonName = supplied
CNF
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/old.key" -out "$T/old.csr" \
	-subj /CN=shop.example.org -addext subjectAltName=DNS:shop.example.org 2>/dev/null
start=$(date -u -d '-80 days' +%Y%m%d%H%M%SZ) end=$(date -u -d '+10 days' +%Y%m%d%H%M%SZ)
expect_exit 0 "an old certificate from the same CA" -- openssl ca -batch -config "$T/oldca/ca.cnf" \
	-cert "$CA/ca.crt" -keyfile "$CA/ca.key" -startdate "$start" -enddate "$end" -in "$T/old.csr" -out "$T/old.pem"
put_secret() { # CERT KEY
	crt=$(base64 -w0 "$1") key=$(base64 -w0 "$2")
	$K patch secret t-acme-tls -n t-acme --type=merge -p "{\"data\": {\"tls.crt\": \"$crt\", \"tls.key\": \"$key\"}}" >/dev/null
}
put_secret "$T/old.pem" "$T/old.key"
rec_once
verifies shop.example.org && ok "the certificate in the Secret verifies" || not_ok "the certificate in the Secret does not verify"
nb=$(date -d "$(openssl x509 -in "$T/leaf.pem" -noout -startdate | cut -d= -f2)" +%s)
[ $(($(date +%s) - nb)) -lt 3600 ] && ok "past two thirds of its life it was issued again" ||
	not_ok "the certificate from $(openssl x509 -in "$T/leaf.pem" -noout -startdate) was kept"

# One from another CA (valid, right host) is replaced too.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/foreign.key" -out "$T/foreign.pem" \
	-days 90 -subj /CN=shop.example.org -addext subjectAltName=DNS:shop.example.org 2>/dev/null
put_secret "$T/foreign.pem" "$T/foreign.key"
rec_once
verifies shop.example.org && ! cmp -s "$T/leaf.pem" "$T/foreign.pem" && ok "a certificate from another CA is replaced" ||
	not_ok "the foreign certificate was kept"

# No private key in what the commands print.
for f in "$T/pass.out" "$T/pass.err"; do
	grep -q "PRIVATE KEY" "$f" && not_ok "a private key in $(basename "$f")" || ok "no private key in $(basename "$f")"
done
"$OUTPOST" reconcile --dry-run >"$T/dry.json"
grep -q "PRIVATE KEY\|BEGIN CERTIFICATE" "$T/dry.json" && not_ok "the dry run shows the certificate or key" ||
	ok "the dry run shows neither certificate nor key"
expect_exit 0 "the dry run shows the TLS Secret" -- grep -q '"t-acme-tls"' "$T/dry.json"
finish
