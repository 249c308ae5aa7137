# Shared set-up of the reconciler's end-to-end tests and benchmark. Source it
# after tests/lib.sh. It starts an API server, gives the tests a state file, a
# big hardware profile (admission accepts many tenants) and the platform
# namespace, and helpers to run passes and compare the cluster with what
# should be there. After rec_setup, $K is the kubectl command line for it.
#
# OUTPOST_TEST_APISERVER picks the server:
#   kubeapi (default)  tests/kubeapi, with its Job and helm-controller stand-ins
#   real               the real control plane of tests/realapi (kube-apiserver
#                      and kube-controller-manager 1.20, etcd, the node
#                      stand-in); request counts come from its audit log, and
#                      the tests' kubectl is another user than Outpost.
# shellcheck shell=sh disable=SC2034,SC2154  # top_srcdir comes from lib.sh; rec_rc is for the tests

. "$top_srcdir/tests/kubeapi/start.sh"
. "$top_srcdir/tests/realapi/rig.sh"

REC_SERVER=${OUTPOST_TEST_APISERVER:-kubeapi}

rec_setup() {
	OUTPOST_STATE=$T/state.db
	OUTPOST_PROFILE=$T/profile.json
	export OUTPOST_STATE OUTPOST_PROFILE
	echo '{"cpu_millicores": 4096000, "memory_mib": 16777216, "disk_gib": 1000000}' >"$OUTPOST_PROFILE"
	if [ "$REC_SERVER" = real ]; then
		realapi_available || skip "the real control plane: $realapi_missing"
		on_exit "realapi_stop_dir $T/api"
		if ! realapi_start "$T/api"; then
			echo "not ok - the real control plane starts"
			exit 1
		fi
		realapi_install_jobs
		# Outpost talks as k3s's admin (the kubeconfig k3s writes); the tests'
		# kubectl as another user, so the audit log tells them apart.
		KUBEAPI_KUBECONFIG=$REALAPI_KUBECONFIG
		K="kubectl --kubeconfig $REALAPI_TESTCONFIG"
		rec_mark=0
	else
		kubeapi_start "$T/api" --controllers '{"jobs": true, "helm": true, "delay": 0.05}' \
			--ns-delete-delay 0.2 "$@"
		K="kubectl --kubeconfig $KUBEAPI_KUBECONFIG"
	fi
	# The platform's bring-up makes this namespace; here the test does.
	echo '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"outpost-platform"}}' |
		$K apply --server-side -f - >/dev/null
}

# rec_reset_counters: count the server's requests from here on.
rec_reset_counters() {
	if [ "$REC_SERVER" = real ]; then
		rec_mark=$("${PYTHON3:-python3}" "$top_srcdir/tests/realapi/audit.py" --lines "$REALAPI_DIR/audit.log")
	else
		kubeapi_ctl reset-counters >/dev/null
	fi
}

# rec_server_stop: stop the API server (the dry run needs none).
rec_server_stop() {
	if [ "$REC_SERVER" = real ]; then realapi_stop; else kubeapi_stop; fi
}

# rec_tenants PREFIX N: imports tenants PREFIX0..PREFIX<N-1> (host PREFIXi.example.org).
rec_tenants() {
	i=0
	while [ $i -lt "$2" ]; do
		echo "{\"name\": \"$1$i\", \"host\": \"$1$i.example.org\"}"
		i=$((i + 1))
	done >"$T/tenants.jsonl"
	"$OUTPOST" tenant import "$T/tenants.jsonl" >/dev/null
}

# rec_once: one pass; its summary line in $T/pass.out, messages in $T/pass.err.
rec_once() {
	set +e
	"$OUTPOST" reconcile --once --kubeconfig "$KUBEAPI_KUBECONFIG" "$@" >"$T/pass.out" 2>"$T/pass.err"
	rec_rc=$?
	set -e
	return 0
}

# rec_field NAME: a figure of the last pass's summary line.
rec_field() {
	sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$T/pass.out"
}

