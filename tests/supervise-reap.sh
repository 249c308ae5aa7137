#!/bin/sh
# Orphans below outpost are reaped: as a child subreaper (always), and as
# PID 1 of a new PID namespace (unshare --pid --fork; skipped where that is
# not allowed). Zero zombies at the end.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/supervise-lib.sh"

# pids_below PID: PID's descendants (one per line).
pids_below() {
	for c in $(pgrep -P "$1"); do echo "$c"; pids_below "$c"; done
}
zombies_below() {
	n=0
	for p in $(pids_below "$1"); do
		[ "$(awk '/^State:/ {print $2}' "/proc/$p/status" 2>/dev/null)" = Z ] && n=$((n + 1))
	done
	echo "$n"
}
no_zombies_below() { [ "$(zombies_below "$1")" -eq 0 ]; }
# children PID: how many children PID has, not counting its worker (which
# polls the API here for as long as the fake k3s serves none).
children() { pgrep -P "$1" | grep -c -v -x -F "$(pgrep -f -- --worker-fd || echo none)"; }
only_k3s_below() { [ "$(children "$1")" -eq 1 ]; }

printf 'orphans=4\norphan_life=1.5\n' >"$FAKE_K3S_CONTROL"

# 1. Subreaper: the orphans' parent becomes outpost, and outpost reaps them.
start_outpost --backoff-base 100
wait_for 30 "k3s started" -- grep -q "^start" "$FAKE_K3S_LOG"
wait_for 10 "the orphans are re-parented to outpost (subreaper)" -- sh -c "[ \$(pgrep -P $OUTPOST_PID | wc -l) -ge 5 ]"
wait_for 20 "they are reaped when they exit: k3s is the only child but the worker" -- \
	only_k3s_below "$OUTPOST_PID"
[ "$(zombies_below "$OUTPOST_PID")" -eq 0 ] && ok "no zombies below outpost" || not_ok "zombies below outpost"
stop_outpost
[ "$OUTPOST_RC" -eq 0 ] && ok "outpost exits 0" || not_ok "exit code $OUTPOST_RC"

# 2. PID 1.
if ! unshare --pid --fork --mount-proc true 2>/dev/null; then
	echo "# unshare --pid not permitted here: PID 1 part skipped"
	finish
	exit $?
fi
: >"$FAKE_K3S_LOG"
unshare --pid --fork --mount-proc "$OUTPOST" --state "$T/state.db" supervise --k3s "$FAKE_K3S" \
	--config "$T/supervise.json" --images-dir "$T/images" --platform none --backoff-base 100 \
	2>"$T/pid1.log" &
UNSHARE_PID=$!
on_exit "kill -9 $UNSHARE_PID 2>/dev/null || :"
wait_for 30 "k3s started under outpost as PID 1" -- grep -q "^start" "$FAKE_K3S_LOG"
PID1=$(pgrep -P "$UNSHARE_PID")
[ "$(awk '/^NSpid:/ {print $3}' "/proc/$PID1/status")" = 1 ] && ok "outpost is PID 1 in its namespace" ||
	not_ok "NSpid: $(grep NSpid "/proc/$PID1/status")"
wait_for 10 "the orphans are re-parented to PID 1" -- sh -c "[ \$(pgrep -P $PID1 | wc -l) -ge 5 ]"
# Crash k3s (SIGUSR1 is forwarded): the next k3s leaves more orphans.
kill -USR1 "$PID1"
wait_for 20 "k3s restarted" -- at_least 2 "^start" "$FAKE_K3S_LOG"
wait_for 20 "every orphan is reaped: k3s is PID 1's only child but the worker" -- \
	only_k3s_below "$PID1"
[ "$(zombies_below "$UNSHARE_PID")" -eq 0 ] && ok "zero zombies in the namespace" || not_ok "zombies in the namespace"
kill -TERM "$PID1"
set +e
wait "$UNSHARE_PID"
rc=$?
set -e
[ "$rc" -eq 0 ] && ok "PID 1 exits 0 on SIGTERM" || { not_ok "PID 1 exit code $rc"; sed 's/^/# /' "$T/pid1.log"; }
[ -z "$(pids_below "$UNSHARE_PID" 2>/dev/null)" ] && ok "no process left" || not_ok "processes left"
finish
