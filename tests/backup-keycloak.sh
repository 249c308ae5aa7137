#!/bin/sh
# outpost backup/restore --keycloak-deployment: the Keycloak part taken by a
# Job made from the platform's Deployment (charts/keycloak rendered with the
# real helm). The test plays kc.sh: it waits for the Job, checks it (image,
# command, the host directory mounted, labels the keycloak Service does not
# select and PostgreSQL's NetworkPolicy admits, no probes or ports), writes
# the realm files kc.sh export would into the host directory, and lets the
# pod finish. Then: the realms are in the archive, the Job and the work
# directory are gone; a Job left by a killed run is replaced; a failed Job
# is exit 1 with one line naming it, no archive and no Job left; restore
# hands the files to an import Job and restarts the Deployment.
#
# OUTPOST_TEST_APISERVER picks the server: kubeapi (default; its Jobs finish
# when the test turns its job controller on) or real (tests/realapi: the
# real kube-apiserver validates the Job, the real job controller runs it,
# the node stand-in holds its pod until the test gives the exit code).
# shellcheck disable=SC2086  # $K is a command line
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/backup-lib.sh"
. "$top_srcdir/tests/kubeapi/start.sh"
. "$top_srcdir/tests/realapi/rig.sh"

skip_unless helm
skip_unless kubectl
skip_unless jq
# The work directory is handed to the pod's user (1000), as on the box.
[ "$(id -u)" = 0 ] || skip "needs root: the work directory is chowned to the pod's user"

NS=outpost-platform
JOB=outpost-backup-keycloak
SERVER=${OUTPOST_TEST_APISERVER:-kubeapi}
if [ "$SERVER" = real ]; then
	realapi_available || skip "the real control plane: $realapi_missing"
	REALAPI_NODE_HOLD=app.kubernetes.io/name=$JOB
	export REALAPI_NODE_HOLD
	on_exit "realapi_stop_dir $T/api"
	realapi_start "$T/api" || { echo "not ok - the real control plane starts"; exit 1; }
	KC=$REALAPI_KUBECONFIG
	K="kubectl --kubeconfig $REALAPI_TESTCONFIG"
else
	kubeapi_start "$T/api" --controllers '{"jobs": false}'
	KC=$KUBEAPI_KUBECONFIG
	K="kubectl --kubeconfig $KUBEAPI_KUBECONFIG"
fi

# kc_finish CODE: the Job's container exits with CODE.
kc_finish() {
	if [ "$SERVER" = real ]; then
		# This Job's pod, not one of an earlier Job still going away.
		pods="controller-uid=$($K get job -n "$NS" "$JOB" -o jsonpath='{.metadata.uid}')"
		wait_for 60 "the Job's pod is made" -- sh -c "$K get pod -n $NS -l $pods -o name | grep -q ."
		$K annotate pod -n "$NS" -l "$pods" "outpost.test/exit=$1" >/dev/null
	elif [ "$1" = 0 ]; then
		kubeapi_ctl controllers '{"jobs": true, "delay": 0}' >/dev/null
	else
		kubeapi_ctl controllers "{\"jobs\": true, \"delay\": 0, \"fail_jobs\": [\"$NS/$JOB\"]}" >/dev/null
	fi
}

# kc_settle: Jobs wait for the test again (kubeapi's controller off).
kc_settle() {
	[ "$SERVER" = real ] || kubeapi_ctl controllers '{"jobs": false}' >/dev/null
}

# run_bg NAME command...: starts the command, its output in $T/NAME.out/.err.
run_bg() {
	name=$1; shift
	"$@" >"$T/$name.out" 2>"$T/$name.err" &
	bg_pid=$!
}

# bg_exit DESCRIPTION: waits (bounded) for the command of run_bg; its exit
# code in $bg_rc.
bg_exit() {
	wait_for 120 "$1" -- sh -c "! kill -0 $bg_pid 2>/dev/null" || kill "$bg_pid" 2>/dev/null || :
	set +e
	wait "$bg_pid"
	bg_rc=$?
	set -e
}

