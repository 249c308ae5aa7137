# shellcheck shell=sh
# Sourced: redis_server DIR starts a throwaway Redis (Debian's redis-server)
# on 127.0.0.1 (a free port, $REDIS_PORT) and on the socket DIR/redis.sock,
# with an ACL file whose default user has a random password, kept in the 0600
# file DIR/passfile. The caller stops it with redis_server_stop DIR. Needs
# skip (tests/lib.sh) or its own, and $PYTHON3.
redis_server() {
	command -v redis-server >/dev/null 2>&1 || skip "redis-server not installed"
	command -v redis-cli >/dev/null 2>&1 || skip "redis-cli not installed"
	mkdir -m 700 "$1"
	redis_pw=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	(umask 077 && printf '%s\n' "$redis_pw" >"$1/passfile")
	# Only the password's SHA-256 is in the ACL file, as the chart keeps it.
	printf 'user default on #%s ~* &* +@all\n' \
		"$(printf '%s' "$redis_pw" | sha256sum | cut -d' ' -f1)" >"$1/users.acl"
	tries=0
	while :; do
		REDIS_PORT=$("${PYTHON3:-python3}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --unixsocket "$1/redis.sock" \
			--unixsocketperm 700 --aclfile "$1/users.acl" --dir "$1" --save '' \
			--appendonly no --databases 4 --daemonize no --logfile "$1/redis.log" &
		redis_pid=$!
		i=0
		until REDISCLI_AUTH=$redis_pw redis-cli -s "$1/redis.sock" --no-auth-warning ping 2>/dev/null |
			grep -q PONG; do
			kill -0 "$redis_pid" 2>/dev/null || break
			[ $i -lt 300 ] || break
			sleep 0.1; i=$((i + 1))
		done
		if kill -0 "$redis_pid" 2>/dev/null; then break; fi
		# Another process took the port between the probe and the bind.
		tries=$((tries + 1))
		[ $tries -lt 5 ] || { cat "$1/redis.log" >&2; exit 1; }
	done
}
redis_server_stop() {
	REDISCLI_AUTH=$redis_pw redis-cli -s "$1/redis.sock" --no-auth-warning shutdown nosave >/dev/null 2>&1 || true
	i=0
	while kill -0 "$redis_pid" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	kill -9 "$redis_pid" 2>/dev/null || true
}
