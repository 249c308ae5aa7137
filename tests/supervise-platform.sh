#!/bin/sh
# Platform bring-up against the test API server (run by the fake k3s, with
# its helm/job/workload controllers): components become ready only in
# dependency order (keycloak after postgresql even when its own Job and
# Deployment are done), a failing component is reported with its reason and
# does not hold up independent ones, it is retried, and READY=1 (level
# platform) waits for all of them.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/supervise-lib.sh"
skip_unless kubectl
skip_unless sqlite3

mkdir -p "$T/api"
N=$("$PYTHON3" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["components"]))' "$top_srcdir/charts/platform.json")
cat >"$FAKE_K3S_CONTROL" <<CTL
api=$T/api
controllers={"helm": true, "jobs": true, "workloads": true, "delay": 0.3, "never_ready": ["outpost-platform/postgresql"], "fail_jobs": ["outpost-redis"]}
CTL
start_listener "$T/notify.sock"
start_outpost --ready platform --platform "$top_srcdir/charts/platform.json" \
	--kubeconfig "$T/api/kubeconfig" --poll 300 --poll-idle 1000 --component-retry 1000 --reconcile-check 60000
wait_for 60 "the API comes up" -- grep -q "API is ready" "$T/outpost.log"

# What install lays out as k3s manifests, with the workloads the charts would create.
platform_manifests "$T/manifests.json" workloads
KUBECONFIG=$T/api/kubeconfig; export KUBECONFIG
expect_exit 0 "kubectl applies the platform manifests" -- kubectl apply --validate=false -f "$T/manifests.json"

phase() { sqlite3 "$T/state.db" "select phase from component_status where name = '$1'"; }
is_phase() { [ "$(phase "$1")" = "$2" ]; }
wait_for 30 "minio becomes ready" -- is_phase minio Ready
wait_for 30 "ingress (traefik in kube-system) becomes ready" -- is_phase ingress Ready
wait_for 30 "redis fails" -- is_phase redis Failed
msg=$(sqlite3 "$T/state.db" "select message from component_status where name = 'redis'")
case $msg in "helm-install-outpost-redis Job failed: BackoffLimitExceeded"*) ok "redis's reason: $msg" ;;
	*) not_ok "redis's message: $msg" ;; esac
wait_for 30 "postgresql waits for its StatefulSet" -- is_phase postgresql Starting
wait_for 30 "keycloak's own Deployment is ready in the API" -- \
	sh -c "[ \"\$(kubectl get deployment -n outpost-platform keycloak -o jsonpath='{.status.readyReplicas}')\" = 1 ]"
sleep 1 # several polls
is_phase keycloak Pending && ok "keycloak stays pending while postgresql is not ready" ||
	not_ok "keycloak is $(phase keycloak)"
ready=$(sqlite3 "$T/state.db" "select count(*) from component_status where phase = 'Ready' and name not in ('k3s', 'api')")
grep -q "READY=1" "$T/notify" && not_ok "READY=1 before the platform is up" || ok "no READY=1 with the platform at $ready/$N"
wait_for 10 "STATUS= names the failed component" -- grep -q "STATUS=platform $ready/$N ready; redis failed: helm-install-outpost-redis Job failed" "$T/notify"
expect_grep "\[redis\] helm-install-outpost-redis Job failed" "$T/outpost.log" "the failure is logged"

# postgresql becomes ready: then, and only then, keycloak.
"$PYTHON3" "$top_srcdir/tests/kubeapi/ctl.py" --dir "$T/api" controllers \
	'{"helm": true, "jobs": true, "workloads": true, "delay": 0.3, "fail_jobs": ["outpost-redis"]}' >/dev/null
kubectl patch statefulset -n outpost-platform postgresql --type merge \
	-p '{"spec": {"template": {"metadata": {"annotations": {"kick": "1"}}}}}' >/dev/null
wait_for 30 "postgresql becomes ready" -- is_phase postgresql Ready
wait_for 30 "keycloak becomes ready after it" -- is_phase keycloak Ready
pg=$(grep -n "\[postgresql\] .*-> ready" "$T/outpost.log" | head -1 | cut -d: -f1)
kc=$(grep -n "\[keycloak\] pending -> installing" "$T/outpost.log" | head -1 | cut -d: -f1)
[ -n "$pg" ] && [ -n "$kc" ] && [ "$pg" -lt "$kc" ] && ok "keycloak left pending only after postgresql was ready" ||
	not_ok "order: postgresql ready at line $pg, keycloak installing at line $kc"

