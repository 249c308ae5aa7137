#!/bin/sh
# The reconciler against the test API server: apply, no-op, change, prune,
# suspend, teardown order, a bad row, and objects that are not Outpost's
# (no labels, one label only, a foreign namespace) surviving every pass.
# ok and not_ok always succeed, so "test && ok || not_ok" is an if-then-else here.
# shellcheck disable=SC2015,SC2119
. "$top_srcdir/tests/lib.sh"
skip_unless kubectl
skip_unless sqlite3
. "$top_srcdir/tests/reconcile/lib.sh"
rec_setup

for t in acme beta gamma; do
	"$OUTPOST" tenant add "$t" --host "$t.example.org" >/dev/null
done
"$OUTPOST" tenant set beta --set theme.title=Beta >/dev/null

# --- from empty to Ready
if rec_converge; then ok "three tenants converge"; else not_ok "three tenants converge"; fi
for t in acme beta gamma; do
	[ "$(rec_status "$t")" = Ready ] && ok "$t is Ready" || not_ok "$t is Ready ($(rec_status "$t"))"
done
rec_owned "$T/owned"; rec_desired "$T/desired"
if cmp -s "$T/owned" "$T/desired"; then ok "the cluster holds exactly the rendered objects"
else not_ok "the cluster holds exactly the rendered objects"; diff "$T/desired" "$T/owned" | sed 's/^/# /' >&2; fi
[ "$(wc -l <"$T/desired")" -eq 45 ] && ok "15 objects per tenant" || not_ok "15 objects per tenant ($(wc -l <"$T/desired"))"

# Objects that are not Outpost's: none of them may ever change or go.
kapply() { echo "$1" | $K apply --server-side -f - >/dev/null; }
kapply '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "foreign"}}'
kapply '{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "theirs", "namespace": "foreign"}, "data": {"k": "dg=="}}'
kapply '{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "unlabelled", "namespace": "t-acme"}, "data": {"k": "dg=="}}'
kapply '{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "managed-only", "namespace": "t-acme",
  "labels": {"app.kubernetes.io/managed-by": "outpost"}}, "data": {"k": "dg=="}}'
kapply '{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tenant-only", "namespace": "t-acme",
  "labels": {"outpost.dev/tenant": "acme"}}, "data": {"k": "dg=="}}'
kapply '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "t-ghost",
  "labels": {"app.kubernetes.io/managed-by": "outpost"}}}'
foreign_rv() {
	for o in "ns foreign" "ns t-ghost" "secret theirs -n foreign" "secret unlabelled -n t-acme" \
		 "secret managed-only -n t-acme" "secret tenant-only -n t-acme"; do
		# shellcheck disable=SC2086
		$K get $o -o jsonpath='{.metadata.name}@{.metadata.resourceVersion} ' 2>/dev/null || echo "MISSING($o) "
	done
}
foreign_rv >"$T/foreign.before"

# --- a no-op pass writes nothing and lists once per kind
rec_reset_counters
rec_once
expect_grep "writes=0 " "$T/pass.out" "no-op pass: the client sent no write"
[ "$(rec_counter 'c["writes"]')" = 0 ] && ok "no-op pass: the server saw no write" || not_ok "no-op pass: the server saw no write"
# Jobs twice: Outpost's, and helm-controller's install Jobs of the apps.
[ "$(rec_counter 'sum(c["list"].values())')" = 9 ] && ok "no-op pass: one list per kind, and the install Jobs (9)" \
	|| not_ok "no-op pass: one list per kind, and the install Jobs ($(rec_counter 'c["list"]'))"
[ "$(rec_counter 'sum(c["get"].values())')" = 0 ] && ok "no-op pass: no GET per object" || not_ok "no-op pass: no GET per object"
expect_grep "status_writes=0 " "$T/pass.out" "no-op pass: nothing written to the state file"

# --- targeted passes (the daemon's between resyncs): nothing changed, nothing sent
rec_reset_counters
rec_once --changed
expect_grep "targeted tenants=0 " "$T/pass.out" "targeted pass: no tenant to look at"
[ "$(rec_counter 'c["total"] - c["other"]')" = 0 ] && ok "targeted no-op pass: zero requests" || not_ok "targeted no-op pass: zero requests"

