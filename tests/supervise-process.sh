#!/bin/sh
# How k3s is run: its own process group, no inherited descriptors, an empty
# signal mask, no NOTIFY_SOCKET, output logged line by line; signals forwarded;
# SIGHUP reloads; shutdown SIGKILLs a k3s that ignores SIGTERM after the grace
# period, exits 0 and leaves no process behind.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/supervise-lib.sh"

expect_exit 0 "supervise --help exits 0" -- "$OUTPOST" supervise --help
expect_grep "^Usage: outpost supervise" "$T/out" "--help prints the usage"
expect_exit 2 "a bad --ready is a usage error" -- "$OUTPOST" supervise --ready soon
expect_grep "^outpost: --ready: \"soon\" is not api or platform" "$T/err" "names the value"
expect_exit 2 "back-off max below base is refused" -- \
	"$OUTPOST" supervise --config "$T/supervise.json" --backoff-base 500 --backoff-max 100
expect_grep "back-off maximum is below the base" "$T/err" "says why"
echo '{"k3s": 5}' >"$T/bad.json"
expect_exit 2 "a config file with a wrong type is refused" -- "$OUTPOST" supervise --config "$T/bad.json"
expect_grep "bad.json: \"k3s\" has the wrong type" "$T/err" "names the file and key"
echo '{"frobnicate": 1}' >"$T/bad.json"
expect_exit 2 "an unknown config key is refused" -- "$OUTPOST" supervise --config "$T/bad.json"
expect_grep "bad.json: unknown key \"frobnicate\"" "$T/err" "names the key"

# NOTIFY_SOCKET set (no listener needed: datagrams to a missing socket are dropped).
NOTIFY_SOCKET=$T/nobody; export NOTIFY_SOCKET
cat >"$FAKE_K3S_CONTROL" <<'CTL'
ignore_term=1
group_child=1
CTL
echo '{"k3s-arg": ["server", "--disable=traefik"], "backoff-base": 5000}' >"$T/supervise.json"
start_outpost --grace 1500 --backoff-base 100
wait_for 30 "k3s started" -- grep -q "^start" "$FAKE_K3S_LOG"
line=$(grep "^start" "$FAKE_K3S_LOG" | head -1)
pid=$(echo "$line" | sed 's/.* pid=\([0-9]*\) .*/\1/')
case $line in *"pgrp=$pid "*) ok "k3s leads its own process group" ;; *) not_ok "process group: $line" ;; esac
case $line in *"notify=absent"*) ok "NOTIFY_SOCKET is not passed to k3s" ;; *) not_ok "notify: $line" ;; esac
case $line in *"sigblk=0000000000000000"*) ok "k3s starts with an empty signal mask" ;; *) not_ok "mask: $line" ;; esac
case $line in *"fds=none"*) ok "no descriptor >= 3 reaches k3s" ;; *) not_ok "fds: $line" ;; esac
case $line in *"args=server,--disable=traefik"*) ok "k3s gets its arguments from the file" ;; *) not_ok "args: $line" ;; esac
wait_for 20 "k3s's stdout is logged with a prefix" -- grep -q "\[k3s\] fake-k3s: starting, pid $pid" "$T/outpost.log"
expect_grep "\[k3s\] fake-k3s: a line on stderr" "$T/outpost.log" "k3s's stderr is logged too"

# SIGUSR1 is forwarded: the fake has no handler, so it dies of it (128+10).
kill -USR1 "$OUTPOST_PID"
wait_for 20 "SIGUSR1 reaches k3s" -- grep -q "pid $pid exited with status 138" "$T/outpost.log"
wait_for 20 "k3s is restarted" -- at_least 2 "^start" "$FAKE_K3S_LOG"
expect_grep "restart in 100 ms" "$T/outpost.log" "the command line's back-off beats the file's"
kill -0 "$OUTPOST_PID" && ok "outpost survives k3s's exit"

