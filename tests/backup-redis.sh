#!/bin/sh
# outpost backup --redis / restore --redis against a real redis-server
# (Debian's, on loopback and a socket in $T): two tenants provisioned by the
# chart's script, with strings, hashes, lists, an expiring key and keys in
# another database. After the data, a user and its rights are changed,
# restore brings each tenant's user and prefix back exactly (a key written
# after the backup is gone), and leaves keys outside the tenants' prefixes
# alone. The admin password stays out of argv, the archive and the output; a
# part with a command the backup never writes is refused before anything is
# sent.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/backup-lib.sh"
. "$top_srcdir/tests/redis-server.sh"
skip_unless redis-server
skip_unless redis-cli
redis_server "$T/redis"
on_exit "redis_server_stop '$T/redis'"
SOCK=$T/redis/redis.sock
PF=$T/redis/passfile
admin() { REDISCLI_AUTH=$redis_pw redis-cli -s "$SOCK" --no-auth-warning "$@"; }
as_user() { u=$1 p=$2; shift 2; REDISCLI_AUTH='' redis-cli -s "$SOCK" --user "$u" --pass "$p" --no-auth-warning "$@"; }

for t in acme beta; do
	REDIS_HOST=127.0.0.1 REDIS_PORT=$REDIS_PORT REDISCLI_AUTH=$redis_pw ACTION=provision TENANT=$t \
		TENANT_PASSWORD=pw-$t sh "$top_srcdir/charts/provision/redis.sh" >/dev/null ||
		{ not_ok "provision $t"; finish; }
done
as_user t-acme pw-acme SET t:acme:greeting hello >/dev/null
as_user t-acme pw-acme HSET t:acme:user:1 name Ada role admin >/dev/null
as_user t-acme pw-acme RPUSH t:acme:queue a b c 'with space' >/dev/null
as_user t-acme pw-acme SET t:acme:session xyz PX 600000 >/dev/null
printf 'bin\000ary\r\n' | as_user t-acme pw-acme -x SET t:acme:blob >/dev/null
as_user t-acme pw-acme -n 2 SADD t:acme:set x y z >/dev/null
as_user t-beta pw-beta SET t:beta:count 41 >/dev/null
admin SET other:key outside >/dev/null
# state: every tenant key with its type and value, for comparing.
state() {
	for db in 0 2; do
		admin -n "$db" --scan --pattern 't:*' | sort | while read -r k; do
			printf '%s %s ' "$db" "$k"
			case $(admin -n "$db" TYPE "$k") in
			string) admin -n "$db" --no-raw GET "$k" ;;
			hash) admin -n "$db" HGETALL "$k" | tr '\n' ' '; echo ;;
			list) admin -n "$db" LRANGE "$k" 0 -1 | tr '\n' ' '; echo ;;
			set) admin -n "$db" SMEMBERS "$k" | sort | tr '\n' ' '; echo ;;
			esac
		done
	done
}
state >"$T/before"
admin ACL GETUSER t-acme >"$T/acl.before"

R=$T/box
backup_box "$R" 1.2.0
S=$T/state.db
backup_profile
"$OUTPOST" --state "$S" tenant add acme --host acme.example.com >/dev/null

expect_exit 0 "backup with --redis over loopback TCP" -- \
	"$OUTPOST" --state "$S" backup --root "$R" --redis "127.0.0.1:$REDIS_PORT" --redis-passfile "$PF"
A=$(cat "$T/out")
expect_true "the Redis part is in the archive, listed last" -- test "$(tar tzf "$A" | tail -1)" = redis/tenants.resp
mkdir "$T/x" && tar xzf "$A" -C "$T/x"
expect_true "its SHA-256 is in the manifest" -- test \
	"$(sha256sum <"$T/x/redis/tenants.resp" | cut -d' ' -f1)" = \
	"$("$PYTHON3" -c 'import json, sys; print([p["sha256"] for p in json.load(open(sys.argv[1]))["parts"] if p["name"] == "redis/tenants.resp"][0])' "$T/x/manifest.json")"
expect_fgrep 't:acme:greeting' "$T/x/redis/tenants.resp" "the part holds acme's keys"
if grep -q 'other:key' "$T/x/redis/tenants.resp"; then not_ok "a key outside the tenants' prefixes is left out"
else ok "a key outside the tenants' prefixes is left out"; fi
if grep -rqF "$redis_pw" "$T/x" "$T/out" "$T/err"; then not_ok "the admin password is not in the archive or the output"
else ok "the admin password is not in the archive or the output"; fi

# Damage: values changed and removed, a key added, a user widened, one gone.
as_user t-acme pw-acme SET t:acme:greeting changed >/dev/null
as_user t-acme pw-acme DEL t:acme:queue >/dev/null
as_user t-acme pw-acme SET t:acme:new-after-backup 1 >/dev/null
as_user t-acme pw-acme -n 2 SREM t:acme:set x >/dev/null
admin ACL SETUSER t-acme '~*' +@admin >/dev/null
admin ACL DELUSER t-beta >/dev/null
admin DEL t:beta:count >/dev/null
admin SET other:key changed >/dev/null

expect_exit 3 "an archive with a Redis part needs --redis on restore" -- "$OUTPOST" --state "$S" restore "$A" --root "$R"
expect_fgrep "holds a Redis dump: say where to restore it with --redis" "$T/err" "and says so"

# A crafted part: a valid archive whose stream ends in FLUSHALL.
cp -r "$T/x" "$T/bad"
printf '*1\r\n$8\r\nFLUSHALL\r\n' >>"$T/bad/redis/tenants.resp"
"$PYTHON3" "$top_srcdir/tests/backup-rehash.py" "$T/bad/manifest.json" redis/tenants.resp "$T/bad/redis/tenants.resp"
(cd "$T/bad" && tar czf "$T/bad.tar.gz" manifest.json state.db redis/tenants.resp)
expect_exit 3 "a part with a command the backup never writes is refused" -- \
	"$OUTPOST" --state "$S" restore "$T/bad.tar.gz" --root "$R" --redis "$SOCK" --redis-passfile "$PF"