# --- a change writes only what changed, and a targeted pass lists only its tenant
"$OUTPOST" tenant set beta --plan medium >/dev/null
rec_reset_counters
rec_once --changed
expect_grep "targeted tenants=1 " "$T/pass.out" "targeted pass: only the changed tenant"
# The first apply over an object Outpost created moves its POST's field
# ownership first (supervisor/ownership.h): one patch, then the apply.
[ "$(rec_counter 'c["writes"]')" = 6 ] && ok "plan change: 6 writes (quota, limits, HelmChart: move, apply)" \
	|| not_ok "plan change: 6 writes ($(rec_counter 'c["patch"], c["apply"], c["create"]'))"
[ "$(rec_counter 'sum(c["list"].values())')" = 9 ] && ok "targeted pass: one small list per kind, and the install Jobs" ||
	not_ok "targeted pass: one small list per kind, and the install Jobs ($(rec_counter 'c["list"]'))"
# Ready once helm-controller has run the app's install again.
rec_until beta Ready --changed && ok "the targeted passes bring beta back to Ready" || not_ok "beta Ready ($(rec_status beta))"
$K get resourcequota quota -n t-beta -o jsonpath='{.spec.hard.limits\.memory}' >"$T/q"
expect_grep "1536Mi" "$T/q" "the new plan is in beta's quota"

# --- suspend scales the app to zero, keeps the data
"$OUTPOST" tenant suspend gamma >/dev/null
rec_once
$K get helmchart t-gamma -n kube-system -o jsonpath='{.spec.valuesContent}' >"$T/values"
expect_grep '"replicas": 0' "$T/values" "suspended: replicas 0"
$K get secret t-gamma-credentials -n t-gamma >/dev/null && ok "suspended: data kept" || not_ok "suspended: data kept"

# --- the credentials are generated once and never again
$K get secret t-acme-credentials -n t-acme -o jsonpath='{.data}' >"$T/cred.before"
$K get secret outpost-tenant-acme -n outpost-platform -o jsonpath='{.data}' >"$T/copy"
cmp -s "$T/cred.before" "$T/copy" && ok "the platform copy holds the same passwords" || not_ok "the platform copy holds the same passwords"
grep -q REDACTED "$T/cred.before" && not_ok "real passwords, not the dry run's" || ok "real passwords, not the dry run's"

# --- prune: an owned object nothing renders any more goes
kapply '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"stale","namespace":"t-acme","labels":{"app.kubernetes.io/managed-by":"outpost","outpost.dev/tenant":"acme"}}}'
rec_once
if $K get secret stale -n t-acme >/dev/null 2>&1; then not_ok "an owned, unrendered object is pruned"; else ok "an owned, unrendered object is pruned"; fi
# ...and a drifted one (hash annotation changed) is applied again
echo '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"t-acme-credentials","namespace":"t-acme","annotations":{"outpost.dev/hash":"tampered"}}}' |
	$K apply --server-side --field-manager=intruder --force-conflicts -f - >/dev/null
rec_once
$K get secret t-acme-credentials -n t-acme -o jsonpath='{.data}' >"$T/cred.after"
cmp -s "$T/cred.before" "$T/cred.after" && ok "re-applied credentials keep their passwords" || not_ok "re-applied credentials keep their passwords"
rec_converge >/dev/null || :
[ "$(rec_status acme)" = Ready ] && ok "acme back in sync" || not_ok "acme back in sync ($(rec_status acme))"

# --- a bad row written behind the CLI's back: that tenant Failed, others Ready
sqlite3 "$OUTPOST_STATE" "UPDATE tenants SET host = 'Not A Host!' WHERE name = 'beta'"
rec_once
[ "$rec_rc" -ne 0 ] && ok "a Failed tenant makes --once exit non-zero" || not_ok "a Failed tenant makes --once exit non-zero"
[ "$(rec_status beta)" = Failed ] && ok "the bad row's tenant is Failed" || not_ok "the bad row's tenant is Failed ($(rec_status beta))"
sqlite3 "$OUTPOST_STATE" "SELECT message FROM tenant_status WHERE name = 'beta'" >"$T/msg"
expect_grep "host" "$T/msg" "the reason names the field"
[ "$(rec_status acme)" = Ready ] && [ "$(rec_status gamma)" = Ready ] && ok "the others stay Ready" || not_ok "the others stay Ready"
$K get ns t-beta >/dev/null 2>&1 && ok "a bad row tears nothing down" || not_ok "a bad row tears nothing down"
expect_grep "beta: host" "$T/pass.err" "--once names the failed tenant and field"
sqlite3 "$OUTPOST_STATE" "UPDATE tenants SET host = 'beta.example.org' WHERE name = 'beta'"

