#!/bin/sh
# outpost top and the usage line of outpost tenant show.
# On the test API server (PodMetrics seeded with kubectl, as metrics-server
# would serve them): each tenant's pods summed beside its plan's limits, the
# heaviest first, in a table and in JSON; pods of other namespaces left out;
# when the metrics API answers 503, top fails with one line and tenant show
# still shows the rest. On the real kube-apiserver (top-real.sh): the metrics
# API not registered at all, then registered with metrics-server's Service
# down (what a k3s box shows while metrics-server restarts).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/reconcile/lib.sh"
skip_unless kubectl
rec_setup

"$OUTPOST" tenant add acme --host acme.example.com --plan small >/dev/null
"$OUTPOST" tenant add beta --host beta.example.com --plan large >/dev/null
"$OUTPOST" tenant add idle --host idle.example.com >/dev/null
top() { "$OUTPOST" top --kubeconfig "$KUBEAPI_KUBECONFIG" "$@"; }
show() { "$OUTPOST" tenant show "$@" --kubeconfig "$KUBEAPI_KUBECONFIG"; }

# Exit 1 and a single "outpost: top: ..." line naming $1.
expect_one_line_failure() {
	expect_exit 1 "top fails: $2" -- top
	if [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "^outpost: top: usage unavailable: .*$1" "$T/err"; then
		ok "one line names it: $(cat "$T/err")"
	else not_ok "one line naming '$1'"; sed 's/^/# /' "$T/err" >&2; fi
	[ -s "$T/out" ] && not_ok "nothing on stdout" || ok "nothing on stdout"
}

expect_show_degrades() {
	expect_exit 0 "tenant show still works: $2" -- show acme
	expect_grep "^usage:       unavailable (.*$1" "$T/out" "tenant show says usage is unavailable and why"
	expect_grep "^plan:        small" "$T/out" "tenant show shows the rest"
	expect_exit 0 "tenant show --json still works" -- show acme --json
	expect_true "JSON: usage null, the reason beside it" -- "${PYTHON3:-python3}" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["usage"] is None and sys.argv[2] in d["usage_unavailable"], d
assert d["name"] == "acme"' "$T/out" "$1"
}

if [ "$REC_SERVER" = real ]; then
	expect_one_line_failure "metrics-server does not serve metrics.k8s.io" "the metrics API is not registered"
	expect_show_degrades "metrics-server does not serve metrics.k8s.io" "no metrics API"
	# Registered, with its Service's endpoints missing: the aggregator answers 503.
	$K create namespace kube-system >/dev/null 2>&1 || :
	$K apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: metrics-server, namespace: kube-system}
spec: {ports: [{port: 443, targetPort: 10250}]}
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io}
spec:
  group: metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  insecureSkipTLSVerify: true
  service: {name: metrics-server, namespace: kube-system}
YAML
	top_says_503() { ! top 2>"$T/why" && grep -q "503" "$T/why"; }
	wait_for 60 "the real API server answers 503 for PodMetrics once the APIService exists" -- top_says_503
	expect_one_line_failure "503" "metrics-server's Service has no endpoints"
	expect_show_degrades "503" "metrics-server down"
	finish
	exit
fi

