#!/bin/sh
# charts/provision/redis.sh against a real redis-server (Debian's, on
# 127.0.0.1, admin password and ACL file like the chart's): a tenant reaches
# only its own keys and no admin command, provisioning twice is harmless,
# deprovisioning removes the user and every key of the tenant.
. "$top_srcdir/tests/lib.sh"

skip_unless redis-server
skip_unless redis-cli
script="$top_srcdir/charts/provision/redis.sh"

# The redis chart's own server configuration and ACL bootstrap, with only
# paths and the port overridden.
skip_unless helm
skip_unless kubectl
# The server changes into `dir` as it reads the file, so the volume path is
# replaced in the file itself.
"$PYTHON3" "$top_srcdir/tests/charts_check.py" data "$top_srcdir/charts/redis" redis valkey.conf |
	sed "s|/data|$T|g" >"$T/valkey.conf"
"$PYTHON3" "$top_srcdir/tests/charts_check.py" data "$top_srcdir/charts/redis" redis acl-init.sh >"$T/acl-init.sh"
admin_pw=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
expect_exit 0 "the chart's ACL bootstrap writes the default user" -- \
	env ACL_FILE="$T/users.acl" DEFAULT_PASSWORD="$admin_pw" sh "$T/acl-init.sh"
if grep -q "$admin_pw" "$T/users.acl"; then not_ok "the admin password is in the ACL file in clear"
else ok "the ACL file holds the admin password's hash only"; fi