job_gone() { ! $K get job -n "$NS" "$JOB" >/dev/null 2>&1; }

# await_job DESCRIPTION NAME: waits for the Job that the command of run_bg
# NAME makes (not one left by an earlier run), its JSON in $T/job.json; if
# none comes, shows the command's errors and stops.
ours() {
	$K get job -n "$NS" "$JOB" -o json >"$T/job.json" 2>/dev/null &&
		jq -e ".metadata.labels[\"app.kubernetes.io/name\"] == \"$JOB\"" "$T/job.json" >/dev/null
}
await_job() {
	wait_for 60 "$1" -- ours && return 0
	sed "s/^/# $2: /" "$T/$2.err" >&2
	kill "$bg_pid" 2>/dev/null || :
	finish
	exit 1
}

# The platform's Keycloak, as the chart renders it.
$K create namespace "$NS" >/dev/null
helm template keycloak "$top_srcdir/charts/keycloak" --namespace "$NS" \
	--show-only templates/deployment.yaml --show-only templates/service.yaml >"$T/keycloak.yaml"
$K apply -n "$NS" -f "$T/keycloak.yaml" >/dev/null
IMAGE=$($K get deployment -n "$NS" keycloak -o jsonpath='{.spec.template.spec.containers[0].image}')
helm template postgresql "$top_srcdir/charts/postgresql" --namespace "$NS" \
	--show-only templates/networkpolicy.yaml | $K create --dry-run=client -o json -f - >"$T/pg-policy.json"
$K get service -n "$NS" keycloak -o json >"$T/service.json"

R=$T/box
backup_box "$R" 1.2.0
S=$T/state.db
B=$R/var/lib/outpost/backups
set -- --root "$R" --keycloak-deployment "$NS/keycloak" --kubeconfig "$KC"

expect_exit 2 "--keycloak and --keycloak-deployment are exclusive" -- \
	"$OUTPOST" --state "$S" backup --root "$R" --keycloak /bin/true --keycloak-deployment "$NS/keycloak"
expect_fgrep "two ways to one Keycloak" "$T/err" "and it says so"
expect_exit 2 "--keycloak-deployment takes NAMESPACE/NAME" -- \
	"$OUTPOST" --state "$S" backup --root "$R" --keycloak-deployment keycloak
expect_exit 1 "a Deployment that is not there fails" -- \
	"$OUTPOST" --state "$S" backup --root "$R" --keycloak-deployment "$NS/nope" --kubeconfig "$KC"
expect_fgrep "get Deployment $NS/nope: 404" "$T/err" "naming it"

# A Job of the same name, left by a killed run.
echo "{\"apiVersion\": \"batch/v1\", \"kind\": \"Job\", \"metadata\": {\"name\": \"$JOB\"},
 \"spec\": {\"template\": {\"spec\": {\"restartPolicy\": \"Never\",
 \"containers\": [{\"name\": \"c\", \"image\": \"leftover:1\"}]}}}}" | $K create -n "$NS" -f - >/dev/null

run_bg backup "$OUTPOST" --state "$S" backup "$@"
await_job "the backup replaces the leftover Job with its export Job" backup
jt() { jq -e "$1" "$T/job.json" >/dev/null; }
expect_true "the Job runs the Deployment's image" -- jt ".spec.template.spec.containers[0].image == \"$IMAGE\""
expect_true "kc.sh export, optimized, into the work directory, users in the realm file" -- \
	jt '.spec.template.spec.containers[0].command == ["/opt/keycloak/bin/kc.sh", "export", "--optimized", "--dir", "/outpost-work", "--users", "realm_file"] and (.spec.template.spec.containers[0] | has("args") | not)'
expect_true "with the build init container and the built distribution" -- \
	jt '(.spec.template.spec.initContainers[0].name == "build") and ([.spec.template.spec.containers[0].volumeMounts[] | select(.mountPath == "/opt/keycloak")] | length == 1)'
expect_true "with the database password from its Secret" -- \
	jt '[.spec.template.spec.containers[0].env[] | select(.name == "KC_DB_PASSWORD") | .valueFrom.secretKeyRef.name] == ["postgresql"]'
