#!/bin/sh
# Outpost's metrics endpoint, scraped and parsed with Prometheus's own parser
# (python3-prometheus-client) while the supervisor runs k3s (the fake, with
# the test API), its workers and the reconciler: a pass is counted, a tenant
# shows up by phase, a killed k3s is counted as a restart. Served on
# a 0600 Unix socket, then on a loopback port from supervise.json; anything
# but loopback is refused; the responder answers only GET /metrics and holds
# at most 8 connections, each for at most 5 s.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/supervise-lib.sh"
skip_unless sqlite3
skip_unless kubectl

need_prometheus_parser

fake_k3s_serves_api

ADDR=unix:$T/run/outpost/metrics.sock  # the directories are made
scrape() { "$PROM_PY" "$top_srcdir/tests/metrics-scrape.py" "$ADDR" >"$T/scrape" 2>"$T/scrape.err"; }
# value SAMPLE: the value of one sample in the last scrape ("" when absent).
value() { awk -v k="$1" '$1 == k { print $2 }' "$T/scrape"; }
# at_least_value N SAMPLE: scrape, and the sample is N or more.
at_least_value() { scrape && v=$(value "$2") && [ -n "$v" ] && [ "$v" -ge "$1" ]; }
is_value() { scrape && [ "$(value "$2")" = "$1" ]; }

# 1. On a Unix socket: the families are there, with their types.
start_listener "$T/notify.sock"
start_outpost --ready api --kubeconfig "$T/api/kubeconfig" --poll 200 --poll-idle 60000 \
	--reconcile-check 60000 --worker-timeout 120000 --backoff-base 200 --metrics "$ADDR"
wait_for 60 "READY=1" -- grep -q READY=1 "$T/notify"
expect_exit 0 "kubectl creates the platform namespace" -- \
	kubectl --kubeconfig "$T/api/kubeconfig" create namespace outpost-platform
expect_grep "metrics: GET /metrics on unix:$T/run/outpost/metrics.sock" "$T/outpost.log" "the log names the endpoint"
[ "$(stat -c %a "$T/run/outpost/metrics.sock")" = 600 ] && ok "the socket is 0600" ||
	not_ok "the socket is $(stat -c %a "$T/run/outpost/metrics.sock")"
wait_for 30 "the first worker's full pass is counted" -- at_least_value 1 'outpost_reconcile_passes_total{kind=full}'
if scrape; then ok "a scrape parses"; else not_ok "a scrape: $(cat "$T/scrape.err")"; fi
for family in "outpost_build_info gauge" "outpost_reconcile_passes counter" "outpost_reconcile_pass_duration_seconds histogram" \
	"outpost_reconcile_writes counter" "outpost_failures counter" "outpost_worker_runs counter" \
	"outpost_k3s_up gauge" "outpost_k3s_restarts counter" "outpost_tenants gauge" \
	"outpost_component_ready gauge" "outpost_state_file_readable gauge"; do
	expect_fgrep "# TYPE $family" "$T/scrape" "family $family"
done
version=$("$OUTPOST" --version | cut -d' ' -f2)
[ "$(value "outpost_build_info{version=$version}")" = 1 ] && ok "the version is $version" ||
	not_ok "no outpost_build_info for $version"
[ "$(value outpost_k3s_up)" = 1 ] && ok "k3s is up" || not_ok "outpost_k3s_up is '$(value outpost_k3s_up)'"
[ "$(value outpost_k3s_restarts_total)" = 0 ] && ok "no k3s restart yet" || not_ok "restarts: $(value outpost_k3s_restarts_total)"
[ -z "$(value outpost_k3s_seconds_since_last_restart)" ] && ok "no age of a restart that never was" ||
	not_ok "outpost_k3s_seconds_since_last_restart is there"
[ "$(value 'outpost_component_ready{component=api}')" = 1 ] && ok "the API component is Ready" ||
	not_ok "outpost_component_ready{component=api} is '$(value 'outpost_component_ready{component=api}')'"
[ "$(value outpost_worker_runs_total)" -ge 1 ] && ok "a worker run is counted" || not_ok "worker runs: $(value outpost_worker_runs_total)"
count=$(value outpost_reconcile_pass_duration_seconds_count)
npasses=$(($(value 'outpost_reconcile_passes_total{kind=full}') + $(value 'outpost_reconcile_passes_total{kind=targeted}')))
[ "$count" = "$npasses" ] && ok "the histogram counts every pass ($count)" || not_ok "histogram count $count, passes $npasses"
[ "$(value 'outpost_tenants{phase=Ready}')" = 0 ] && ok "no tenant yet" || not_ok "Ready tenants: $(value 'outpost_tenants{phase=Ready}')"

# 2. A tenant: a pass reconciles it, its writes are counted, and it shows up Ready.
writes0=$(value outpost_reconcile_writes_total)
runs0=$(value outpost_worker_runs_total)
expect_exit 0 "a tenant is added" -- "$OUTPOST" --state "$T/state.db" tenant add acme --host acme.example.test
wait_for 30 "the tenant is counted Ready" -- is_value 1 'outpost_tenants{phase=Ready}'
[ "$(value outpost_reconcile_writes_total)" -gt "$writes0" ] &&
	ok "its writes are counted ($writes0 -> $(value outpost_reconcile_writes_total))" ||
	not_ok "writes stayed at $writes0"
[ "$(value outpost_worker_runs_total)" -gt "$runs0" ] && ok "the worker it started is counted" ||
	not_ok "worker runs stayed at $runs0"
[ "$(value 'outpost_tenants{phase=Failed}')" = 0 ] && ok "no tenant Failed" || not_ok "Failed: $(value 'outpost_tenants{phase=Failed}')"

