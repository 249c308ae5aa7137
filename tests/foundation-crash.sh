#!/bin/sh
# Crash safety: imports killed with SIGKILL at random moments leave a database
# that passes integrity_check and holds each import completely or not at all.
. "$top_srcdir/tests/lib.sh"
skip_unless sqlite3

export OUTPOST_STATE="$T/state.db"
printf '{"cpu_millicores": 100000000, "memory_mib": 1000000000, "disk_gib": 100000000}\n' >"$T/huge.json"
export OUTPOST_PROFILE="$T/huge.json"
rounds=20 per=2000
"$OUTPOST" tenant add seed --host seed.example.com >/dev/null

i=0 killed=0 done_=0
while [ "$i" -lt "$rounds" ]; do
	awk -v p="$i" -v n="$per" 'BEGIN { for (j = 0; j < n; j++)
		printf "{\"name\": \"c%d-%d\", \"host\": \"c%d-%d.example.com\"}\n", p, j, p, j }' >"$T/imp.jsonl"
	"$OUTPOST" tenant import "$T/imp.jsonl" >/dev/null 2>"$T/imp.err" &
	pid=$!
	# 0 to 350 ms: before, during and after the transaction and its commit
	delay=$(od -An -N2 -tu2 /dev/urandom | awk '{ printf "%.3f", ($1 % 350) / 1000 }')
	sleep "$delay"
	kill -KILL "$pid" 2>/dev/null || true
	rc=0
	{ wait "$pid"; } 2>/dev/null || rc=$?
	case $rc in
	0) done_=$((done_ + 1)) ;;
	137) killed=$((killed + 1)) ;;
	*) not_ok "import $i failed by itself (exit $rc)"; sed 's/^/# /' "$T/imp.err" >&2 ;;
	esac
	check=$(sqlite3 "$OUTPOST_STATE" "PRAGMA integrity_check")
	[ "$check" = ok ] || not_ok "integrity_check after round $i: $check"
	i=$((i + 1))
done
echo "# $rounds imports: $done_ finished, $killed killed"

bad=$(sqlite3 "$OUTPOST_STATE" "SELECT p, n FROM (SELECT substr(name, 1, instr(name, '-') - 1) AS p,
	count(*) AS n FROM tenants WHERE name GLOB 'c*-*' GROUP BY p) WHERE n != $per")
expect_true "every import is all or nothing" -- [ -z "$bad" ]
expect_true "integrity_check is ok" -- [ "$(sqlite3 "$OUTPOST_STATE" "PRAGMA integrity_check")" = ok ]
expect_exit 0 "the store is usable after the crashes" -- "$OUTPOST" tenant add after --host after.example.com
expect_exit 0 "and lists" -- "$OUTPOST" tenant list --json
finish
