#!/bin/sh
# One tenant's Redis/Valkey ACL user "t-<tenant>", limited to the keys and
# channels "t:<tenant>:*" and to commands that are neither @admin nor
# @dangerous. ACTION=provision creates or resets the user (idempotent),
# ACTION=deprovision deletes the user and every key of the tenant. Interface:
# charts/provision/README.md. The admin password comes from REDISCLI_AUTH
# (or VALKEYCLI_AUTH), the tenant's from TENANT_PASSWORD; neither reaches argv.
set -eu

die() { echo "redis.sh: $*" >&2; exit 2; }

: "${ACTION:?ACTION must be provision or deprovision}"
: "${TENANT:?TENANT (the tenant name) is not set}"
case $TENANT in
'' | -* | *- | *[!a-z0-9-]*) die "TENANT '$TENANT' is not a DNS-1123 label" ;;
esac
user="t-$TENANT"
# A DNS-1123 label holds no glob characters, so the pattern is exact.
pattern="t:$TENANT:*"

if command -v valkey-cli >/dev/null 2>&1; then cli_bin=valkey-cli; else cli_bin=redis-cli; fi
VALKEYCLI_AUTH=${VALKEYCLI_AUTH:-${REDISCLI_AUTH:-}}
REDISCLI_AUTH=$VALKEYCLI_AUTH
export VALKEYCLI_AUTH REDISCLI_AUTH

# cli prints the reply raw and fails on an error reply (redis-cli exits 0 on
# those), so `set -e` stops the script on any refused command.
cli() {
	out=$("$cli_bin" -h "${REDIS_HOST:-127.0.0.1}" -p "${REDIS_PORT:-6379}" --no-auth-warning "$@") ||
		die "$1 $2 failed"
	case $out in
	ERR* | NOPERM* | NOAUTH* | WRONGPASS* | WRONGTYPE*) die "$1: $out" ;;
	esac
	printf '%s\n' "$out"
}

provision() {
	[ -n "${TENANT_PASSWORD:-}" ] || die "TENANT_PASSWORD is empty"
	# The server stores and is given only the SHA-256 of the password.
	hash=$(printf '%s' "$TENANT_PASSWORD" | sha256sum | cut -d' ' -f1)
	cli ACL SETUSER "$user" reset on "#$hash" "~$pattern" resetchannels "&$pattern" \
		+@all -@admin -@dangerous >/dev/null
	# Persist in the ACL file so the user survives a restart.
	cli ACL SAVE >/dev/null
}

# delete_keys DB: unlink the tenant's keys in one database, a SCAN page at a
# time inside the server, so key names are never parsed by the shell.
delete_keys() {
	cursor=0
	while :; do
		cursor=$(cli -n "$1" EVAL "
local r = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', 500)
for _, k in ipairs(r[2]) do redis.call('UNLINK', k) end
return r[1]" 0 "$cursor" "$pattern")
		[ "$cursor" = 0 ] && break
	done
}

deprovision() {
	# Deleting the user also disconnects its clients.
	cli ACL DELUSER "$user" >/dev/null
	cli ACL SAVE >/dev/null
	# SELECT is allowed to tenants, so look in every database.
	ndb=$(cli CONFIG GET databases | sed -n 2p)
	db=0
	while [ "$db" -lt "$ndb" ]; do
		delete_keys "$db"
		db=$((db + 1))
	done
}

case $ACTION in
provision) provision ;;
deprovision) deprovision ;;
*) die "ACTION '$ACTION' is not provision or deprovision" ;;
esac
echo "redis.sh: $ACTION $user: done"
