#!/bin/sh
# outpost backup --pg / restore --pg against a real PostgreSQL (Debian's
# server, a throwaway cluster on a socket in $T): tenants provisioned by the
# chart's script and a platform database are dumped into the archive with the
# other parts; after the data is changed and a database dropped, restore
# brings every row back. The password goes through a 0600 passfile, never
# argv or the archive; a changed dump and a missing --pg are refused before
# anything is applied; a replay the server stops says PostgreSQL may be
# partly restored, and running restore again finishes it, ending the sessions
# of tenants still connected; rows that read like statements pass untouched. The same
# through the pod runner (--pg-pod), with a stand-in for k3s's `kubectl exec`
# that runs the command in the pod's place against the same server, restored
# in two steps (--only files, then --only services).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/backup-lib.sh"

. "$top_srcdir/tests/pg-server.sh"
skip_unless psql
skip_unless pg_dumpall
skip_unless sqlite3
pg_server "$T/pg"
on_exit "pg_server_stop '$T/pg'"
pw=$pg_pw
cp "$T/pg/passfile" "$T/passfile"
CONN=$PG_CONN
sql() { PGPASSFILE=$T/passfile psql -X -q -At -v ON_ERROR_STOP=1 -d "host=$T/pg user=postgres dbname=$1" -c "$2"; }

# Two tenants as the chart provisions them, with data, and a platform database.
for t in acme beta; do
	PGHOST=$T/pg PGUSER=postgres PGPASSFILE=$T/passfile ACTION=provision TENANT=$t \
		TENANT_PASSWORD=pw-$t sh "$top_srcdir/charts/provision/postgres.sh" >/dev/null ||
		{ not_ok "provision $t"; finish; }
	sql "t-$t" "SET ROLE \"t-$t\"; CREATE TABLE orders (id int PRIMARY KEY, note text);
		INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 1000) g"
done
sql postgres "CREATE DATABASE keycloak"
sql keycloak "CREATE TABLE realm (name text); INSERT INTO realm VALUES ('outpost')"
sql t-acme "SELECT md5(string_agg(note, ',' ORDER BY id)) FROM orders" >"$T/acme.before"
# One-column rows that COPY writes as lines reading like the statements the
# replay drops or changes.
sql t-acme "SET ROLE \"t-acme\"; CREATE TABLE lookalike (t text);
	INSERT INTO lookalike VALUES ('DROP DATABASE IF EXISTS \"t-acme\";'), ('CREATE ROLE postgres;')"

R=$T/box
backup_box "$R" 1.2.0
S=$T/state.db
backup_profile
"$OUTPOST" --state "$S" tenant add acme --host acme.example.com >/dev/null

expect_exit 0 "backup with --pg" -- "$OUTPOST" --state "$S" backup --root "$R" --pg "$CONN" --pg-passfile "$T/passfile"
A=$(cat "$T/out")
expect_true "the dump is a part, listed last" -- test "$(tar tzf "$A" | tail -1)" = postgres/all.sql
mkdir "$T/x" && tar xzf "$A" -C "$T/x"
expect_true "its SHA-256 is in the manifest" -- test \
	"$(sha256sum <"$T/x/postgres/all.sql" | cut -d' ' -f1)" = \
	"$("$PYTHON3" -c 'import json, sys; print([p["sha256"] for p in json.load(open(sys.argv[1]))["parts"] if p["name"] == "postgres/all.sql"][0])' "$T/x/manifest.json")"
for db in t-acme t-beta keycloak; do
	expect_grep "^CREATE DATABASE \"\{0,1\}$db\"\{0,1\} " "$T/x/postgres/all.sql" "the dump holds database $db"
done
if grep -rqF "$pw" "$T/x" "$T/out" "$T/err"; then not_ok "the admin password is not in the archive or the output"
else ok "the admin password is not in the archive or the output"; fi

# Damage: rows changed and removed, a database dropped, a role changed.
sql t-acme "UPDATE orders SET note = 'x' WHERE id <= 10; DELETE FROM orders WHERE id > 500"
sql postgres "DROP DATABASE keycloak"
sql postgres "ALTER ROLE \"t-beta\" PASSWORD 'changed'"

expect_exit 3 "an archive with a dump needs --pg on restore" -- "$OUTPOST" --state "$S" restore "$A" --root "$R"
expect_fgrep "say where to restore it with --pg" "$T/err" "and says so"

