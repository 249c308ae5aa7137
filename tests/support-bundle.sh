#!/bin/sh
# outpost support-bundle: credentials planted everywhere a collector looks
# (the install record, supervise.json, tenants' settings and events, a
# Secret, a pod's env and annotations, a HelmChart's values, container logs)
# never reach the archive; the preflight table, the tenants' events and the
# recent end of the platform's and tenants' pod logs are there; the
# archive is 0600 and whole; a part that fails is listed with its reason
# while the rest is written, with the API down and with a damaged state file.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/kubeapi/start.sh"
skip_unless kubectl
skip_unless tar
skip_unless sqlite3

OUTPOST_STATE=$T/state.db
OUTPOST_PROFILE=$T/profile.json
export OUTPOST_STATE OUTPOST_PROFILE
echo '{"cpu_millicores": 4096000, "memory_mib": 16777216, "disk_gib": 1000000}' >"$OUTPOST_PROFILE"
if ! kubeapi_start "$T/api"; then echo "not ok - the test API server starts"; exit 1; fi
K="kubectl --kubeconfig $KUBEAPI_KUBECONFIG"

R=$T/root
mkdir -p "$R/etc" "$R/var/lib/outpost"
printf 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n' >"$R/etc/os-release"
echo '{"bundle_version":"1.0.0","source":"https://fetch:PLANT-A1@bundles.example/x","api_token":"PLANT-A2"}' \
	>"$R/var/lib/outpost/install.json"
echo '{"k3s_args":["--datastore-endpoint=postgres://k3s:PLANT-B1@db:5432/k3s"],"notify_secret":"PLANT-B2"}' \
	>"$T/supervise.json"
"$OUTPOST" tenant add acme --host acme.example.com --set admin.password=PLANT-C1 \
	--set db.url=postgres://app:PLANT-C2@db/app --set redisKey=PLANT-C3 >/dev/null
# An event whose message quotes a failed apply's values.
sqlite3 "$OUTPOST_STATE" "INSERT INTO events (tenant, at, type, reason, message) VALUES
	('acme', 1700000000, 'Warning', 'ApplyFailed', 'helm: rejected values: password=PLANT-E1 url=redis://:PLANT-E2@redis:6379')"
# The kubelet's container logs: a tenant's (with credentials in its lines),
# a platform pod's, longer than the 64 KiB kept (rotated file beside the
# current one), and one of kube-system, which is not collected.
L=$R/var/log/pods
mkdir -p "$L/t-acme_web-1_uid1/web" "$L/outpost-platform_keycloak-0_uid2/keycloak" "$L/kube-system_coredns-1_uid3/coredns"
{
	echo '2026-12-03T09:00:00Z stdout F starting with DB_PASSWORD=PLANT-F1'
	echo '2026-12-03T09:00:01Z stdout F connecting to postgres://app:PLANT-F2@db/app'
	echo '2026-12-03T09:00:02Z stdout F TENANT-LOG-MARKER ready'
} >"$L/t-acme_web-1_uid1/web/0.log"
echo 'ROTATED-MARKER' >"$L/outpost-platform_keycloak-0_uid2/keycloak/0.log.20261202-000000"
{
	echo 'OLD-LINE-MARKER'
	i=0; while [ $i -lt 2000 ]; do echo "2026-12-03T09:00:00Z stdout F filler line $i of keycloak's log output"; i=$((i + 1)); done
	echo 'NEW-LINE-MARKER'
} >"$L/outpost-platform_keycloak-0_uid2/keycloak/1.log"
echo 'COREDNS-MARKER' >"$L/kube-system_coredns-1_uid3/coredns/0.log"

$K create namespace t-acme >/dev/null
$K apply --server-side -f - >/dev/null <<EOF2
apiVersion: v1
kind: Secret
metadata: {name: t-acme-credentials, namespace: t-acme}
stringData: {password: PLANT-D1}
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: t-acme
  annotations: {outpost.io/dsn: "host=db user=app password=PLANT-D2 dbname=app"}
spec:
  containers:
  - name: web
    image: registry.example/web@sha256:0000000000000000000000000000000000000000000000000000000000000000
    env:
    - {name: DB_PASSWORD, value: PLANT-D3}
    - {name: CACHE_URL, value: "redis://:PLANT-D4@redis:6379/0"}
    - {name: DB_HOST, value: db.t-acme}
    args: ["--api-token=PLANT-D5"]
---
apiVersion: helm.cattle.io/v1
kind: HelmChart
metadata: {name: t-acme, namespace: kube-system}
spec:
  chart: https://%{KUBERNETES_API}%/static/charts/app-1.0.0.tgz
  valuesContent: |-
    admin:
      password: PLANT-D6
    s3: {accessKey: PLANT-D7, secretKey: PLANT-D8}
EOF2

bundle() {
	rm -rf "$T/arch" "$T/x" && mkdir -p "$T/arch" "$T/x"
	expect_exit 0 "$1: support-bundle exits 0" -- "$OUTPOST" support-bundle --out "$T/arch" --root "$R" \
		--kubeconfig "$KUBEAPI_KUBECONFIG" --supervise-config "$T/supervise.json" --timeout 5
	A=$(cat "$T/out")
	if [ -f "$A" ] && tar xzf "$A" -C "$T/x"; then ok "$1: the archive is a readable tar.gz"; else
		not_ok "$1: the archive is a readable tar.gz"; fi
}

