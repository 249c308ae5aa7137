#!/bin/sh
# Benchmark of the reconciler on the real control plane (tests/realapi:
# kube-apiserver 1.20 and etcd), side by side in one run with a shell loop of
# `kubectl apply --server-side` over the same objects on a fresh rig of the
# same kind. Requests are counted from the API server's audit log (Outpost by
# its user agent, kubectl by its own); CPU is the API server's and etcd's
# (/proc/PID/stat), besides the client's. Figures only, no assertion.
#  1. $BENCH_TENANTS (1,000) tenants from empty, one pass;
#  2. a no-op full pass once they are in sync;
#  3. one tenant changed (targeted pass);
#  4. kubectl apply --server-side, one call per tenant, over a sample of
#     $BENCH_KUBECTL_TENANTS (100) tenants, scaled to the same count.
# shellcheck disable=SC2119
. "$top_srcdir/tests/lib.sh"
OUTPOST_TEST_APISERVER=real
. "$top_srcdir/tests/reconcile/lib.sh"
N=${BENCH_TENANTS:-1000}
NK=${BENCH_KUBECTL_TENANTS:-100}
rec_setup

fig() { printf '  %-48s %s\n' "$1" "$2"; }
# server_ticks: CPU clock ticks used so far by the rig's kube-apiserver and etcd.
server_ticks() {
	for c in apiserver etcd; do
		awk '{print $14 + $15}' "/proc/$(cat "$REALAPI_DIR/$c.pid")/stat"
	done | awk '{s += $1} END {print s}'
}
hz=$(getconf CLK_TCK)
secs() { awk -v t="$1" -v hz="$hz" 'BEGIN {printf "%.2f", t / hz}'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

rec_tenants b "$N"
# What a pass applies, counted from the dry run (15 objects a tenant now).
objects=$("$OUTPOST" reconcile --dry-run | "${PYTHON3:-python3}" -c 'import json, sys; print(len(json.load(sys.stdin)["items"]))')
echo "real control plane benchmark: $N tenants, $objects objects, kube-apiserver 1.20 + etcd on loopback"

echo "1. from empty (one pass)"
rec_reset_counters; c0=$(server_ticks); t0=$(now_ms)
"$OUTPOST" reconcile --once --kubeconfig "$KUBEAPI_KUBECONFIG" >"$T/pass.out" 2>"$T/pass.err" || :
t1=$(now_ms); c1=$(server_ticks)
o_wall=$((t1 - t0)); o_req=$(rec_counter 'c["total"]'); o_cpu=$((c1 - c0))
o_writes=$(rec_counter 'c["writes"]')
fig "requests (audit log)" "$o_req (objects + one list per kind = $((objects + 8)))"
fig "writes / lists" "$(rec_counter 'c["writes"]') / $(rec_counter 'sum(c["list"].values())')"
fig "wall" "$o_wall ms"
fig "API server + etcd CPU" "$(secs "$o_cpu") s"

# Some objects wait for Jobs the real controllers run (a tenant's password
# copy waits for its provisioning): later passes write them.
rec_converge 100 >/dev/null 2>&1 || echo "  (did not converge: the no-op figures below include pending work)"
fig "until every object is written: requests / writes" "$(rec_counter 'c["total"]') / $(rec_counter 'c["writes"]')"
echo "2. no-op full pass over $N in-sync tenants"
rec_reset_counters; c0=$(server_ticks); t0=$(now_ms)
"$OUTPOST" reconcile --once --kubeconfig "$KUBEAPI_KUBECONFIG" >"$T/pass.out" 2>"$T/pass.err" || :
t1=$(now_ms); c1=$(server_ticks)
fig "writes / requests" "$(rec_counter 'c["writes"]') / $(rec_counter 'c["total"]')"
fig "wall / API server + etcd CPU" "$((t1 - t0)) ms / $(secs $((c1 - c0))) s"

echo "3. one tenant changed among $N"
rec_reset_counters; t0=$(now_ms)
"$OUTPOST" tenant set b$((N / 2)) --plan medium >/dev/null
"$OUTPOST" reconcile --once --changed --kubeconfig "$KUBEAPI_KUBECONFIG" >"$T/pass.out" 2>"$T/pass.err" || :
t1=$(now_ms)
fig "writes / requests (targeted pass)" "$(rec_counter 'c["writes"]') / $(rec_counter 'c["total"]')"
fig "CLI change to applied" "$((t1 - t0)) ms"

echo "4. kubectl apply --server-side loop on a fresh rig ($NK tenants, scaled to $N)"
"$OUTPOST" reconcile --dry-run | "${PYTHON3:-python3}" -c '
import json, os, sys
by = {}
for o in json.load(sys.stdin)["items"]:
    by.setdefault(o["metadata"]["labels"]["outpost.dev/tenant"], []).append(o)
for t, objs in by.items():
    with open(os.path.join(sys.argv[1], t + ".yaml"), "w") as f:
        # One List: kubectl reads a stream that starts with "{" as JSON
        # only, so JSON documents between "---" lines fail after the first.
        json.dump({"apiVersion": "v1", "kind": "List", "items": objs}, f)
' "$T"
realapi_stop
on_exit "realapi_stop_dir $T/api2"
realapi_start "$T/api2" || { echo "not ok - the second rig starts"; exit 1; }
K="kubectl --kubeconfig $REALAPI_TESTCONFIG"
echo '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"outpost-platform"}}' | $K apply --server-side -f - >/dev/null
mark=$("${PYTHON3:-python3}" "$top_srcdir/tests/realapi/audit.py" --lines "$REALAPI_DIR/audit.log")
c0=$(server_ticks); t0=$(now_ms)
i=0; kfail=0
while [ $i -lt "$NK" ]; do
	$K apply --server-side --field-manager=outpost -f "$T/b$i.yaml" >/dev/null 2>>"$T/kubectl.err" ||
		kfail=$((kfail + 1))
	i=$((i + 1))
done
t1=$(now_ms); c1=$(server_ticks)
$K get --raw /readyz >/dev/null
k_req=$("${PYTHON3:-python3}" "$top_srcdir/tests/realapi/audit.py" "$REALAPI_DIR/audit.log" --since "$mark" --agent kubectl |
	"${PYTHON3:-python3}" -c 'import json, sys; print(json.load(sys.stdin)["total"])')
k_wall=$((t1 - t0)); k_cpu=$((c1 - c0))
[ "$kfail" -eq 0 ] || { echo "  kubectl failed for $kfail tenants:"; sort -u "$T/kubectl.err" | head -n 3 | sed 's/^/    /'; }
fig "kubectl: wall for $NK tenants" "$k_wall ms"
fig "kubectl: requests for $NK tenants" "$k_req"
fig "kubectl: API server + etcd CPU" "$(secs "$k_cpu") s"
# Per object written: the first pass does not write every object (see above),
# and the kubectl loop writes all of its tenants' objects.
awk -v kw="$k_wall" -v kr="$k_req" -v kc="$k_cpu" -v ow="$o_wall" -v orq="$o_req" -v oc="$o_cpu" \
	-v ko="$((NK * 14))" -v oo="$o_writes" 'BEGIN {
	printf "  %-48s %.1fx wall, %.1fx requests, %.1fx API server + etcd CPU\n",
		"kubectl loop / first Outpost pass (per object)",
		(kw / ko) / (ow / oo), (kr / ko) / (orq / oo), (kc / ko) / (oc / oo) }'
