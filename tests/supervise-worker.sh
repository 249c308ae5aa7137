#!/bin/sh
# The supervising process and its worker. `outpost supervise` becomes the
# small outpost-supervise program (same pid), which maps none of libcurl,
# OpenSSL, libarchive and libyaml; the API work runs in a worker child that
# exits once idle. A tenant added while no worker runs starts one at once
# (the state file is watched); a killed worker is restarted with back-off
# and k3s is not touched; a hung one is killed; health checks recur.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/supervise-lib.sh"
skip_unless sqlite3
skip_unless kubectl

fake_k3s_serves_api

workers() { pgrep -P "$OUTPOST_PID" -f -- --worker-fd; }
no_worker() { [ -z "$(workers)" ]; }
has_worker() { [ -n "$(workers)" ]; }
status_of() { sqlite3 "$T/state.db" "select phase from tenant_status where name = '$1'"; }
is_ready() { [ "$(status_of "$1")" = Ready ]; }
faults() { "$PYTHON3" "$top_srcdir/tests/kubeapi/ctl.py" --dir "$T/api" faults "$1" >/dev/null; }

# 1. A health check only every minute: what happens sooner has another cause.
start_listener "$T/notify.sock"
start_outpost --ready api --kubeconfig "$T/api/kubeconfig" --poll 200 --poll-idle 60000 \
	--reconcile-check 60000 --worker-timeout 120000 --backoff-base 200
wait_for 60 "READY=1" -- grep -q READY=1 "$T/notify"
# Where the tenants' provisioning Jobs go (the platform is not run here).
expect_exit 0 "kubectl creates the platform namespace" -- \
	kubectl --kubeconfig "$T/api/kubeconfig" create namespace outpost-platform
case $(readlink "/proc/$OUTPOST_PID/exe") in
*/outpost-supervise) ok "outpost supervise became outpost-supervise, same pid" ;;
*) not_ok "the supervising process runs $(readlink "/proc/$OUTPOST_PID/exe")" ;;
esac
heavy=$(grep -o -E '/[^ ]*(libcurl|libcrypto|libssl|libarchive|libyaml|libxml2|libgnutls)[^ ]*' \
	"/proc/$OUTPOST_PID/maps" | sort -u | tr '\n' ' ')
[ -z "$heavy" ] && ok "the supervising process maps no libcurl, OpenSSL, libarchive, libyaml or libxml2" ||
	not_ok "the supervising process maps $heavy"
wait_for 30 "the worker exits once idle" -- no_worker
[ "$(pgrep -P "$OUTPOST_PID" | wc -l)" -eq 1 ] && ok "k3s is the only child" || not_ok "children: $(pgrep -P "$OUTPOST_PID" | tr '\n' ' ')"
expect_grep "STATUS=reconciling 0 tenants" "$T/notify" "STATUS= keeps the worker's last word"
k3s_pid=$(sqlite3 "$T/state.db" "select pid from component_status where name = 'k3s'")

# 2. A tenant added while no worker runs: a worker starts and reconciles it.
expect_exit 0 "a tenant is added" -- "$OUTPOST" --state "$T/state.db" tenant add acme --host acme.example.test
wait_for 20 "acme becomes Ready (the state file is watched)" -- is_ready acme
wait_for 20 "STATUS= counts it" -- grep -q "STATUS=reconciling 1 tenants" "$T/notify"
wait_for 30 "the worker exits again" -- no_worker

# 3. A worker killed mid-pass (as the OOM killer would; SIGKILL, which no
# sanitizer intercepts): restarted with back-off; k3s is the same process.
faults '{"latency_ms": 1500}'
expect_exit 0 "a second tenant is added" -- "$OUTPOST" --state "$T/state.db" tenant add beta --host beta.example.test
wait_for 20 "a worker runs for it" -- has_worker
victim=$(workers)
# Its pass lasts several seconds (1.5 s per request), so it cannot have
# finished: killed at once rather than after a guessed sleep.
kill -KILL "$victim" 2>/dev/null && ok "the worker is killed before its pass ends" || not_ok "worker $victim had already gone"
wait_for 20 "its end is logged" -- grep -q "\[worker\] exited with status 137" "$T/outpost.log"
faults '{}'
wait_for 20 "a new worker takes over" -- sh -c "pgrep -P $OUTPOST_PID -f -- --worker-fd | grep -v -x $victim"
wait_for 30 "beta becomes Ready" -- is_ready beta
[ "$(sqlite3 "$T/state.db" "select pid from component_status where name = 'k3s'")" = "$k3s_pid" ] &&
	ok "k3s was not restarted" || not_ok "k3s's pid changed"
expect_grep "STATUS=reconciling 2 tenants" "$T/notify" "STATUS= counts both"
stop_outpost
[ "$OUTPOST_RC" -eq 0 ] && ok "outpost exits 0" || not_ok "exit code $OUTPOST_RC"

# 4. Health checks every 500 ms: workers come and go; a hung one is killed.
: >"$T/notify"
start_outpost --ready api --kubeconfig "$T/api/kubeconfig" --poll 200 --poll-idle 500 \
	--reconcile-check 500 --worker-timeout 2000
wait_for 60 "READY=1 again" -- grep -q READY=1 "$T/notify"
# A new k3s, a new (empty) test API: the platform namespace again.
expect_exit 0 "kubectl creates the platform namespace again" -- \
	kubectl --kubeconfig "$T/api/kubeconfig" create namespace outpost-platform
