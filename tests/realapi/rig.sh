#!/bin/sh
# The real control plane for the tests: etcd (Debian's etcd-server),
# kube-apiserver and kube-controller-manager built from Debian's kubernetes
# source (tests/realapi/build), with fresh PKI, client-certificate
# authentication as in k3s, an audit log, the helm.cattle.io CRDs and a node
# stand-in (node.py), all on one loopback address of its own.
#
#   tests/realapi/rig.sh start DIR     prints the kubeconfig path on success
#   tests/realapi/rig.sh stop DIR      stops all it started (also after a failed start)
#
# or, from a shell test after tests/lib.sh:
#   . "$top_srcdir/tests/realapi/rig.sh"; realapi_start "$T/api"
# which sets REALAPI_DIR, REALAPI_KUBECONFIG (k3s's form: user system:admin,
# what Outpost uses), REALAPI_TESTCONFIG (user outpost-test, what the tests'
# kubectl uses, so the audit log tells the two apart) and REALAPI_SERVER.
#
# Each rig takes an address 127.R.R.R of its own (claimed with mkdir, released
# by stop), so rigs of tests run in parallel never race for a port.
# shellcheck shell=sh

realapi_here=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/realapi

realapi_log() { echo "realapi: $*" >&2; }

# realapi_wait SECONDS WHAT -- command...: polls the command until it succeeds,
# for SECONDS times $REALAPI_WAIT_SCALE (default 1; a VM without KVM is slow).
realapi_wait() {
	rw_deadline=$(( $(date +%s) + $1 * ${REALAPI_WAIT_SCALE:-1} )); rw_what=$2; shift 3
	until "$@" >/dev/null 2>&1; do
		if [ "$(date +%s)" -ge "$rw_deadline" ]; then
			realapi_log "timed out waiting for $rw_what"
			return 1
		fi
		sleep 0.2
	done
}

realapi_claim_address() {
	lockroot=${TMPDIR:-/tmp}/outpost-realapi-addresses
	mkdir -p "$lockroot"
	n=0
	while [ $n -lt 50 ]; do
		a=$(od -An -N3 -tu1 /dev/urandom | awk '{printf "127.%d.%d.%d", $1 % 250 + 2, $2 % 254 + 1, $3 % 254 + 1}')
		if mkdir "$lockroot/$a" 2>/dev/null; then
			echo "$a" >"$REALAPI_DIR/address"
			REALAPI_ADDRESS=$a
			return 0
		fi
		n=$((n + 1))
	done
	realapi_log "no free loopback address"
	return 1
}

# realapi_cert NAME SUBJECT [EXTFILE]: a P-256 key and a certificate signed by the rig's CA.
realapi_cert() {
	openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$1.key" 2>/dev/null &&
	chmod 600 "$pki/$1.key" &&
	openssl req -new -key "$pki/$1.key" -subj "$2" -out "$pki/$1.csr" 2>/dev/null &&
	openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
		-days 2 -out "$pki/$1.crt" ${3:+-extfile "$3"} 2>/dev/null
}

realapi_pki() {
	pki=$REALAPI_DIR/pki
	mkdir -p "$pki" && chmod 700 "$pki"
	openssl ecparam -name prime256v1 -genkey -noout -out "$pki/ca.key" 2>/dev/null &&
	openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=outpost-realapi-ca" -days 2 \
		-out "$pki/ca.crt" 2>/dev/null || return 1
	cat >"$pki/server.ext" <<EOF
subjectAltName = IP:$REALAPI_ADDRESS, IP:10.43.0.1, DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc
extendedKeyUsage = serverAuth
EOF
	echo "extendedKeyUsage = clientAuth" >"$pki/client.ext"
	realapi_cert apiserver "/CN=kube-apiserver" "$pki/server.ext" &&
	realapi_cert admin "/O=system:masters/CN=system:admin" "$pki/client.ext" &&
	realapi_cert tester "/O=system:masters/CN=outpost-test" "$pki/client.ext" &&
	realapi_cert kcm "/CN=system:kube-controller-manager" "$pki/client.ext" &&
	realapi_cert node "/O=system:masters/CN=outpost-node-standin" "$pki/client.ext" || return 1
	# The service-account token signing pair.
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/sa.key" 2>/dev/null &&
	chmod 600 "$pki/sa.key" &&
	openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
}

