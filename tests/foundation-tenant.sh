#!/bin/sh
# The tenant commands end to end with the real binary and a real state file:
# every refused input exits 3 with a message naming the field, and leaves the
# database byte for byte as it was.
. "$top_srcdir/tests/lib.sh"

export OUTPOST_STATE="$T/state/state.db"
printf '{"cpu_millicores": 32000, "memory_mib": 131072, "disk_gib": 1000}\n' >"$T/big.json"
export OUTPOST_PROFILE="$T/big.json"

# --- a missing state file ---
expect_exit 1 "list without a state file fails" -- "$OUTPOST" tenant list
expect_fgrep "outpost: tenant list: state $OUTPOST_STATE: does not exist" "$T/err" "the missing file is named"
expect_exit 1 "show without a state file fails" -- "$OUTPOST" tenant show acme
expect_exit 1 "export without a state file fails" -- "$OUTPOST" tenant export
expect_exit 1 "capacity without a state file fails" -- "$OUTPOST" capacity
if [ -e "$T/state" ]; then not_ok "read commands created nothing"; else ok "read commands created nothing"; fi
expect_exit 3 "a bad name is refused before any file exists" -- "$OUTPOST" tenant add Bad --host bad.example.com
if [ -e "$T/state" ]; then not_ok "refused add created nothing"; else ok "refused add created nothing"; fi

# --- the happy path ---
expect_exit 0 "add" -- "$OUTPOST" tenant add acme --host acme.example.com --app webapp@0.1.0 --set image.tag=1.2
expect_exit 0 "add a second" -- "$OUTPOST" tenant add beta --host beta.example.com --plan medium
expect_true "state directory is 0700" -- [ "$(stat -c %a "$T/state")" = 700 ]
expect_true "state file is 0600" -- [ "$(stat -c %a "$OUTPOST_STATE")" = 600 ]
expect_exit 0 "list" -- "$OUTPOST" tenant list
expect_grep "^NAME  *HOST  *PLAN" "$T/out" "list prints a header"
expect_grep "^acme  *acme.example.com  *small  *webapp@0.1.0  *no " "$T/out" "list shows acme aligned"
expect_exit 0 "show" -- "$OUTPOST" tenant show acme
expect_grep "^namespace: *t-acme" "$T/out" "show names the namespace"
expect_grep "Created" "$T/out" "show lists the events"
expect_exit 3 "show of a missing tenant is refused" -- "$OUTPOST" tenant show nosuch
expect_fgrep "outpost: tenant show: tenant 'nosuch': no such tenant" "$T/err" "the missing tenant is named"

expect_exit 0 "set" -- "$OUTPOST" tenant set acme --plan large --set image.tag=1.3
# Keys Outpost writes into the app's values itself are refused, not replaced silently.
for key in replicas resources.limits.cpu host; do
	expect_exit 3 "--set $key is refused" -- "$OUTPOST" tenant set acme --set "$key=2"
	expect_fgrep "outpost: tenant set: set key '$key': Outpost sets it" "$T/err" "--set $key: the key is named"
done
expect_exit 3 "add with --set replicas is refused" -- "$OUTPOST" tenant add delta --host delta.example.com --set replicas=2
echo '{"name": "delta", "host": "delta.example.com", "values": {"replicas": "2"}}' >"$T/owned.jsonl"
expect_exit 3 "import with a replicas value is refused" -- "$OUTPOST" tenant import "$T/owned.jsonl"
expect_fgrep "set key 'replicas': Outpost sets it" "$T/err" "import names the key"
expect_exit 0 "show --json after set" -- "$OUTPOST" tenant show acme --json
expect_grep '"generation": 2' "$T/out" "set bumps the generation"
expect_grep '"image.tag": "1.3"' "$T/out" "set replaces a value"
expect_exit 0 "set to what it already is" -- "$OUTPOST" tenant set acme --plan large --set image.tag=1.3
expect_grep "tenant acme unchanged (generation 2)" "$T/out" "says nothing changed"
expect_exit 0 "show --json after the no-op set" -- "$OUTPOST" tenant show acme --json
expect_grep '"generation": 2' "$T/out" "a no-op set is no new generation"
expect_exit 0 "suspend" -- "$OUTPOST" tenant suspend acme
expect_exit 0 "suspend again is a no-op" -- "$OUTPOST" tenant suspend acme
expect_grep "already suspended" "$T/out" "says it was already suspended"
expect_exit 0 "resume" -- "$OUTPOST" tenant resume acme
expect_exit 0 "rm" -- "$OUTPOST" tenant rm beta
expect_exit 3 "rm twice is refused" -- "$OUTPOST" tenant rm beta
expect_fgrep "tenant 'beta': no such tenant" "$T/err" "rm names the missing tenant"
expect_exit 2 "add without --host is a usage error" -- "$OUTPOST" tenant add gamma
expect_exit 2 "--set without = is a usage error" -- "$OUTPOST" tenant add gamma --host g.example.com --set novalue
expect_exit 2 "set with nothing to change is a usage error" -- "$OUTPOST" tenant set acme
expect_exit 0 "tenant add --help" -- "$OUTPOST" tenant add --help
expect_grep "^Usage: outpost tenant add NAME" "$T/out" "add --help prints usage"
for c in set list show rm suspend resume import export; do
	expect_exit 0 "tenant $c --help" -- "$OUTPOST" tenant "$c" --help
	expect_grep "^Usage: outpost tenant $c" "$T/out" "tenant $c --help prints its usage"
