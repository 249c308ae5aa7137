#!/bin/sh
# tests/tls-pki.sh DIR: an operator's PKI made with the openssl command, for
# the certificate tests: a root (root.pem), an intermediate (int.pem), leaves
# signed by it for one host (host.pem: shop.example.com), a wildcard
# (wild.pem: *.example.com) and ones that expire in 3 and 10 days (soon.pem,
# ten.pem), a self-signed leaf (self.pem), each key in <name>.key, and the
# chains host-full.pem, host-noroot.pem, wild-full.pem, soon-full.pem,
# ten-full.pem.
set -eu
cd "$1"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
key root
openssl req -x509 -key root.key -out root.pem -days 3650 -subj /CN=Operator-Root \
	-addext basicConstraints=critical,CA:TRUE 2>/dev/null
key int
openssl req -new -key int.key -out int.csr -subj /CN=Operator-Int 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign\n' >int.ext
openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -CAcreateserial -days 1000 -extfile int.ext \
	-out int.pem 2>/dev/null
leaf() { # NAME SAN DAYS
	key "$1"
	openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$2" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA int.pem -CAkey int.key -CAcreateserial -days "$3" -extfile "$1.ext" \
		-out "$1.pem" 2>/dev/null
}
leaf host DNS:shop.example.com 365
leaf wild 'DNS:*.example.com' 365
leaf soon DNS:shop.example.com 3
leaf ten DNS:shop.example.com 10
key self
openssl req -x509 -key self.key -out self.pem -days 365 -subj /CN=shop.example.com \
	-addext subjectAltName=DNS:shop.example.com 2>/dev/null
cat host.pem int.pem root.pem >host-full.pem
cat host.pem int.pem >host-noroot.pem
cat wild.pem int.pem root.pem >wild-full.pem
cat soon.pem int.pem root.pem >soon-full.pem
cat ten.pem int.pem root.pem >ten-full.pem
