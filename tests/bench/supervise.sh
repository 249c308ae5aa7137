#!/bin/sh
# Benchmark: an idle `outpost supervise` with a healthy fake k3s (serving the
# test API), the reconciler on (no tenants), the watchdog at systemd's 90 s.
# Over a window (60 s; BENCH_SECONDS to change) prints RSS, CPU time and
# wakeups per second (context switches of the supervisor, from /proc).
# The worker (the API work) runs as a child while there is work and for a
# health check every --poll-idle: its runs, CPU time and peak RSS are
# printed too. Goals: RSS <= 8 MB, <= 1 wakeup/s. Asserts nothing.
set -eu
: "${OUTPOST:?run through make bench (OUTPOST is not set)}"
: "${top_srcdir:?}"
PYTHON3=${PYTHON3:-python3}
window=${BENCH_SECONDS:-60}
T=$(mktemp -d "${TMPDIR:-/tmp}/outpost-bench.XXXXXX")
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null || :; done; sleep 0.5; rm -rf "$T"' EXIT

mkdir -p "$T/api"
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$PYTHON3" "$top_srcdir/tests/fake-k3s" >"$T/k3s"
chmod +x "$T/k3s"
printf 'api=%s\n' "$T/api" >"$T/control"
echo '{}' >"$T/supervise.json"
FAKE_K3S_CONTROL=$T/control FAKE_K3S_LOG=$T/k3s.log FAKE_K3S_KUBEAPI=$top_srcdir/tests/kubeapi/server.py
export FAKE_K3S_CONTROL FAKE_K3S_LOG FAKE_K3S_KUBEAPI
"$PYTHON3" "$top_srcdir/tests/notify-listener.py" "$T/notify.sock" "$T/notify" &
pids="$!"
while ! grep -q LISTENING "$T/notify" 2>/dev/null; do sleep 0.1; done

NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=90000000 /usr/bin/time -f '%M' -o "$T/time" \
	"$OUTPOST" --state "$T/state.db" supervise --k3s "$T/k3s" --config "$T/supervise.json" \
	--kubeconfig "$T/api/kubeconfig" --ready api --platform none --images-dir "$T/images" \
	2>"$T/outpost.log" &
timer=$!
pids="$timer $pids"
i=0
while ! grep -q READY=1 "$T/notify" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 600 ] || { echo "no READY=1 after 60 s"; cat "$T/outpost.log"; exit 1; }
	sleep 0.1
done
sleep 3 # the first reconcile pass and the start-up settle
# The supervising process is /usr/bin/time's child; workers are its children.
pid=$(pgrep -P "$timer")
# Workers come and go (a health check every --poll-idle, 30 s by default):
# note each one and its peak RSS while the window lasts.
(
	while :; do
		kids=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null) || break
		for w in $kids; do
			hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$w/status" 2>/dev/null) || continue
			grep -q -- --worker-fd "/proc/$w/cmdline" 2>/dev/null && echo "$w ${hwm:-0}" >>"$T/workers"
		done
		sleep 0.02
	done
) &
pids="$! $pids"

sample() { # ctx switches, CPU ticks, CPU ticks of reaped children (the workers)
	awk '/^voluntary_ctxt_switches|^nonvoluntary_ctxt_switches/ { n += $2 } END { printf "%d ", n }' "/proc/$pid/status"
	awk '{ print $14 + $15, $16 + $17 }' "/proc/$pid/stat"
}
read -r cs0 cpu0 ccpu0 <<EOS
$(sample)
EOS
: >"$T/workers"
sleep "$window"
read -r cs1 cpu1 ccpu1 <<EOS
$(sample)
EOS
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
tck=$(getconf CLK_TCK)
private=$(awk '/^Private_(Clean|Dirty)/ { n += $2 } END { print n }' "/proc/$pid/smaps_rollup")
pss=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup")
kill -TERM "$pid"
wait "$timer" 2>/dev/null || :
peak=$(cat "$T/time" 2>/dev/null || echo "?")

printf 'supervise idle, %s s window (healthy k3s, API ready, reconciler on, watchdog 90 s)\n' "$window"
printf '  RSS now             %6s KiB   (goal <= 8192)\n' "$rss"
printf '  RSS peak (VmHWM)    %6s KiB   (/usr/bin/time %%M: %s KiB, which counts the fake k3s and API server too)\n' "$hwm" "$peak"
printf '  private / PSS       %6s / %s KiB (the rest of RSS is shared library pages)\n' "$private" "$pss"
printf '  CPU time            %6s ms\n' "$(((cpu1 - cpu0) * 1000 / tck))"
printf '  worker runs         %6s       their CPU time %s ms, peak RSS of the largest %s KiB\n' \
	"$(awk '{ print $1 }' "$T/workers" | sort -u | wc -l)" "$(((ccpu1 - ccpu0) * 1000 / tck))" \
	"$(awk '$2 > m { m = $2 } END { print m + 0 }' "$T/workers")"
awk -v c="$((cs1 - cs0))" -v w="$window" 'BEGIN { printf "  wakeups             %6d       = %.2f per second (goal <= 1)\n", c, c / w }'
printf '  watchdog messages   %6s       k3s restarts: %s\n' "$(grep -c WATCHDOG=1 "$T/notify" || :)" \
	"$(($(grep -c '^start' "$T/k3s.log") - 1))"
