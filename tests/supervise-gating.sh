#!/bin/sh
# Tenants under the supervisor while the platform comes up: the scaffolding
# (namespace, quota, policies, Secret, app) goes ahead once the API is ready;
# each provisioning Job waits for its service (keycloak's Deployment is kept
# not ready by the test API server's controllers), the tenant is Provisioning
# naming what it waits for, never Failed; once keycloak is ready its Job
# follows. A removed tenant's data waits the same way: its namespace is kept
# while a service that must drop the data is down.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/supervise-lib.sh"
skip_unless kubectl
skip_unless sqlite3

mkdir -p "$T/api"
ctl() { "$PYTHON3" "$top_srcdir/tests/kubeapi/ctl.py" --dir "$T/api" controllers "$1" >/dev/null; }
controllers() {
	printf '{"helm": true, "jobs": true, "workloads": true, "delay": 0.2, "platform": "%s", "never_ready": [%s]}' \
		"$top_srcdir/charts/platform.json" "$1"
}
cat >"$FAKE_K3S_CONTROL" <<CTL
api=$T/api
controllers=$(controllers '"outpost-platform/keycloak"')
CTL
start_outpost --platform "$top_srcdir/charts/platform.json" --kubeconfig "$T/api/kubeconfig" \
	--poll 300 --poll-idle 1000 --component-retry 1000 --reconcile-check 60000
wait_for 60 "the API comes up" -- grep -q "API is ready" "$T/outpost.log"
KUBECONFIG=$T/api/kubeconfig; export KUBECONFIG

col() { sqlite3 "$T/state.db" "select $2 from tenant_status where name = '$1'"; }
is_status() { [ "$(col "$1" phase)" = "$2" ] && [ "$(col "$1" message)" = "$3" ]; }
component() { [ "$(sqlite3 "$T/state.db" "select phase from component_status where name = '$1'")" = "$2" ]; }
jobs() { kubectl get jobs -n outpost-platform -l "outpost.dev/tenant=acme,outpost.dev/role=$1" -o name 2>/dev/null | sort | tr '\n' ' '; }
has_jobs() { [ "$(jobs "$1")" = "$2" ]; }
# What the test saw when something timed out: the row, the Jobs, the log.
explain() {
	[ "$fails" -gt 0 ] || return 0
	echo "# acme: $(col acme phase) '$(col acme message)'; components: $(sqlite3 "$T/state.db" \
		"select name || '=' || phase from component_status" | tr '\n' ' ')"
	echo "# jobs: $(kubectl get jobs -A -l outpost.dev/tenant=acme -o name 2>&1 | tr '\n' ' ')"
	tail -20 "$T/outpost.log" | sed 's/^/# /'
}
on_exit explain
never_failed() {
	if sqlite3 "$T/state.db" "select reason from events where tenant = 'acme'" | grep -q Failed; then
		not_ok "acme was never Failed"
	else
		ok "acme was never Failed"
	fi
}

# A tenant before any platform: everything but what needs the platform.
echo '{"cpu_millicores": 8000, "memory_mib": 16384, "disk_gib": 100}' >"$T/profile.json"
OUTPOST_PROFILE=$T/profile.json; export OUTPOST_PROFILE
expect_exit 0 "a tenant is added" -- "$OUTPOST" --state "$T/state.db" tenant add acme --host acme.example.test
wait_for 30 "acme waits for every service" -- \
	is_status acme Provisioning "waiting for postgresql, redis, minio, keycloak, provision"
expect_exit 0 "its namespace exists" -- kubectl get namespace t-acme
expect_exit 0 "so do its quota, policies, credentials and app" -- sh -c \
	'kubectl get -n t-acme resourcequota/quota networkpolicy/default-deny secret/t-acme-credentials serviceaccount/app &&
	 kubectl get -n kube-system helmchart/t-acme'
[ -z "$(kubectl get jobs -A -l outpost.dev/tenant=acme -o name)" ] && ok "no Job yet" || not_ok "Jobs before the platform"

# The platform: every component but keycloak becomes ready.
platform_manifests "$T/manifests.json"
expect_exit 0 "kubectl applies the platform's HelmCharts" -- kubectl apply --validate=false -f "$T/manifests.json"
for c in postgresql redis minio provision; do wait_for 30 "$c becomes ready" -- component $c Ready; done
wait_for 30 "the postgres, redis and minio Jobs are created" -- has_jobs data \
	"job.batch/provision-acme-minio job.batch/provision-acme-postgres job.batch/provision-acme-redis "
wait_for 30 "acme now waits for keycloak only" -- is_status acme Provisioning "waiting for keycloak"
expect_exit 0 "the Jobs' copy of the passwords is there" -- kubectl get -n outpost-platform secret/outpost-tenant-acme
component keycloak Ready && not_ok "keycloak is ready" || ok "keycloak is not ready"
has_jobs data "job.batch/provision-acme-minio job.batch/provision-acme-postgres job.batch/provision-acme-redis " &&
	ok "still no keycloak Job" || not_ok "Jobs: $(jobs data)"

# keycloak becomes ready: its Job follows and the tenant is done.
ctl "$(controllers '')"
wait_for 30 "keycloak becomes ready" -- component keycloak Ready
wait_for 30 "the keycloak Job is created" -- kubectl get -n outpost-platform job/provision-acme-keycloak
wait_for 30 "acme becomes Ready" -- is_status acme Ready ""
never_failed

# keycloak goes down again (a second replica that never comes up), then acme
# is removed: the data of the services that are up is dropped, keycloak's
# waits, and so does the namespace.
ctl "$(controllers '"outpost-platform/keycloak"')"
expect_exit 0 "keycloak is scaled beyond what comes up" -- kubectl scale -n outpost-platform deployment/keycloak --replicas 2
wait_for 30 "keycloak is no longer ready" -- component keycloak Starting
expect_exit 0 "acme is removed" -- "$OUTPOST" --state "$T/state.db" tenant rm acme
wait_for 30 "the other deprovision Jobs are created" -- has_jobs deprovision \
	"job.batch/deprovision-acme-minio job.batch/deprovision-acme-postgres job.batch/deprovision-acme-redis "
wait_for 30 "the teardown waits for keycloak" -- \
	is_status acme Deleting "teardown: waiting for keycloak to deprovision the data"
expect_exit 0 "the namespace is kept meanwhile" -- kubectl get namespace t-acme
ctl "$(controllers '')"
wait_for 30 "keycloak is ready again" -- component keycloak Ready
wait_for 30 "the keycloak deprovision Job is created" -- \
	kubectl get -n outpost-platform job/deprovision-acme-keycloak
wait_for 40 "the teardown finishes" -- sh -c "[ -z \"\$(sqlite3 '$T/state.db' \"select 1 from tenant_status where name = 'acme'\")\" ]"
expect_exit 1 "the namespace is gone" -- kubectl get namespace t-acme
never_failed

stop_outpost
[ "$OUTPOST_RC" -eq 0 ] && ok "outpost exits 0" || not_ok "exit code $OUTPOST_RC"
finish
