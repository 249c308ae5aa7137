#!/bin/sh
# Every pod Outpost renders (the tenants' provisioning Jobs, each catalog app
# rendered with the values Outpost gives it) and every pod its platform charts
# template meets the Pod Security `restricted` profile, which k3s enforces in
# tenant namespaces and the 1.20 rig cannot (tests/podsecurity.py); and the
# checker catches a pod that breaks it.
. "$top_srcdir/tests/lib.sh"
skip_unless helm
skip_unless kubectl
skip_unless sqlite3
check="$top_srcdir/tests/podsecurity.py"
OUTPOST_STATE=$T/state.db; export OUTPOST_STATE
OUTPOST_PROFILE=$T/profile.json; export OUTPOST_PROFILE
echo '{"cpu_millicores": 4096000, "memory_mib": 16777216, "disk_gib": 1000000}' >"$OUTPOST_PROFILE"

for c in postgresql redis minio keycloak; do
	expect_exit 0 "charts/$c: restricted" -- "$PYTHON3" "$check" chart "$top_srcdir/charts/$c"
done

"$OUTPOST" tenant add seed --host seed.example.org >/dev/null
i=0
for plan in $(sqlite3 "$OUTPOST_STATE" "SELECT name FROM plans ORDER BY name"); do
	for app in site webapp; do
		"$OUTPOST" tenant add "p$i" --host "p$i.example.org" --plan "$plan" --app "$app" >/dev/null
		i=$((i + 1))
	done
done
"$OUTPOST" tenant suspend p0 >/dev/null
"$OUTPOST" reconcile --dry-run >"$T/list.json"
expect_exit 0 "every rendered Job and every tenant's app: restricted" -- "$PYTHON3" "$check" list "$T/list.json"
expect_grep "pod templates meet the restricted profile" "$T/out" "the check looked at pods"
n=$(sed -n 's/^\([0-9]*\) pod templates.*/\1/p' "$T/out")
[ "${n:-0}" -ge $((i + 4)) ] && ok "apps and Jobs were rendered ($n pod templates)" || not_ok "apps and Jobs were rendered (${n:-0})"

# The checker itself: one Job made to break several rules.
"$PYTHON3" - "$T/list.json" "$T/bad.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
job = next(o for o in d["items"] if o["kind"] == "Job")
spec = job["spec"]["template"]["spec"]
spec.setdefault("volumes", []).append({"name": "host", "hostPath": {"path": "/"}})
c = spec["containers"][0]
c.setdefault("securityContext", {})["allowPrivilegeEscalation"] = True
c["securityContext"]["capabilities"] = {"drop": ["ALL"], "add": ["SYS_ADMIN"]}
d["items"] = [job]
json.dump(d, open(sys.argv[2], "w"))
PY
expect_exit 1 "a breaking pod is refused" -- "$PYTHON3" "$check" list "$T/bad.json"
expect_grep "volume host of type hostPath" "$T/out" "hostPath named"
expect_grep "allowPrivilegeEscalation is not false" "$T/out" "privilege escalation named"
expect_grep "adds capability SYS_ADMIN" "$T/out" "an added capability named"
finish
