# Sourced: pg_server DIR starts a throwaway PostgreSQL (Debian's server
# binaries) listening only on a socket in DIR, with a random password for
# user postgres kept in the 0600 libpq passfile DIR/passfile; PG_CONN is a
# connection string for it without the password. Under root the server runs
# as an unprivileged account (PostgreSQL refuses root). The caller stops it
# with pg_server_stop DIR. Needs skip (tests/lib.sh) or its own.
pg_server() {
	pgbin=
	for d in /usr/lib/postgresql/*/bin; do
		if [ -x "$d/initdb" ]; then pgbin=$d; fi
	done
	[ -n "$pgbin" ] || skip "no PostgreSQL server binaries"
	as_server() { "$@"; }
	mkdir -m 700 "$1"
	if [ "$(id -u)" -eq 0 ]; then
		srv_user=nobody
		id postgres >/dev/null 2>&1 && srv_user=postgres
		as_server() { runuser -u "$srv_user" -- "$@"; }
		chmod 711 "$(dirname "$1")"
		chown "$srv_user" "$1"
	fi
	pg_pw=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	(umask 077 && printf '%s\n' "$pg_pw" >"$1/pw")
	[ "$(id -u)" -ne 0 ] || chown "$srv_user" "$1/pw"
	as_server "$pgbin/initdb" -D "$1/data" -U postgres --auth=scram-sha-256 \
		--pwfile="$1/pw" -E UTF8 --no-sync >"$1/initdb.log" 2>&1 ||
		{ rm -f "$1/pw"; cat "$1/initdb.log" >&2; exit 1; }
	rm -f "$1/pw"
	as_server "$pgbin/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 60 \
		-o "-c listen_addresses='' -c unix_socket_directories='$1' -c fsync=off" \
		start >/dev/null || { cat "$1/server.log" >&2; exit 1; }
	(umask 077 && printf '*:*:*:postgres:%s\n' "$pg_pw" >"$1/passfile")
	PG_CONN="host=$1 user=postgres dbname=postgres"
}
pg_server_stop() { as_server "$pgbin/pg_ctl" -D "$1/data" -m immediate stop >/dev/null 2>&1 || true; }
