#!/bin/sh
# Benchmark: scrapes of `outpost supervise`'s metrics endpoint (Unix socket)
# with 1,000 tenants in the state file (each with a status row: the scrape
# counts them by phase in one query). Prints the time per scrape (median, 99th
# percentile, over 500 sequential scrapes), the body size, and the
# supervising process's RSS and CPU time before and after. The fake k3s serves
# no API, so no worker ever passes: what is measured is the endpoint alone.
# Asserts nothing.
set -eu
: "${OUTPOST:?run through make bench (OUTPOST is not set)}"
: "${top_srcdir:?}"
PYTHON3=${PYTHON3:-python3}
n=${BENCH_SCRAPES:-500}
T=$(mktemp -d "${TMPDIR:-/tmp}/outpost-bench.XXXXXX")
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null || :; done; sleep 0.5; rm -rf "$T"' EXIT

printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$PYTHON3" "$top_srcdir/tests/fake-k3s" >"$T/k3s"
chmod +x "$T/k3s"
: >"$T/control"
echo '{}' >"$T/supervise.json"
FAKE_K3S_CONTROL=$T/control FAKE_K3S_LOG=$T/k3s.log
export FAKE_K3S_CONTROL FAKE_K3S_LOG
# A box big enough that admission lets 1,000 tenants in.
echo '{"cpu_millicores": 2000000, "memory_mib": 8000000, "disk_gib": 100000}' >"$T/profile.json"
OUTPOST_PROFILE=$T/profile.json; export OUTPOST_PROFILE
"$PYTHON3" -c 'import json
for i in range(1000):
    print(json.dumps({"name": "t%04d" % i, "host": "t%04d.example.test" % i, "plan": "small"}))' >"$T/tenants.jsonl"
"$OUTPOST" --state "$T/state.db" tenant import "$T/tenants.jsonl" >/dev/null
sqlite3 "$T/state.db" "insert into tenant_status select name, 'Ready', '', generation, 0 from tenants"

"$OUTPOST" --state "$T/state.db" supervise --k3s "$T/k3s" --config "$T/supervise.json" \
	--kubeconfig "$T/kubeconfig" --reconcile-check 0 --platform none --images-dir "$T/images" \
	--metrics "unix:$T/metrics.sock" 2>"$T/outpost.log" &
pid=$!
pids="$pid"
i=0
while [ ! -S "$T/metrics.sock" ]; do
	i=$((i + 1)); [ $i -lt 300 ] || { echo "no metrics socket after 30 s"; cat "$T/outpost.log"; exit 1; }
	sleep 0.1
done
tck=$(getconf CLK_TCK)
rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
cpu0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
"$PYTHON3" - "$T/metrics.sock" "$n" >"$T/result" <<'PY'
import socket, sys, time
path, n = sys.argv[1], int(sys.argv[2])
times, size = [], 0
for _ in range(n):
    t0 = time.perf_counter()
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    times.append(time.perf_counter() - t0)
    assert data.startswith(b"HTTP/1.0 200 "), data[:80]
    size = len(data.split(b"\r\n\r\n", 1)[1])
times.sort()
print("%.2f %.2f %d" % (times[len(times) // 2] * 1000, times[int(len(times) * 0.99)] * 1000, size))
PY
cpu1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
rss1=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
kill -TERM "$pid"
wait "$pid" 2>/dev/null || :
read -r median p99 size <"$T/result"
printf 'metrics endpoint, %s scrapes over a Unix socket, 1,000 tenants in the state file\n' "$n"
printf '  per scrape          median %s ms, 99th percentile %s ms (client included)\n' "$median" "$p99"
printf '  body                %6s bytes\n' "$size"
printf '  supervising process CPU %s ms for all scrapes; RSS %s KiB before, %s KiB after\n' \
	"$(((cpu1 - cpu0) * 1000 / tck))" "$rss0" "$rss1"