cp -r "$T/x" "$T/bad"
echo "DROP DATABASE \"t-beta\";" >>"$T/bad/postgres/all.sql"
(cd "$T/bad" && tar czf "$T/bad.tar.gz" manifest.json state.db postgres/all.sql)
expect_exit 3 "a changed dump is refused" -- "$OUTPOST" --state "$S" restore "$T/bad.tar.gz" --root "$R" --pg "$CONN" --pg-passfile "$T/passfile"
expect_fgrep "part 'postgres/all.sql' has SHA-256" "$T/err" "naming the part"
expect_true "and nothing was applied" -- test "$(sql t-beta 'SELECT count(*) FROM orders')" = 1000

expect_exit 2 "a password in --pg is refused" -- "$OUTPOST" --state "$S" backup --root "$R" --pg "$CONN password=$pw"
expect_fgrep "no password in the connection string" "$T/err" "and why"
chmod 644 "$T/passfile"
expect_exit 2 "a passfile others can read is refused" -- "$OUTPOST" --state "$S" backup --root "$R" --pg "$CONN" --pg-passfile "$T/passfile"
chmod 600 "$T/passfile"

# A tenant app still connected does not stop the replay: its session is ended
# (DROP DATABASE ... WITH (FORCE)).
PGPASSWORD=changed psql -X -q -d "host=$T/pg user=t-beta dbname=t-beta" -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
sleeper=$!
on_exit "kill $sleeper 2>/dev/null || :"
deadline=$(($(date +%s) + 20))
until [ "$(sql postgres "SELECT count(*) FROM pg_stat_activity WHERE usename = 't-beta'")" = 1 ] ||
	[ "$(date +%s)" -ge "$deadline" ]; do sleep 0.1; done
[ "$(sql postgres "SELECT count(*) FROM pg_stat_activity WHERE usename = 't-beta'")" = 1 ] ||
	{ not_ok "a session of t-beta is open within 20 s"; finish; }
expect_exit 0 "restore with --pg while a tenant is connected" -- "$OUTPOST" --state "$S" restore "$A" --root "$R" --pg "$CONN" --pg-passfile "$T/passfile"
wait "$sleeper" 2>/dev/null || :
expect_true "the connected session was ended" -- test "$(sql postgres "SELECT count(*) FROM pg_stat_activity WHERE usename = 't-beta'")" = 0

# A replay the server stops part-way says so: a database made after the
# backup, owned by a tenant's role, keeps that role from being dropped.
sql postgres 'CREATE DATABASE "later" OWNER "t-beta"'
expect_exit 1 "a replay stopped by the server fails" -- "$OUTPOST" --state "$S" restore "$A" --root "$R" --pg "$CONN" --pg-passfile "$T/passfile"
expect_fgrep "PostgreSQL may be partly restored" "$T/err" "and says PostgreSQL may be partly restored"
sql postgres 'DROP DATABASE "later"'
expect_exit 0 "restore with --pg (run again)" -- "$OUTPOST" --state "$S" restore "$A" --root "$R" --pg "$CONN" --pg-passfile "$T/passfile"
expect_true "acme's rows are back, byte for byte" -- test \
	"$(sql t-acme "SELECT md5(string_agg(note, ',' ORDER BY id)) FROM orders")" = "$(cat "$T/acme.before")"
expect_true "the dropped platform database is back" -- test "$(sql keycloak 'SELECT name FROM realm')" = outpost
expect_true "beta's data is there" -- test "$(sql t-beta 'SELECT count(*) FROM orders')" = 1000
expect_exit 0 "beta's role has its password back" -- env PGPASSWORD=pw-beta psql -X -q -At -d "host=$T/pg user=t-beta dbname=t-beta" -c "SELECT 1"
expect_true "the owner is still the tenant" -- test "$(sql postgres "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 't-acme'")" = t-acme
expect_true "rows that read like the statements the replay changes came back as they were" -- test \
	"$(sql t-acme 'SELECT string_agg(t, '"'|'"' ORDER BY t) FROM lookalike')" = 'CREATE ROLE postgres;|DROP DATABASE IF EXISTS "t-acme";'

