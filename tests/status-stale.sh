#!/bin/sh
# outpost status says when the supervisor is not running (k3s's row says it
# runs but names a pid that is gone, or was written before this boot), and
# status --json carries RFC 3339 times like the tenant JSON.
# ok and not_ok always succeed, so "test && ok || not_ok" is an if-then-else here.
# shellcheck disable=SC2015
. "$top_srcdir/tests/lib.sh"
skip_unless sqlite3
export OUTPOST_STATE="$T/state.db" OUTPOST_PROFILE="$T/ref.json"
printf '{"cpu_millicores": 8000, "memory_mib": 16384, "disk_gib": 100}\n' >"$T/ref.json"
"$OUTPOST" tenant add acme --host acme.example.com >/dev/null || { not_ok "create the store"; finish; exit 1; }

# A live k3s stand-in, and the pid of a process that has exited.
sleep 600 & live=$!
on_exit "kill $live 2>/dev/null"
sh -c 'exit 0' & gone=$!
wait $gone
now=$(date +%s)
row() { # row PHASE PID UPDATED_AT
	sqlite3 "$OUTPOST_STATE" "INSERT OR REPLACE INTO component_status (name, phase, pid, started_at, updated_at) VALUES ('k3s', '$1', $2, $3, $3)"
}
json_check() { # json_check PYTHON-ASSERTIONS DESCRIPTION
	"$OUTPOST" status --json >"$T/json" 2>"$T/err" && "$PYTHON3" -c "
import json, re, sys
d = json.load(open('$T/json'))
k = [c for c in d['components'] if c['name'] == 'k3s'][0]
rfc = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
$1" && ok "$2" || { not_ok "$2"; sed 's/^/# /' "$T/json" "$T/err"; }
}

row Running "$live" "$now"
expect_exit 0 "status with a live k3s" -- "$OUTPOST" status
expect_grep "^k3s  *Running  *$live " "$T/out" "the row is shown"
grep -q "not running" "$T/out" && not_ok "no warning while k3s lives" || ok "no warning while k3s lives"
json_check "assert d['supervisor'] == {'running': True, 'why_not': None}, d['supervisor']
assert rfc.match(k['updated_at']) and rfc.match(k['started_at']), k" \
	"status --json: RFC 3339 times, supervisor running"
expect_exit 0 "tenant JSON for comparison" -- "$OUTPOST" tenant show acme --json
"$PYTHON3" -c "
import json, re, sys
t = json.load(open('$T/out'))
t = t[0] if isinstance(t, list) else t
assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$', t['updated_at'])" && ok "the tenant JSON uses the same form" || not_ok "the tenant JSON uses the same form"

row Running "$gone" "$now"
expect_exit 0 "status with k3s's pid gone" -- "$OUTPOST" status
expect_fgrep "The supervisor is not running (the k3s pid it reported is gone)" "$T/out" "says the supervisor is not running"
json_check "assert d['supervisor'] == {'running': False, 'why_not': 'the k3s pid it reported is gone'}, d" \
	"status --json: supervisor not running"

row Running "$live" 1
expect_exit 0 "status with rows from before this boot" -- "$OUTPOST" status
expect_fgrep "The supervisor is not running (its last report is from before this boot)" "$T/out" "says the report predates the boot"

row Stopped 0 "$now"
expect_exit 0 "status after a clean stop" -- "$OUTPOST" status
grep -q "not running (" "$T/out" && not_ok "a Stopped k3s is not a stale report" || ok "a Stopped k3s is not a stale report"
finish
