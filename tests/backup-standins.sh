#!/bin/sh
# outpost backup/restore --keycloak against a stand-in of kc.sh
# (tests/backup-standins/) that records its argv and keeps realms in a
# directory: what is run, with which arguments, and that the part carries the
# files both ways. What kc.sh then does with a real Keycloak only a real
# cluster shows (README.md). The MinIO part has its own test against an S3
# server (tests/backup-minio.sh).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/backup-lib.sh"
# Copied and made executable: a source tree may not keep modes.
SI=$T/standins
mkdir "$SI"
cp "$top_srcdir/tests/backup-standins/kc.sh" "$SI/"
chmod 755 "$SI/kc.sh"
PATH=$SI:$PATH
STANDIN_LOG=$T/argv.log
KC_STORE=$T/keycloak
export PATH STANDIN_LOG KC_STORE
: >"$STANDIN_LOG"

mkdir -p "$KC_STORE"
echo '{"realm":"master"}' >"$KC_STORE/master-realm.json"
echo '{"realm":"t-acme","clients":[{"clientId":"t-acme"}]}' >"$KC_STORE/t-acme-realm.json"
cp -R "$KC_STORE" "$T/keycloak.before"

R=$T/box
backup_box "$R" 1.2.0
S=$T/state.db
set -- --keycloak "$SI/kc.sh"

expect_exit 0 "backup with --keycloak" -- "$OUTPOST" --state "$S" backup --root "$R" "$@"
A=$(cat "$T/out")
tar tzf "$A" >"$T/list"
expect_true "the part is in the archive, last" -- test "$(tail -1 "$T/list")" = "keycloak/realms.tar"
mkdir "$T/x" && tar xzf "$A" -C "$T/x"
expect_true "the Keycloak part holds every realm's export" -- test \
	"$(tar tf "$T/x/keycloak/realms.tar" | sort | tr '\n' ' ')" = "master-realm.json t-acme-realm.json "
expect_grep "^kc.sh export --dir /.* --users realm_file$" "$STANDIN_LOG" "kc.sh exports the realms with their users"
expect_true "no work directory is left" -- test -z "$(find "$R/var/lib/outpost/backups" -name '.outpost-*')"

# Damage: a realm changed.
echo '{"realm":"t-acme","clients":[]}' >"$KC_STORE/t-acme-realm.json"

expect_exit 3 "an archive with a Keycloak part needs --keycloak on restore" -- \
	"$OUTPOST" --state "$S" restore "$A" --root "$R"
expect_fgrep "holds a Keycloak dump: say where to restore it with --keycloak" "$T/err" "and says so"

expect_exit 0 "restore with --keycloak" -- "$OUTPOST" --state "$S" restore "$A" --root "$R" "$@"
expect_true "the realms are back" -- diff -r "$T/keycloak.before" "$KC_STORE"
expect_grep "^kc.sh import --dir /.* --override true$" "$STANDIN_LOG" "through kc.sh import --override true"
expect_true "no work directory is left" -- test -z "$(find "$R/var/lib/outpost/backups" -name '.outpost-*')"

# A Keycloak part whose entry climbs out of the directory.
rm -rf "$T/bad" && cp -r "$T/x" "$T/bad"
echo '{}' >"$T/evil.json"
# (GNU tar strips a leading ../; Python's tarfile writes it as given.)
"$PYTHON3" -c 'import sys, tarfile
with tarfile.open(sys.argv[1], "w") as t: t.add(sys.argv[2], arcname="../evil.json")' \
	"$T/bad/keycloak/realms.tar" "$T/evil.json"
"$PYTHON3" "$top_srcdir/tests/backup-rehash.py" "$T/bad/manifest.json" keycloak/realms.tar "$T/bad/keycloak/realms.tar"
(cd "$T/bad" && tar czf "$T/bad2.tar.gz" manifest.json keycloak/realms.tar)
: >"$STANDIN_LOG"
expect_exit 3 "a Keycloak part with an entry '../evil.json' is refused" -- \
	"$OUTPOST" --state "$S" restore "$T/bad2.tar.gz" --root "$R" "$@"
expect_fgrep "entry '../evil.json'" "$T/err" "naming the entry"
expect_true "and nothing was run" -- test ! -s "$STANDIN_LOG"

expect_exit 2 "a relative --keycloak is refused" -- "$OUTPOST" --state "$S" backup --root "$R" --keycloak kc.sh
finish
