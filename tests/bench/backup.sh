#!/bin/sh
# Benchmark: outpost backup --pg and restore --pg of a real PostgreSQL holding
# 100 tenants (each provisioned by charts/provision/postgres.sh, each with a
# table of BENCH_ROWS rows of ~100 bytes, 10,000 by default: about 1 MB of
# table data per tenant). Prints wall time, dump and archive size; asserts
# nothing about them. Restore replays into the same server (every database
# dropped and recreated), as on a box being put back.
set -eu
: "${OUTPOST:?run through make bench (OUTPOST is not set)}"
n=${BENCH_TENANTS:-100}
rows=${BENCH_ROWS:-10000}
T=$(mktemp -d "${TMPDIR:-/tmp}/outpost-bench.XXXXXX")
skip() { echo "skipped: $*"; exit 0; }
. "$top_srcdir/tests/pg-server.sh"
. "$top_srcdir/tests/backup-lib.sh"
pg_server "$T/pg"
trap 'pg_server_stop "$T/pg"; rm -rf "$T"' EXIT

export PGPASSFILE="$T/pg/passfile"
i=0
while [ $i -lt $n ]; do
	t=$(printf 'bench%03d' $i)
	PGHOST=$T/pg PGUSER=postgres ACTION=provision TENANT=$t TENANT_PASSWORD=pw-$t \
		sh "$top_srcdir/charts/provision/postgres.sh" >/dev/null
	psql -X -q -v ON_ERROR_STOP=1 -d "host=$T/pg user=postgres dbname=t-$t" -c \
		"SET ROLE \"t-$t\"; CREATE TABLE orders (id int PRIMARY KEY, customer text, note text);
		 INSERT INTO orders SELECT g, 'customer-' || (g % 97), md5(g::text) || md5((g * 7)::text)
		 FROM generate_series(1, $rows) g"
	i=$((i + 1))
done
size=$(psql -X -At -d "$PG_CONN" -c "SELECT sum(pg_database_size(datname)) FROM pg_database WHERE datname LIKE 't-bench%'")

backup_box "$T/root" 1.0.0
S=$T/state.db
# timed LABEL command...: runs it (stdout to $T/stdout), prints its wall time.
timed() {
	label=$1; shift
	start=$(date +%s%N)
	"$@" >"$T/stdout" 2>"$T/stderr" || { echo "$label failed:"; cat "$T/stderr"; exit 1; }
	echo "$label: $(( ($(date +%s%N) - start) / 1000000 )) ms"
}
echo "tenants: $n, $rows rows each; tenant databases on disk: $((size / 1048576)) MiB"
timed "backup --pg" "$OUTPOST" --state "$S" backup --root "$T/root" --pg "$PG_CONN" --pg-passfile "$PGPASSFILE"
A=$(cat "$T/stdout")
dump=$(tar xzOf "$A" postgres/all.sql | wc -c)
echo "archive: $(wc -c <"$A") bytes (dump inside: $dump bytes)"
timed "restore --pg" "$OUTPOST" --state "$S" restore "$A" --root "$T/root" --pg "$PG_CONN" --pg-passfile "$PGPASSFILE"
got=$(psql -X -At -d "host=$T/pg user=postgres dbname=t-bench$(printf '%03d' $((n - 1)))" -c "SELECT count(*) FROM orders")
echo "after restore, the last tenant's table holds $got rows"
