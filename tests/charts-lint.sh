#!/bin/sh
# Every chart: `helm lint`, then its rendering with the appliance's values
# checked by tests/charts_check.py (requests and limits on every container,
# probes, non-root, digests in images/images.lock, local-path volumes,
# NetworkPolicies, generated Secrets); the checker itself is shown a chart
# that breaks the rules; the provisioning scripts pass shellcheck and ship
# verbatim in their ConfigMap.
. "$top_srcdir/tests/lib.sh"

skip_unless helm
skip_unless kubectl
check="$top_srcdir/tests/charts_check.py"
fx="$top_srcdir/tests/fixtures/charts"
cd "$top_srcdir" || exit 1

for c in postgresql redis minio keycloak provision; do
	expect_exit 0 "helm lint charts/$c" -- helm lint --strict "charts/$c"
	expect_exit 0 "charts/$c renders within the rules" -- "$PYTHON3" "$check" lint "charts/$c"
done
for c in site webapp; do
	expect_exit 0 "helm lint charts/apps/$c with the reconciler's values" -- \
		helm lint --strict "charts/apps/$c" --values "$fx/app-values.yaml"
	expect_exit 0 "charts/apps/$c renders within the rules" -- \
		"$PYTHON3" "$check" lint "charts/apps/$c" "$fx/app-values.yaml"
	expect_exit 0 "charts/apps/$c renders for a suspended tenant" -- \
		"$PYTHON3" "$check" lint "charts/apps/$c" "$fx/app-values-suspended.yaml"
	helm template t "charts/apps/$c" --values "$fx/app-values-suspended.yaml" >"$T/susp.yaml"
	expect_grep '^  replicas: 0$' "$T/susp.yaml" "charts/apps/$c scales to zero when suspended"
	expect_grep 'host: "acme.example.org"' "$T/susp.yaml" "charts/apps/$c routes the tenant's host"
done

# The app charts with the values the reconciler renders, one tenant per plan
# (each catalog app, and one suspended): the rules, the HPA the plan allows,
# and every pod it may run within the tenant's quota.
OUTPOST_STATE=$T/state.db OUTPOST_PROFILE=$T/profile.json
export OUTPOST_STATE OUTPOST_PROFILE
echo '{"cpu_millicores": 64000, "memory_mib": 262144, "disk_gib": 10000}' >"$OUTPOST_PROFILE"
for spec in "s1 small site" "m1 medium site" "l1 large site" "m2 medium webapp" "l2 large webapp" "z1 large site"; do
	set -- $spec
	"$OUTPOST" tenant add "$1" --host "$1.example.org" --plan "$2" --app "$3" >/dev/null ||
		not_ok "tenant add $spec"
done
"$OUTPOST" tenant suspend z1 >/dev/null
"$OUTPOST" reconcile --dry-run >"$T/dry.json"
expect_exit 0 "each plan's app: its HPA, and its most pods within the quota" -- \
	"$PYTHON3" "$check" apps "$T/dry.json"
sed 's/^/# /' "$T/out"
for want in "t-s1: site, no HPA" "t-m1: site, HPA 1..2" "t-l1: site, HPA 1..4" "t-m2: webapp, HPA 1..2" \
	"t-l2: webapp, HPA 1..4" "t-z1: site, no HPA" "6 apps checked"; do
	expect_fgrep "$want" "$T/out" "$want"
done
# The check can fail: an HPA allowed more pods than the plan was divided by.
"$PYTHON3" -c 'import json, sys
d = json.load(open(sys.argv[1]))
for o in d["items"]:
    if o["kind"] == "HelmChart" and o["spec"].get("targetNamespace") == "t-l1":
        v = json.loads(o["spec"]["valuesContent"]); v["autoscaling"]["maxReplicas"] = 5
        o["spec"]["valuesContent"] = json.dumps(v)
json.dump(d, open(sys.argv[2], "w"))' "$T/dry.json" "$T/dry-bad.json"
expect_exit 1 "five pods of a quarter of the plan are refused" -- "$PYTHON3" "$check" apps "$T/dry-bad.json"
expect_grep "t-l1: 5 pods of cpu_request_millicores 250 exceed the quota's requests.cpu 1000" "$T/out" \
	"the refusal names the tenant, the figure and the quota"

