#!/bin/sh
# Under injected faults (10% 5xx, 5% 429 with Retry-After, 2% connections
# dropped before and 2% after the write landed, added latency) the reconciler
# converges to exactly the desired set: no duplicates, no orphans. Also: a
# list whose continue token expires starts over, and a bearer token works.
# ok and not_ok always succeed, so "test && ok || not_ok" is an if-then-else here.
# shellcheck disable=SC2015,SC2119
. "$top_srcdir/tests/lib.sh"
skip_unless kubectl
skip_unless sqlite3
. "$top_srcdir/tests/reconcile/lib.sh"
rec_setup --token "s3cret-token"

rec_tenants f 12

kubeapi_ctl faults '{"seed": 7, "error_rate": 0.10, "throttle_rate": 0.05, "retry_after": 1,
	"drop_rate": 0.02, "drop_after_rate": 0.02, "latency_ms": 2, "jitter_ms": 8}' >/dev/null
if rec_converge 60; then ok "12 tenants converge under faults"; else not_ok "12 tenants converge under faults"; fi
for t in f3 f4 f5; do "$OUTPOST" tenant rm "$t" >/dev/null; done
for t in f10 f11; do "$OUTPOST" tenant set "$t" --plan medium >/dev/null; done
"$OUTPOST" tenant suspend f9 >/dev/null
if rec_converge 60; then ok "removals and changes converge under faults"; else not_ok "removals and changes converge under faults"; fi

kubeapi_ctl counters >"$T/counters"
for f in '"throttle": [1-9]' '"drop": [1-9]' '"drop_after": [1-9]' '"50[0-4]": [1-9]'; do
	expect_grep "$f" "$T/counters" "the server injected $f"
done
kubeapi_ctl faults '{}' >/dev/null
rec_once
[ "$rec_rc" -eq 0 ] && expect_grep "writes=0 " "$T/pass.out" "once converged, a pass without faults writes nothing" ||
	not_ok "a pass without faults succeeds"
rec_owned "$T/owned"; rec_desired "$T/desired"
if cmp -s "$T/owned" "$T/desired"; then ok "exactly the desired set: no orphans, no duplicates"
else not_ok "exactly the desired set"; diff "$T/desired" "$T/owned" | sed 's/^/# /' >&2; fi
[ "$(wc -l <"$T/desired")" -eq $((9 * 15)) ] && ok "9 tenants x 15 objects" || not_ok "9 tenants x 15 objects"
[ "$(sqlite3 "$OUTPOST_STATE" "SELECT count(*) FROM tenant_status WHERE phase = 'Ready'")" -eq 9 ] &&
	ok "9 Ready" || not_ok "9 Ready"
[ "$(sqlite3 "$OUTPOST_STATE" "SELECT count(*) FROM tenant_status")" -eq 9 ] &&
	ok "removed tenants' status rows are gone" || not_ok "removed tenants' status rows are gone"

# Pages of 7 while continue tokens keep expiring: each list that meets a 410
# starts over, and the pass still sees everything (no write, nothing pruned).
kubeapi_ctl reset-counters >/dev/null
kubeapi_ctl faults '{"latency_ms": 150, "verbs": ["list"]}' >/dev/null
"$OUTPOST" reconcile --once --page-size 5 --kubeconfig "$KUBEAPI_DIR/kubeconfig-token" >"$T/pass.out" 2>"$T/pass.err" &
pid=$!
# A token expires when the store moved on since it was issued: write, compact.
n=0
while kill -0 $pid 2>/dev/null; do
	n=$((n + 1))
	kubeapi_ctl request POST /api/v1/namespaces/default/configmaps \
		"{\"metadata\": {\"name\": \"tick-$n\"}}" >/dev/null
	kubeapi_ctl compact >/dev/null
done
wait $pid && ok "a paginated pass with a bearer token" || not_ok "a paginated pass with a bearer token"
expect_grep "writes=0 " "$T/pass.out" "paginated pass: nothing to write, nothing pruned"
[ "$(rec_counter 'c["by_code"].get("410", 0)')" -ge 1 ] && ok "expired continue tokens were met (410) and lists restarted" ||
	skip_note=1
rec_owned "$T/owned"
cmp -s "$T/owned" "$T/desired" && ok "after restarted lists nothing was pruned" || not_ok "after restarted lists nothing was pruned"

kubeapi_ctl faults '{}' >/dev/null

# A server that always fails: bounded retries, then a clear error naming the object.
kubeapi_ctl faults '{"error_rate": 1.0, "error_codes": [503]}' >/dev/null
start=$(date +%s)
expect_exit 1 "a dead server fails the pass" -- "$OUTPOST" reconcile --once --kubeconfig "$KUBEAPI_KUBECONFIG"
expect_grep "list Namespace: 503" "$T/err" "the error names the request and the status"
[ $(($(date +%s) - start)) -lt 60 ] && ok "retries are bounded in time" || not_ok "retries are bounded in time"
kubeapi_ctl faults '{"error_rate": 1.0, "error_codes": [403], "verbs": ["create", "patch", "apply"]}' >/dev/null
"$OUTPOST" tenant set f1 --plan large >/dev/null
kubeapi_ctl reset-counters >/dev/null
rec_once
[ "$(rec_counter 'c["by_code"].get("403", 0)')" -le 3 ] && ok "403 is not retried" || not_ok "403 is not retried ($(rec_counter 'c["by_code"]'))"
[ "$(rec_status f1)" = Failed ] && ok "a refused write fails its tenant" || not_ok "a refused write fails its tenant"
sqlite3 "$OUTPOST_STATE" "SELECT message FROM tenant_status WHERE name = 'f1'" >"$T/msg"
# f1's objects were created by POST: the first write over each is its
# ownership move (a JSON patch), refused like the apply would be.
expect_grep "\(patch\|apply\) [A-Za-z]* [a-z0-9-]*/[a-z0-9-]*: 403" "$T/msg" "the reason names the request, the object and the status"
[ "$(rec_status f2)" = Ready ] && ok "the other tenants are not blocked" || not_ok "the other tenants are not blocked"
[ "${skip_note:-0}" = 1 ] && echo "# note: no continue token expired during the paginated pass (timing)"
finish