bundle "API up"
expect_true "the archive is 0600" -- test "$(stat -c %a "$A")" = 600
expect_true "the name is outpost-support-<host>-<time>.tar.gz" -- sh -c \
	"basename '$A' | grep -Eq '^outpost-support-.+-[0-9]{8}T[0-9]{6}Z\\.tar\\.gz\$'"
expect_true "no temporary file is left" -- test "$(find "$T/arch" -mindepth 1 | wc -l)" -eq 1
if grep -rn "PLANT-" "$T/x" >"$T/leaks"; then
	not_ok "no planted credential survives"; sed 's/^/# leak: /' "$T/leaks" >&2
else ok "no planted credential survives (19 planted)"; fi
b64=$(printf PLANT-D1 | base64)
expect_true "no Secret data, not even base64" -- sh -c "! grep -rq '$b64' '$T/x'"
expect_true "no Secret is listed" -- sh -c "! grep -rq t-acme-credentials '$T/x'"
for f in host/os-release host/uname.txt host/meminfo.txt host/df.txt host/cgroup.txt \
	outpost/version.txt outpost/install.json outpost/supervise.json outpost/status.json \
	outpost/tenants.jsonl outpost/events.jsonl host/preflight.txt cluster/pod-logs.txt \
	cluster/pods.json cluster/helmcharts.json parts.txt; do
	expect_true "$f is in the archive" -- test -s "$T/x/$f"
done
expect_fgrep '"name": "web"' "$T/x/cluster/pods.json" "the pod is there"
expect_fgrep 'db.t-acme' "$T/x/cluster/pods.json" "a plain env value is kept"
expect_fgrep '"acme"' "$T/x/outpost/tenants.jsonl" "the tenant is there"
expect_fgrep 'postgres://REDACTED@db/app' "$T/x/outpost/tenants.jsonl" "a URL keeps its host, loses its credentials"
expect_fgrep 'Debian' "$T/x/host/os-release" "host facts are read under --root"
expect_fgrep '"reason":"ApplyFailed"' "$T/x/outpost/events.jsonl" "the tenant's events are there"
expect_grep 'checks\{0,1\} failed' "$T/x/host/preflight.txt" "the preflight table is there"
expect_fgrep '==> t-acme_web-1_uid1/web <==' "$T/x/cluster/pod-logs.txt" "a tenant pod's log is there"
expect_fgrep 'TENANT-LOG-MARKER' "$T/x/cluster/pod-logs.txt" "with its lines"
expect_fgrep 'NEW-LINE-MARKER' "$T/x/cluster/pod-logs.txt" "a platform pod's log ends with its newest line"
for m in OLD-LINE-MARKER ROTATED-MARKER COREDNS-MARKER; do
	if grep -q "$m" "$T/x/cluster/pod-logs.txt"; then not_ok "$m is left out (bounded, current file, platform and tenants only)"
	else ok "$m is left out (bounded, current file, platform and tenants only)"; fi
done
expect_true "the pod logs are bounded (64 KiB per container)" -- test "$(wc -c <"$T/x/cluster/pod-logs.txt")" -lt 70000
expect_grep '^cluster/nodes.json  *[^o ]' "$T/x/parts.txt" "a part the server cannot give is listed with a reason"
expect_grep '^cluster/pods.json  *ok' "$T/x/parts.txt" "the other cluster parts are written"

# The API down and the state file damaged: host and journal parts still come.
kubeapi_stop
printf 'this is not a database' >"$OUTPOST_STATE"
start=$(date +%s)
bundle "API down, state damaged"
took=$(( $(date +%s) - start ))
expect_true "bounded: done in ${took}s with 5s per part" -- test "$took" -lt 60
expect_grep '^cluster/pods.json  *.*\(refused\|connect\|Couldn\)' "$T/x/parts.txt" "the API's parts say why they failed"
expect_grep '^outpost/status.json  *[^o ]' "$T/x/parts.txt" "the status part fails with the damaged state"
expect_grep '^host/uname.txt  *ok' "$T/x/parts.txt" "host parts are written"
expect_grep '^cluster/pod-logs.txt  *ok' "$T/x/parts.txt" "the pod logs come from the disk with the API down"
expect_grep '^outpost/events.jsonl  *[^o ]' "$T/x/parts.txt" "the events part fails with the damaged state, saying why"
expect_grep '^journal/outpost.log  *' "$T/x/parts.txt" "the journal part is listed"
expect_true "the install record is still there" -- test -s "$T/x/outpost/install.json"
if grep -rn "PLANT-" "$T/x" >"$T/leaks"; then not_ok "no credential with the API down"; else ok "no credential with the API down"; fi

expect_exit 1 "an --out that does not exist: exit 1" -- "$OUTPOST" support-bundle --out "$T/nosuch" --root "$R"
expect_true "one line naming it" -- sh -c "test \$(wc -l <'$T/err') -eq 1 && grep -q '$T/nosuch' '$T/err'"
expect_exit 2 "a bad --timeout is a usage error" -- "$OUTPOST" support-bundle --timeout 0

finish