# The reference provisioning Jobs (what the reconciler renders) pass too.
expect_exit 0 "the reference provisioning Jobs follow the rules" -- \
	"$PYTHON3" "$check" lint charts/provision/examples/jobs.yaml
expect_grep '4 objects checked' "$T/out" "four Jobs, one per service"

# The checker notices broken charts (one problem of each kind at least).
expect_exit 1 "a chart breaking the rules is refused" -- "$PYTHON3" "$check" lint "$fx/bad"
for want in "uses the latest tag\|is not repo:tag@sha256" "not in images/images.lock" "no limits.cpu" \
	"no readinessProbe" "runAsNonRoot is not true" "allowPrivilegeEscalation is not false" \
	"ingressClassName is not traefik" "not generated at install"; do
	expect_grep "$want" "$T/out" "the checker reports: $want"
done
# An image missing from the lock file is refused.
grep -v 'valkey' images/images.lock >"$T/lock"
IMAGES_LOCK="$T/lock" expect_exit 1 "an image missing from images.lock is refused" -- \
	"$PYTHON3" "$check" lint charts/redis
expect_grep 'valkey.*is not in images/images.lock' "$T/out" "the refusal names the image"

# The site's theme is escaped and its colours are validated.
helm template t charts/apps/site --values "$fx/app-values.yaml" \
	--set-string 'theme.title=<script>x</script>' >"$T/site.yaml"
expect_grep '&lt;script&gt;x&lt;/script&gt;' "$T/site.yaml" "theme text is HTML-escaped"
expect_exit 1 "a theme colour that is not #hex is refused" -- \
	helm template t charts/apps/site --set-string 'theme.primaryColor=red;}body{'

# The Traefik configuration is a HelmChartConfig for k3s's packaged chart.
expect_exit 0 "the ingress configuration parses" -- \
	env KUBECONFIG=/dev/null kubectl annotate --local -f charts/ingress/traefik-config.yaml -o json x=y
expect_grep '"kind": "HelmChartConfig"' "$T/out" "it is a HelmChartConfig"
expect_grep '"name": "traefik"' "$T/out" "named traefik"
expect_grep '"namespace": "kube-system"' "$T/out" "in kube-system"
if "${PYTHON3:-python3}" -c 'import json, sys
v = json.loads(json.load(sys.stdin)["spec"]["valuesContent"])
a = v.get("additionalArguments", [])
assert "--entryPoints.web.http.redirections.entryPoint.to=websecure" in a, a
assert "--entryPoints.web.http.redirections.entryPoint.scheme=https" in a, a' <"$T/out" >"$T/redirect.err" 2>&1
then ok "plain HTTP is redirected to HTTPS"
else not_ok "plain HTTP is redirected to HTTPS"; sed 's/^/# /' "$T/redirect.err"; fi

# Provisioning scripts: shellcheck, and the ConfigMap carries them unchanged.
if [ -n "${SHELLCHECK:-}" ] || command -v shellcheck >/dev/null 2>&1; then
	for s in charts/provision/*.sh $(grep -ls '^#!.*sh' bundle/* 2>/dev/null); do
		expect_exit 0 "shellcheck $s" -- "${SHELLCHECK:-shellcheck}" -s sh "$s"
	done
else
	echo "# shellcheck not installed: scripts not checked"
fi
helm template p charts/provision | env KUBECONFIG=/dev/null kubectl annotate --local -f - -o json x=y >"$T/cm.json"
for s in postgres redis minio keycloak; do
	"$PYTHON3" -c 'import json, sys; sys.stdout.write(json.load(open(sys.argv[1]))["data"][sys.argv[2]])' \
		"$T/cm.json" "$s.sh" >"$T/$s.sh"
	if cmp -s "$T/$s.sh" "charts/provision/$s.sh"; then ok "ConfigMap carries $s.sh verbatim"
	else not_ok "ConfigMap's $s.sh differs from charts/provision/$s.sh"; fi
done
finish
