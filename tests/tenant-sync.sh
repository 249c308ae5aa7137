#!/bin/sh
# outpost tenant sync NAME: a commit the daemon's change detection sees (the
# store's data_version, which reconcile_wants_pass polls, moves for a
# connection that stays open, as the daemon's does), an event naming the
# request, exit 3 for a tenant that does not exist.
# ok and not_ok always succeed, so "test && ok || not_ok" is an if-then-else here.
# shellcheck disable=SC2015
. "$top_srcdir/tests/lib.sh"
export OUTPOST_STATE="$T/state.db" OUTPOST_PROFILE="$T/ref.json"
printf '{"cpu_millicores": 8000, "memory_mib": 16384, "disk_gib": 100}\n' >"$T/ref.json"
expect_exit 0 "add" -- "$OUTPOST" tenant add acme --host acme.example.com

# A long-lived connection, like the daemon's, watches data_version across the sync.
"$PYTHON3" - "$OUTPOST_STATE" "$OUTPOST" >"$T/py.out" 2>&1 <<'PY' && ok "sync moves the data_version an open connection sees" || { not_ok "sync moves the data_version an open connection sees"; sed 's/^/# /' "$T/py.out"; }
import sqlite3, subprocess, sys
db = sqlite3.connect(sys.argv[1])
before = db.execute("PRAGMA data_version").fetchone()[0]
subprocess.run([sys.argv[2], "tenant", "sync", "acme"], check=True, stdout=subprocess.DEVNULL)
after = db.execute("PRAGMA data_version").fetchone()[0]
assert after != before, (before, after)
PY
expect_exit 0 "show" -- "$OUTPOST" tenant show acme
expect_grep "SyncRequested  *tenant sync by the CLI (generation 1)" "$T/out" "the event records the request"
expect_exit 0 "the generation is unchanged" -- "$OUTPOST" tenant show acme --json
expect_fgrep '"generation": 1' "$T/out" "generation still 1"
expect_exit 3 "sync of a missing tenant is refused" -- "$OUTPOST" tenant sync nosuch
expect_fgrep "outpost: tenant sync: tenant 'nosuch': no such tenant" "$T/err" "names the tenant"
expect_exit 2 "sync without NAME is a usage error" -- "$OUTPOST" tenant sync
finish
