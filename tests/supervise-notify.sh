#!/bin/sh
# The exact sd_notify conversation on an abstract socket: a first start with
# images to import extends the start timeout, READY=1 comes only once the API
# answers /readyz, WATCHDOG=1 every half WATCHDOG_USEC from the loop, and
# STOPPING=1 on SIGTERM. A second start (images imported) does not extend;
# WATCHDOG_PID naming another process turns the watchdog off. A third shows
# SIGHUP pointing the API probe at a new kubeconfig.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/supervise-lib.sh"

mkdir -p "$T/images" "$T/api"
echo "not really an archive" >"$T/images/k3s-airgap-images-amd64.tar.zst"
printf 'api=%s\n' "$T/api" >"$FAKE_K3S_CONTROL"
start_listener "@outpost-notify-test-$$"
WATCHDOG_USEC=400000; export WATCHDOG_USEC
start_outpost --ready api --kubeconfig "$T/api/kubeconfig" --poll 200
wait_for 60 "READY=1 is sent" -- grep -q "READY=1" "$T/notify"
# Wait for what the checks below read, not for a guessed time: the worker's
# first word and enough watchdog samples for a median.
wait_for 30 "the worker reports its first pass" -- grep -q "STATUS=reconciling 0 tenants" "$T/notify"
wait_for 30 "nine watchdog pings" -- at_least 9 "WATCHDOG=1" "$T/notify"
stop_outpost
[ "$OUTPOST_RC" -eq 0 ] && ok "outpost exits 0" || not_ok "exit code $OUTPOST_RC"
wait_for 10 "STOPPING=1 is sent" -- grep -q "STOPPING=1" "$T/notify"

grep -v -e WATCHDOG=1 -e LISTENING "$T/notify" | cut -d' ' -f2- >"$T/sequence"
cat >"$T/want" <<'SEQ'
EXTEND_TIMEOUT_USEC=180000000
STATUS=importing images
READY=1
STATUS=API ready
STATUS=reconciling 0 tenants
STOPPING=1
STATUS=stopping
SEQ
if cmp -s "$T/sequence" "$T/want"; then ok "the exact message sequence"; else
	not_ok "message sequence"; diff "$T/want" "$T/sequence" | sed 's/^/# /'; fi
ready_at=$(awk '$2 == "READY=1" {print $1}' "$T/notify")
api_at=$(grep "^start" "$FAKE_K3S_LOG" | head -1 | awk '{print $2}')
awk -v r="$ready_at" -v a="$api_at" 'BEGIN { exit !(r > a) }' && ok "READY=1 after k3s started" || not_ok "READY=1 too early"
expect_grep "API is ready" "$T/outpost.log" "the API's readiness is logged"

# WATCHDOG=1 every 200 ms (half of 400 ms): median and mean on time. The
# times are the listener's reads, so a late read shortens the next interval
# to almost nothing under load; the mean (span over count) is immune to that
# and still falls if pings come too often.
awk '$2 == "WATCHDOG=1" { if (p) print int(($1 - p) * 1000); p = $1 }' "$T/notify" | sort -n >"$T/wd"
n=$(wc -l <"$T/wd")
[ "$n" -ge 8 ] && ok "$n watchdog intervals recorded" || not_ok "only $n watchdog intervals"
max=$(tail -1 "$T/wd"); med=$(sed -n "$(((n + 1) / 2))p" "$T/wd")
mean=$(awk '{ s += $1 } END { print int(s / NR) }' "$T/wd")
[ "$mean" -ge 190 ] && [ "$med" -ge 195 ] && [ "$med" -le 260 ] && [ "$max" -le 1000 ] &&
	ok "watchdog cadence ~200 ms (mean $mean, median $med, max $max)" ||
	not_ok "watchdog cadence: mean $mean, median $med, max $max"
[ -e "$T/images-imported" ] && ok "the import is stamped once the API is up" || not_ok "no stamp"

# Second start: nothing to import, and WATCHDOG_PID is someone else.
: >"$T/notify.2"
kill "$LISTENER_PID"; wait "$LISTENER_PID" 2>/dev/null || :
mv "$T/notify" "$T/notify.1"
start_listener "@outpost-notify-test-$$"
WATCHDOG_PID=1; export WATCHDOG_PID
start_outpost --ready api --kubeconfig "$T/api/kubeconfig" --poll 200
wait_for 60 "READY=1 on the second start" -- grep -q "READY=1" "$T/notify"
# By the first pass a watchdog ping would long have been due.
wait_for 30 "the second start reaches its first pass" -- grep -q "STATUS=reconciling" "$T/notify"
stop_outpost
grep -q EXTEND_TIMEOUT "$T/notify" && not_ok "second start extended the timeout" || ok "no EXTEND_TIMEOUT once imported"
grep -q WATCHDOG=1 "$T/notify" && not_ok "watchdog sent for another WATCHDOG_PID" || ok "no WATCHDOG=1 when WATCHDOG_PID is another process"
sed -n 2p "$T/notify" | grep -q "STATUS=waiting for API" && ok "second start begins with STATUS=waiting for API" ||
	not_ok "first message: $(sed -n 2p "$T/notify")"

# Third start: the file names a kubeconfig that does not exist; SIGHUP after
# fixing the file makes the probe follow it.
kill "$LISTENER_PID"; wait "$LISTENER_PID" 2>/dev/null || :
mv "$T/notify" "$T/notify.2"
start_listener "@outpost-notify-test-$$"
printf '{"kubeconfig": "%s"}\n' "$T/nowhere.yaml" >"$T/supervise.json"
start_outpost --ready api --poll 200
wait_for 30 "k3s started for the third time" -- at_least 3 "^start" "$FAKE_K3S_LOG"
sleep 2
grep -q READY=1 "$T/notify" && not_ok "READY=1 without a kubeconfig" || ok "no READY=1 with a missing kubeconfig"
printf '{"kubeconfig": "%s"}\n' "$T/api/kubeconfig" >"$T/supervise.json"
kill -HUP "$OUTPOST_PID"
wait_for 30 "after SIGHUP the probe uses the new kubeconfig: READY=1" -- grep -q "READY=1" "$T/notify"
stop_outpost
[ "$OUTPOST_RC" -eq 0 ] && ok "outpost exits 0" || not_ok "exit code $OUTPOST_RC"
finish
