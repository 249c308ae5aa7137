#!/bin/sh
# Every resource quantity Outpost sends is a JSON string, wherever it comes
# from: the plans (quota, limit range, the app's resources), a tenant's
# --set values, and the charts' own values (charts-lint.sh runs the same rule
# over every chart's rendering). kube-apiserver's server-side apply refuses a
# number there (500 "failed to create typed patch object"), while the test
# API server and a POST accept it; the checker must catch one.
. "$top_srcdir/tests/lib.sh"
check="$top_srcdir/tests/charts_check.py"
OUTPOST_STATE=$T/state.db; export OUTPOST_STATE
OUTPOST_PROFILE=$T/profile.json; export OUTPOST_PROFILE
echo '{"cpu_millicores": 4096000, "memory_mib": 16777216, "disk_gib": 1000000}' >"$OUTPOST_PROFILE"

skip_unless sqlite3
"$OUTPOST" tenant add seed --host seed.example.org >/dev/null
i=0
for plan in $(sqlite3 "$OUTPOST_STATE" "SELECT name FROM plans ORDER BY name"); do
	for app in site webapp; do
		"$OUTPOST" tenant add "q$i" --host "q$i.example.org" --plan "$plan" --app "$app" \
			--set extra.note=1 --set theme.size=2 >/dev/null
		i=$((i + 1))
	done
done
[ "$i" -ge 6 ] && ok "a tenant of every plan and app ($i)" || not_ok "a tenant of every plan and app ($i)"
"$OUTPOST" tenant suspend q0 >/dev/null
"$OUTPOST" reconcile --dry-run >"$T/list.json"
expect_exit 0 "every quantity of the dry run is a string" -- "$PYTHON3" "$check" quantities "$T/list.json"

# The checker sees a number in a quota, in a container's limits and in a
# HelmChart's values.
"$PYTHON3" - "$T/list.json" "$T/bad.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for o in d["items"]:
    if o["kind"] == "ResourceQuota":
        o["spec"]["hard"]["pods"] = 20
    if o["kind"] == "HelmChart":
        v = json.loads(o["spec"]["valuesContent"])
        v["resources"]["limits"]["cpu"] = 1
        o["spec"]["valuesContent"] = json.dumps(v)
json.dump(d, open(sys.argv[2], "w"))
PY
expect_exit 1 "a number is caught" -- "$PYTHON3" "$check" quantities "$T/bad.json"
expect_grep "spec.hard.pods: quantity 20 is not a string" "$T/out" "the quota's number is named"
expect_grep "values: resources.limits.cpu: quantity 1 is not a string" "$T/out" "the values' number is named"
finish
