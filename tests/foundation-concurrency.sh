#!/bin/sh
# Two writers (and a reader) at once, starting on a file that does not exist
# yet: no lost writes and no "database is locked" reaching the user.
. "$top_srcdir/tests/lib.sh"

export OUTPOST_STATE="$T/state/state.db"
printf '{"cpu_millicores": 1000000, "memory_mib": 10000000, "disk_gib": 100000}\n' >"$T/huge.json"
export OUTPOST_PROFILE="$T/huge.json"
n=50

writer() { # writer PREFIX: adds n tenants, then changes each once
	i=0
	while [ "$i" -lt "$n" ]; do
		"$OUTPOST" tenant add "$1-$i" --host "$1-$i.example.com" >/dev/null 2>>"$T/$1.err" ||
			echo "add $1-$i exit $?" >>"$T/$1.fail"
		"$OUTPOST" tenant set "$1-$i" --set round=1 >/dev/null 2>>"$T/$1.err" ||
			echo "set $1-$i exit $?" >>"$T/$1.fail"
		i=$((i + 1))
	done
}
reader() {
	while [ ! -e "$T/stop" ]; do
		# before the first writer has created the file, "does not exist" is the right answer
		"$OUTPOST" tenant list --json >/dev/null 2>>"$T/r.err" || grep -q "does not exist" "$T/r.err" ||
			echo "list exit" >>"$T/r.fail"
		: >"$T/r.err"
	done
}

reader &
rpid=$!
writer a &
apid=$!
writer b &
bpid=$!
wait "$apid"
wait "$bpid"
: >"$T/stop"
wait "$rpid"

for f in a b r; do
	if [ -s "$T/$f.fail" ]; then not_ok "$f: every command succeeded"; sed 's/^/# /' "$T/$f.fail" "$T/$f.err" >&2
	else ok "$f: every command succeeded"; fi
done
if cat "$T"/*.err 2>/dev/null | grep -qi "locked"; then not_ok "no 'database is locked' reached the user"
else ok "no 'database is locked' reached the user"; fi
expect_exit 0 "list" -- "$OUTPOST" tenant list --json
got=$(grep -c '"name":' "$T/out")
expect_true "all $((2 * n)) tenants are there" -- [ "$got" -eq $((2 * n)) ]
gens=$(grep -c '"generation": 2' "$T/out")
expect_true "every change landed (generation 2)" -- [ "$gens" -eq $((2 * n)) ]

# Three processes creating the same new file at once, several times over.
round=0
while [ "$round" -lt 10 ]; do
	for p in x y z; do
		OUTPOST_STATE="$T/race$round/state.db" "$OUTPOST" tenant add "$p" --host "$p.example.com" \
			>/dev/null 2>>"$T/race.err" || echo "round $round $p exit $?" >>"$T/race.fail" &
	done
	wait
	round=$((round + 1))
done
if [ -s "$T/race.fail" ]; then not_ok "concurrent creation: every add succeeded"; sed 's/^/# /' "$T/race.fail" "$T/race.err" >&2
else ok "concurrent creation: every add succeeded"; fi
finish