expect_fgrep "unexpected command 'FLUSHALL'" "$T/err" "naming the command"
admin GET t:acme:greeting >"$T/v"
expect_grep '^changed$' "$T/v" "and nothing was sent"

echo wrong >"$T/wrongpw" && chmod 600 "$T/wrongpw"
expect_exit 1 "a wrong admin password fails" -- "$OUTPOST" --state "$S" backup --root "$R" --redis "$SOCK" --redis-passfile "$T/wrongpw"
expect_fgrep "written without Redis (" "$T/err" "naming the part left out"
expect_fgrep "WRONGPASS" "$T/err" "with the server's reason"
if tar tzf "$(cat "$T/out")" | grep -q redis; then not_ok "the archive of the other parts has no Redis part"
else ok "the archive of the other parts has no Redis part"; fi
rm "$(cat "$T/out")"
chmod 644 "$T/wrongpw"
expect_exit 2 "a passfile others can read is refused" -- "$OUTPOST" --state "$S" backup --root "$R" --redis "$SOCK" --redis-passfile "$T/wrongpw"
expect_exit 2 "--redis-passfile without --redis is refused" -- "$OUTPOST" --state "$S" backup --root "$R" --redis-passfile "$PF"
expect_exit 1 "a server that is not there fails" -- "$OUTPOST" --state "$S" backup --root "$R" --redis "$T/nothing.sock"
expect_fgrep "nothing.sock" "$T/err" "naming the address"
rm "$(cat "$T/out")"
expect_true "and leaves no other archive behind" -- test "$(find "$R/var/lib/outpost/backups" -name '*.tar.gz' | wc -l)" = 1

expect_exit 0 "restore with --redis over the socket" -- \
	"$OUTPOST" --state "$S" restore "$A" --root "$R" --redis "$SOCK" --redis-passfile "$PF"
state >"$T/after"
expect_true "every tenant key is back as it was, and the new one is gone" -- cmp -s "$T/before" "$T/after"
[ "$(cat "$T/before")" != "$(cat "$T/after")" ] && diff "$T/before" "$T/after" | sed 's/^/# /' >&2
admin PTTL t:acme:session >"$T/ttl"
expect_true "the expiring key still expires (0 < PTTL <= 600000)" -- test "$(cat "$T/ttl")" -gt 0 -a "$(cat "$T/ttl")" -le 600000
admin ACL GETUSER t-acme >"$T/acl.after"
expect_true "acme's user has its rules back" -- cmp -s "$T/acl.before" "$T/acl.after"
as_user t-acme pw-acme GET other:key >"$T/v" 2>&1 || true
expect_grep 'NOPERM' "$T/v" "acme is narrowed to its prefix again"
as_user t-beta pw-beta GET t:beta:count >"$T/v"
expect_grep '^41$' "$T/v" "beta's user is back with its password, and its key"
admin GET other:key >"$T/v"
expect_grep '^changed$' "$T/v" "a key outside the tenants' prefixes is left alone"
expect_grep '^user t-beta on ' "$T/redis/users.acl" "the restored users are saved in the ACL file"

expect_exit 0 "restoring again is harmless" -- \
	"$OUTPOST" --state "$S" restore "$A" --root "$R" --redis "127.0.0.1:$REDIS_PORT" --redis-passfile "$PF"
state >"$T/again"
expect_true "and gives the same keys" -- cmp -s "$T/before" "$T/again"

# The pod runner: k3s's kubectl port-forward to the platform's pod, and the
# admin password from its namespace's Secret. A stand-in at the installed
# k3s's path plays both (the forward reports the test server's port, as
# kubectl reports the local end of its tunnel, and stays up until stopped).
backup_forward_standin "$R" outpost-platform/redis-0 6379 "$REDIS_PORT" redis default-password="$redis_pw"
admin SET t:acme:greeting changed-again >/dev/null
expect_exit 0 "backup with --redis-pod" -- "$OUTPOST" --state "$S" backup --root "$R" --redis-pod outpost-platform/redis-0
RP=$(cat "$T/out")
expect_true "the port-forward was stopped" -- sh -c "! kill -0 \$(cat '$T/forward.pid') 2>/dev/null"
if grep -rqF "$redis_pw" "$T/kubectl.log" "$T/out" "$T/err"; then not_ok "the password is not in argv or the output"
else ok "the password is not in argv or the output"; fi
admin SET t:acme:greeting lost >/dev/null
expect_exit 0 "restore with --redis-pod" -- "$OUTPOST" --state "$S" restore "$RP" --root "$R" --redis-pod outpost-platform/redis-0
admin GET t:acme:greeting >"$T/v"
expect_grep '^changed-again$' "$T/v" "the key is back as the pod runner saved it"
expect_exit 1 "a pod that is not there fails" -- "$OUTPOST" --state "$S" backup --root "$R" --redis-pod outpost-platform/redis-9
expect_fgrep "port-forward to outpost-platform/redis-9 port 6379 did not start" "$T/err" "naming the pod"
expect_exit 2 "--redis-pod names NAMESPACE/POD" -- "$OUTPOST" --state "$S" backup --root "$R" --redis-pod redis-0
expect_exit 2 "--redis-pod with --redis-passfile is refused" -- \
	"$OUTPOST" --state "$S" backup --root "$R" --redis-pod outpost-platform/redis-0 --redis-passfile "$PF"
finish
