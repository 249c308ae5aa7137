#!/bin/sh
# --app must name an app of the installed catalog (<datadir>/apps/<chart>/
# Chart.yaml, what the reconciler reads): otherwise exit 3 naming the
# catalog and the apps there, and nothing is written.
# ok and not_ok always succeed, so "test && ok || not_ok" is an if-then-else here.
# shellcheck disable=SC2015
. "$top_srcdir/tests/lib.sh"
export OUTPOST_STATE="$T/state/state.db" OUTPOST_PROFILE="$T/ref.json"
printf '{"cpu_millicores": 8000, "memory_mib": 16384, "disk_gib": 100}\n' >"$T/ref.json"
APPS="$OUTPOST_DATADIR/apps"

expect_exit 3 "add with an app not in the catalog is refused" -- "$OUTPOST" tenant add acme --host acme.example.com --app wordpress
expect_fgrep "outpost: tenant add: --app wordpress: not in the app catalog $APPS (apps there: site, webapp)" "$T/err" "the refusal lists the catalog's apps"
[ ! -e "$OUTPOST_STATE" ] && ok "nothing written" || not_ok "nothing written"
for app in site webapp; do
	expect_exit 0 "add with --app $app" -- "$OUTPOST" tenant add "t-$app" --host "$app.example.com" --app "$app"
done
expect_exit 3 "set to an app not in the catalog is refused" -- "$OUTPOST" tenant set t-site --app ghost@1.0.0
expect_fgrep "outpost: tenant set: --app ghost: not in the app catalog" "$T/err" "set names the app"
expect_exit 0 "show" -- "$OUTPOST" tenant show t-site
expect_grep "site" "$T/out" "the tenant keeps its app"

# A tenant given no --app runs the default app, and says so.
expect_exit 0 "add without --app" -- "$OUTPOST" tenant add plain --host plain.example.com
expect_exit 0 "list" -- "$OUTPOST" tenant list
expect_grep "^plain  *plain.example.com  *small  *site (default)  *no " "$T/out" "list shows the default app"
expect_exit 0 "show without --app" -- "$OUTPOST" tenant show plain
expect_grep "^app: *site (default)$" "$T/out" "show names the default app"

# A data directory with no catalog at all says so.
mkdir -p "$T/data"
cp "$OUTPOST_DATADIR/capacity.json" "$OUTPOST_DATADIR/platform.json" "$T/data/"
expect_exit 3 "an empty catalog refuses every app" -- env OUTPOST_DATADIR="$T/data" "$OUTPOST" tenant add x --host x.example.com --app site
expect_fgrep "not in the app catalog $T/data/apps (it has no apps)" "$T/err" "says the catalog is empty"
finish
