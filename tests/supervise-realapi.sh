#!/bin/sh
# `outpost supervise` on the real control plane: tests/realapi/k3s (the rig,
# the node and HelmChart stand-ins) runs as its k3s. READY=1 comes from the
# real /readyz and the platform brought up from the HelmCharts `outpost
# install` lays out, installed by the real helm; a tenant becomes Ready and
# `tenant rm` removes it until the real namespace controller has deleted its
# namespace. Also: a HelmChartConfig's values reach the release, and deleting
# a HelmChart uninstalls its release.
# shellcheck disable=SC2015 # "A && ok || not_ok": ok and not_ok never fail
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/bundle-lib.sh"
. "$top_srcdir/tests/supervise-lib.sh"
. "$top_srcdir/tests/realapi/rig.sh"
skip_unless kubectl
skip_unless helm
skip_unless zstd
skip_unless sqlite3
realapi_available || skip "the real control plane: $realapi_missing"

# A bundle of the real platform charts (the fixture bundle's are ConfigMaps only).
mkdir -p "$T/fix"
cp "$FIX/images.txt" "$FIX/outpost.service" "$FIX/fixture-config.yaml" "$T/fix/"
ln -s "$top_srcdir/charts" "$T/fix/charts"
FIX=$T/fix
make_keys "$T/keys"
make_bundle "$T/b.bundle" 1.0.0 standin
R=$T/root
expect_exit 0 "outpost install lays out the HelmCharts" -- "$OUTPOST" install --root "$R" \
	--pubkey "$T/keys/bundle-signing.pub" --no-start --skip-preflight --quiet --bundle "$T/b.bundle"
DATA=$R/var/lib/rancher/k3s
KC=$R/etc/rancher/k3s/k3s.yaml
# The tenants' app charts, where the tenants' HelmCharts point.
for app in site webapp; do helm package "$top_srcdir/charts/apps/$app" -d "$DATA/server/static/charts" >/dev/null; done

start_listener "$T/notify.sock"
echo '{"cpu_millicores": 8000, "memory_mib": 16384, "disk_gib": 100}' >"$T/profile.json"
OUTPOST_PROFILE=$T/profile.json; export OUTPOST_PROFILE
"$OUTPOST" --state "$T/state.db" supervise --k3s "$top_srcdir/tests/realapi/k3s" \
	--k3s-arg server --k3s-arg "--data-dir=$DATA" --k3s-arg "--write-kubeconfig=$KC" \
	--kubeconfig "$KC" --config "$T/supervise.json" --images-dir "$T/images" \
	--ready platform --platform "$top_srcdir/charts/platform.json" \
	--poll 500 --poll-idle 2000 --component-retry 2000 --reconcile-check 1000 \
	2>"$T/outpost.log" &
OUTPOST_PID=$!
on_exit "kill -9 $OUTPOST_PID 2>/dev/null || :; realapi_stop_dir '$DATA/realapi'"
dump() {
	sed 's/^/# outpost: /' "$T/outpost.log" | tail -n 30
	for f in helm deploy node controller-manager; do
		[ -f "$DATA/realapi/$f.log" ] && tail -n 10 "$DATA/realapi/$f.log" | sed "s/^/# $f: /"
	done
}

wait_for 240 "the real kube-apiserver's /readyz: API is ready" -- grep -q "API is ready" "$T/outpost.log" || { dump; finish; exit 1; }
[ "$(stat -c %a "$KC")" = 600 ] && ok "the kubeconfig is where k3s writes it, mode 0600" || not_ok "kubeconfig mode"
k() { kubectl --kubeconfig "$DATA/realapi/tester.yaml" "$@"; }
gone() { ! k get "$@" >/dev/null 2>&1; }
phase() { sqlite3 "$T/state.db" "select phase from component_status where name = '$1'"; }
is_phase() { [ "$(phase "$1")" = "$2" ]; }
grep -q "READY=1" "$T/notify" && not_ok "READY=1 before the platform" || ok "no READY=1 with only the API up"
wait_for 300 "READY=1 once the platform is up" -- grep -q "READY=1" "$T/notify" || dump
for c in postgresql redis minio keycloak provision ingress; do
	is_phase "$c" Ready && ok "$c is Ready" || not_ok "$c is $(phase "$c")"
