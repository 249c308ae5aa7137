#!/bin/sh
# Field ownership of what the reconciler creates and applies, against the test
# API server (which records managedFields per manager and operation as a real
# one does). Outpost creates with POST (never taking over a foreign object) and
# applies later: a POST is an (outpost, Update) entry and an apply an (outpost,
# Apply) one, so a field a later rendering drops would stay for ever, owned by
# the POST's entry, unless the reconciler moves that entry's fields into its
# Apply entry first. Cases: a created object changed by a plan change, an
# object an older Outpost left with fields today's rendering drops, an
# existing object of the tenant's (a lost creation answer), one an older
# Outpost created and applied (both entries), a manager that is not Outpost
# keeping its field, and the move refused because the object changed since
# it was listed.
# ok and not_ok always succeed, so "test && ok || not_ok" is an if-then-else here.
# shellcheck disable=SC2015
. "$top_srcdir/tests/lib.sh"
skip_unless kubectl
skip_unless sqlite3
. "$top_srcdir/tests/reconcile/lib.sh"
rec_setup

# owners KIND NAME NS: "manager/operation" of each managedFields entry but the
# cluster's own controllers': on a real server the quota controller writes a
# quota's status and the token controller a ServiceAccount's secrets.
owners() {
	$K get "$1" "$2" -n "$3" --show-managed-fields \
		-o 'jsonpath={range .metadata.managedFields[*]}{.manager}/{.operation} {end}' |
		sed 's|kube-controller-manager/Update ||g'
}
labels() { $K get "$1" "$2" -n "$3" -o 'jsonpath={.metadata.labels}'; }
own='"app.kubernetes.io/managed-by": "outpost", "outpost.dev/tenant": "beta"'

# beta's namespace and quota exist before its first pass, as a creation whose
# answer was lost leaves them (POSTed by manager outpost), the quota with a
# label and a limit the current rendering does not have.
echo "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"t-beta\",
  \"labels\": {$own, \"outpost.dev/role\": \"namespace\"}}}" | $K create --field-manager=outpost -f - >/dev/null
echo "{\"apiVersion\": \"v1\", \"kind\": \"ResourceQuota\", \"metadata\": {\"name\": \"quota\", \"namespace\": \"t-beta\",
  \"labels\": {$own, \"outpost.dev/role\": \"namespace\", \"outpost.dev/legacy\": \"yes\"},
  \"annotations\": {\"outpost.dev/hash\": \"lost\"}}, \"spec\": {\"hard\": {\"services\": \"5\", \"pods\": \"1\"}}}" |
	$K create --field-manager=outpost -f - >/dev/null

for t in acme beta gamma; do
	"$OUTPOST" tenant add "$t" --host "$t.example.org" >/dev/null
done
if rec_converge; then ok "three tenants converge"; else not_ok "three tenants converge"; fi

# --- a POST leaves an Update entry (as a real server records it)
[ "$(owners resourcequota quota t-acme)" = "outpost/Update " ] && ok "a created object: one (outpost, Update) entry" ||
	not_ok "a created object: one (outpost, Update) entry ($(owners resourcequota quota t-acme))"

# --- an existing object of the tenant's: applied, and what the POST owned moved first
[ "$(owners resourcequota quota t-beta)" = "outpost/Apply " ] && ok "lost creation: only the Apply entry is left" ||
	not_ok "lost creation: only the Apply entry is left ($(owners resourcequota quota t-beta))"
labels resourcequota quota t-beta >"$T/l"
grep -q legacy "$T/l" && not_ok "lost creation: the label the rendering lacks is gone" ||
	ok "lost creation: the label the rendering lacks is gone"
$K get resourcequota quota -n t-beta -o 'jsonpath={.spec.hard}' >"$T/hard"
grep -q services "$T/hard" && not_ok "lost creation: the limit the rendering lacks is gone" ||
	ok "lost creation: the limit the rendering lacks is gone"

# --- a plan change applies the created quota: the Update entry becomes the Apply entry
"$OUTPOST" tenant set acme --plan medium >/dev/null
rec_reset_counters
if rec_converge; then ok "the plan change converges"; else not_ok "the plan change converges"; fi
[ "$(rec_counter 'c["patch"].get("ResourceQuota", 0), c["apply"].get("ResourceQuota", 0)')" = "1 1" ] &&
	ok "plan change: one ownership move and one apply for the quota" ||
	not_ok "plan change: one ownership move and one apply ($(rec_counter 'c["patch"], c["apply"]'))"
[ "$(owners resourcequota quota t-acme)" = "outpost/Apply " ] && ok "after the apply: only (outpost, Apply)" ||
	not_ok "after the apply: only (outpost, Apply) ($(owners resourcequota quota t-acme))"
$K get resourcequota quota -n t-acme -o 'jsonpath={.spec.hard.limits\.memory}' >"$T/q"
expect_grep "1536Mi" "$T/q" "the new plan is in the quota"
"$OUTPOST" tenant set acme --plan small >/dev/null
rec_reset_counters
rec_converge >/dev/null || :
[ "$(rec_counter 'c["patch"].get("ResourceQuota", 0), c["apply"].get("ResourceQuota", 0)')" = "0 1" ] &&
	ok "the next change: the apply alone" ||
	not_ok "the next change: the apply alone ($(rec_counter 'c["patch"], c["apply"]'))"

