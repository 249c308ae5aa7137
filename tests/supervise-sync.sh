#!/bin/sh
# `outpost tenant sync NAME` against the running daemon: a tenant Failed by an
# error the API server keeps returning is retried with a back-off that
# doubles (2, 4, 8, 16, 32 s ...). Once the cause is gone, a sync makes the
# daemon reconcile it at once: Ready well before the retry it had scheduled.
# ok and not_ok always succeed, so "test && ok || not_ok" is an if-then-else here.
# shellcheck disable=SC2015
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/supervise-lib.sh"
skip_unless sqlite3
skip_unless kubectl

mkdir -p "$T/api"
cat >"$FAKE_K3S_CONTROL" <<CTL
api=$T/api
controllers={"jobs": true, "helm": true, "delay": 0.1}
CTL
echo '{"cpu_millicores": 8000, "memory_mib": 16384, "disk_gib": 100}' >"$T/profile.json"
OUTPOST_PROFILE=$T/profile.json; export OUTPOST_PROFILE
phase() { sqlite3 "$T/state.db" "select phase from tenant_status where name = 'acme'"; }
is_phase() { [ "$(phase)" = "$1" ]; }
failed_passes() { count_lines "tenants failed" "$T/outpost.log"; }
explain() {
	[ "$fails" -gt 0 ] || return 0
	echo "# acme: $(phase); failed passes: $(failed_passes)"
	tail -20 "$T/outpost.log" | sed 's/^/# /'
}
on_exit explain

start_outpost --ready api --kubeconfig "$T/api/kubeconfig" --poll 200 --poll-idle 60000 \
	--reconcile-check 60000 --worker-timeout 120000
wait_for 60 "the API comes up" -- grep -q "API is ready" "$T/outpost.log"
expect_exit 0 "kubectl creates the platform namespace" -- \
	kubectl --kubeconfig "$T/api/kubeconfig" create namespace outpost-platform
# The tenant's HelmChart cannot be created: 422 is not retried within a pass,
# so the tenant is Failed and the pass schedules a retry.
faults() { "$PYTHON3" "$top_srcdir/tests/kubeapi/ctl.py" --dir "$T/api" faults "$1" >/dev/null; }
expect_exit 0 "HelmChart creation is refused from now on" -- \
	faults '{"rules": [{"verb": "create", "kind": "HelmChart", "code": 422, "times": 0}]}'
expect_exit 0 "a tenant is added" -- "$OUTPOST" --state "$T/state.db" tenant add acme --host acme.example.test
wait_for 30 "acme is Failed" -- is_phase Failed
expect_exit 0 "tenant show" -- "$OUTPOST" --state "$T/state.db" tenant show acme
expect_grep "Failed" "$T/out" "tenant show says Failed"

# Five failed passes: the next retry is 32 s after the fifth.
wait_for 90 "the daemon retries with back-off (five failed passes)" -- at_least 5 "tenants failed" "$T/outpost.log"
fifth=$(date +%s)

# The cause goes away; the operator asks for a retry now.
expect_exit 0 "the fault is cleared" -- faults '{}'
expect_exit 0 "tenant sync acme" -- "$OUTPOST" --state "$T/state.db" tenant sync acme
expect_fgrep "tenant acme: the daemon reconciles it now" "$T/out" "sync says what happens"
wait_for 60 "acme becomes Ready" -- is_phase Ready
ready=$(sqlite3 "$T/state.db" "select updated_at from tenant_status where name = 'acme'")
case $ready in
'' | *[!0-9]*) not_ok "Ready's time: '$ready'" ;;
*) [ $((ready - fifth)) -lt 30 ] && ok "Ready $((ready - fifth)) s after the fifth failure, before the 32 s retry" ||
	not_ok "Ready $((ready - fifth)) s after the fifth failure: the sync did not cut the back-off" ;;
esac
[ "$(failed_passes)" -eq 5 ] && ok "no failed pass after the sync" || not_ok "$(failed_passes) failed passes"
expect_exit 0 "kubectl sees the tenant's HelmChart" -- \
	kubectl --kubeconfig "$T/api/kubeconfig" get -n kube-system helmchart/t-acme
expect_exit 0 "tenant show" -- "$OUTPOST" --state "$T/state.db" tenant show acme
expect_grep "SyncRequested" "$T/out" "the event names the request"
stop_outpost
[ "$OUTPOST_RC" -eq 0 ] && ok "SIGTERM: exit 0" || not_ok "exit $OUTPOST_RC"
finish