# realapi_kubeconfig FILE USER: a kubeconfig in the form k3s writes (names
# "default", base64 *-data fields), mode 0600.
realapi_kubeconfig() {
	b64() { base64 -w0 <"$1"; }
	(
		umask 077
		cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: $(b64 "$pki/ca.crt")
    server: $REALAPI_SERVER
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
preferences: {}
users:
- name: default
  user:
    client-certificate-data: $(b64 "$pki/$2.crt")
    client-key-data: $(b64 "$pki/$2.key")
EOF
	)
}

# realapi_available: whether a rig can start here; if not, realapi_missing
# says why. Tests never build the control plane themselves (.ci/run does,
# before the test command): they use the cached build.
realapi_available() {
	command -v etcd >/dev/null || { realapi_missing="etcd not installed (apt-get install etcd-server)"; return 1; }
	command -v openssl >/dev/null || { realapi_missing="openssl not installed"; return 1; }
	if [ -z "${REALAPI_BIN:-}" ]; then
		realapi_out=$("$realapi_here/build" --cached 2>&1) ||
			{ realapi_missing=$(echo "$realapi_out" | tail -n 1); return 1; }
		REALAPI_BIN=$(echo "$realapi_out" | tail -n 1)/bin
	fi
	[ -x "$REALAPI_BIN/kube-apiserver" ] && [ -x "$REALAPI_BIN/kube-controller-manager" ] ||
		{ realapi_missing="no binaries in $REALAPI_BIN"; return 1; }
}

# realapi_spawn NAME command...: starts a component, its pid in DIR/NAME.pid.
realapi_spawn() {
	rs_name=$1; shift
	"$@" >"$REALAPI_DIR/$rs_name.log" 2>&1 &
	echo $! >"$REALAPI_DIR/$rs_name.pid"
}

realapi_alive() { kill -0 "$(cat "$REALAPI_DIR/$1.pid")" 2>/dev/null; }

realapi_fail() {
	realapi_log "$1"
	for f in etcd apiserver controller-manager node; do
		[ -f "$REALAPI_DIR/$f.log" ] && tail -n 5 "$REALAPI_DIR/$f.log" | sed "s/^/# $f: /" >&2
	done
	realapi_stop_dir "$REALAPI_DIR"
	return 1
}

realapi_start() {
	REALAPI_DIR=$1
	mkdir -p "$REALAPI_DIR"
	REALAPI_DIR=$(cd "$REALAPI_DIR" && pwd)
	realapi_available || { realapi_log "$realapi_missing"; return 1; }
	realapi_claim_address || return 1
	REALAPI_SERVER=https://$REALAPI_ADDRESS:6443
	realapi_pki || realapi_fail "PKI generation failed" || return 1
	REALAPI_KUBECONFIG=$REALAPI_DIR/k3s.yaml
	REALAPI_TESTCONFIG=$REALAPI_DIR/tester.yaml
	realapi_kubeconfig "$REALAPI_KUBECONFIG" admin
	realapi_kubeconfig "$REALAPI_TESTCONFIG" tester
	realapi_kubeconfig "$REALAPI_DIR/kcm.yaml" kcm

	a=$REALAPI_ADDRESS
	realapi_spawn etcd etcd --name default --data-dir "$REALAPI_DIR/etcd" \
		--listen-client-urls "http://$a:2379" --advertise-client-urls "http://$a:2379" \
		--listen-peer-urls "http://$a:2380" --initial-advertise-peer-urls "http://$a:2380" \
		--initial-cluster "default=http://$a:2380" --listen-metrics-urls "http://$a:2381"
	realapi_wait 60 "etcd" -- curl -sf "http://$a:2379/health" ||
		realapi_fail "etcd did not come up" || return 1

	# k3s's server runs these admission plugins on top of the defaults; the
	# insecure port is off, as in k3s.
	realapi_spawn apiserver "$REALAPI_BIN/kube-apiserver" \
		--etcd-servers "http://$a:2379" --bind-address "$a" --advertise-address "$a" \
		--secure-port 6443 --insecure-port 0 \
		--tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
		--client-ca-file "$pki/ca.crt" --authorization-mode Node,RBAC \
		--enable-admission-plugins NodeRestriction --allow-privileged=true \
		--service-cluster-ip-range 10.43.0.0/16 --endpoint-reconciler-type none \
		--service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--api-audiences https://kubernetes.default.svc.cluster.local \
		--audit-policy-file "$realapi_here/audit-policy.yaml" \
		--audit-log-path "$REALAPI_DIR/audit.log" --audit-log-maxsize 0 \
		--profiling=false --anonymous-auth=false
	realapi_wait 120 "kube-apiserver /readyz" -- curl -sf --cacert "$pki/ca.crt" \
		--cert "$pki/tester.crt" --key "$pki/tester.key" "$REALAPI_SERVER/readyz" ||
		realapi_fail "kube-apiserver did not become ready" || return 1

	realapi_spawn controller-manager "$REALAPI_BIN/kube-controller-manager" \
		--kubeconfig "$REALAPI_DIR/kcm.yaml" --leader-elect=false \
		--port 0 --secure-port 0 --use-service-account-credentials \
		--kube-api-qps 500 --kube-api-burst 1000 \
		--service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
		--controllers '*,-nodeipam,-cloud-node-lifecycle,-route,-service' --profiling=false

	K_RIG="kubectl --kubeconfig $REALAPI_TESTCONFIG"
	$K_RIG apply -f "$realapi_here/crds.yaml" >/dev/null 2>"$REALAPI_DIR/crds.log" ||
		realapi_fail "the helm.cattle.io CRDs were refused: $(cat "$REALAPI_DIR/crds.log")" || return 1
	realapi_wait 60 "the CRDs" -- $K_RIG wait --for condition=Established --timeout 1s \
		crd/helmcharts.helm.cattle.io crd/helmchartconfigs.helm.cattle.io ||
		realapi_fail "the CRDs were not established" || return 1
	# The service-account controller runs once `default` has its account.
	realapi_wait 60 "the controller-manager" -- $K_RIG get serviceaccount default -n default ||
		realapi_fail "kube-controller-manager did not start its controllers" || return 1

	# REALAPI_NODE_HOLD=KEY=VALUE: Job pods so labelled wait for the test (node.py --hold).
	realapi_spawn node "${PYTHON3:-python3}" "$realapi_here/node.py" --server "$REALAPI_SERVER" \
		--ca "$pki/ca.crt" --cert "$pki/node.crt" --key "$pki/node.key" \
		${REALAPI_NODE_HOLD:+--hold "$REALAPI_NODE_HOLD"}
	realapi_wait 60 "the node stand-in" -- sh -c \
		"$K_RIG get node outpost -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True" ||
		realapi_fail "the node stand-in did not register" || return 1
	export REALAPI_DIR REALAPI_KUBECONFIG REALAPI_TESTCONFIG REALAPI_SERVER REALAPI_ADDRESS
}

