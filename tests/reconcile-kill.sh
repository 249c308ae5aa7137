#!/bin/sh
# SIGKILL of 'outpost reconcile --once' at random points of a 200-tenant pass,
# several times, then a rerun: the cluster converges to exactly the desired
# set, and every tenant's passwords agree between its Secret and the
# platform's copy (generated once, never twice).
# ok and not_ok always succeed, so "test && ok || not_ok" is an if-then-else here.
# shellcheck disable=SC2015,SC2119
. "$top_srcdir/tests/lib.sh"
skip_unless kubectl
skip_unless sqlite3
. "$top_srcdir/tests/reconcile/lib.sh"
rec_setup

rec_tenants k 200

# 50..1000 ms, from the kernel's randomness (POSIX sh has no $RANDOM).
random_ms() { echo $((50 + $(od -An -N2 -tu2 /dev/urandom) % 950)); }

kills=0
for round in 1 2 3 4 5; do
	"$OUTPOST" reconcile --once --kubeconfig "$KUBEAPI_KUBECONFIG" >"$T/killed.$round" 2>&1 &
	pid=$!
	ms=$(random_ms)
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	if kill -KILL $pid 2>/dev/null; then kills=$((kills + 1)); fi
	wait $pid 2>/dev/null || :
	echo "# round $round: killed after ${ms} ms"
done
# The first pass (2,800 creations) always outlasts its delay; later ones,
# with less left to do, may finish first on a fast machine.
[ $kills -ge 1 ] && ok "killed $kills of 5 passes in flight" || not_ok "no pass was killed in flight"

if rec_converge 20; then ok "a rerun converges"; else not_ok "a rerun converges"; fi
rec_owned "$T/owned"; rec_desired "$T/desired"
if cmp -s "$T/owned" "$T/desired"; then ok "exactly the desired set (2800 objects)"
else not_ok "exactly the desired set"; diff "$T/desired" "$T/owned" | head | sed 's/^/# /' >&2; fi
[ "$(wc -l <"$T/owned")" -eq 3000 ] && ok "200 x 15 objects" || not_ok "200 x 15 objects ($(wc -l <"$T/owned"))"
[ "$(sqlite3 "$OUTPOST_STATE" "SELECT count(*) FROM tenant_status WHERE phase = 'Ready'")" -eq 200 ] &&
	ok "200 Ready" || not_ok "200 Ready"

rec_objects Secret | "${PYTHON3:-python3}" -c '
import json, sys
data = {}
for o in json.load(sys.stdin)["items"]:
    m = o["metadata"]
    data[(m.get("namespace"), m["name"])] = o.get("data")
bad = [t for t in ("k%d" % i for i in range(200))
       if data.get(("t-" + t, "t-%s-credentials" % t)) != data.get(("outpost-platform", "outpost-tenant-" + t))
       or not data.get(("t-" + t, "t-%s-credentials" % t))]
print(len(bad), " ".join(bad[:5]))
' >"$T/mismatch"
[ "$(cut -d' ' -f1 "$T/mismatch")" = 0 ] && ok "every tenant's passwords agree with the platform copy" ||
	not_ok "passwords disagree: $(cat "$T/mismatch")"
rec_once
expect_grep "writes=0 " "$T/pass.out" "then a pass writes nothing"
finish
