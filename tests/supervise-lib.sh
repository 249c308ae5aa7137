# shellcheck shell=sh
# Helpers for the supervisor's shell tests; source after lib.sh.

# The fake k3s, run through $PYTHON3 (a source tree may not keep modes). The
# wrapper notes when it was exec'd (CLOCK_BOOTTIME, /proc/uptime's clock), so
# restart delays are measured without python's start-up in them.
FAKE_K3S=$T/k3s
# shellcheck disable=SC2016 # the wrapper expands these, not this shell
printf '#!/bin/sh\nread -r up _ </proc/uptime\necho "exec $up" >>"$FAKE_K3S_LOG"\nexec "%s" "%s" "$@"\n' \
	"${PYTHON3:-python3}" "$top_srcdir/tests/fake-k3s" >"$FAKE_K3S"
chmod +x "$FAKE_K3S"
FAKE_K3S_LOG=$T/k3s.log
FAKE_K3S_CONTROL=$T/k3s.control
: >"$FAKE_K3S_CONTROL"
echo "{}" >"$T/supervise.json"
FAKE_K3S_KUBEAPI=$top_srcdir/tests/kubeapi/server.py
export FAKE_K3S_LOG FAKE_K3S_CONTROL FAKE_K3S_KUBEAPI

# fake_k3s_serves_api: the fake k3s runs the test API (kubeconfig in
# $T/api/kubeconfig) with its Job controller, on the reference box's profile.
fake_k3s_serves_api() {
	mkdir -p "$T/api"
	printf 'api=%s\ncontrollers={"jobs": true, "helm": true, "delay": 0.1}\n' "$T/api" >"$FAKE_K3S_CONTROL"
	echo '{"cpu_millicores": 8000, "memory_mib": 16384, "disk_gib": 100}' >"$T/profile.json"
	OUTPOST_PROFILE=$T/profile.json; export OUTPOST_PROFILE
}

count_lines() { grep -c -- "$1" "$2" 2>/dev/null || :; }
at_least() { [ "$(count_lines "$2" "$3")" -ge "$1" ]; }

# start_listener SOCKET: a notify socket recording into $T/notify.
start_listener() {
	"${PYTHON3:-python3}" "$top_srcdir/tests/notify-listener.py" "$1" "$T/notify" &
	LISTENER_PID=$!
	on_exit "kill $LISTENER_PID 2>/dev/null || :"
	wait_for 20 "notify listener is up" -- grep -q LISTENING "$T/notify"
	NOTIFY_SOCKET=$1
	export NOTIFY_SOCKET
}

# start_outpost ARGS...: `outpost supervise` in the background, stderr in $T/outpost.log.
start_outpost() {
	"$OUTPOST" --state "$T/state.db" supervise --k3s "$FAKE_K3S" --config "$T/supervise.json" \
		--images-dir "$T/images" --platform none "$@" 2>"$T/outpost.log" &
	OUTPOST_PID=$!
	on_exit "kill -9 $OUTPOST_PID 2>/dev/null || :"
}

# stop_outpost: SIGTERM and the exit code in $OUTPOST_RC.
stop_outpost() {
	kill -TERM "$OUTPOST_PID"
	set +e
	wait "$OUTPOST_PID"
	# shellcheck disable=SC2034 # read by the test that sources this file
	OUTPOST_RC=$?
	set -e
}

# platform_manifests OUT [workloads]: what install lays out as k3s manifests
# (the platform namespace and one HelmChart per component of
# charts/platform.json), as one List in OUT; with "workloads", also the
# workloads the charts would create.
platform_manifests() {
	"${PYTHON3:-python3}" - "$top_srcdir/charts/platform.json" "${2:-}" >"$1" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "outpost-platform"}}]
for c in p["components"]:
    items.append({"apiVersion": "helm.cattle.io/v1", "kind": "HelmChart",
                  "metadata": {"name": c["helmchart"], "namespace": "kube-system"},
                  "spec": {"chart": c["chart"] or c["helmchart"], "targetNamespace": c["namespace"]}})
    for w in c["workloads"] if sys.argv[2] == "workloads" else []:
        labels = {"app": w["name"]}
        items.append({"apiVersion": "apps/v1", "kind": w["kind"],
                      "metadata": {"name": w["name"], "namespace": c["namespace"]},
                      "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                               "template": {"metadata": {"labels": labels},
                                            "spec": {"containers": [{"name": "c", "image": "x"}]}}}})
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PY
}

# The metrics endpoint, scraped and parsed with Prometheus's own parser
# (Debian's python3-prometheus-client, so Debian's python3 has it even where
# another python3 comes first on PATH): sets PROM_PY, or skips.
need_prometheus_parser() {
	PROM_PY=""
	for py in "${PYTHON3:-python3}" /usr/bin/python3; do
		if "$py" -c 'import prometheus_client.parser' 2>/dev/null; then PROM_PY=$py; break; fi
	done
	[ -n "$PROM_PY" ] || skip "python3-prometheus-client not installed"
}