expect_true "no probes, no ports" -- \
	jt '.spec.template.spec.containers[0] | (has("startupProbe") or has("readinessProbe") or has("livenessProbe") or has("ports")) | not'
expect_true "it asks the scheduler for less than the server, its limits the server's" -- \
	jt '[.spec.template.spec.initContainers[], .spec.template.spec.containers[] | .resources.requests == {"cpu": "100m", "memory": "512Mi"} and .resources.limits.memory == "1536Mi"] | all'
expect_true "runs once: restartPolicy Never, backoffLimit 0, a deadline" -- \
	jt '.spec.template.spec.restartPolicy == "Never" and .spec.backoffLimit == 0 and .spec.activeDeadlineSeconds > 0'
expect_true "the keycloak Service does not select its pod" -- sh -c \
	"jq -e --slurpfile s '$T/service.json' '.spec.template.metadata.labels as \$l | \$s[0].spec.selector | to_entries | all(\$l[.key] == .value) | not' '$T/job.json' >/dev/null"
expect_true "PostgreSQL's NetworkPolicy admits it" -- sh -c \
	"jq -e --slurpfile j '$T/job.json' '\$j[0].spec.template.metadata.labels as \$l | [.spec.ingress[].from[] | select(has(\"podSelector\") and (has(\"namespaceSelector\") | not)) | .podSelector.matchLabels | to_entries | all(\$l[.key] == .value)] | any' '$T/pg-policy.json' >/dev/null"
WORK=$(jq -r '.spec.template.spec.volumes[] | select(.name == "outpost-work") | .hostPath.path' "$T/job.json")
expect_true "a host directory of type Directory, mounted at /outpost-work" -- \
	jt '[.spec.template.spec.volumes[] | select(.hostPath.type == "Directory")] | length == 1'
case $WORK in "$B"/.outpost-backup.*) ok "the host directory is under the backup's directory" ;;
*) not_ok "the host directory is under the backup's directory ($WORK)" ;; esac
expect_true "owned by the pod's user, 0700" -- test "$(stat -c '%u:%g %a' "$WORK")" = "1000:1000 700"
if [ "$SERVER" = kubeapi ]; then
	expect_true "the Job lives after it finishes for at most an hour" -- jt '.spec.ttlSecondsAfterFinished == 3600'
fi

