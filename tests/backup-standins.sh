#!/bin/sh
# outpost backup/restore --minio and --keycloak against stand-ins of mc and
# kc.sh (tests/backup-standins/) that record their argv and keep buckets and
# realms in directories: what is run, with which arguments and environment,
# and that the parts carry the files both ways. Tenant buckets are mirrored,
# other buckets are not; restore makes a missing bucket, removes objects
# added after the backup, and leaves other buckets alone; the root password
# reaches mc only in MC_HOST_outpost, never argv. What mc and kc.sh then do
# with a real MinIO and Keycloak only a real cluster shows (README.md).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/backup-lib.sh"
# Copied and made executable: a source tree may not keep modes.
SI=$T/standins
mkdir "$SI"
cp "$top_srcdir/tests/backup-standins/mc" "$top_srcdir/tests/backup-standins/kc.sh" "$SI/"
chmod 755 "$SI/mc" "$SI/kc.sh"
PATH=$SI:$PATH
STANDIN_LOG=$T/argv.log
MC_STORE=$T/minio
KC_STORE=$T/keycloak
export PATH STANDIN_LOG MC_STORE KC_STORE
: >"$STANDIN_LOG"

mkdir -p "$MC_STORE/t-acme/dir" "$MC_STORE/t-beta" "$MC_STORE/loki" "$KC_STORE"
echo hello >"$MC_STORE/t-acme/a.txt"
head -c 4096 /dev/urandom >"$MC_STORE/t-acme/dir/b.bin"
echo chunk >"$MC_STORE/loki/chunk"
echo '{"realm":"master"}' >"$KC_STORE/master-realm.json"
echo '{"realm":"t-acme","clients":[{"clientId":"t-acme"}]}' >"$KC_STORE/t-acme-realm.json"
cp -R "$MC_STORE" "$T/minio.before"
cp -R "$KC_STORE" "$T/keycloak.before"

R=$T/box
backup_box "$R" 1.2.0
S=$T/state.db
pw='pa:ss@w/rd%x'
(umask 077 && printf 'root\n%s\n' "$pw" >"$T/cred")
set -- --minio http://127.0.0.1:9 --minio-credfile "$T/cred" --keycloak "$SI/kc.sh"

expect_exit 0 "backup with --minio and --keycloak" -- "$OUTPOST" --state "$S" backup --root "$R" "$@"
A=$(cat "$T/out")
tar tzf "$A" >"$T/list"
expect_true "both parts are in the archive, last" -- test \
	"$(tail -2 "$T/list" | tr '\n' ' ')" = "minio/buckets.tar keycloak/realms.tar "
mkdir "$T/x" && tar xzf "$A" -C "$T/x"
tar tf "$T/x/minio/buckets.tar" | sort >"$T/objects"
expect_true "the MinIO part holds the tenant buckets' objects" -- test \
	"$(tr '\n' ' ' <"$T/objects")" = "t-acme/ t-acme/a.txt t-acme/dir/ t-acme/dir/b.bin t-beta/ "
expect_true "the Keycloak part holds every realm's export" -- test \
	"$(tar tf "$T/x/keycloak/realms.tar" | sort | tr '\n' ' ')" = "master-realm.json t-acme-realm.json "
expect_fgrep "mc --quiet --json ls outpost/" "$STANDIN_LOG" "mc lists the buckets"
expect_grep "^mc --quiet mirror outpost/t-acme /.*/t-acme$" "$STANDIN_LOG" "and mirrors t-acme into a directory"
if grep -q "outpost/loki" "$STANDIN_LOG"; then not_ok "a bucket that is not a tenant's is left out"
else ok "a bucket that is not a tenant's is left out"; fi
expect_grep "^kc.sh export --dir /.* --users realm_file$" "$STANDIN_LOG" "kc.sh exports the realms with their users"
expect_fgrep "MC_HOST_outpost=http://root:pa%3Ass%40w%2Frd%25x@127.0.0.1:9 " "$STANDIN_LOG.env" \
	"mc gets the root credentials, escaped, in MC_HOST_outpost"
expect_grep "MC_CONFIG_DIR=/..*/.mc$" "$STANDIN_LOG.env" "and its own config directory"
if grep -rqF "$pw" "$STANDIN_LOG" "$T/x" "$T/out" "$T/err"; then not_ok "the root password is not in argv, the archive or the output"
else ok "the root password is not in argv, the archive or the output"; fi
expect_true "no work directory is left" -- test -z "$(find "$R/var/lib/outpost/backups" -name '.outpost-*')"

# Damage: an object changed, one added, a bucket gone, a foreign bucket and a realm changed.
echo changed >"$MC_STORE/t-acme/a.txt"
echo new >"$MC_STORE/t-acme/new.txt"
rm -r "$MC_STORE/t-beta"
echo changed >"$MC_STORE/loki/chunk"
echo '{"realm":"t-acme","clients":[]}' >"$KC_STORE/t-acme-realm.json"

expect_exit 3 "an archive with a MinIO part needs --minio on restore" -- \
	"$OUTPOST" --state "$S" restore "$A" --root "$R" --keycloak "$SI/kc.sh"
