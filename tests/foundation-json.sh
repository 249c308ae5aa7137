#!/bin/sh
# The --json documents keep their documented shapes (README: "JSON output").
. "$top_srcdir/tests/lib.sh"
: "${PYTHON3:=python3}"
skip_unless "$PYTHON3"

export OUTPOST_STATE="$T/state.db"
printf '{"cpu_millicores": 32000, "memory_mib": 131072, "disk_gib": 1000}\n' >"$T/big.json"
export OUTPOST_PROFILE="$T/big.json"

"$OUTPOST" tenant add acme --host acme.example.com --app webapp@0.1.0 --set image.tag=1.2 >/dev/null
"$OUTPOST" tenant add beta --host beta.example.com --plan large >/dev/null
"$OUTPOST" tenant suspend beta >/dev/null

check() { # check NAME PYTHON-ASSERTIONS (the document is `d`)
	if "$PYTHON3" -c "
import json, sys
d = json.load(open(sys.argv[1]))
$2
" "$T/out" 2>"$T/py"; then ok "$1"; else not_ok "$1"; sed 's/^/# /' "$T/py" >&2; fi
}

TENANT='
TENANT = {"name", "host", "plan", "app", "values", "suspended", "generation", "created_at", "updated_at", "invalid", "status"}
def tenant(t):
    assert set(t) >= TENANT, set(t) ^ TENANT
    assert isinstance(t["name"], str) and isinstance(t["host"], str) and isinstance(t["plan"], str)
    assert t["app"] is None or set(t["app"]) == {"chart", "version"}
    assert isinstance(t["values"], dict) and all(isinstance(v, str) for v in t["values"].values())
    assert isinstance(t["suspended"], bool) and isinstance(t["generation"], int)
    assert t["created_at"].endswith("Z") and "T" in t["updated_at"]
    assert t["invalid"] is None or isinstance(t["invalid"], str)
    assert t["status"] is None or set(t["status"]) == {"phase", "message", "observed_generation", "updated_at"}
'

expect_exit 0 "tenant list --json" -- "$OUTPOST" tenant list --json
check "list: {format, tenants[]}" "$TENANT
assert set(d) == {'format', 'tenants'} and d['format'] == 1
assert [t['name'] for t in d['tenants']] == ['acme', 'beta']
for t in d['tenants']: tenant(t); assert set(t) == TENANT
a, b = d['tenants']
assert a['app'] == {'chart': 'webapp', 'version': '0.1.0'} and a['values'] == {'image.tag': '1.2'}
assert b['suspended'] is True and b['generation'] == 2 and b['app'] is None"

expect_exit 0 "tenant show --json" -- "$OUTPOST" tenant show acme --json --kubeconfig "$T/nope.yaml"
check "show: tenant + namespace, resources, events, certificate, usage" "$TENANT
tenant(d)
assert set(d) == TENANT | {'namespace', 'resources', 'events', 'certificate', 'usage', 'usage_unavailable'}
assert d['usage'] is None and 'nope.yaml' in d['usage_unavailable'], d
assert d['certificate'] == \"the appliance CA's (renewed by the daemon)\"
assert d['namespace'] == 't-acme'
assert d['resources'] == {'cpu_request_millicores': 250, 'cpu_limit_millicores': 500, 'memory_request_mib': 512, 'memory_limit_mib': 768, 'storage_gib': 1, 'pods': 10}
assert len(d['events']) == 1 and set(d['events'][0]) == {'at', 'type', 'reason', 'message'}
assert d['events'][0]['reason'] == 'Created'"

expect_exit 0 "capacity --json" -- "$OUTPOST" capacity --json
check "capacity: documented keys and figures" "
RES = {'cpu_millicores', 'memory_mib', 'disk_gib'}
assert set(d) == {'format', 'profile', 'total', 'reserved', 'allocatable', 'platform', 'tenants', 'free', 'limits_ratio', 'limits_budget', 'within_budget', 'plans'}, set(d)
assert d['profile'].endswith('/big.json')
for k in ('total', 'allocatable', 'limits_budget'): assert set(d[k]) == RES
assert set(d['reserved']) == {'system', 'k3s', 'eviction'}
assert set(d['platform']) == {'requests', 'limits'} and set(d['free']) == {'requests', 'limits'}
assert set(d['tenants']) == {'count', 'requests', 'limits'} and d['tenants']['count'] == 1
assert d['total'] == {'cpu_millicores': 32000, 'memory_mib': 131072, 'disk_gib': 1000}
assert d['allocatable'] == {'cpu_millicores': 30750, 'memory_mib': 127744, 'disk_gib': 877}
assert d['tenants']['requests'] == {'cpu_millicores': 250, 'memory_mib': 512, 'disk_gib': 1}
assert d['free']['requests'] == {'cpu_millicores': 27750, 'memory_mib': 123264, 'disk_gib': 835}
assert d['limits_ratio'] == 2.0 and d['within_budget'] is True
assert [p['name'] for p in d['plans']] == ['small', 'medium', 'large']
assert set(d['plans'][0]) == {'name', 'cpu_request_millicores', 'cpu_limit_millicores', 'memory_request_mib', 'memory_limit_mib', 'storage_gib', 'pods', 'max_replicas', 'more_fit'}
assert [p['max_replicas'] for p in d['plans']] == [1, 2, 4], d['plans']
assert d['plans'][2]['more_fit'] == 26"

expect_exit 0 "capacity (table)" -- "$OUTPOST" capacity
expect_grep "^allocatable  *30750m  *127744 MiB  *877 GiB$" "$T/out" "the table shows allocatable"
expect_grep "^large  .* 26$" "$T/out" "the table shows how many more fit"
finish