done
helm --kubeconfig "$KC" list -n outpost-platform -o json >"$T/releases"
"$PYTHON3" - "$T/releases" <<'PY' && ok "the real helm installed the five platform releases" || not_ok "releases: $(cat "$T/releases")"
import json, sys
r = {x["name"]: x["status"] for x in json.load(open(sys.argv[1]))}
want = ["outpost-keycloak", "outpost-minio", "outpost-postgresql", "outpost-provision", "outpost-redis"]
assert sorted(r) == want and set(r.values()) == {"deployed"}, r
PY
[ "$(k get helmchart -n kube-system outpost-redis -o jsonpath='{.status.jobName}')" = helm-install-outpost-redis ] &&
	ok "HelmChart status.jobName" || not_ok "status.jobName"
[ "$(k get helmchart -n kube-system outpost-redis -o jsonpath='{.status.conditions[?(@.type=="JobCreated")].status}')" = True ] &&
	ok "HelmChart JobCreated condition" || not_ok "JobCreated condition"
k get helmchart -n kube-system outpost-redis -o jsonpath='{.metadata.finalizers}' | grep -q wrangler.cattle.io/on-helm-chart-remove &&
	ok "the HelmChart carries helm-controller's finalizer" || not_ok "finalizer"
[ "$(k get statefulset -n outpost-platform postgresql -o jsonpath='{.status.readyReplicas}')" = 1 ] &&
	ok "the real statefulset controller made postgresql's pod (the node stand-in runs it)" || not_ok "postgresql readyReplicas"

# A tenant through the real API: Ready, then removed until its namespace is gone.
expect_exit 0 "a tenant is added" -- "$OUTPOST" --state "$T/state.db" tenant add acme --host acme.example.test
wait_for 120 "acme becomes Ready" -- sh -c "[ \"\$(sqlite3 '$T/state.db' \"select phase from tenant_status where name = 'acme'\")\" = Ready ]" ||
	{ echo "# acme: $(sqlite3 "$T/state.db" "select phase, message from tenant_status where name = 'acme'")"; dump; }
k get namespace t-acme >/dev/null 2>&1 && ok "acme's namespace exists" || not_ok "no namespace t-acme"
wait_for 60 "acme's app release is installed by the real helm" -- sh -c "helm --kubeconfig '$KC' list -n t-acme -q | grep -q ."
# HTTPS: the chart's Ingress serves the certificate the daemon issued.
wait_for 60 "acme's Ingress serves TLS for its host from t-acme-tls" -- sh -c \
	"[ \"\$(kubectl --kubeconfig '$DATA/realapi/tester.yaml' get ingress -n t-acme -o jsonpath='{.items[0].spec.tls[0].secretName} {.items[0].spec.tls[0].hosts[0]}')\" = 't-acme-tls acme.example.test' ]"
k get secret t-acme-tls -n t-acme -o jsonpath='{.data.tls\.crt}' | base64 -d >"$T/acme.crt"
openssl verify -CAfile "$T/ca/ca.crt" -purpose sslserver -verify_hostname acme.example.test "$T/acme.crt" >/dev/null 2>&1 &&
	ok "openssl verifies acme's certificate against the appliance CA" || not_ok "acme's certificate does not verify"

