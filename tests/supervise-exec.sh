#!/bin/sh
# A k3s that cannot be executed: the supervisor's log names the path and the
# error (not a bare "exec failed" in what looks like a crash loop), for a
# missing file and for one without the execute bit.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/supervise-lib.sh"

touch "$T/not-executable"
for k3s in "$T/missing/k3s:No such file or directory" "$T/not-executable:Permission denied"; do
	path=${k3s%%:*}; why=${k3s#*:}
	"$OUTPOST" --state "$T/state.db" supervise --k3s "$path" --config "$T/supervise.json" \
		--images-dir "$T/images" --platform none 2>"$T/outpost.log" &
	OUTPOST_PID=$!
	on_exit "kill -9 $OUTPOST_PID 2>/dev/null || :"
	wait_for 20 "exec of $path: the log names the path and '$why'" -- \
		grep -qF "[k3s] outpost: exec $path: $why" "$T/outpost.log" || sed 's/^/# /' "$T/outpost.log" >&2
	stop_outpost
done
finish
