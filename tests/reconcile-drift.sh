#!/bin/sh
# Drift inside owned objects: an operator's `kubectl patch` on a tenant's
# ResourceQuota and on a label of its NetworkPolicy keeps the hash annotation;
# a targeted pass leaves it, the next full pass puts the fields back (event
# DriftRepaired), while what another manager added (an annotation, a label
# Outpost does not set) stays. An in-sync full pass still writes nothing, and
# the server's canonical quantities ("1000m" stored as "1") are no drift.
# ok and not_ok always succeed, so "test && ok || not_ok" is an if-then-else here.
# shellcheck disable=SC2015,SC2119
. "$top_srcdir/tests/lib.sh"
skip_unless kubectl
skip_unless sqlite3
. "$top_srcdir/tests/reconcile/lib.sh"
rec_setup
k() { $K "$@"; }

"$OUTPOST" tenant add acme --host acme.example.org >/dev/null
# The large plan renders 1000m CPU and 2048Mi memory, which the server stores
# canonically as "1" and "2Gi": the comparison must take them as equal.
"$OUTPOST" tenant add beta --host beta.example.org --plan large >/dev/null
if rec_converge; then ok "two tenants converge"; else not_ok "two tenants converge"; fi

hard() { k get resourcequota quota -n t-acme -o jsonpath='{.spec.hard.requests\.cpu} {.spec.hard.pods}'; }
hard >"$T/hard.before"
[ "$(k get resourcequota quota -n t-beta -o jsonpath='{.spec.hard.requests\.cpu} {.spec.hard.limits\.memory}')" = "1 3Gi" ] \
	&& ok "the server stores beta's quota canonically (1000m as 1, 3072Mi as 3Gi)" \
	|| not_ok "the server stores beta's quota canonically"

# --- in sync: a full pass writes nothing
rec_reset_counters
rec_once
expect_grep "reconcile: full .*repaired=0 .*writes=0 " "$T/pass.out" "in-sync full pass (canonical quantities included): no write, no repair"
[ "$(rec_counter 'c["writes"]')" = 0 ] && ok "in-sync full pass: the server saw no write" \
	|| not_ok "in-sync full pass: the server saw no write"

# --- an operator raises the quota, relabels a policy, and adds their own marks
k patch resourcequota quota -n t-acme --type merge \
	-p '{"spec": {"hard": {"requests.cpu": "64", "pods": "500"}}}' >/dev/null
k patch networkpolicy default-deny -n t-acme --type merge \
	-p '{"metadata": {"labels": {"outpost.dev/role": "tampered"}}}' >/dev/null
k annotate networkpolicy default-deny -n t-acme ops.example.org/ticket=OPS-1 >/dev/null
k label resourcequota quota -n t-acme team=platform >/dev/null
[ "$(k get resourcequota quota -n t-acme -o jsonpath='{.spec.hard.pods}')" = 500 ] \
	&& ok "the patch landed" || not_ok "the patch landed"
hash_of() { k get "$1" "$2" -n t-acme -o jsonpath='{.metadata.annotations.outpost\.dev/hash}'; }
[ -n "$(hash_of resourcequota quota)" ] && ok "the edited quota keeps its hash annotation" \
	|| not_ok "the edited quota keeps its hash annotation"

# --- a targeted pass (between resyncs) does not look: nothing to do
rec_reset_counters
rec_once --changed
expect_grep "reconcile: targeted .*writes=0 " "$T/pass.out" "targeted pass: drift is left to the full pass"

# --- the full pass repairs exactly the two drifted objects
rec_reset_counters
rec_once
expect_grep "reconcile: full .*repaired=2 " "$T/pass.out" "full pass: two objects repaired"
# Objects Outpost created by POST have their field ownership moved before
# the first apply over them (ownership.h): one more write each, once.
[ "$(rec_counter 'c["writes"]')" = $((2 + $(rec_field moved))) ] && ok "full pass: two applies (and their ownership moves)" \
	|| not_ok "full pass: two applies ($(rec_counter 'c["writes"]') writes, $(rec_field moved) moved)"
hard >"$T/hard.after"
cmp -s "$T/hard.before" "$T/hard.after" && ok "the quota is back ($(cat "$T/hard.after"))" \
	|| not_ok "the quota is back ($(cat "$T/hard.after"), want $(cat "$T/hard.before"))"
[ "$(k get networkpolicy default-deny -n t-acme -o jsonpath='{.metadata.labels.outpost\.dev/role}')" = namespace ] \
	&& ok "the policy's label is back" || not_ok "the policy's label is back"
[ "$(k get networkpolicy default-deny -n t-acme -o jsonpath='{.metadata.annotations.ops\.example\.org/ticket}')" = OPS-1 ] \
	&& ok "another manager's annotation stays" || not_ok "another manager's annotation stays"
[ "$(k get resourcequota quota -n t-acme -o jsonpath='{.metadata.labels.team}')" = platform ] \
	&& ok "another manager's label stays" || not_ok "another manager's label stays"
[ "$(rec_status acme)" = Ready ] && ok "acme stays Ready" || not_ok "acme stays Ready ($(rec_status acme))"
sqlite3 "$OUTPOST_STATE" "SELECT reason || ': ' || message FROM events WHERE tenant = 'acme' AND reason = 'DriftRepaired' ORDER BY id" >"$T/ev"
expect_grep "DriftRepaired: ResourceQuota t-acme/quota: " "$T/ev" "event names the quota"
expect_grep "DriftRepaired: NetworkPolicy t-acme/default-deny: " "$T/ev" "event names the policy"
[ "$(sqlite3 "$OUTPOST_STATE" "SELECT count(*) FROM events WHERE tenant = 'beta' AND reason = 'DriftRepaired'")" = 0 ] \
	&& ok "nothing repaired for beta" || not_ok "nothing repaired for beta"

# --- and after the repair, in sync again: nothing more
rec_reset_counters
rec_once
expect_grep "reconcile: full .*repaired=0 .*writes=0 " "$T/pass.out" "after the repair: a full pass writes nothing"

# --- a deleted field and a changed Secret value come back too
k patch limitrange limits -n t-beta --type json -p '[{"op": "remove", "path": "/spec/limits/0/defaultRequest"}]' >/dev/null
rec_once
expect_grep "reconcile: full .*repaired=1 " "$T/pass.out" "a removed LimitRange field is repaired"
[ -n "$(k get limitrange limits -n t-beta -o jsonpath='{.spec.limits[0].defaultRequest.cpu}')" ] \
	&& ok "the LimitRange's defaultRequest is back" || not_ok "the LimitRange's defaultRequest is back"

finish
