#!/bin/sh
# Certificate renewal by the running daemon, with no change to the desired
# state: the full pass (--resync) keeps a tenant's certificate while it is
# young, and issues a new one once it is past two thirds of its life. The
# Secret is replaced behind the daemon's back with certificates the openssl
# command issues from the appliance CA, one young and one old, so that
# renewal is told apart from the repair of a changed Secret. Full passes are
# counted on the metrics endpoint (scraped with Prometheus's parser).
# ok and not_ok always succeed, so "test && ok || not_ok" is an if-then-else here.
# shellcheck disable=SC2015
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/supervise-lib.sh"
skip_unless sqlite3
skip_unless kubectl
skip_unless openssl
need_prometheus_parser

mkdir -p "$T/api"
cat >"$FAKE_K3S_CONTROL" <<CTL
api=$T/api
controllers={"jobs": true, "helm": true, "delay": 0.1}
CTL
echo '{"cpu_millicores": 8000, "memory_mib": 16384, "disk_gib": 100}' >"$T/profile.json"
OUTPOST_PROFILE=$T/profile.json; export OUTPOST_PROFILE
k() { kubectl --kubeconfig "$T/api/kubeconfig" "$@"; }
CA=$T/ca
ADDR=unix:$T/metrics.sock
is_ready() { [ "$(sqlite3 "$T/state.db" "select phase from tenant_status where name = 'acme'")" = Ready ]; }
full_passes() {
	"$PROM_PY" "$top_srcdir/tests/metrics-scrape.py" "$ADDR" 2>/dev/null |
		sed -n 's/^outpost_reconcile_passes_total{kind=full} //p'
}
# full_passes_past N: at least N full passes so far.
full_passes_past() { n=$(full_passes); [ -n "$n" ] && [ "$n" -ge "$1" ]; }
# expiry_metric_is SOURCE: the metrics endpoint's expiry of acme's
# certificate, from SOURCE, is the notAfter of the certificate in its Secret.
expiry_metric_is() {
	leaf || return 1
	want=$(date -d "$(openssl x509 -in "$T/leaf.pem" -noout -enddate | cut -d= -f2)" +%s)
	got=$("$PROM_PY" "$top_srcdir/tests/metrics-scrape.py" "$ADDR" 2>/dev/null |
		sed -n "s/^outpost_tenant_certificate_expiry_timestamp_seconds{source=$1,tenant=acme} //p")
	[ "$got" = "$want" ]
}
leaf() {
	k get secret t-acme-tls -n t-acme -o jsonpath='{.data.tls\.crt}' | base64 -d >"$T/leaf.pem"
}
serial() { leaf && openssl x509 -in "$T/leaf.pem" -noout -serial; }
serial_is_not() { [ "$(serial)" != "$1" ]; }
explain() {
	[ "$fails" -gt 0 ] || return 0
	tail -20 "$T/outpost.log" | sed 's/^/# /'
}
on_exit explain

start_outpost --ready api --kubeconfig "$T/api/kubeconfig" --poll 200 --poll-idle 60000 \
	--reconcile-check 500 --worker-timeout 120000 --resync 1000 --metrics "$ADDR"
wait_for 60 "the API comes up" -- grep -q "API is ready" "$T/outpost.log"
expect_exit 0 "kubectl creates the platform namespace" -- k create namespace outpost-platform
expect_exit 0 "a tenant is added" -- "$OUTPOST" --state "$T/state.db" tenant add acme --host acme.example.test
wait_for 60 "acme is Ready" -- is_ready
wait_for 30 "acme's TLS Secret exists" -- leaf
expect_exit 0 "the daemon's certificate verifies against the CA for the host" -- \
	openssl verify -CAfile "$CA/ca.crt" -verify_hostname acme.example.test "$T/leaf.pem"
wait_for 30 "the metrics endpoint serves its expiry (source ca)" -- expiry_metric_is ca

# Certificates from the same CA, issued by the openssl command: `issue NAME
# DAYS_AGO DAYS_LEFT` writes $T/NAME.pem and $T/NAME.key.
mkdir -p "$T/opca/new"
: >"$T/opca/index.txt"
echo 1000 >"$T/opca/serial"
cat >"$T/opca/ca.cnf" <<CNF
[ ca ]
default_ca = op
[ op ]
dir = $T/opca
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir/new
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[ any ]
commonName = supplied
CNF
issue() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$1.key" -out "$T/$1.csr" \
		-subj /CN=acme.example.test -addext subjectAltName=DNS:acme.example.test 2>/dev/null &&
		openssl ca -batch -config "$T/opca/ca.cnf" -cert "$CA/ca.crt" -keyfile "$CA/ca.key" \
			-startdate "$(date -u -d "-$2 days" +%Y%m%d%H%M%SZ)" \
			-enddate "$(date -u -d "+$3 days" +%Y%m%d%H%M%SZ)" -in "$T/$1.csr" -out "$T/$1.pem" 2>/dev/null
}
put_secret() { # NAME
	crt=$(base64 -w0 "$T/$1.pem") key=$(base64 -w0 "$T/$1.key")
	k patch secret t-acme-tls -n t-acme --type=merge \
		-p "{\"data\": {\"tls.crt\": \"$crt\", \"tls.key\": \"$key\"}}" >/dev/null
}
expect_exit 0 "a young certificate (1 of 90 days used)" -- issue young 1 89
expect_exit 0 "an old one (80 of 90 days used)" -- issue old 80 10

# Young: kept through two full passes that started after it was put there.
expect_exit 0 "the young certificate replaces the daemon's" -- put_secret young
young=$(openssl x509 -in "$T/young.pem" -noout -serial)
n=$(full_passes)
wait_for 60 "two more full passes" -- full_passes_past $((n + 2))
[ "$(serial)" = "$young" ] && ok "a young certificate from the CA is kept" ||
	not_ok "the young certificate was replaced ($(serial), wanted $young)"

# Old: past two thirds of its life, so the next full pass issues a new one.
expect_exit 0 "the old certificate replaces it" -- put_secret old
old=$(openssl x509 -in "$T/old.pem" -noout -serial)
wait_for 60 "the daemon renews the old certificate" -- serial_is_not "$old"
expect_exit 0 "the renewed certificate verifies against the CA for the host" -- \
	openssl verify -CAfile "$CA/ca.crt" -verify_hostname acme.example.test "$T/leaf.pem"
nb=$(date -d "$(openssl x509 -in "$T/leaf.pem" -noout -startdate | cut -d= -f2)" +%s)
[ $(($(date +%s) - nb)) -lt 3600 ] && ok "the renewed certificate is new (issued within the hour)" ||
	not_ok "notBefore $(openssl x509 -in "$T/leaf.pem" -noout -startdate)"
wait_for 30 "the metrics endpoint serves the renewed certificate's expiry" -- expiry_metric_is ca
expect_exit 1 "no private key in the daemon's log" -- grep -q "PRIVATE KEY" "$T/outpost.log"
stop_outpost
[ "$OUTPOST_RC" -eq 0 ] && ok "SIGTERM: exit 0" || not_ok "exit $OUTPOST_RC"
finish
