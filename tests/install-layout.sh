#!/bin/sh
# `make install` into a scratch DESTDIR: nothing lands outside the prefix
# (the systemd units included), the app catalog is installed where the
# reconciler reads it, byte for byte, and the installed program renders a
# tenant of each catalog app from the installed files alone.
# ok and not_ok always succeed, so "test && ok || not_ok" is an if-then-else here.
# shellcheck disable=SC2015
. "$top_srcdir/tests/lib.sh"

mkvar() { sed -n "s/^$1 = //p" "$top_builddir/Makefile"; }
prefix=$(mkvar prefix)
root=$T/root
# The test runs inside `make check`: a sub-make must not inherit its flags.
if env -u MAKEFLAGS -u MFLAGS make -s -C "$top_builddir" install DESTDIR="$root" >"$T/install.out" 2>&1; then
	ok "make install DESTDIR=... succeeds"
else
	not_ok "make install DESTDIR=... succeeds"; sed 's/^/# /' "$T/install.out" >&2; finish; exit
fi

(cd "$root" && find . ! -type d | sed 's|^\.||') >"$T/files"
grep -v "^$prefix/" "$T/files" >"$T/outside" || :
[ -s "$T/outside" ] && { not_ok "nothing is installed outside $prefix"; sed 's/^/# /' "$T/outside" >&2; } ||
	ok "nothing is installed outside $prefix"
grep -q "^$prefix/lib/systemd/system/outpost.service$" "$T/files" &&
	ok "the units go under the prefix by default" || not_ok "the units go under the prefix by default"

# Every catalog file, and nothing else, under $(pkgdatadir)/apps.
pkgdata=$root$prefix/share/outpost
(cd "$top_srcdir/charts/apps" && find . -type f | sort) >"$T/catalog.src"
if [ -d "$pkgdata/apps" ]; then (cd "$pkgdata/apps" && find . -type f | sort) >"$T/catalog.inst"; else : >"$T/catalog.inst"; fi
if cmp -s "$T/catalog.src" "$T/catalog.inst"; then ok "the installed catalog holds every file of charts/apps"
else not_ok "the installed catalog holds every file of charts/apps (mk/install.am out of date?)"
	diff "$T/catalog.src" "$T/catalog.inst" | sed 's/^/# /' >&2; fi
while read -r f; do
	cmp -s "$top_srcdir/charts/apps/$f" "$pkgdata/apps/$f" || not_ok "installed $f differs from the source"
done <"$T/catalog.inst"

# The installed program with the installed data: DESTDIR moves the tree, so
# the data directory is pointed at where DESTDIR put it, and at nothing else.
installed=$root$prefix/bin/outpost
OUTPOST_DATADIR=$pkgdata; export OUTPOST_DATADIR
OUTPOST_STATE=$T/state.db; export OUTPOST_STATE
# A big box, so admission takes the tenants whatever this machine has.
OUTPOST_PROFILE=$T/profile.json; export OUTPOST_PROFILE
echo '{"cpu_millicores": 4096000, "memory_mib": 16777216, "disk_gib": 1000000}' >"$OUTPOST_PROFILE"
for app in $(cd "$top_srcdir/charts/apps" && ls); do
	expect_exit 0 "tenant add --app $app" -- "$installed" tenant add "$app" --host "$app.example.org" --app "$app"
done
expect_exit 0 "reconcile --dry-run renders from the installed catalog" -- "$installed" reconcile --dry-run
for app in $(cd "$top_srcdir/charts/apps" && ls); do
	expect_fgrep "static/charts/$app-" "$T/out" "the dry run holds tenant $app's HelmChart of the $app chart"
done
expect_true "the dry run names no catalog failure" -- sh -c "! grep -q 'not in the app catalog' '$T/out' '$T/err'"
finish
