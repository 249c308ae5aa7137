#!/bin/sh
# 20 consecutive k3s crashes: outpost stays up, the restart delays double from
# the base and cap at the maximum (checked from recorded timestamps), the
# crash loop is reported (log, STATUS=, status row), and when k3s stops
# crashing a healthy period resets everything.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/supervise-lib.sh"
skip_unless sqlite3

start_listener "$T/notify.sock"
echo "crash_after=0" >"$FAKE_K3S_CONTROL"
start_outpost --backoff-base 20 --backoff-max 320 --crash-loop 5 --crash-window 30000 \
	--healthy-after 1500
# 20 starts of the Python fake k3s: about 6 s idle, but over 60 s with
# stress-ng and other builds on both cores (check-stress, load 26).
wait_for 180 "20 crashes" -- at_least 20 "^crash" "$FAKE_K3S_LOG"
k3s_row_is() { [ "$(sqlite3 "$T/state.db" "select phase || '|' || message from component_status where name = 'k3s'")" = "$1" ]; }
wait_for 10 "the status row reports the crash loop" -- k3s_row_is "CrashLoop|k3s crash loop: 5 exits in 30 s"
: >"$FAKE_K3S_CONTROL"
kill -0 "$OUTPOST_PID" && ok "outpost stays up through the crashes"

# The machine's decisions: 20 40 80 160, then the crash loop's 320 for ever.
want="20 40 80 160 320 320 320 320 320 320 320 320 320 320 320 320 320 320 320 320"
got=$(grep -o "restart in [0-9]* ms" "$T/outpost.log" | head -20 | awk '{printf "%s%s", (NR > 1 ? " " : ""), $3}')
[ "$got" = "$want" ] && ok "delays double from 20 ms and cap at 320 ms" || not_ok "delays: $got"

# The real delays, from k3s's exit to the next exec (CLOCK_BOOTTIME, 10 ms
# resolution): never shorter than decided, and not much longer (0.5 s of
# slack for a loaded machine).
awk -v want="$want" '
	BEGIN { n = split(want, w, " ") }
	/^crash/ { sub("boot=", "", $4); c[++nc] = $4 }
	/^exec/ { s[++ns] = $2 }
	END {
		bad = 0
		for (i = 1; i <= n && i + 1 <= ns; i++) {
			ms = (s[i + 1] - c[i]) * 1000
			printf "crash %d: %.0f ms, decided %d\n", i, ms, w[i]
			if (ms < w[i] - 10 || ms > w[i] + 500) bad = 1
		}
		exit bad
	}' "$FAKE_K3S_LOG" >"$T/delays" && ok "measured delays match (-10 ms, +500 ms)" ||
	{ not_ok "measured delays"; sed 's/^/# /' "$T/delays"; }
expect_grep "crash loop: 5 exits in 30 s; retrying every 320 ms" "$T/outpost.log" "the crash loop is logged"
expect_grep "STATUS=k3s crash loop: 5 exits in 30 s" "$T/notify" "STATUS= reports the crash loop"
[ "$(count_lines "crash loop:" "$T/outpost.log")" -eq 1 ] && ok "the crash loop is logged once" ||
	not_ok "crash loop logged $(count_lines "crash loop:" "$T/outpost.log") times"

wait_for 30 "a k3s that stays up resets the back-off" -- grep -q "back-off reset" "$T/outpost.log"
wait_for 10 "STATUS= leaves the crash loop" -- sh -c "tail -1 '$T/notify' | grep -q 'STATUS=waiting for API'"
row=$(sqlite3 "$T/state.db" "select phase, restarts, pid > 0 from component_status where name = 'k3s'")
case $row in "Running|"*"|1") ok "status row: k3s running ($row)" ;; *) not_ok "status row: $row" ;; esac
restarts=$(echo "$row" | cut -d'|' -f2)
[ "$restarts" -ge 20 ] && ok "status row counts $restarts restarts" || not_ok "restarts: $restarts"
stop_outpost
[ "$OUTPOST_RC" -eq 0 ] && ok "outpost exits 0" || not_ok "exit code $OUTPOST_RC"
finish