for ns in t-acme t-beta t-idle kube-system; do $K create namespace "$ns" >/dev/null 2>&1 || :; done
# metrics-server's shape: one item per pod, usage per container, CPU in
# nanocores and memory in Ki as it reports them.
pod() { # NAMESPACE NAME CPU MEMORY [CPU2 MEMORY2]
	side=""
	[ $# -gt 4 ] && side=", {name: side, usage: {cpu: $5, memory: $6}}"
	printf 'apiVersion: metrics.k8s.io/v1beta1\nkind: PodMetrics\nmetadata: {name: %s, namespace: %s}\ntimestamp: "2026-12-04T01:00:00Z"\nwindow: 15.021s\ncontainers: [{name: app, usage: {cpu: %s, memory: %s}}%s]\n---\n' \
		"$2" "$1" "$3" "$4" "$side"
}
{
	pod t-acme web-0 119734512n 81920Ki
	pod t-beta web-0 900m 1Gi 350m 512Mi
	pod t-beta web-1 12345678n 1024Ki
	pod kube-system coredns-0 5m 20Mi
	pod t-stranger web-0 9 9Gi
} >"$T/metrics.yaml"
$K create namespace t-stranger >/dev/null
expect_exit 0 "PodMetrics seeded" -- $K create -f "$T/metrics.yaml"

expect_exit 0 "outpost top" -- top
sed 's/^/# /' "$T/out"
expect_grep "^NAME  *PLAN  *CPU  *CPU%  *MEMORY  *MEMORY%  *PODS$" "$T/out" "the table's header"
awk 'NR > 1 {print $1}' "$T/out" | tr '\n' ' ' >"$T/order"
expect_grep "^beta acme idle $" "$T/order" "heaviest first: beta, acme, idle; no row for a namespace that is not a tenant's"
expect_grep "^beta  *large  *1263m  *63%  *1537 MiB  *50%  *2$" "$T/out" \
	"beta: two pods, three containers, nanocores rounded up to a millicore"
expect_grep "^acme  *small  *120m  *24%  *80 MiB  *10%  *1$" "$T/out" "acme beside the small plan"
expect_grep "^idle  *small  *0m  *0%  *0 MiB  *0%  *0$" "$T/out" "a tenant without pods shows zero"

expect_exit 0 "outpost top --json" -- top --json
expect_true "JSON: the same figures, in bytes, in the same order" -- "${PYTHON3:-python3}" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == 1, d
t = d["tenants"]
assert [x["name"] for x in t] == ["beta", "acme", "idle"], t
b = t[0]
assert b == {"name": "beta", "plan": "large", "cpu_millicores": 1263,
             "cpu_limit_millicores": 2000, "cpu_percent": 63,
             "memory_bytes": 1537 * 2**20, "memory_limit_bytes": 3072 * 2**20,
             "memory_percent": 50, "pods": 2}, b' "$T/out"

expect_exit 0 "tenant show with usage" -- show acme
expect_grep "^usage:       CPU 120m of 500m (24%), memory 80 MiB of 768 MiB (10%), 1 pod$" "$T/out" \
	"tenant show: the usage line"
expect_exit 0 "tenant show --json with usage" -- show beta --json
expect_true "tenant show --json: usage object, no reason" -- "${PYTHON3:-python3}" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["usage"]["cpu_millicores"] == 1263 and d["usage"]["pods"] == 2, d
assert d["usage_unavailable"] is None, d' "$T/out"

# A pod whose usage is not a quantity: named, nothing printed.
printf 'apiVersion: metrics.k8s.io/v1beta1\nkind: PodMetrics\nmetadata: {name: web-9, namespace: t-acme}\ntimestamp: "2026-12-04T01:00:00Z"\nwindow: 15s\ncontainers: [{name: app, usage: {cpu: lots, memory: 1Mi}}]\n' |
	$K create -f - >/dev/null
expect_exit 1 "a pod with a usage that is not a quantity fails top" -- top
expect_grep "pod t-acme/web-9" "$T/err" "the error names the pod"
$K delete podmetrics -n t-acme web-9 >/dev/null

kubeapi_ctl faults '{"rules": [{"kind": "PodMetrics", "code": 503, "times": 0}]}' >/dev/null
expect_one_line_failure "503" "the metrics API answers 503"
expect_show_degrades "503" "the metrics API answers 503"
kubeapi_ctl faults '{}' >/dev/null
expect_exit 0 "top works again once metrics-server answers" -- top

expect_exit 1 "top with a kubeconfig that is not there" -- "$OUTPOST" top --kubeconfig "$T/nope.yaml"
expect_grep "nope.yaml" "$T/err" "the error names the kubeconfig"
expect_exit 2 "top refuses an argument" -- "$OUTPOST" top acme
expect_exit 2 "tenant list refuses --kubeconfig (only show fetches usage)" -- "$OUTPOST" tenant list --kubeconfig x
finish
