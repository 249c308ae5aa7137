#!/bin/sh
# The platform charts' rendered sizes (requests, limits, volume sizes) equal
# charts/capacity.json, their workloads are the ones charts/platform.json
# names, and the platform's requests stay within 3 CPUs and 4.5 GiB.
. "$top_srcdir/tests/lib.sh"

skip_unless helm
skip_unless kubectl
check="$top_srcdir/tests/charts_check.py"

expect_exit 0 "charts agree with capacity.json and fit the ceiling" -- "$PYTHON3" "$check" budget
cat "$T/out"

# A capacity file that disagrees with a chart is caught, naming both.
"$PYTHON3" - "$top_srcdir/charts/capacity.json" "$T/cap.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["platform"]["postgresql"]["memory_request_mib"] += 256
json.dump(c, open(sys.argv[2], "w"))
PY
CAPACITY="$T/cap.json" expect_exit 1 "a chart disagreeing with capacity.json fails" -- "$PYTHON3" "$check" budget
expect_grep 'postgresql: memory_request_mib is 1280 in the chart but 1536 in capacity.json' "$T/out" "the failure names component, key and both numbers"

# Requests over the ceiling are caught even when charts and file agree.
"$PYTHON3" - "$top_srcdir/charts/capacity.json" "$T/cap2.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["platform"]["keycloak"]["cpu_request_millicores"] = 1500
c["platform"]["minio"]["memory_request_mib"] = 1500
json.dump(c, open(sys.argv[2], "w"))
PY
CAPACITY="$T/cap2.json" expect_exit 1 "requests over 3 CPUs / 4.5 GiB fail" -- "$PYTHON3" "$check" budget
expect_grep 'CPU requests 3250m exceed 3000m' "$T/out" "CPU over the ceiling is named"
expect_grep 'memory requests 4700 MiB exceed 4608 MiB' "$T/out" "memory over the ceiling is named"

# A workload platform.json names but no chart renders is caught.
sed 's/"name": "redis" }/"name": "valkey" }/' "$top_srcdir/charts/platform.json" >"$T/platform.json"
PLATFORM="$T/platform.json" expect_exit 1 "a workload missing from its chart fails" -- "$PYTHON3" "$check" budget
expect_grep 'renders no StatefulSet/valkey' "$T/out" "the failure names the workload"
finish
