#!/bin/sh
# Benchmark of the tenant reconciler against the test API server (figures
# only, no assertion on time). Same run:
#  1. 1,000 tenants from empty: requests, CPU time, peak RSS;
#  2. a no-op pass over the 1,000 in-sync tenants: writes, lists per kind;
#  3. one tenant changed among 1,000: what is written (the first change
#     after creation also moves field ownership), time from the CLI change
#     to applied; the same tenant changed again;
#  4. the same tenants applied by a shell loop of `kubectl apply
#     --server-side` (how the replaced systems work), on a sample of
#     $BENCH_KUBECTL_TENANTS tenants (default 100; kubectl starts and
#     discovers for every call), scaled to 1,000. --validate=false: the test
#     server has no OpenAPI document for kubectl's client-side validation.
# BENCH_TENANTS overrides 1,000.
# shellcheck disable=SC2119
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/reconcile/lib.sh"
N=${BENCH_TENANTS:-1000}
NK=${BENCH_KUBECTL_TENANTS:-100}
rec_setup

fig() { printf '  %-44s %s\n' "$1" "$2"; }
# timed FILE cmd...: /usr/bin/time's wall, user, sys, max RSS (KiB) into FILE.
timed() {
	out=$1; shift
	/usr/bin/time -f '%e %U %S %M' -o "$out" "$@"
}

rec_tenants b "$N"
# What a pass applies, counted from the dry run (15 objects a tenant now).
objects=$("$OUTPOST" reconcile --dry-run | "${PYTHON3:-python3}" -c 'import json, sys; print(len(json.load(sys.stdin)["items"]))')

echo "reconcile benchmark: $N tenants, $objects objects, test API server on loopback"
echo "1. from empty (one pass)"
kubeapi_ctl reset-counters >/dev/null
timed "$T/t1" "$OUTPOST" reconcile --once --kubeconfig "$KUBEAPI_KUBECONFIG" >"$T/pass.out" 2>"$T/pass.err" || :
read -r wall user sys rss <"$T/t1"
fig "requests (server)" "$(rec_counter 'c["total"] - c["other"]') (goal <= objects + one list per kind = $((objects + 8)))"
fig "writes / lists" "$(rec_counter 'c["writes"]') / $(rec_counter 'sum(c["list"].values())')"
fig "retries (client)" "$(rec_field retries)"
fig "wall / CPU user+sys" "${wall} s / $(echo "$user $sys" | awk '{print $1 + $2}') s"
fig "peak RSS" "$((rss / 1024)) MiB (goal <= 32 MiB)"
outpost_wall=$wall
outpost_requests=$(rec_counter 'c["total"] - c["other"]')

rec_converge 30 || :
echo "2. no-op pass over $N in-sync tenants"
kubeapi_ctl reset-counters >/dev/null
timed "$T/t2" "$OUTPOST" reconcile --once --kubeconfig "$KUBEAPI_KUBECONFIG" >"$T/pass.out" 2>"$T/pass.err" || :
read -r wall user sys rss <"$T/t2"
fig "writes (server)" "$(rec_counter 'c["writes"]')"
fig "lists per kind (pages of 250)" "$(rec_counter '" ".join("%s=%d" % kv for kv in sorted(c["list"].items()))')"
fig "GETs" "$(rec_counter 'sum(c["get"].values())')"
fig "state file writes" "$(rec_field status_writes)"
fig "wall / CPU user+sys / RSS" "${wall} s / $(echo "$user $sys" | awk '{print $1 + $2}') s / $((rss / 1024)) MiB"