# rec_converge [MAX]: passes until nothing is pending, provisioning or
# deleting and no write failed; fails after MAX passes (default 40). On the
# real server Jobs take the real controllers' time (and the node stand-in's),
# so there the bound is a deadline of MAX x 15 seconds instead (generous: a
# busy 2-core machine runs the controllers slowly).
rec_converge() {
	n=0
	deadline=$(( $(date +%s) + ${1:-40} * 15 ))
	while :; do
		rec_once
		n=$((n + 1))
		if [ -s "$T/pass.out" ] && [ "$(rec_field pending)" = 0 ] &&
		   [ "$(rec_field provisioning)" = 0 ] && [ "$(rec_field deleting)" = 0 ] &&
		   [ "$(rec_field errors)" = 0 ] && ! grep -q incomplete "$T/pass.out"; then
			return 0
		fi
		if [ "$REC_SERVER" = real ]; then
			[ "$(date +%s)" -lt "$deadline" ] || break
		else
			[ "$n" -lt "${1:-40}" ] || break
		fi
		sleep 0.3
	done
	echo "# no convergence after $n passes:" >&2
	sed 's/^/# /' "$T/pass.out" "$T/pass.err" >&2
	return 1
}

# rec_until NAME PHASE [ARGS...]: passes (rec_once ARGS) until tenant NAME
# is PHASE; false after 40 passes (on the real server, after 60 s).
rec_until() {
	ru_name=$1 ru_phase=$2
	shift 2
	n=0
	deadline=$(( $(date +%s) + 60 ))
	until [ "$(rec_status "$ru_name")" = "$ru_phase" ]; do
		if [ "$REC_SERVER" = real ]; then
			[ "$(date +%s)" -lt "$deadline" ] || return 1
		else
			[ $n -lt 40 ] || return 1
		fi
		rec_once "$@"
		n=$((n + 1))
		[ "$(rec_status "$ru_name")" = "$ru_phase" ] || sleep 0.2
	done
}

# rec_owned FILE: "Kind namespace/name" of every object carrying both
# ownership labels, sorted; duplicates would show twice.
rec_owned() {
	rec_objects | "${PYTHON3:-python3}" -c '
import json, sys
d = json.load(sys.stdin)
for o in d["items"]:
    l = o["metadata"].get("labels") or {}
    if l.get("app.kubernetes.io/managed-by") == "outpost" and "outpost.dev/tenant" in l:
        print(o["kind"], (o["metadata"].get("namespace") or "") + "/" + o["metadata"]["name"])
' | sort >"$1"
}

# rec_objects [Kind]: every object of the kinds Outpost writes (or of one
# kind), as one JSON List.
rec_objects() {
	if [ "$REC_SERVER" = real ]; then
		$K get "${1:-namespaces,resourcequotas,limitranges,networkpolicies,serviceaccounts,secrets,helmcharts.helm.cattle.io,jobs}" \
			-A -l app.kubernetes.io/managed-by -o json
	else
		kubeapi_ctl objects ${1:+--kind "$1"}
	fi
}

# rec_desired FILE: the same for what the dry run renders.
rec_desired() {
	"$OUTPOST" reconcile --dry-run | "${PYTHON3:-python3}" -c '
import json, sys
for o in json.load(sys.stdin)["items"]:
    print(o["kind"], (o["metadata"].get("namespace") or "") + "/" + o["metadata"]["name"])
' | sort >"$1"
}

# rec_counter EXPR: a figure from the server's counters (a Python expression
# over `c`, e.g. 'c["writes"]' or 'sum(c["list"].values())').
rec_counter() {
	if [ "$REC_SERVER" = real ]; then
		# The audit log is written asynchronously: let it catch up with the
		# last request (the tests' own kubectl call lands after Outpost's).
		$K get --raw /readyz >/dev/null
		realapi_counters "$rec_mark"
	else
		kubeapi_ctl counters
	fi | "${PYTHON3:-python3}" -c "import json, sys; c = json.load(sys.stdin); print($1)"
}

# rec_status TENANT: its phase, or "none".
rec_status() {
	sqlite3 "$OUTPOST_STATE" "SELECT phase FROM tenant_status WHERE name = '$1'" | grep . || echo none
}
