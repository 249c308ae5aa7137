#!/bin/sh
# outpost backup / restore with real parts: the tenants' SQLite state file and
# a k3s-style SQLite datastore being written to while the backup runs, and
# the token. Restore onto a fresh root of the same bundle version brings
# them back; a newer archive, a changed part, a foreign entry and a box with
# nothing installed are refused with nothing changed; retention keeps N.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/backup-lib.sh"
skip_unless sqlite3
PY=${PYTHON3:-python3}

backup_profile

# box ROOT VERSION: an installed bundle's record, a datastore and a token.
box() {
	backup_box "$1" "$2"
	mkdir -p "$1/var/lib/rancher/k3s/server/db"
}

R=$T/box1
box "$R" 1.2.0
DB=$R/var/lib/rancher/k3s/server/db/state.db
sqlite3 "$DB" "PRAGMA journal_mode=WAL; CREATE TABLE kine (id INTEGER PRIMARY KEY, name TEXT, value BLOB);" >/dev/null
sqlite3 "$DB" "INSERT INTO kine (name, value) VALUES ('/registry/namespaces/t-acme', 'ns');"
printf 'K10abc::server:s3cr3t-token\n' >"$R/var/lib/rancher/k3s/server/token"
chmod 600 "$R/var/lib/rancher/k3s/server/token"
S1=$T/state1.db
"$OUTPOST" --state "$S1" tenant add acme --host acme.example.com --set size=3 >/dev/null
"$OUTPOST" --state "$S1" tenant add beta --host beta.example.com --plan medium >/dev/null

# A writer keeps the datastore busy while the backup copies it.
"$PY" - "$DB" "$T/writer.ready" <<'EOF2' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
open(sys.argv[2], "w").close()
end = time.time() + 4
i = 0
while time.time() < end:
    c.execute("BEGIN IMMEDIATE")
    for _ in range(50):
        i += 1
        c.execute("INSERT INTO kine (name, value) VALUES (?, randomblob(512))", (f"/registry/x/{i}",))
    c.execute("COMMIT")