expect_fgrep "holds a MinIO dump: say where to restore it with --minio" "$T/err" "and says so"

# A crafted part: a bucket that is not a tenant's, with a valid manifest.
cp -r "$T/x" "$T/bad"
mkdir -p "$T/craft/loki"
echo evil >"$T/craft/loki/chunk"
(cd "$T/craft" && tar cf "$T/bad/minio/buckets.tar" loki loki/chunk)
"$PYTHON3" "$top_srcdir/tests/backup-rehash.py" "$T/bad/manifest.json" minio/buckets.tar "$T/bad/minio/buckets.tar"
(cd "$T/bad" && tar czf "$T/bad.tar.gz" manifest.json minio/buckets.tar keycloak/realms.tar)
: >"$STANDIN_LOG"
expect_exit 3 "a MinIO part with a bucket that is not a tenant's is refused" -- \
	"$OUTPOST" --state "$S" restore "$T/bad.tar.gz" --root "$R" "$@"
expect_fgrep "entry 'loki/' is not a relative file or directory of this part" "$T/err" "naming the entry"
expect_true "and nothing was run" -- test ! -s "$STANDIN_LOG"

expect_exit 0 "restore with --minio and --keycloak" -- "$OUTPOST" --state "$S" restore "$A" --root "$R" "$@"
expect_true "the tenant buckets are as they were (the added object gone, the removed bucket back)" -- \
	diff -r "$T/minio.before/t-acme" "$MC_STORE/t-acme"
expect_true "t-beta is back" -- test -d "$MC_STORE/t-beta"
expect_grep "^mc --quiet mb --ignore-existing outpost/t-beta$" "$STANDIN_LOG" "made with mc mb --ignore-existing"
expect_grep "^mc --quiet mirror --overwrite --remove /.*/t-acme outpost/t-acme$" "$STANDIN_LOG" \
	"and mirrored back with --overwrite --remove"
expect_true "a bucket that is not a tenant's is left alone" -- test "$(cat "$MC_STORE/loki/chunk")" = changed
expect_true "the realms are back" -- diff -r "$T/keycloak.before" "$KC_STORE"
expect_grep "^kc.sh import --dir /.* --override true$" "$STANDIN_LOG" "through kc.sh import --override true"
expect_true "no work directory is left" -- test -z "$(find "$R/var/lib/outpost/backups" -name '.outpost-*')"

n=$(find "$R/var/lib/outpost/backups" -name '*.tar.gz' | wc -l)
MC_FAIL=1 expect_exit 1 "a failing mc fails the backup" -- "$OUTPOST" --state "$S" backup --root "$R" "$@"
expect_fgrep "mc" "$T/err" "naming mc"
expect_true "and leaves no archive or work directory" -- test \
	"$(find "$R/var/lib/outpost/backups" -name '*.tar.gz' | wc -l)" = "$n" -a \
	-z "$(find "$R/var/lib/outpost/backups" -name '.outpost-*')"
ln -s /etc/passwd "$MC_STORE/t-acme/link"
expect_exit 1 "a symlink in a mirrored bucket fails the backup" -- "$OUTPOST" --state "$S" backup --root "$R" "$@"
expect_fgrep "link: neither a file nor a directory" "$T/err" "naming it"
rm "$MC_STORE/t-acme/link"

# A Keycloak part whose entry climbs out of the directory.
rm -rf "$T/bad" && cp -r "$T/x" "$T/bad"
echo '{}' >"$T/evil.json"
# (GNU tar strips a leading ../; Python's tarfile writes it as given.)
"$PYTHON3" -c 'import sys, tarfile
with tarfile.open(sys.argv[1], "w") as t: t.add(sys.argv[2], arcname="../evil.json")' \
	"$T/bad/keycloak/realms.tar" "$T/evil.json"
"$PYTHON3" "$top_srcdir/tests/backup-rehash.py" "$T/bad/manifest.json" keycloak/realms.tar "$T/bad/keycloak/realms.tar"
(cd "$T/bad" && tar czf "$T/bad2.tar.gz" manifest.json minio/buckets.tar keycloak/realms.tar)
: >"$STANDIN_LOG"
expect_exit 3 "a Keycloak part with an entry '../evil.json' is refused" -- \
	"$OUTPOST" --state "$S" restore "$T/bad2.tar.gz" --root "$R" "$@"
expect_fgrep "entry '../evil.json'" "$T/err" "naming the entry"
expect_true "and nothing was run" -- test ! -s "$STANDIN_LOG"

expect_exit 2 "credentials in the --minio URL are refused" -- "$OUTPOST" --state "$S" backup --root "$R" \
	--minio "http://root:$pw@127.0.0.1:9" --minio-credfile "$T/cred"
expect_exit 2 "--minio without --minio-credfile is refused" -- "$OUTPOST" --state "$S" backup --root "$R" --minio http://127.0.0.1:9
chmod 644 "$T/cred"
expect_exit 2 "a credfile others can read is refused" -- "$OUTPOST" --state "$S" backup --root "$R" "$@"
expect_exit 2 "a relative --keycloak is refused" -- "$OUTPOST" --state "$S" backup --root "$R" --keycloak kc.sh
finish