echo "3. one tenant changed among $N"
kubeapi_ctl reset-counters >/dev/null
t0=$(date +%s%N)
"$OUTPOST" tenant set b$((N / 2)) --plan medium >/dev/null
"$OUTPOST" reconcile --once --changed --kubeconfig "$KUBEAPI_KUBECONFIG" >"$T/pass.out" 2>"$T/pass.err" || :
t1=$(date +%s%N)
fig "objects written" "$(rec_counter 'c["writes"]') ($(rec_counter '" ".join(k for verb in ("create", "patch", "apply", "delete") for k, v in sorted(c[verb].items()) for _ in range(v))'))"
fig "requests (targeted pass)" "$(rec_counter 'c["total"] - c["other"]')"
fig "CLI change to applied (targeted pass)" "$(( (t1 - t0) / 1000000 )) ms (the daemon starts its pass 20 ms after the commit: inotify on the state file)"
# Its objects were created by POST: that first change also moved their field
# ownership (supervisor/ownership.h); a second change is the applies alone.
kubeapi_ctl reset-counters >/dev/null
"$OUTPOST" tenant set b$((N / 2)) --plan large >/dev/null
"$OUTPOST" reconcile --once --changed --kubeconfig "$KUBEAPI_KUBECONFIG" >"$T/pass.out" 2>"$T/pass.err" || :
fig "the same tenant changed again" "$(rec_counter 'c["writes"]') objects written, $(rec_counter 'c["total"] - c["other"]') requests"
kubeapi_ctl reset-counters >/dev/null
t0=$(date +%s%N)
"$OUTPOST" tenant set b$((N / 2 + 1)) --plan medium >/dev/null
"$OUTPOST" reconcile --once --kubeconfig "$KUBEAPI_KUBECONFIG" >"$T/pass.out" 2>"$T/pass.err" || :
t1=$(date +%s%N)
fig "same with a full pass" "$(( (t1 - t0) / 1000000 )) ms, $(rec_counter 'c["writes"]') writes, $(rec_counter 'c["total"] - c["other"]') requests"
"$OUTPOST" reconcile --once --changed --kubeconfig "$KUBEAPI_KUBECONFIG" >/dev/null 2>&1 || :
kubeapi_ctl reset-counters >/dev/null
timed "$T/t3" "$OUTPOST" reconcile --once --changed --kubeconfig "$KUBEAPI_KUBECONFIG" >"$T/pass.out" 2>"$T/pass.err" || :
read -r wall user sys rss <"$T/t3"
fig "targeted pass, nothing changed" "$(rec_counter 'c["total"] - c["other"]') requests, ${wall} s, CPU $(echo "$user $sys" | awk '{print $1 + $2}') s"

echo "4. kubectl apply --server-side loop ($NK tenants, scaled to $N)"
"$OUTPOST" reconcile --dry-run | "${PYTHON3:-python3}" -c '
import json, os, sys
d = sys.argv[1]
by = {}
for o in json.load(sys.stdin)["items"]:
    t = o["metadata"]["labels"]["outpost.dev/tenant"]
    by.setdefault(t, []).append(o)
for t, objs in by.items():
    with open(os.path.join(d, t + ".yaml"), "w") as f:
        # One List: kubectl reads a stream that starts with "{" as JSON
        # only, so JSON documents between "---" lines fail after the first.
        json.dump({"apiVersion": "v1", "kind": "List", "items": objs}, f)
' "$T"
KUBEAPI_DIR_OUTPOST=$KUBEAPI_DIR
kubeapi_start "$T/api2"
echo '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"outpost-platform"}}' |
	kubectl --kubeconfig "$KUBEAPI_KUBECONFIG" apply --server-side -f - >/dev/null
kubeapi_ctl reset-counters >/dev/null
t0=$(date +%s%N)
i=0; kfail=0
while [ $i -lt "$NK" ]; do
	kubectl --kubeconfig "$KUBEAPI_KUBECONFIG" apply --server-side --validate=false -f "$T/b$i.yaml" >/dev/null 2>>"$T/kubectl.err" ||
		kfail=$((kfail + 1))
	i=$((i + 1))
done
t1=$(date +%s%N)
kwall=$(( (t1 - t0) / 1000000 ))
kreq=$(rec_counter 'c["total"]')
[ "$kfail" -eq 0 ] || { echo "  kubectl failed for $kfail tenants:"; sort -u "$T/kubectl.err" | head -n 3 | sed 's/^/    /'; }
fig "kubectl: wall for $NK tenants" "$kwall ms (scaled to $N: $((kwall * N / NK / 1000)) s)"
fig "kubectl: requests for $NK tenants" "$kreq (scaled to $N: $((kreq * N / NK)))"
awk -v kw="$kwall" -v n="$N" -v nk="$NK" -v ow="$outpost_wall" -v kr="$kreq" -v orq="$outpost_requests" 'BEGIN {
	printf "  %-44s %.1fx wall, %.1fx requests\n", "kubectl loop / outpost (per tenant)",
		(kw / 1000 / nk) / (ow / n), (kr / nk) / (orq / n) }'
KUBEAPI_DIR=$KUBEAPI_DIR_OUTPOST