# realapi_install_jobs: helm-controller's part the reconciler waits for, the
# install Job of each HelmChart (tests/realapi/helm.py --jobs-only; the node
# stand-in completes its pod). No helm runs: for rigs without the charts.
realapi_install_jobs() {
	realapi_spawn install-jobs "${PYTHON3:-python3}" "$realapi_here/helm.py" --jobs-only \
		--server "$REALAPI_SERVER" --ca "$REALAPI_DIR/pki/ca.crt" \
		--cert "$REALAPI_DIR/pki/node.crt" --key "$REALAPI_DIR/pki/node.key"
}

# realapi_stop_dir DIR: stops every component of the rig in DIR and frees its address.
realapi_stop_dir() {
	for c in install-jobs node controller-manager apiserver etcd; do
		[ -f "$1/$c.pid" ] || continue
		p=$(cat "$1/$c.pid")
		kill "$p" 2>/dev/null || :
		n=0
		while kill -0 "$p" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
		kill -9 "$p" 2>/dev/null || :
		rm -f "$1/$c.pid"
	done
	if [ -f "$1/address" ]; then
		rmdir "${TMPDIR:-/tmp}/outpost-realapi-addresses/$(cat "$1/address")" 2>/dev/null || :
		rm -f "$1/address"
	fi
}

realapi_stop() { realapi_stop_dir "$REALAPI_DIR"; }

# realapi_counters [SINCE-LINE]: Outpost's requests (user agent "outpost")
# in the audit log after line SINCE-LINE, in the shape of tests/kubeapi's
# counters ({"list": {resource: n}, ..., "total", "writes"}).
realapi_counters() {
	"${PYTHON3:-python3}" "$realapi_here/audit.py" "$REALAPI_DIR/audit.log" --since "${1:-0}"
}

case "${0##*/}" in
rig.sh)
	set -eu
	case "${1:-}" in
	start) [ $# -eq 2 ] || { echo "usage: $0 start DIR" >&2; exit 2; }
	       realapi_start "$2"; echo "$REALAPI_KUBECONFIG" ;;
	stop)  [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
	       realapi_stop_dir "$2" ;;
	*)     echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
	esac
	;;
esac