# --- an older Outpost's object (created by POST, with a label, an annotation
# and a limit today's rendering drops): the next pass leaves only what is
# rendered, and a field another manager set stays.
$K get limitrange limits -n t-acme -o json | "${PYTHON3:-python3}" -c '
import json, sys
o = json.load(sys.stdin)
md = o["metadata"]
o["metadata"] = {"name": md["name"], "namespace": md["namespace"],
                 "labels": dict(md["labels"], **{"outpost.dev/legacy": "yes"}),
                 "annotations": {"outpost.dev/hash": "older", "outpost.dev/note": "old"}}
o["spec"]["limits"][0]["maxLimitRequestRatio"] = {"cpu": "10"}
json.dump(o, sys.stdout)' >"$T/older.json"
$K delete limitrange limits -n t-acme >/dev/null
$K create --field-manager=outpost -f "$T/older.json" >/dev/null
$K label limitrange limits -n t-acme --field-manager=someone theirs=kept >/dev/null
rec_once
labels limitrange limits t-acme >"$T/l"
grep -q legacy "$T/l" && not_ok "older object: the dropped label is gone" || ok "older object: the dropped label is gone"
expect_grep '"theirs":"kept"' "$T/l" "older object: another manager's label stays"
$K get limitrange limits -n t-acme -o 'jsonpath={.metadata.annotations}{.spec}' >"$T/rest"
grep -q 'outpost.dev/note' "$T/rest" && not_ok "older object: the dropped annotation is gone" ||
	ok "older object: the dropped annotation is gone"
grep -q maxLimitRequestRatio "$T/rest" && not_ok "older object: the dropped limit is gone" ||
	ok "older object: the dropped limit is gone"
[ "$(owners limitrange limits t-acme)" = "outpost/Apply someone/Update " ] && ok "older object: its entries are someone's and outpost's Apply" ||
	not_ok "older object: entries ($(owners limitrange limits t-acme))"

# --- the same, created and then applied by an older Outpost (both entries):
# the object is read, the Apply entry gets both sets, the label goes
$K get serviceaccount app -n t-acme -o json | "${PYTHON3:-python3}" -c '
import json, sys
o = json.load(sys.stdin)
md = o["metadata"]
o["metadata"] = {"name": md["name"], "namespace": md["namespace"],
                 "labels": dict(md["labels"], **{"outpost.dev/legacy": "yes"}),
                 "annotations": {"outpost.dev/hash": "older"}}
json.dump(o, sys.stdout)' >"$T/older-sa.json"
$K delete serviceaccount app -n t-acme >/dev/null
$K create --field-manager=outpost -f "$T/older-sa.json" >/dev/null
$K apply --server-side --field-manager=outpost -f "$T/older-sa.json" >/dev/null
[ "$(owners serviceaccount app t-acme)" = "outpost/Apply outpost/Update " ] && ok "older object: created and applied, two entries" ||
	not_ok "older object: created and applied, two entries ($(owners serviceaccount app t-acme))"
rec_reset_counters
rec_once
[ "$(rec_counter 'c["get"].get("ServiceAccount", 0), c["patch"].get("ServiceAccount", 0), c["apply"].get("ServiceAccount", 0)')" = "1 1 1" ] &&
	ok "both entries: one GET, one move, one apply" ||
	not_ok "both entries: one GET, one move, one apply ($(rec_counter 'c["get"], c["patch"], c["apply"]'))"
labels serviceaccount app t-acme >"$T/l"
grep -q legacy "$T/l" && not_ok "both entries: the dropped label is gone" || ok "both entries: the dropped label is gone"
[ "$(owners serviceaccount app t-acme)" = "outpost/Apply " ] && ok "both entries: only (outpost, Apply) is left" ||
	not_ok "both entries: only (outpost, Apply) is left ($(owners serviceaccount app t-acme))"

# Fault injection is the test server's alone.
if [ "$REC_SERVER" = kubeapi ]; then
# --- the move is refused (the object changed since it was listed): no apply
# this pass, no failure, and the next pass does both
"$OUTPOST" tenant set gamma --plan medium >/dev/null
kubeapi_ctl faults '{"rules": [{"verb": "patch", "kind": "ResourceQuota", "code": 422, "times": 1}]}' >/dev/null
rec_once
[ "$rec_rc" -eq 0 ] && ok "a refused move fails nothing" || not_ok "a refused move fails nothing (rc $rec_rc)"
[ "$(rec_status gamma)" != Failed ] && ok "gamma is not Failed for it" || not_ok "gamma is not Failed for it"
$K get resourcequota quota -n t-gamma -o 'jsonpath={.spec.hard.limits\.memory}' >"$T/q"
grep -q 1536Mi "$T/q" && not_ok "not applied over an Update entry" || ok "not applied over an Update entry"
kubeapi_ctl faults '{}' >/dev/null
if rec_converge; then ok "the next passes converge"; else not_ok "the next passes converge"; fi
$K get resourcequota quota -n t-gamma -o 'jsonpath={.spec.hard.limits\.memory}' >"$T/q"
expect_grep "1536Mi" "$T/q" "then the plan is in gamma's quota"
[ "$(owners resourcequota quota t-gamma)" = "outpost/Apply " ] && ok "and only (outpost, Apply) is left" ||
	not_ok "and only (outpost, Apply) is left ($(owners resourcequota quota t-gamma))"
fi
rec_converge >/dev/null || :
for t in acme beta gamma; do
	[ "$(rec_status "$t")" = Ready ] && ok "$t is Ready" || not_ok "$t is Ready ($(rec_status "$t"))"
done
finish