# kc.sh export's part: one file per realm, written as the pod's user.
echo '{"realm":"master","users":[{"username":"admin"}]}' >"$WORK/master-realm.json"
echo '{"realm":"t-acme","clients":[{"clientId":"t-acme","secret":"s3"}]}' >"$WORK/t-acme-realm.json"
chown 1000:1000 "$WORK"/*.json
cp "$WORK/master-realm.json" "$WORK/t-acme-realm.json" "$T/"
kc_finish 0
bg_exit "the backup ends"
expect_true "the backup succeeds" -- test "$bg_rc" -eq 0
[ "$bg_rc" -eq 0 ] || sed 's/^/# /' "$T/backup.err" >&2
A=$(cat "$T/backup.out")
mkdir "$T/x" && tar xzf "$A" -C "$T/x"
expect_true "the Keycloak part holds the realm files" -- test \
	"$(tar tf "$T/x/keycloak/realms.tar" | sort | tr '\n' ' ')" = "master-realm.json t-acme-realm.json "
mkdir "$T/realms" && tar xf "$T/x/keycloak/realms.tar" -C "$T/realms"
expect_true "as they were written" -- cmp -s "$T/realms/t-acme-realm.json" "$T/t-acme-realm.json"
expect_true "the Job is deleted" -- job_gone
expect_true "no work directory is left" -- test -z "$(find "$B" -name '.outpost-*')"
if [ "$SERVER" = real ]; then
	wait_for 60 "and its pod goes with it" -- sh -c "[ -z \"\$($K get pod -n $NS -l job-name=$JOB -o name)\" ]"
fi
kc_settle

# A failed export: exit 1, one line naming the Job; the archive is written
# without the Keycloak part (the manifest says why), and no Job is left.
archives() { find "$B" -maxdepth 1 -name 'outpost-backup-*.tar.gz' | wc -l; }
before=$(archives)
run_bg failed "$OUTPOST" --state "$S" backup "$@"
await_job "the next backup makes its Job" failed
kc_finish 1
bg_exit "the failed backup ends"
expect_true "a failed Job fails the backup (exit 1)" -- test "$bg_rc" -eq 1
expect_true "with one line (besides the parts this box has not: no k3s datastore)" -- \
	test "$(grep -vc '^outpost: backup: not there, left out: ' "$T/failed.err")" -eq 1
expect_fgrep "backup: written without Keycloak (Job $NS/$JOB failed: BackoffLimitExceeded" "$T/failed.err" \
	"naming the part, the Job and its reason"
P=$(cat "$T/failed.out")
expect_true "the archive of the other parts is still written" -- test "$(archives)" -eq $((before + 1)) -a -f "$P"
expect_true "without a Keycloak part" -- sh -c "! tar tzf '$P' | grep -q keycloak"
expect_true "its manifest names the failed part and why" -- sh -c \
	"tar xzOf '$P' manifest.json | jq -e '.failed == [{\"name\": \"keycloak/realms.tar\", \"error\": .failed[0].error}] and (.failed[0].error | contains(\"BackoffLimitExceeded\"))' >/dev/null"
expect_exit 0 "restoring that archive's services" -- "$OUTPOST" --state "$S" restore "$P" --only services "$@"
expect_fgrep "has no part for what its backup could not dump: Keycloak (Job $NS/$JOB failed" "$T/err" \
	"says so, naming what is missing"
expect_true "the failed Job is deleted" -- job_gone
expect_true "no work directory is left after a failure" -- test -z "$(find "$B" -name '.outpost-*')"
kc_settle

# Restore: the files reach an import Job, then the Deployment restarts.
$K get deployment -n "$NS" keycloak -o json >"$T/dep-before.json"
run_bg restore "$OUTPOST" --state "$S" restore "$A" --only services "$@"
await_job "the restore makes its import Job" restore
expect_true "kc.sh import, optimized, overriding the realms" -- \
	jt '.spec.template.spec.containers[0].command == ["/opt/keycloak/bin/kc.sh", "import", "--optimized", "--dir", "/outpost-work", "--override", "true"]'
WORK=$(jq -r '.spec.template.spec.volumes[] | select(.name == "outpost-work") | .hostPath.path' "$T/job.json")
expect_true "its host directory holds the archive's realm files" -- \
	test "$(find "$WORK" -mindepth 1 -printf '%P\n' | sort | tr '\n' ' ')" = "master-realm.json t-acme-realm.json "
expect_true "the same files" -- cmp -s "$WORK/t-acme-realm.json" "$T/t-acme-realm.json"
expect_true "readable by the pod's user" -- test "$(stat -c '%u:%g %a' "$WORK" "$WORK/t-acme-realm.json" | tr '\n' ' ')" = "1000:1000 700 1000:1000 600 "
expect_true "the Deployment is not restarted before the import is done" -- sh -c \
	"[ -z \"\$($K get deployment -n $NS keycloak -o jsonpath='{.spec.template.metadata.annotations}')\" ]"
kc_finish 0
bg_exit "the restore ends"
expect_true "the restore succeeds" -- test "$bg_rc" -eq 0
[ "$bg_rc" -eq 0 ] || sed 's/^/# /' "$T/restore.err" >&2
expect_true "the Deployment is restarted (restartedAt in its pod template)" -- sh -c \
	"$K get deployment -n $NS keycloak -o json | jq -e '.spec.template.metadata.annotations[\"kubectl.kubernetes.io/restartedAt\"] | test(\"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$\")' >/dev/null"
expect_true "the import Job is deleted" -- job_gone
expect_true "no restore work directory is left" -- test -z "$(find "$B" -name '.outpost-*')"

finish