# start_server: a free port, then the server; retried in case another process
# takes the port between the probe and the bind.
start_server() {
	tries=0
	while :; do
		port=$("$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		redis-server "$T/valkey.conf" --bind 127.0.0.1 --port "$port" \
			--databases 4 --daemonize no --logfile "$T/redis.log" &
		pid=$!
		i=0
		until REDISCLI_AUTH=$admin_pw redis-cli -p "$port" --no-auth-warning ping 2>/dev/null | grep -q PONG; do
			kill -0 "$pid" 2>/dev/null || break
			[ $i -lt 300 ] || break
			sleep 0.1; i=$((i + 1))
		done
		if kill -0 "$pid" 2>/dev/null; then break; fi
		tries=$((tries + 1))
		[ $tries -lt 5 ] || { cat "$T/redis.log" >&2; exit 1; }
	done
}
# stop_server: SHUTDOWN NOSAVE, then wait for the process to go. (SIGTERM is
# not enough: with append-only persistence the server refuses to exit when it
# cannot write its files, and the test directory is about to vanish.)
stop_server() {
	REDISCLI_AUTH=$admin_pw redis-cli -p "$port" --no-auth-warning shutdown nosave >/dev/null 2>&1 || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	kill -9 "$pid" 2>/dev/null || true
}
start_server
on_exit stop_server

export REDIS_HOST=127.0.0.1 REDIS_PORT="$port" REDISCLI_AUTH="$admin_pw"
expect_exit 0 "the chart's configuration is accepted by the server" -- redis-cli -p "$port" --no-auth-warning CONFIG GET maxmemory-policy
expect_grep '^noeviction$' "$T/out" "and is in force"
pwa=alpha-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
pwb=bravo-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')

prov() { ACTION=$1 TENANT=$2 TENANT_PASSWORD=${3:-} sh "$script"; }
# as_user USER PASSWORD ARGS...: one command as a tenant; the reply in $T/out.
as_user() { u=$1 p=$2; shift 2; REDISCLI_AUTH='' redis-cli -p "$port" --user "$u" --pass "$p" --no-auth-warning "$@"; }
admin() { redis-cli -p "$port" --no-auth-warning "$@"; }

expect_exit 0 "provision tenant a" -- prov provision a "$pwa"
expect_exit 0 "provision tenant b" -- prov provision b "$pwb"
admin ACL GETUSER t-a >"$T/before"
expect_exit 0 "provisioning a again is harmless" -- prov provision a "$pwa"
admin ACL GETUSER t-a >"$T/after"
if cmp -s "$T/before" "$T/after"; then ok "the second run left a's user as it was"; else not_ok "a's user changed on the second run"; fi
expect_grep '^user t-a on ' "$T/users.acl" "a's user is saved in the ACL file"
if grep -q "$pwa" "$T/users.acl"; then not_ok "a's password is in the ACL file in clear"; else ok "the ACL file holds no clear password"; fi

as_user t-a "$pwa" SET t:a:greeting hello >"$T/out"
expect_grep '^OK$' "$T/out" "a writes its own key"
as_user t-b "$pwb" SET t:b:secret s3cr3t >"$T/out"
as_user t-b "$pwb" -n 2 SET t:b:other x >/dev/null
as_user t-a "$pwa" GET t:a:greeting >"$T/out"
expect_grep '^hello$' "$T/out" "a reads its own key"
as_user t-a "$pwa" GET t:b:secret >"$T/out" 2>&1 || true
expect_grep 'NOPERM' "$T/out" "a cannot read b's key"
as_user t-a "$pwa" SET other-key x >"$T/out" 2>&1 || true
expect_grep 'NOPERM' "$T/out" "a cannot write outside its prefix"
set -f # the commands hold globs for the server, not the shell
for cmd in "FLUSHALL" "FLUSHDB" "KEYS *" "CONFIG GET *" "ACL LIST" "CLIENT LIST" "SWAPDB 0 1" "SHUTDOWN" "MONITOR"; do
	# shellcheck disable=SC2086  # the command's words are meant to split
	timeout 10 redis-cli -p "$port" --user t-a --pass "$pwa" --no-auth-warning $cmd >"$T/out" 2>&1 || true
	expect_grep 'NOPERM' "$T/out" "a cannot run $cmd"
done
set +f
as_user t-a "$pwa" PUBLISH t:b:events x >"$T/out" 2>&1 || true
expect_grep 'NOPERM' "$T/out" "a cannot publish on b's channels"
as_user t-a "$pwb" PING >"$T/out" 2>&1 || true
expect_grep 'WRONGPASS' "$T/out" "b's password does not open a's user"
admin DBSIZE >"$T/out"
expect_grep '^2$' "$T/out" "nothing leaked into other keys (2 keys in db 0)"

# Drift is repaired: a widened user is narrowed again by the next run.
admin ACL SETUSER t-a '~*' +@admin >/dev/null
expect_exit 0 "provision a after drift" -- prov provision a "$pwa"
as_user t-a "$pwa" GET t:b:secret >"$T/out" 2>&1 || true
expect_grep 'NOPERM' "$T/out" "re-provisioning narrowed a's keys again"

expect_exit 0 "deprovision b" -- prov deprovision b
expect_exit 0 "deprovisioning b again is harmless" -- prov deprovision b
admin ACL GETUSER t-b >"$T/out"
if grep -q . "$T/out"; then not_ok "b's user is gone"; cat "$T/out" >&2; else ok "b's user is gone"; fi
if grep -q 't-b' "$T/users.acl"; then not_ok "b removed from the ACL file"; else ok "b removed from the ACL file"; fi
admin --scan --pattern 't:b:*' >"$T/out"
admin -n 2 --scan --pattern 't:b:*' >>"$T/out"
if grep -q . "$T/out"; then not_ok "b's keys are gone in every database"; else ok "b's keys are gone in every database"; fi
as_user t-a "$pwa" GET t:a:greeting >"$T/out"
expect_grep '^hello$' "$T/out" "a's keys survive b's removal"
as_user t-b "$pwb" PING >"$T/out" 2>&1 || true
expect_grep 'WRONGPASS' "$T/out" "b can no longer log in"

# A restart (the init container rewrites the default user first) keeps the
# tenant users: they live in the ACL file.
stop_server
expect_exit 0 "the ACL bootstrap runs again before a restart" -- \
	env ACL_FILE="$T/users.acl" DEFAULT_PASSWORD="$admin_pw" sh "$T/acl-init.sh"
start_server
export REDIS_PORT="$port"
as_user t-a "$pwa" SET t:a:after-restart 1 >"$T/out"
expect_grep '^OK$' "$T/out" "a's user survived the restart"
as_user t-a "$pwa" GET t:b:secret >"$T/out" 2>&1 || true
expect_grep 'NOPERM' "$T/out" "with its limits"
grep -c '^user default ' "$T/users.acl" >"$T/n"
expect_grep '^1$' "$T/n" "one default user line after two bootstraps"

expect_exit 2 "a bad tenant name is refused" -- prov provision 'a:*' "$pwa"
expect_grep "not a DNS-1123 label" "$T/err" "the refusal names the problem"
REDISCLI_AUTH=wrong expect_exit 2 "a wrong admin password fails loudly" -- prov provision c "$pwa"
finish