# redis's install is fixed and re-run: the retry picks it up; READY=1 follows.
"$PYTHON3" "$top_srcdir/tests/kubeapi/ctl.py" --dir "$T/api" controllers \
	'{"helm": true, "jobs": true, "workloads": true, "delay": 0.3}' >/dev/null
kubectl patch helmchart -n kube-system outpost-redis --type merge -p '{"spec": {"set": {"retry": "1"}}}' >/dev/null
wait_for 30 "redis recovers" -- is_phase redis Ready
wait_for 30 "READY=1 once all $N are ready" -- grep -q "READY=1" "$T/notify"
wait_for 10 "then STATUS= is about the tenants" -- grep -q "STATUS=reconciling 0 tenants" "$T/notify"
# A tenant added while the daemon runs is picked up by the reconciler at
# once: the state file is watched (the fallback poll above is a minute). The
# target box's hardware profile, as this machine may be smaller.
echo '{"cpu_millicores": 8000, "memory_mib": 16384, "disk_gib": 100}' >"$T/profile.json"
OUTPOST_PROFILE=$T/profile.json; export OUTPOST_PROFILE
expect_exit 0 "a tenant is added" -- "$OUTPOST" --state "$T/state.db" tenant add acme --host acme.example.test
wait_for 30 "STATUS= counts it" -- grep -q "STATUS=reconciling 1 tenants" "$T/notify"
# The next pass is a targeted one (only the new tenant): the count is still all of them.
expect_exit 0 "a second tenant is added" -- "$OUTPOST" --state "$T/state.db" tenant add beta --host beta.example.test
wait_for 30 "STATUS= counts both" -- grep -q "STATUS=reconciling 2 tenants" "$T/notify"

# outpost status reads it all back.
k3s_pid=$(grep "^start" "$FAKE_K3S_LOG" | tail -1 | sed 's/.* pid=\([0-9]*\) .*/\1/')
expect_exit 0 "outpost status" -- "$OUTPOST" --state "$T/state.db" status
expect_grep "^k3s  *Running  *$k3s_pid  *0 " "$T/out" "status: k3s running, its pid, no restarts"
expect_grep "^api  *Ready " "$T/out" "status: the API is ready"
expect_grep "^keycloak  *Ready " "$T/out" "status: keycloak is ready"
expect_grep "^Tenants: 2, " "$T/out" "status: two tenants"
expect_exit 0 "outpost status --json" -- "$OUTPOST" --state "$T/state.db" status --json
"$PYTHON3" - "$T/out" "$k3s_pid" "$N" <<'PY' && ok "status --json: every component, k3s's pid, tenants" || not_ok "status --json"
import json, sys
d = json.load(open(sys.argv[1]))
comps = {c["name"]: c for c in d["components"]}
assert comps["k3s"]["pid"] == int(sys.argv[2]) and comps["k3s"]["phase"] == "Running", comps["k3s"]
assert comps["k3s"]["uptime_s"] >= 0
assert sum(1 for c in comps.values() if c["phase"] == "Ready") == int(sys.argv[3]) + 1  # + api
assert d["tenants"]["desired"] == 2 and sum(d["tenants"]["by_phase"].values()) == 2, d["tenants"]
PY

stop_outpost
[ "$OUTPOST_RC" -eq 0 ] && ok "outpost exits 0" || not_ok "exit code $OUTPOST_RC"
expect_exit 0 "outpost status after the shutdown" -- "$OUTPOST" --state "$T/state.db" status
expect_grep "^k3s  *Stopped " "$T/out" "status: k3s stopped"
expect_exit 0 "status --help exits 0" -- "$OUTPOST" status --help
expect_grep "^Usage: outpost status \[--json\]" "$T/out" "status --help prints the usage"
expect_exit 2 "status takes no arguments" -- "$OUTPOST" --state "$T/state.db" status extra
expect_exit 1 "status without a state file fails" -- "$OUTPOST" --state "$T/missing.db" status
expect_grep "^outpost: state .*missing.db: does not exist" "$T/err" "and names the file"
finish