# The pod runner: `k3s kubectl exec` into the platform's pod, played here by
# a stand-in at the installed k3s's path that checks the namespace and pod and
# runs the command as the pod would (its socket, its trust: the stand-in's own
# passfile stands for it; Outpost passes none).
mkdir -p "$R/usr/local/bin"
cat >"$R/usr/local/bin/k3s" <<STANDIN
#!/bin/sh
echo "\$*" >>"$T/exec.log"
[ "\$1 \$2 \$4" = "kubectl --kubeconfig exec" ] || exit 64
shift 4
[ "\$1" = -i ] && shift
[ "\$1 \$2 \$3 \$4" = "-n outpost-platform postgresql-0 --" ] || { echo "pods \"\$3\" not found" >&2; exit 1; }
shift 4
PGHOST=$T/pg PGPASSFILE=$T/passfile exec "\$@"
STANDIN
chmod +x "$R/usr/local/bin/k3s"
sql t-acme "UPDATE orders SET note = 'y' WHERE id <= 10"
sql t-acme "SELECT md5(string_agg(note, ',' ORDER BY id)) FROM orders" >"$T/acme.pod"
expect_exit 0 "backup with --pg-pod" -- env -u PGPASSFILE "$OUTPOST" --state "$S" backup --root "$R" --pg-pod outpost-platform/postgresql-0
P=$(cat "$T/out")
mkdir "$T/p" && tar xzf "$P" -C "$T/p"
expect_grep '^CREATE DATABASE "t-acme" ' "$T/p/postgres/all.sql" "the pod's dump holds the tenant's database"
expect_fgrep "kubectl --kubeconfig $R/etc/rancher/k3s/k3s.yaml exec -n outpost-platform postgresql-0 -- pg_dumpall --clean --if-exists --no-password -U postgres" \
	"$T/exec.log" "through k3s's kubectl at the root, with its kubeconfig, into the pod's own pg_dumpall"
if grep -qF "$pw" "$T/exec.log" "$T/p/postgres/all.sql"; then not_ok "no password in argv or the dump"; else ok "no password in argv or the dump"; fi
sql t-acme "DELETE FROM orders WHERE id > 10"
sql postgres "DROP DATABASE keycloak"
expect_exit 3 "an archive with a dump still needs a runner on restore" -- "$OUTPOST" --state "$S" restore "$P" --root "$R"
# The two steps of a box whose PostgreSQL runs in its cluster: the files with
# the service stopped, then the dump once the platform is up.
expect_exit 0 "restore --only files leaves the dump" -- "$OUTPOST" --state "$S" restore "$P" --root "$R" --only files
expect_fgrep "outpost restore $P --only services (with --pg-pod or --pg ...) for postgres/all.sql" "$T/out" \
	"and says how to replay it once the platform is up"
expect_true "nothing was replayed yet" -- test "$(sql t-acme 'SELECT count(*) FROM orders')" = 10
expect_exit 0 "restore --only services with --pg-pod" -- "$OUTPOST" --state "$S" restore "$P" --root "$R" \
	--only services --pg-pod outpost-platform/postgresql-0
expect_exit 2 "--only takes files or services" -- "$OUTPOST" --state "$S" restore "$P" --root "$R" --only dumps
expect_fgrep "exec -i -n outpost-platform postgresql-0 -- psql -X -q --no-password -v ON_ERROR_STOP=1 -U postgres -d postgres -f -" \
	"$T/exec.log" "the replay is psql in the pod, reading the dump from stdin"
expect_true "acme's rows are back through the pod" -- test \
	"$(sql t-acme "SELECT md5(string_agg(note, ',' ORDER BY id)) FROM orders")" = "$(cat "$T/acme.pod")"
expect_true "and the dropped platform database" -- test "$(sql keycloak 'SELECT name FROM realm')" = outpost
expect_exit 1 "a pod that is not there fails the backup" -- "$OUTPOST" --state "$S" backup --root "$R" --pg-pod outpost-platform/postgresql-9
expect_fgrep 'pods "postgresql-9" not found' "$T/err" "with kubectl's message"
expect_exit 2 "--pg-pod names NAMESPACE/POD" -- "$OUTPOST" --state "$S" backup --root "$R" --pg-pod postgresql-0
expect_exit 2 "--pg and --pg-pod together are refused" -- "$OUTPOST" --state "$S" backup --root "$R" --pg "$CONN" --pg-pod outpost-platform/postgresql-0

finish