# Autoscaling within the plan: a large tenant's app gets an HPA from the real
# helm (autoscaling/v2beta2 here: 1.20 serves no v2, and the chart asks the
# cluster); scaled to the HPA's maximum, its pods are admitted by the real
# quota admission, and one pod more is refused.
expect_exit 0 "a large tenant is added" -- "$OUTPOST" --state "$T/state.db" tenant add big --host big.example.test --plan large
wait_for 120 "big becomes Ready" -- sh -c "[ \"\$(sqlite3 '$T/state.db' \"select phase from tenant_status where name = 'big'\")\" = Ready ]"
hpa_is() {
	k get --raw /apis/autoscaling/v2beta2/namespaces/t-big/horizontalpodautoscalers/t-big-site >"$T/hpa.json" &&
		[ "$("$PYTHON3" -c 'import json, sys
s = json.load(open(sys.argv[1]))["spec"]
print(s["minReplicas"], s["maxReplicas"], s["scaleTargetRef"]["name"], s["metrics"][0]["resource"]["target"]["averageUtilization"])' "$T/hpa.json")" = "$1" ]
}
wait_for 60 "big's HPA: 1..4 pods of t-big-site at 70% CPU" -- hpa_is "1 4 t-big-site 70" ||
	{ k get hpa -n t-big -o yaml | sed 's/^/# /'; dump; }
helm --kubeconfig "$KC" get manifest -n t-big t-big | grep -q "^apiVersion: autoscaling/v2beta2$" &&
	ok "the chart chose autoscaling/v2beta2 from the cluster's API versions" || not_ok "HPA apiVersion"
[ "$(k get deploy -n t-big t-big-site -o jsonpath='{.spec.template.spec.containers[0].resources.requests.cpu} {.spec.strategy.rollingUpdate.maxSurge}')" = "250m 0" ] &&
	ok "each pod asks for a quarter of the plan; no surge pod" ||
	not_ok "deployment: $(k get deploy -n t-big t-big-site -o jsonpath='{.spec.template.spec.containers[0].resources} {.spec.strategy}')"
k scale deploy -n t-big t-big-site --replicas=4 >/dev/null
pods_are() { [ "$(k get pods -n t-big --no-headers 2>/dev/null | wc -l)" -eq "$1" ]; }
wait_for 60 "the real quota admits the HPA's four pods" -- pods_are 4 ||
	{ k describe rs -n t-big | tail -n 20 | sed 's/^/# /'; }
[ "$(k get resourcequota -n t-big quota -o jsonpath='{.status.used.requests\.cpu} {.status.hard.requests\.cpu}')" = "1 1" ] &&
	ok "they use the whole quota's CPU requests" || not_ok "quota: $(k get resourcequota -n t-big quota -o jsonpath='{.status}')"
expect_exit 1 "a fifth pod is refused" -- k run extra -n t-big --image=registry.invalid/x --restart=Never
expect_grep "exceeded quota" "$T/err" "by the quota"
# Suspended: the HPA goes, so nothing scales the app back up, and it runs no pod.
expect_exit 0 "the large tenant is suspended" -- "$OUTPOST" --state "$T/state.db" tenant suspend big
wait_for 120 "its HPA is removed by the real helm" -- gone hpa -n t-big t-big-site
wait_for 60 "its Deployment is scaled to zero" -- \
	sh -c "[ \"\$(kubectl --kubeconfig '$DATA/realapi/tester.yaml' get deploy -n t-big t-big-site -o jsonpath='{.spec.replicas}')\" = 0 ]"
expect_exit 0 "the large tenant is removed" -- "$OUTPOST" --state "$T/state.db" tenant rm big

expect_exit 0 "the tenant is removed" -- "$OUTPOST" --state "$T/state.db" tenant rm acme
wait_for 180 "the real namespace controller deletes namespace t-acme" -- gone namespace t-acme
wait_for 30 "acme's status row goes" -- sh -c "[ -z \"\$(sqlite3 '$T/state.db' \"select phase from tenant_status where name = 'acme'\")\" ]"

# HelmChartConfig (same name and namespace) over valuesContent; set over both.
cat >"$T/hcc.yaml" <<'EOF'
apiVersion: helm.cattle.io/v1
kind: HelmChartConfig
metadata: {name: outpost-redis, namespace: kube-system}
spec:
  valuesContent: |-
    resources: {limits: {cpu: 999m}}
    order: config
EOF
expect_exit 0 "a HelmChartConfig is applied" -- k apply -f "$T/hcc.yaml"
k patch helmchart -n kube-system outpost-redis --type merge -p '{"spec": {"set": {"order": "set"}}}' >/dev/null
values_are() {
	helm --kubeconfig "$KC" get values -n outpost-platform outpost-redis -o json >"$T/values" &&
	"$PYTHON3" -c '
import json, sys
v = json.load(open(sys.argv[1]))
lim = v["resources"]["limits"]
assert v["order"] == "set" and lim["cpu"] == "999m" and lim["memory"], v' "$T/values"
}
wait_for 60 "the release: HelmChartConfig over valuesContent (merged), set over both" -- values_are ||
	echo "# values: $(cat "$T/values")"

# Deleting a HelmChart uninstalls its release, then the finalizer goes.
expect_exit 0 "the provision HelmChart is deleted" -- k delete helmchart -n kube-system outpost-provision --wait=false
wait_for 60 "the HelmChart is gone" -- gone helmchart -n kube-system outpost-provision
helm --kubeconfig "$KC" status -n outpost-platform outpost-provision >/dev/null 2>&1 &&
	not_ok "the release is still there" || ok "its release is uninstalled"

kill -TERM "$OUTPOST_PID"
set +e; wait "$OUTPOST_PID"; rc=$?; set -e
[ "$rc" -eq 0 ] && ok "outpost exits 0 on SIGTERM" || not_ok "exit code $rc"
for c in apiserver etcd; do
	p=$(cat "$DATA/realapi/$c.pid" 2>/dev/null || echo)
	[ -z "$p" ] || ! kill -0 "$p" 2>/dev/null && ok "the stand-in stopped $c" || not_ok "$c ($p) still runs"
done
finish