EOF2
writer=$!
on_exit "kill $writer 2>/dev/null || :"
deadline=$(($(date +%s) + 20))
while [ ! -e "$T/writer.ready" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.05; done
[ -e "$T/writer.ready" ] || { not_ok "the datastore writer starts"; finish; }

expect_exit 0 "backup while the datastore is written" -- "$OUTPOST" --state "$S1" backup --root "$R"
A=$(cat "$T/out")
wait "$writer" || :
expect_true "into <root>/var/lib/outpost/backups" -- test "$(dirname "$A")" = "$R/var/lib/outpost/backups"
expect_true "the archive is 0600" -- test "$(stat -c %a "$A")" = 600
tar tzf "$A" >"$T/list"
expect_true "manifest first, then the parts" -- test "$(tr '\n' ' ' <"$T/list")" = "manifest.json state.db k3s/state.db k3s/token "
mkdir "$T/x" && tar xzf "$A" -C "$T/x"
expect_true "the manifest's hashes are the parts' SHA-256" -- "$PY" -c '
import hashlib, json, sys
d = sys.argv[1]
m = json.load(open(d + "/manifest.json"))
assert m["format"] == 1 and m["bundle_version"] == "1.2.0", m
assert [p["name"] for p in m["parts"]] == ["state.db", "k3s/state.db", "k3s/token"]
for p in m["parts"]:
    assert hashlib.sha256(open(d + "/" + p["name"], "rb").read()).hexdigest() == p["sha256"], p
' "$T/x"
expect_true "the copied datastore is consistent" -- test "$(sqlite3 "$T/x/k3s/state.db" 'PRAGMA integrity_check')" = ok
rows=$(sqlite3 "$T/x/k3s/state.db" 'SELECT count(*) FROM kine')
expect_true "and holds whole transactions (rows $rows = 1 + a multiple of 50)" -- test $(((rows - 1) % 50)) -eq 0

# A fresh box of the same bundle version.
R2=$T/box2
box "$R2" 1.2.0
S2=$T/state2.db
expect_exit 0 "restore on a fresh box" -- "$OUTPOST" --state "$S2" restore "$A" --root "$R2"
"$OUTPOST" --state "$S2" tenant list >"$T/tenants"
expect_grep "acme" "$T/tenants" "tenant acme is back"
expect_grep "beta" "$T/tenants" "tenant beta is back"
expect_true "the datastore is back, row for row" -- test \
	"$(sqlite3 "$R2/var/lib/rancher/k3s/server/db/state.db" 'SELECT count(*) FROM kine')" = "$rows"
expect_true "the token is back" -- cmp -s "$R/var/lib/rancher/k3s/server/token" "$R2/var/lib/rancher/k3s/server/token"
expect_true "the token is 0600" -- test "$(stat -c %a "$R2/var/lib/rancher/k3s/server/token")" = 600
expect_true "no staging is left" -- test -z "$(find "$R2/var/lib/outpost/backups" -name '.outpost-*')"

# Refusals: each exits 3, says why and changes nothing.
R3=$T/box3
box "$R3" 1.1.0
expect_exit 3 "an archive from a newer bundle is refused" -- "$OUTPOST" --state "$T/s3.db" restore "$A" --root "$R3"
expect_fgrep "newer than the installed 1.1.0" "$T/err" "the refusal names both versions"
expect_true "nothing was written" -- test ! -e "$T/s3.db" -a ! -e "$R3/var/lib/rancher/k3s/server/token"
box "$R3" 1.3.0
expect_exit 0 "an archive from an older bundle is accepted" -- "$OUTPOST" --state "$T/s3.db" restore "$A" --root "$R3"

cp -r "$T/x" "$T/bad"
printf 'K10other::server:forged\n' >"$T/bad/k3s/token"
(cd "$T/bad" && tar czf "$T/bad.tar.gz" manifest.json state.db k3s/state.db k3s/token)
box "$R2" 1.2.0
cp "$S2" "$T/state2.before"
expect_exit 3 "a part whose hash differs is refused" -- "$OUTPOST" --state "$S2" restore "$T/bad.tar.gz" --root "$R2"
expect_fgrep "part 'k3s/token' has SHA-256" "$T/err" "the refusal names the part"
expect_true "nothing was replaced" -- cmp -s "$R/var/lib/rancher/k3s/server/token" "$R2/var/lib/rancher/k3s/server/token"
expect_true "the state file is unchanged" -- cmp -s "$S2" "$T/state2.before"

cp -r "$T/x" "$T/evil" && mkdir -p "$T/evil/etc" && echo x >"$T/evil/etc/passwd"
(cd "$T/evil" && tar czf "$T/evil.tar.gz" manifest.json etc/passwd state.db)
expect_exit 3 "a foreign entry is refused" -- "$OUTPOST" --state "$S2" restore "$T/evil.tar.gz" --root "$R2"
expect_fgrep "unexpected or repeated entry 'etc/passwd'" "$T/err" "and named"

(cd "$T/x" && tar czf "$T/short.tar.gz" manifest.json state.db k3s/state.db)
expect_exit 3 "a part the manifest lists but the archive lacks is refused" -- "$OUTPOST" --state "$S2" restore "$T/short.tar.gz" --root "$R2"

mkdir -p "$T/bare"
expect_exit 3 "a box with no installed bundle is refused" -- "$OUTPOST" --state "$T/s4.db" restore "$A" --root "$T/bare"
expect_fgrep "install bundle 1.2.0 first" "$T/err" "and told what to install"
expect_exit 3 "not an archive" -- "$OUTPOST" --state "$S2" restore "$T/list" --root "$R2"

# Retention.
for _ in 1 2 3 4; do "$OUTPOST" --state "$S1" backup --root "$R" --out "$T/ret" --keep 2 >>"$T/made"; done
expect_true "--keep 2 keeps two archives" -- test "$(find "$T/ret" -name 'outpost-backup-*' | wc -l)" -eq 2
expect_true "the two newest" -- test -e "$(sed -n 4p "$T/made")" -a -e "$(sed -n 3p "$T/made")"

rm "$R/var/lib/rancher/k3s/server/token"
expect_exit 0 "a missing part is left out, not fatal" -- "$OUTPOST" --state "$S1" backup --root "$R" --out "$T/ret"
expect_fgrep "left out: k3s/token" "$T/err" "and said"
expect_exit 2 "--keep 0 is a usage error" -- "$OUTPOST" backup --keep 0
expect_exit 2 "restore without FILE" -- "$OUTPOST" restore

finish
