#!/bin/sh
# Benchmark: outpost backup --redis and restore --redis of a real redis-server
# holding 100 tenants (each provisioned by charts/provision/redis.sh, each with
# BENCH_KEYS string keys of ~100 bytes in its prefix, 1,000 by default) and
# as many keys outside any tenant's prefix, which are scanned but not copied.
# Prints wall time and sizes; asserts nothing about them. Restore replaces
# every tenant's keys in the same server, as on a box being put back.
set -eu
: "${OUTPOST:?run through make bench (OUTPOST is not set)}"
n=${BENCH_TENANTS:-100}
keys=${BENCH_KEYS:-1000}
T=$(mktemp -d "${TMPDIR:-/tmp}/outpost-bench.XXXXXX")
skip() { echo "skipped: $*"; exit 0; }
. "$top_srcdir/tests/redis-server.sh"
. "$top_srcdir/tests/backup-lib.sh"
redis_server "$T/redis"
trap 'redis_server_stop "$T/redis"; rm -rf "$T"' EXIT
admin() { REDISCLI_AUTH=$redis_pw redis-cli -s "$T/redis/redis.sock" --no-auth-warning "$@"; }
fill='for i = 1, tonumber(ARGV[2]) do redis.call("SET", ARGV[1] .. i, string.rep("v", 100)) end'

i=0
while [ $i -lt "$n" ]; do
	t=$(printf 'bench%03d' $i)
	REDIS_HOST=127.0.0.1 REDIS_PORT=$REDIS_PORT REDISCLI_AUTH=$redis_pw ACTION=provision TENANT=$t \
		TENANT_PASSWORD=pw-$t sh "$top_srcdir/charts/provision/redis.sh" >/dev/null
	admin EVAL "$fill" 0 "t:$t:key:" "$keys" >/dev/null
	i=$((i + 1))
done
admin EVAL "$fill" 0 "cache:other:" $((n * keys)) >/dev/null

backup_box "$T/root" 1.0.0
S=$T/state.db
timed() {
	label=$1; shift
	start=$(date +%s%N)
	"$@" >"$T/stdout" 2>"$T/stderr" || { echo "$label failed:"; cat "$T/stderr"; exit 1; }
	echo "$label: $(( ($(date +%s%N) - start) / 1000000 )) ms"
}
echo "tenants: $n, $keys keys each; keys in the server: $(admin DBSIZE)"
timed "backup --redis" "$OUTPOST" --state "$S" backup --root "$T/root" --redis "$T/redis/redis.sock" \
	--redis-passfile "$T/redis/passfile"
A=$(cat "$T/stdout")
part=$(tar xzOf "$A" redis/tenants.resp | wc -c)
echo "archive: $(wc -c <"$A") bytes (Redis part inside: $part bytes)"
timed "restore --redis" "$OUTPOST" --state "$S" restore "$A" --root "$T/root" --redis "$T/redis/redis.sock" \
	--redis-passfile "$T/redis/passfile"
echo "after restore, keys in the server: $(admin DBSIZE)"