# 3. k3s killed behind the supervisor's back (SIGTERM, so that the fake takes
# its API server with it; a SIGKILL would leave that behind in the old
# process group, as k3s leaves its pods): a restart, a k3s_exit failure, and
# the age of the restart.
k3s_pid=$(sqlite3 "$T/state.db" "select pid from component_status where name = 'k3s'")
kill -TERM "$k3s_pid" && ok "k3s (pid $k3s_pid) is killed" || not_ok "no k3s pid $k3s_pid"
wait_for 30 "the restart is counted" -- is_value 1 outpost_k3s_restarts_total
[ "$(value 'outpost_failures_total{reason=k3s_exit}')" = 1 ] && ok "as one k3s_exit failure" ||
	not_ok "k3s_exit failures: $(value 'outpost_failures_total{reason=k3s_exit}')"
wait_for 30 "k3s is up again" -- is_value 1 outpost_k3s_up
age=$(value outpost_k3s_seconds_since_last_restart)
"$PROM_PY" -c "import sys; sys.exit(not 0 <= float(sys.argv[1]) < 60)" "${age:-x}" &&
	ok "seconds since the last restart: $age" || not_ok "seconds since the last restart: '$age'"

# 4. Only GET /metrics; a bounded number of connections, each for a bounded time.
raw() { "$PROM_PY" "$top_srcdir/tests/metrics-scrape.py" "$ADDR" --raw "$1" "$2"; }
[ "$(raw GET /nope)" = "404 Not Found" ] && ok "another path is 404" || not_ok "GET /nope: $(raw GET /nope)"
[ "$(raw POST /metrics)" = "405 Method Not Allowed" ] && ok "another method is 405" || not_ok "POST: $(raw POST /metrics)"
long=/$(printf '%05000d' 0)
[ "$(raw GET "$long")" = "431 Request Header Fields Too Large" ] && ok "a request head over 4 KiB is 431" ||
	not_ok "a 5 KB request line: $(raw GET "$long")"
"$PROM_PY" - "$T/run/outpost/metrics.sock" >"$T/flood" 2>&1 <<'PY' &
import socket, sys, time
socks = []
for _ in range(8):  # METRICS_HTTP_CONNS, silent
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); socks.append(s)
time.sleep(0.3)  # the server has accepted them
extra = socket.socket(socket.AF_UNIX); extra.connect(sys.argv[1]); extra.settimeout(3)
print("ninth closed at once" if extra.recv(1) == b"" else "ninth answered")
t0 = time.monotonic()
for s in socks:
    s.settimeout(10)
    s.recv(1)  # b"": closed by the server's deadline
print("silent ones closed after %.1f s" % (time.monotonic() - t0))
PY
FLOOD=$!
wait_for 10 "a ninth connection is closed at once" -- grep -q "ninth closed at once" "$T/flood"
wait_for 15 "silent connections are closed after their deadline" -- grep -q "silent ones closed" "$T/flood"
wait "$FLOOD" || :
scrape && ok "scrapes are answered again" || not_ok "after the flood: $(cat "$T/scrape.err")"
[ "$(value 'outpost_failures_total{reason=worker_exit}')" = 0 ] && ok "no worker exited abnormally" ||
	not_ok "abnormal worker exits: $(value 'outpost_failures_total{reason=worker_exit}')"
kill -0 "$OUTPOST_PID" && ok "the supervisor lives on" || not_ok "the supervisor is gone"
stop_outpost
[ "$OUTPOST_RC" -eq 0 ] && ok "outpost exits 0" || not_ok "exit code $OUTPOST_RC"
[ ! -e "$T/run/outpost/metrics.sock" ] && ok "the socket is removed on exit" || not_ok "the socket is left behind"

# 5. A loopback port from supervise.json; a counted value starts from zero.
PORT=$("$PROM_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ADDR=127.0.0.1:$PORT
printf '{"metrics": "%s"}\n' "$ADDR" >"$T/supervise.json"
start_outpost --ready api --kubeconfig "$T/api/kubeconfig" --poll 200 --poll-idle 60000 \
	--reconcile-check 60000 --worker-timeout 120000
wait_for 30 "served on loopback port $PORT (supervise.json)" -- scrape
expect_grep "metrics: GET /metrics on $ADDR" "$T/outpost.log" "the log names the address"
[ "$(value outpost_k3s_restarts_total)" = 0 ] && ok "a new supervisor counts from zero" ||
	not_ok "restarts: $(value outpost_k3s_restarts_total)"
tenants=0
for phase in Pending Provisioning Ready Failed Deleting; do
	tenants=$((tenants + $(value "outpost_tenants{phase=$phase}")))
done
[ "$tenants" = 1 ] && ok "the tenant is counted from the state file" || not_ok "tenants by phase add up to $tenants"
stop_outpost
[ "$OUTPOST_RC" -eq 0 ] && ok "outpost exits 0" || not_ok "exit code $OUTPOST_RC"

# 6. Nothing but loopback: refused before k3s starts.
echo '{}' >"$T/supervise.json"
expect_exit 2 "0.0.0.0 is refused" -- "$OUTPOST" --state "$T/state.db" supervise --k3s "$FAKE_K3S" \
	--config "$T/supervise.json" --metrics 0.0.0.0:9464
expect_grep "only a loopback address" "$T/err" "and says why"
printf '{"metrics": "unix:relative.sock"}\n' >"$T/supervise.json"
expect_exit 2 "a relative socket path in supervise.json is refused" -- "$OUTPOST" --state "$T/state.db" \
	supervise --k3s "$FAKE_K3S" --config "$T/supervise.json"
expect_grep "supervise.json.*must be absolute" "$T/err" "naming the file"
finish
