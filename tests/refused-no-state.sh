#!/bin/sh
# A refused command creates no state file: a tenant add or import refused for
# capacity (which needs the store to decide) leaves no state.db, no -wal/-shm
# and no temporary file; the first accepted add creates the store.
# ok and not_ok always succeed, so "test && ok || not_ok" is an if-then-else here.
# shellcheck disable=SC2015
. "$top_srcdir/tests/lib.sh"
export OUTPOST_STATE="$T/state/state.db"
printf '{"cpu_millicores": 1000, "memory_mib": 1024, "disk_gib": 10}\n' >"$T/tiny.json"
printf '{"cpu_millicores": 8000, "memory_mib": 16384, "disk_gib": 100}\n' >"$T/ref.json"
no_store() { # no_store DESCRIPTION: nothing but (maybe) the empty directory
	left=$(find "$T/state" -type f 2>/dev/null)
	[ -z "$left" ] && ok "$1" || not_ok "$1 (left: $left)"
}

expect_exit 3 "add over capacity is refused" -- "$OUTPOST" --profile "$T/tiny.json" tenant add acme --host acme.example.com
expect_fgrep "outpost: tenant add: capacity" "$T/err" "the refusal names capacity"
no_store "a refused add leaves no state file"

echo '{"name": "acme", "host": "acme.example.com"}' >"$T/one.jsonl"
expect_exit 3 "import over capacity is refused" -- "$OUTPOST" --profile "$T/tiny.json" tenant import "$T/one.jsonl"
no_store "a refused import leaves no state file"

expect_exit 0 "an accepted add creates the store" -- "$OUTPOST" --profile "$T/ref.json" tenant add acme --host acme.example.com
expect_fgrep "tenant acme added" "$T/out" "the add is reported"
[ "$(stat -c %a "$OUTPOST_STATE" 2>/dev/null)" = 600 ] && ok "the store is 0600" || not_ok "the store is 0600"
expect_exit 0 "the tenant is in it" -- "$OUTPOST" tenant show acme
[ -z "$(find "$T/state" -name '*.new.*')" ] && ok "no temporary store left" || not_ok "no temporary store left"
expect_exit 0 "a second add uses the existing store" -- "$OUTPOST" --profile "$T/ref.json" tenant add beta --host beta.example.com
expect_exit 0 "both tenants listed" -- "$OUTPOST" tenant list
expect_fgrep "acme" "$T/out" "acme listed"
expect_fgrep "beta" "$T/out" "beta listed"
finish
