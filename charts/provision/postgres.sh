#!/bin/sh
# One tenant's PostgreSQL role and database: ACTION=provision creates or
# repairs them (idempotent), ACTION=deprovision drops them. Interface:
# charts/provision/README.md. Admin connection from libpq's environment
# (PGHOST, PGPORT, PGUSER, PGPASSWORD); the tenant's password from
# TENANT_PASSWORD, read by psql itself (\getenv) so it never reaches argv.
set -eu

die() { echo "postgres.sh: $*" >&2; exit 2; }

: "${ACTION:?ACTION must be provision or deprovision}"
: "${TENANT:?TENANT (the tenant name) is not set}"
case $TENANT in
'' | -* | *- | *[!a-z0-9-]*) die "TENANT '$TENANT' is not a DNS-1123 label" ;;
esac
# Role and database are "t-<tenant>"; PostgreSQL would silently truncate a
# name past 63 bytes, merging two tenants.
[ "${#TENANT}" -le 61 ] || die "TENANT '$TENANT' is longer than 61 characters"
name="t-$TENANT"

run_sql() {
	psql -X -q -v ON_ERROR_STOP=1 -d "${PGADMINDB:-postgres}" -v name="$name" -f -
}

provision() {
	[ -n "${TENANT_PASSWORD:-}" ] || die "TENANT_PASSWORD is empty"
	run_sql <<'SQL'
\getenv pw TENANT_PASSWORD
SELECT format('CREATE ROLE %I LOGIN', :'name')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'name') \gexec
-- Reasserted on every run, so a drifted role is repaired.
ALTER ROLE :"name" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
  NOREPLICATION NOBYPASSRLS INHERIT CONNECTION LIMIT -1 PASSWORD :'pw';
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name') \gexec
ALTER DATABASE :"name" OWNER TO :"name";
ALTER DATABASE :"name" CONNECTION LIMIT -1;
-- Every new database grants CONNECT and TEMPORARY to PUBLIC: take them back
-- so only the owner (and superusers) can open it.
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
}

deprovision() {
	run_sql <<'SQL'
-- Stop new sessions first, then end the open ones, then drop.
SELECT format('ALTER ROLE %I NOLOGIN', :'name')
 WHERE EXISTS (SELECT FROM pg_roles WHERE rolname = :'name') \gexec
SELECT format('ALTER DATABASE %I CONNECTION LIMIT 0', :'name')
 WHERE EXISTS (SELECT FROM pg_database WHERE datname = :'name') \gexec
SELECT count(pg_terminate_backend(pid)) AS terminated FROM pg_stat_activity
 WHERE (datname = :'name' OR usename = :'name') AND pid <> pg_backend_pid() \gset
DROP DATABASE IF EXISTS :"name" WITH (FORCE);
-- Anything the role still owns or was granted in this database goes too.
SELECT format('DROP OWNED BY %I', :'name')
 WHERE EXISTS (SELECT FROM pg_roles WHERE rolname = :'name') \gexec
DROP ROLE IF EXISTS :"name";
SQL
}

case $ACTION in
provision) provision ;;
deprovision) deprovision ;;
*) die "ACTION '$ACTION' is not provision or deprovision" ;;
esac
echo "postgres.sh: $ACTION $name: done"