done
expect_exit 0 "capacity --help" -- "$OUTPOST" capacity --help
expect_exit 0 "tenant --help lists the sub-commands" -- "$OUTPOST" tenant --help
expect_grep "^  import " "$T/out" "import is listed"
expect_exit 2 "an unknown tenant sub-command is a usage error" -- "$OUTPOST" tenant frob
expect_exit 2 "an unknown option is a usage error" -- "$OUTPOST" tenant list --bogus
expect_fgrep "'--bogus'" "$T/err" "the option is named"

# --- refusals: exit 3, the field named, the file unchanged ---
sum() { sha256sum "$OUTPOST_STATE" | cut -d' ' -f1; }
before=$(sum)
refused() { # refused TEXT-IN-MESSAGE -- args...
	msg=$1; shift 2
	expect_exit 3 "refused: $*" -- "$OUTPOST" "$@"
	expect_fgrep "$msg" "$T/err" "message names it: $msg"
	[ "$(wc -l <"$T/err")" -eq 1 ] || not_ok "one line of error for: $*"
	if [ "$(sum)" = "$before" ]; then ok "database unchanged after: $*"; else
		not_ok "database unchanged after: $*"; before=$(sum); fi
}
bad_name() { refused "$1" -- tenant add --host new.example.com -- "$2"; }
bad_host() { refused "$1" -- tenant add newtenant --host "$2"; }

bad_name "name '': must not be empty" ""
bad_name "name 'Foo': must be a DNS-1123 label (lowercase letters, digits, '-')" Foo
bad_name "name '-acme': must start and end" -acme
bad_name "name 'acme-'" acme-
bad_name "name '9lives': must start with a letter" 9lives
bad_name "name 'a..b'" a..b
bad_name "name 'a.b'" a.b
bad_name "name 'a_b'" a_b
bad_name "name 'a b'" "a b"
bad_name "name 'a'; DROP TABLE tenants;--'" "a'; DROP TABLE tenants;--"
bad_name "name 'caf\\xc3\\xa9'" "café"
bad_name "name '\\xe7\\xa7\\x9f\\xe6\\x88\\xb7'" "租户"
bad_name "must be at most 30 characters (is 31)" abcdefghijklmnopqrstuvwxyzabcde
bad_name "name 'default': is reserved" default
bad_name "names starting with 'kube-' are reserved" kube-system
bad_name "names starting with 'outpost-' are reserved" outpost-platform
bad_name "name 'keycloak': is reserved" keycloak
bad_name "name 'acme': a tenant of that name exists" acme
bad_host "host '': must not be empty" ""
bad_host "host 'localhost': must be a fully qualified name" localhost
bad_host "host 'Acme.example.com'" Acme.example.com
bad_host "host 'a..example.com': must not have an empty label" a..example.com
bad_host "host 'example.com.'" example.com.
bad_host "host '-a.example.com'" -a.example.com
bad_host "host '10.1.2.3': must be a DNS name, not an IP address" 10.1.2.3
bad_host "host 'a_b.example.com'" a_b.example.com
bad_host "host '*.example.com'" "*.example.com"
bad_host "host 'caf\\xc3\\xa9.example.com'" café.example.com
bad_host "host 'x.com'; DROP TABLE tenants;--'" "x.com'; DROP TABLE tenants;--"
bad_host "host 'acme.example.com': already used by tenant 'acme'" acme.example.com
bad_host "label 1 is longer than 63 characters" "$(printf 'a%.0s' $(seq 64)).example.com"
refused "plan 'huge': no such plan" -- tenant add newtenant --host n.example.com --plan huge
refused "plan 'Small'" -- tenant add newtenant --host n.example.com --plan Small
refused "plan 'small'; DROP TABLE plans;--'" -- tenant add newtenant --host n.example.com --plan "small'; DROP TABLE plans;--"
refused "set key 'a..b'" -- tenant add newtenant --host n.example.com --set a..b=1
refused "set key ''" -- tenant add newtenant --host n.example.com --set =1
refused "set key 'a b'" -- tenant add newtenant --host n.example.com --set "a b=1"
refused "set key 'a[0]'" -- tenant add newtenant --host n.example.com --set "a[0]=1"
refused "value must be at most 1024 bytes" -- tenant add newtenant --host n.example.com --set "k=$(printf 'v%.0s' $(seq 1025))"
refused "app chart 'WordPress'" -- tenant add newtenant --host n.example.com --app WordPress
refused "app version 'latest'" -- tenant add newtenant --host n.example.com --app wp@latest
refused "host 'Bad.example.com'" -- tenant set acme --host Bad.example.com
refused "plan 'huge': no such plan" -- tenant set acme --plan huge
refused "tenant 'nosuch': no such tenant" -- tenant set nosuch --plan small
refused "tenant 'nosuch': no such tenant" -- tenant suspend nosuch
refused "tenant 'nosuch': no such tenant" -- tenant resume nosuch
refused "tenant 'Acme': no such tenant" -- tenant rm Acme
refused "tenant 'a\\x09b': no such tenant" -- tenant show "$(printf 'a\tb')"