# --- a namespace Outpost did not create is never taken over
kapply '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "t-delta"}}'
before=$($K get ns t-delta -o jsonpath='{.metadata.resourceVersion}')
"$OUTPOST" tenant add delta --host delta.example.org >/dev/null
rec_once
[ "$(rec_status delta)" = Failed ] && ok "a tenant whose namespace exists unlabelled is Failed" || not_ok "delta Failed ($(rec_status delta))"
sqlite3 "$OUTPOST_STATE" "SELECT message FROM tenant_status WHERE name = 'delta'" >"$T/msg"
expect_grep "Namespace t-delta exists and is not this tenant's" "$T/msg" "the reason names the namespace"
[ "$($K get ns t-delta -o jsonpath='{.metadata.resourceVersion}')" = "$before" ] &&
	ok "the foreign namespace is left untouched" || not_ok "the foreign namespace is left untouched"
"$OUTPOST" tenant rm delta >/dev/null
rec_once
$K get ns t-delta >/dev/null 2>&1 && ok "removing that tenant leaves the foreign namespace" || not_ok "removing that tenant leaves the foreign namespace"

# --- teardown: app, then data (deprovision Jobs), then the namespace
"$OUTPOST" tenant rm gamma >/dev/null
rec_once
if $K get helmchart t-gamma -n kube-system >/dev/null 2>&1; then not_ok "teardown 1: the HelmChart goes first"; else ok "teardown 1: the HelmChart goes first"; fi
$K get ns t-gamma >/dev/null 2>&1 && ok "teardown 1: the namespace is still there" || not_ok "teardown 1: the namespace is still there"
[ "$(rec_status gamma)" = Deleting ] && ok "teardown: Deleting" || not_ok "teardown: Deleting ($(rec_status gamma))"
rec_once
$K get jobs -n outpost-platform -l outpost.dev/tenant=gamma,outpost.dev/role=deprovision -o name >"$T/jobs"
[ "$(wc -l <"$T/jobs")" -eq 4 ] && ok "teardown 2: four deprovision Jobs" || not_ok "teardown 2: four deprovision Jobs"
$K get ns t-gamma -o jsonpath='{.status.phase}' >"$T/phase" 2>/dev/null || :
expect_grep Active "$T/phase" "teardown 2: the namespace waits for the data"
# The rest of the teardown through targeted passes only.
n=0
while [ "$(rec_status gamma)" != none ] && [ $n -lt 30 ]; do rec_once --changed; n=$((n + 1)); sleep 0.3; done
if rec_converge; then ok "teardown finishes"; else not_ok "teardown finishes"; fi
[ "$(rec_status gamma)" = none ] && ok "the status row goes once the namespace is gone" || not_ok "the status row goes ($(rec_status gamma))"
if $K get ns t-gamma >/dev/null 2>&1; then not_ok "gamma's namespace is gone"; else ok "gamma's namespace is gone"; fi
rec_owned "$T/owned"; rec_desired "$T/desired"
cmp -s "$T/owned" "$T/desired" && ok "no orphans after teardown" || { not_ok "no orphans after teardown"; diff "$T/desired" "$T/owned" | sed 's/^/# /' >&2; }
sqlite3 "$OUTPOST_STATE" "SELECT reason FROM events WHERE tenant = 'gamma' ORDER BY id" | tr '\n' ' ' >"$T/ev"
expect_grep "Deleting Deleted" "$T/ev" "teardown events: Deleting, then Deleted"

foreign_rv >"$T/foreign.after"
if cmp -s "$T/foreign.before" "$T/foreign.after" && ! grep -q MISSING "$T/foreign.after"; then
	ok "objects without both labels and the foreign namespace survive every pass untouched"
else
	not_ok "objects without both labels survive untouched"; diff "$T/foreign.before" "$T/foreign.after" | sed 's/^/# /' >&2
fi

