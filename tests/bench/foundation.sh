#!/bin/sh
# Benchmark: `tenant import` of 10,000 tenants and `tenant list --json` over
# them. Prints wall time and peak RSS; asserts nothing about either.
set -eu
: "${OUTPOST:?run through make bench (OUTPOST is not set)}"
n=${BENCH_TENANTS:-10000}
T=$(mktemp -d "${TMPDIR:-/tmp}/outpost-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT

export OUTPOST_STATE="$T/state.db"
# Big enough that admission accepts them all: 10,000 large plans need 10,000 cores.
printf '{"cpu_millicores": 100000000, "memory_mib": 1000000000, "disk_gib": 100000000}\n' >"$T/profile.json"
export OUTPOST_PROFILE="$T/profile.json"

awk -v n="$n" 'BEGIN {
	split("small medium large", plan, " ")
	for (i = 0; i < n; i++)
		printf "{\"name\": \"tenant-%05d\", \"host\": \"tenant-%05d.apps.example.com\", \"plan\": \"%s\", " \
		       "\"app\": {\"chart\": \"wordpress\", \"version\": \"6.4.%d\"}, " \
		       "\"values\": {\"replicaCount\": \"%d\", \"ingress.tls\": \"true\"}}\n", i, i, plan[i % 3 + 1], i % 10, i % 3 + 1
}' >"$T/tenants.jsonl"

measure() { # measure LABEL command...: prints "LABEL: wall S s, peak RSS K KiB"
	label=$1; shift
	/usr/bin/time -f '%e %M' -o "$T/time" "$@" >"$T/stdout" 2>"$T/stderr" || {
		echo "$label failed:"; cat "$T/stderr"; exit 1; }
	read -r wall rss <"$T/time"
	printf '%-28s wall %6s s   peak RSS %7s KiB\n' "$label:" "$wall" "$rss"
}

echo "tenants: $n ($(wc -c <"$T/tenants.jsonl") bytes of JSON lines)"
measure "tenant import" "$OUTPOST" tenant import "$T/tenants.jsonl"
measure "tenant list --json" "$OUTPOST" tenant list --json
echo "list --json output: $(wc -c <"$T/stdout") bytes, $(grep -c '"name":' "$T/stdout") tenants"
measure "tenant list (table)" "$OUTPOST" tenant list
measure "tenant export" "$OUTPOST" tenant export
measure "tenant add (10,001st)" "$OUTPOST" tenant add extra --host extra.apps.example.com
measure "capacity --json" "$OUTPOST" capacity --json
echo "state file: $(wc -c <"$OUTPOST_STATE") bytes"