wait_for 30 "acme and beta are Ready again" -- sh -c "is_ready() { [ \"\$(sqlite3 '$T/state.db' \"select phase from tenant_status where name = '\$1'\")\" = Ready ]; }; is_ready acme && is_ready beta"
seen=""
end=$(($(date +%s) + 20))
while [ "$(echo "$seen" | wc -w)" -lt 3 ] && [ "$(date +%s)" -lt "$end" ]; do
	for w in $(workers); do case " $seen " in *" $w "*) ;; *) seen="$seen $w" ;; esac; done
	sleep 0.05
done
[ "$(echo "$seen" | wc -w)" -ge 3 ] && ok "health checks start a new worker each time" || not_ok "workers seen:$seen"
# Workers come and go twice a second, so the one found may exit (or be a
# zombie, which SIGSTOP does not refuse) before it is stopped: retry until one
# is seen stopped ("T" in /proc/PID/stat) within the deadline.
stopped() { [ "$(sed 's/.*) //; s/ .*//' "/proc/$1/stat" 2>/dev/null)" = T ]; }
hung=""
end=$(($(date +%s) + 20))
while [ -z "$hung" ] && [ "$(date +%s)" -lt "$end" ]; do
	for w in $(workers); do
		if kill -STOP "$w" 2>/dev/null && stopped "$w"; then hung=$w; break; fi
	done
done
[ -n "$hung" ] && ok "a live worker is stopped (pid $hung)" || not_ok "no live worker to stop within 20 s"
wait_for 20 "the hung worker is killed" -- grep -q "\[worker\] pid $hung silent for" "$T/outpost.log"
wait_for 20 "and reaped" -- sh -c "! kill -0 $hung 2>/dev/null"
wait_for 20 "a new worker runs after it" -- sh -c "pgrep -P $OUTPOST_PID -f -- --worker-fd | grep -v -x $hung"
# A tenant the API keeps refusing: each worker takes the retry back-off over
# from the last (2 s, 4 s, 8 s ...) rather than retry at every health check
# (twice a second here).
quota_creates() {
	"$PYTHON3" "$top_srcdir/tests/kubeapi/ctl.py" --dir "$T/api" counters |
		"$PYTHON3" -c 'import json, sys; print(json.load(sys.stdin)["create"].get("ResourceQuota", 0))'
}
faults '{"rules": [{"verb": "create", "kind": "ResourceQuota", "namespace": "t-gamma", "code": 403, "times": 0}]}'
c0=$(quota_creates)
t0=$(date +%s)
expect_exit 0 "a tenant the API refuses is added" -- "$OUTPOST" --state "$T/state.db" tenant add gamma --host gamma.example.test
wait_for 20 "gamma fails" -- sh -c "[ \"\$(sqlite3 '$T/state.db' \"select phase from tenant_status where name = 'gamma'\")\" = Failed ]"
# Without the hand-over every worker would start again from no delay, and
# none would ever pass on more than 2 s.
wait_for 40 "a worker takes over a retry delay of 8 s or more" -- \
	pgrep -P "$OUTPOST_PID" -f -- "--retry-ms=(8000|16000|32000|60000)"
c1=$(quota_creates)
[ $((c1 - c0)) -ge 2 ] && [ $((c1 - c0)) -le 8 ] &&
	ok "$((c1 - c0)) attempts in $(($(date +%s) - t0)) s: retried, not at every health check" ||
	not_ok "$((c1 - c0)) attempts in $(($(date +%s) - t0)) s (health checks every 0.5 s)"
faults '{}'
stop_outpost
[ "$OUTPOST_RC" -eq 0 ] && ok "outpost exits 0" || not_ok "exit code $OUTPOST_RC"

# 5. A reconciler that cannot start (a state file from a newer Outpost): the
# worker exits with the reason, and is tried again after the back-off; k3s
# runs on.
sqlite3 "$T/newer.db" "PRAGMA user_version = 99; CREATE TABLE t (x);"
"$OUTPOST" --state "$T/newer.db" supervise --k3s "$FAKE_K3S" --config "$T/supervise.json" \
	--images-dir "$T/images" --platform none --ready api --kubeconfig "$T/api/kubeconfig" \
	--backoff-base 200 2>"$T/newer.log" &
OUTPOST_PID=$!
on_exit "kill -9 $OUTPOST_PID 2>/dev/null || :"
wait_for 60 "the worker says why it stops" -- grep -q "outpost: reconciler: .*newer" "$T/newer.log"
wait_for 20 "and is started again" -- at_least 2 "\[worker\] exited with status 1" "$T/newer.log"
stop_outpost
[ "$OUTPOST_RC" -eq 0 ] && ok "outpost exits 0" || not_ok "exit code $OUTPOST_RC"

# 6. The supervising program is not for direct use.
expect_exit 2 "outpost-supervise alone is refused" -- "$top_builddir/outpost-supervise" supervise
expect_grep "outpost-supervise is started by 'outpost supervise'" "$T/err" "and says so"
expect_exit 2 "a worker timeout not longer than the idle poll is refused" -- \
	"$OUTPOST" --state "$T/state.db" supervise --poll-idle 1000 --worker-timeout 1000 --config "$T/supervise.json"
expect_grep "worker-timeout must be longer than --poll-idle" "$T/err" "and named"
finish