# --- without a supervisor, the state file's component rows say what is ready
# (with none at all, as above, everything is). keycloak down: zeta's other
# parts are made, its keycloak Job waits, and zeta is Provisioning, not Failed.
comp_row() {
	sqlite3 "$OUTPOST_STATE" "INSERT OR REPLACE INTO component_status (name, phase, updated_at) VALUES ('$1', '$2', 0)"
}
for c in postgresql redis minio provision; do comp_row "$c" Ready; done
comp_row keycloak Starting
"$OUTPOST" tenant add zeta --host zeta.example.org >/dev/null
rec_once; rec_once
[ "$rec_rc" -eq 0 ] && ok "--once: a tenant waiting for keycloak is no failure" || not_ok "--once exit $rec_rc"
[ "$(rec_status zeta)" = Provisioning ] && ok "zeta is Provisioning" || not_ok "zeta is $(rec_status zeta)"
[ "$(sqlite3 "$OUTPOST_STATE" "SELECT message FROM tenant_status WHERE name = 'zeta'")" = "waiting for keycloak" ] &&
	ok "zeta's message names keycloak" || not_ok "zeta's message"
$K get jobs -n outpost-platform -l outpost.dev/tenant=zeta -o name | sort | tr '\n' ' ' >"$T/jobs"
[ "$(cat "$T/jobs")" = "job.batch/provision-zeta-minio job.batch/provision-zeta-postgres job.batch/provision-zeta-redis " ] &&
	ok "zeta's other Jobs are made, not keycloak's" || not_ok "zeta's Jobs: $(cat "$T/jobs")"
$K get ns t-zeta >/dev/null 2>&1 && ok "zeta's namespace is made" || not_ok "zeta's namespace"
comp_row keycloak Ready
if rec_converge; then ok "once keycloak's row says Ready, zeta converges"; else not_ok "zeta converges"; fi
[ "$(rec_status zeta)" = Ready ] && ok "zeta is Ready" || not_ok "zeta is $(rec_status zeta)"
sqlite3 "$OUTPOST_STATE" "DELETE FROM component_status"

# --- Ready waits for the app's install: helm-controller's helm-install Job
if [ "$REC_SERVER" != real ]; then
	rec_message() { sqlite3 "$OUTPOST_STATE" "SELECT message FROM tenant_status WHERE name = '$1'"; }
	kubeapi_ctl controllers '{"jobs": true, "delay": 0.05}' >/dev/null
	"$OUTPOST" tenant add omega --host omega.example.org >/dev/null
	rec_converge 8 2>/dev/null || :
	rec_until omega Provisioning && [ "$(rec_message omega)" = \
		"waiting for helm to install the app (Job kube-system/helm-install-t-omega not made yet)" ] &&
		ok "no install Job yet: Provisioning, and the message says so" ||
		not_ok "no install Job: $(rec_status omega) '$(rec_message omega)'"
	kubeapi_ctl controllers '{"jobs": true, "helm": true, "delay": 0.05, "fail_jobs": ["kube-system/t-omega"]}' >/dev/null
	"$OUTPOST" tenant set omega --set theme.title=One >/dev/null
	rec_until omega Failed && case $(rec_message omega) in
		"HelmChart kube-system/t-omega: Job has reached the specified backoff limit") true ;;
		*) false ;; esac && ok "a failed install Job: Failed, with the Job's reason" ||
		not_ok "a failed install: $(rec_status omega) '$(rec_message omega)'"
	kubeapi_ctl controllers '{"jobs": true, "helm": true, "delay": 0.05}' >/dev/null
	"$OUTPOST" tenant set omega --set theme.title=Two >/dev/null
	rec_until omega Ready && ok "the install run again and succeeded: Ready" ||
		not_ok "after a good install: $(rec_status omega) '$(rec_message omega)'"
	"$OUTPOST" tenant rm omega >/dev/null
	rec_converge || not_ok "omega torn down"
fi

# --- usage and the dry run without a cluster
expect_exit 2 "--once and --dry-run together are refused" -- "$OUTPOST" reconcile --once --dry-run
expect_exit 1 "a missing kubeconfig is named" -- "$OUTPOST" reconcile --once --kubeconfig "$T/nope"
expect_grep "$T/nope" "$T/err" "the message names the kubeconfig"
expect_exit 0 "--help" -- "$OUTPOST" reconcile --help
rec_server_stop
expect_exit 0 "--dry-run needs no cluster" -- "$OUTPOST" reconcile --dry-run
expect_grep '"kind": "List"' "$T/out" "--dry-run prints a JSON List"
grep -q "$(sed -n 's/.*"pg-password":"\([^"]*\)".*/\1/p' "$T/cred.before")" "$T/out" &&
	not_ok "--dry-run never prints a real password" || ok "--dry-run never prints a real password"
finish