# --- admission: the reference box (8 cores, 16 GiB, 100 GiB) leaves tenants
# 4000m of CPU requests and 6000m of CPU limits (see tests/check_capacity.c) ---
for l in l2 l3 l4; do # admitted on the big box: four large tenants in all
	expect_exit 0 "add large $l on the big box" -- "$OUTPOST" tenant add "$l" --host "$l.example.com" --plan large
done
before=$(sum)
printf '{"cpu_millicores": 8000, "memory_mib": 16384, "disk_gib": 100}\n' >"$T/ref.json"
export OUTPOST_PROFILE="$T/ref.json"
# four large tenants use all 4000m of requests and 8000m of limits: over the reference budget
refused "capacity: tenants' CPU requests would need 4250m, 4000m is available to tenants" -- tenant add small1 --host s1.example.com
refused "profile: $T/ref.json" -- tenant set acme --set a=b
expect_exit 0 "suspend frees the tenant's share" -- "$OUTPOST" tenant suspend acme
expect_exit 0 "suspend a second" -- "$OUTPOST" tenant suspend l4
expect_exit 0 "a small tenant now fits" -- "$OUTPOST" tenant add small1 --host s1.example.com
before=$(sum)
refused "capacity: tenants' CPU limits would need 6500m, 6000m is available to tenants" -- tenant resume acme
expect_exit 0 "--profile on the command line wins" -- "$OUTPOST" --profile "$T/big.json" tenant resume acme

before=$(sum)
echo '{"cpu_millicores": "eight"}' >"$T/broken.json"
expect_exit 1 "a broken profile fails before the store is touched" -- "$OUTPOST" --profile "$T/broken.json" tenant add p1 --host p1.example.com
expect_fgrep "outpost: tenant add: profile: $T/broken.json: cpu_millicores: must be a non-negative integer" "$T/err" "the profile's key is named"
expect_exit 1 "a missing profile file" -- "$OUTPOST" --profile "$T/nosuch.json" capacity
expect_fgrep "capacity: profile: open $T/nosuch.json: No such file or directory" "$T/err" "the missing profile is named"
expect_true "database unchanged after profile errors" -- [ "$(sum)" = "$before" ]

# --- a row another tool wrote that breaks the rules is flagged, not fatal ---
if command -v sqlite3 >/dev/null 2>&1; then
	sqlite3 "$OUTPOST_STATE" "INSERT INTO tenants (name, host, plan, created_at, updated_at) VALUES ('kube-x', 'kx.example.com', 'small', 1, 1)"
	expect_exit 0 "list still works with a bad row" -- "$OUTPOST" tenant list
	expect_grep "^kube-x .* Invalid" "$T/out" "the bad row is shown Invalid"
	expect_fgrep "tenant kube-x is invalid: name 'kube-x': names starting with 'kube-' are reserved" "$T/err" "and why"
	expect_exit 3 "set cannot make the bad row valid while its name is bad" -- "$OUTPOST" tenant set kube-x --plan medium
	expect_fgrep "name 'kube-x'" "$T/err" "set names the bad field"
	expect_exit 0 "rm removes the bad row" -- "$OUTPOST" tenant rm kube-x
fi

# --- migration: a schema-1 file from the fixture opens and is migrated ---
if command -v sqlite3 >/dev/null 2>&1; then
	sqlite3 "$T/v1.db" <"$top_srcdir/tests/fixtures/state-v1.sql"
	expect_exit 0 "list on a schema-1 file" -- "$OUTPOST" --state "$T/v1.db" tenant list
	expect_grep "^acme .*wordpress@6.4.2" "$T/out" "its tenants survive"
	expect_true "migrated to version 4" -- [ "$(sqlite3 "$T/v1.db" 'PRAGMA user_version')" = 4 ]
	expect_true "the seeded plans gained how far they scale out" -- \
		[ "$(sqlite3 "$T/v1.db" 'select name, max_replicas from plans order by name' | tr '\n' ' ')" = "large|4 medium|2 small|1 " ]
	expect_true "integrity ok after migration" -- [ "$(sqlite3 "$T/v1.db" 'PRAGMA integrity_check')" = ok ]
fi
finish
