#!/bin/sh
# charts/provision/postgres.sh against a real PostgreSQL (Debian's server
# binaries, a throwaway cluster on 127.0.0.1, first booted with the
# postgresql chart's own init script): tenants are isolated from each other
# and from Keycloak's database, provisioning twice is harmless,
# deprovisioning removes everything.
. "$top_srcdir/tests/lib.sh"

pgbin=
for d in /usr/lib/postgresql/*/bin; do
	if [ -x "$d/initdb" ]; then pgbin=$d; fi
done
[ -n "$pgbin" ] || skip "no PostgreSQL server binaries"
skip_unless psql
script="$top_srcdir/charts/provision/postgres.sh"

# PostgreSQL refuses to run as root: under root (CI), run the server as an
# unprivileged account that can traverse $T.
as_server() { "$@"; }
if [ "$(id -u)" -eq 0 ]; then
	srv_user=nobody
	id postgres >/dev/null 2>&1 && srv_user=postgres
	as_server() { runuser -u "$srv_user" -- "$@"; }
	chmod 711 "$T"
fi
mkdir "$T/pg"
[ "$(id -u)" -ne 0 ] || chown "$srv_user" "$T/pg"

port=$("$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
admin_pw=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$admin_pw" >"$T/pg/pw"
[ "$(id -u)" -ne 0 ] || chown "$srv_user" "$T/pg/pw"
as_server "$pgbin/initdb" -D "$T/pg/data" -U postgres --auth=scram-sha-256 \
	--pwfile="$T/pg/pw" -E UTF8 --no-sync >"$T/initdb.log" 2>&1 ||
	{ cat "$T/initdb.log" >&2; exit 1; }
rm -f "$T/pg/pw"
as_server "$pgbin/pg_ctl" -D "$T/pg/data" -l "$T/pg/server.log" -w -t 60 \
	-o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$T/pg' -c fsync=off" \
	start >/dev/null || { cat "$T/pg/server.log" >&2; exit 1; }
on_exit "as_server '$pgbin/pg_ctl' -D '$T/pg/data' -m immediate stop >/dev/null 2>&1 || true"

export PGHOST=127.0.0.1 PGPORT="$port" PGUSER=postgres PGPASSWORD="$admin_pw"
pwa=alpha-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
pwb=bravo-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')

prov() { ACTION=$1 TENANT=$2 TENANT_PASSWORD=${3:-} sh "$script"; }
# as_tenant PASSWORD ROLE DB SQL: one query as a tenant, over TCP with a password.
as_tenant() { PGPASSWORD=$1 psql -X -q -At -v ON_ERROR_STOP=1 -U "$2" -d "$3" -c "$4"; }
admin() { psql -X -q -At -v ON_ERROR_STOP=1 -d postgres -c "$1"; }

# The chart's first-boot script, as the image's entrypoint would run it.
skip_unless helm
skip_unless kubectl
"$PYTHON3" "$top_srcdir/tests/charts_check.py" data "$top_srcdir/charts/postgresql" \
	postgresql-init 10-outpost.sh >"$T/init.sh"
kcpw=kc-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
expect_exit 0 "the chart's init script runs on a new cluster" -- \
	env POSTGRES_USER=postgres KEYCLOAK_DB_PASSWORD="$kcpw" sh "$T/init.sh"

expect_exit 0 "provision tenant a" -- prov provision a "$pwa"
expect_exit 0 "provision tenant b" -- prov provision b "$pwb"
expect_exit 0 "provisioning a again is harmless" -- prov provision a "$pwa"
expect_exit 0 "provisioning b again is harmless" -- prov provision b "$pwb"
admin "SELECT count(*) FROM pg_roles WHERE rolname = 't-a'" >"$T/n"
expect_grep '^1$' "$T/n" "one role t-a after two runs"

expect_exit 0 "a connects to its own database" -- \
	as_tenant "$pwa" t-a t-a "CREATE TABLE notes (x int); INSERT INTO notes VALUES (1); SELECT count(*) FROM notes"
expect_grep '^1$' "$T/out" "a owns and uses its database"
expect_exit 2 "a cannot connect to b's database" -- as_tenant "$pwa" t-a t-b "SELECT 1"
expect_grep 'permission denied for database' "$T/err" "refused for lack of CONNECT"
expect_exit 2 "a's password does not open b's role" -- as_tenant "$pwa" t-b t-b "SELECT 1"
expect_grep 'password authentication failed' "$T/err" "b's role does not take a's password"
expect_exit 0 "b connects to its own database" -- as_tenant "$pwb" t-b t-b "SELECT current_user"
expect_grep '^t-b$' "$T/out" "b is itself in its database"

admin "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = 't-a'" >"$T/flags"
expect_grep '^f|f|f|f|f$' "$T/flags" "a is not superuser, createrole, createdb, replication or bypassrls"
admin "SELECT has_database_privilege('public', 't-a', 'CONNECT')" >"$T/pub"
expect_grep '^f$' "$T/pub" "PUBLIC has no CONNECT on a's database"
admin "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 't-a'" >"$T/owner"
expect_grep '^t-a$' "$T/owner" "a's database is owned by a"
expect_exit 2 "a cannot connect to the postgres database" -- as_tenant "$pwa" t-a postgres "SELECT 1"
expect_exit 2 "a cannot connect to Keycloak's database" -- as_tenant "$pwa" t-a keycloak "SELECT 1"
expect_grep 'permission denied for database' "$T/err" "refused for lack of CONNECT"
expect_exit 0 "Keycloak connects to its database with the chart's password" -- \
	as_tenant "$kcpw" keycloak keycloak "SELECT current_user"
expect_exit 1 "a cannot create a database" -- as_tenant "$pwa" t-a t-a "CREATE DATABASE sneaky"
expect_grep 'permission denied to create database' "$T/err" "refused by the server"

# Drift is repaired and the password rotates.
admin "ALTER ROLE \"t-a\" CREATEDB; GRANT CONNECT ON DATABASE \"t-a\" TO PUBLIC"
pwa2=alpha2-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
expect_exit 0 "provision a with a new password" -- prov provision a "$pwa2"
expect_exit 2 "a's old password no longer works" -- as_tenant "$pwa" t-a t-a "SELECT 1"
expect_exit 0 "a's new password works and the data stayed" -- as_tenant "$pwa2" t-a t-a "SELECT count(*) FROM notes"
admin "SELECT rolcreatedb, has_database_privilege('public', 't-a', 'CONNECT') FROM pg_roles WHERE rolname = 't-a'" >"$T/drift"
expect_grep '^f|f$' "$T/drift" "re-provisioning repaired CREATEDB and PUBLIC CONNECT"

# Deprovision with b still connected: the session is ended, db and role go.
PGPASSWORD=$pwb psql -X -q -U t-b -d t-b -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
sleeper=$!
on_exit "kill $sleeper 2>/dev/null || true"
i=0
until [ "$(admin "SELECT count(*) FROM pg_stat_activity WHERE usename = 't-b'")" = 1 ] || [ $i -ge 100 ]; do
	sleep 0.1; i=$((i + 1))
done
expect_exit 0 "deprovision b while b is connected" -- prov deprovision b
expect_exit 0 "deprovisioning b again is harmless" -- prov deprovision b
if wait "$sleeper"; then not_ok "b's open session was ended"; else ok "b's open session was ended"; fi
admin "SELECT (SELECT count(*) FROM pg_roles WHERE rolname = 't-b') + (SELECT count(*) FROM pg_database WHERE datname = 't-b')" >"$T/gone"
expect_grep '^0$' "$T/gone" "b's role and database are gone"
expect_exit 0 "a is untouched by b's removal" -- as_tenant "$pwa2" t-a t-a "SELECT count(*) FROM notes"

expect_exit 2 "a bad tenant name is refused" -- prov provision 'x;DROP' "$pwa"
expect_grep "not a DNS-1123 label" "$T/err" "the refusal names the problem"
expect_exit 2 "an empty password is refused" -- prov provision c ""
expect_exit 2 "an unknown action is refused" -- prov upgrade a "$pwa"
finish