# SIGHUP: the new arguments apply at the next start.
echo '{"k3s-arg": ["server", "--reloaded"]}' >"$T/supervise.json"
kill -HUP "$OUTPOST_PID"
wait_for 20 "SIGHUP reloads the configuration" -- grep -q "configuration reloaded" "$T/outpost.log"
pid=$(grep "^start" "$FAKE_K3S_LOG" | tail -1 | sed 's/.* pid=\([0-9]*\) .*/\1/')
kill -USR1 "$OUTPOST_PID"
wait_for 20 "the reloaded arguments are used at the next start" -- grep -q "args=server,--reloaded" "$FAKE_K3S_LOG"

# Shutdown with a k3s (and a group member) ignoring SIGTERM.
wait_for 20 "third k3s running" -- at_least 3 "^start" "$FAKE_K3S_LOG"
pid=$(grep "^start" "$FAKE_K3S_LOG" | tail -1 | sed 's/.* pid=\([0-9]*\) .*/\1/')
wait_for 20 "k3s's group has a child" -- sh -c "[ \$(pgrep -g $pid | wc -l) -ge 2 ]"
members=$(pgrep -g "$pid" | tr '\n' ' ')
t0=$(date +%s%N)
stop_outpost
t1=$(date +%s%N)
[ "$OUTPOST_RC" -eq 0 ] && ok "outpost exits 0 after SIGTERM" || not_ok "exit code $OUTPOST_RC"
ms=$(((t1 - t0) / 1000000))
[ "$ms" -ge 1400 ] && [ "$ms" -lt 15000 ] && ok "SIGKILL came after the 1.5 s grace period (${ms} ms)" ||
	not_ok "shutdown took ${ms} ms"
expect_grep "still running after the grace period: sent SIGKILL to process group $pid" "$T/outpost.log" \
	"the SIGKILL is logged"
left=""
for m in $members; do kill -0 "$m" 2>/dev/null && left="$left $m"; done
[ -z "$left" ] && ok "no process of k3s's group is left when outpost exits" ||
	not_ok "left:$left ($(for m in $left; do grep ^State: "/proc/$m/status"; done))"

# SIGTERM while k3s is down (back-off): what the dead k3s left in its
# process group is killed and reaped too.
: >"$FAKE_K3S_LOG"
printf 'group_child=1\ncrash_after=0.5\n' >"$FAKE_K3S_CONTROL"
start_outpost --backoff-base 60000 --grace 1000
wait_for 30 "k3s crashed, leaving a group member" -- grep -q "^crash" "$FAKE_K3S_LOG"
pid=$(grep "^start" "$FAKE_K3S_LOG" | tail -1 | sed 's/.* pid=\([0-9]*\) .*/\1/')
wait_for 10 "outpost waits in back-off" -- grep -q "restart in 60000 ms" "$T/outpost.log"
members=$(pgrep -g "$pid" | tr '\n' ' ')
[ -n "$members" ] && ok "the group still has a member ($members)" || not_ok "no group member"
stop_outpost
[ "$OUTPOST_RC" -eq 0 ] && ok "outpost exits 0 from back-off" || not_ok "exit code $OUTPOST_RC"
left=""
for m in $members; do kill -0 "$m" 2>/dev/null && left="$left $m"; done
[ -z "$left" ] && ok "the dead k3s's group member is gone" || not_ok "left:$left"

# A supervisor killed outright (watchdog abort, OOM) takes k3s with it.
: >"$FAKE_K3S_CONTROL"
: >"$FAKE_K3S_LOG"
start_outpost
wait_for 30 "k3s started again" -- grep -q "^start" "$FAKE_K3S_LOG"
kill -KILL "$OUTPOST_PID"
wait "$OUTPOST_PID" 2>/dev/null || :
wait_for 20 "k3s gets SIGTERM when its supervisor dies" -- grep -q "^term" "$FAKE_K3S_LOG"
finish
