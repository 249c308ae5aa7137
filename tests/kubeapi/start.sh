# Start the test API server from a shell test.  Source it after lib.sh:
#
#   . "$top_srcdir/tests/kubeapi/start.sh"
#   kubeapi_start "$T/api" [server.py options, e.g. --faults '{...}']
#   kubectl --kubeconfig "$KUBEAPI_KUBECONFIG" get ns
#   kubeapi_ctl counters        # any tests/kubeapi/ctl.py sub-command
#
# kubeapi_start returns once /readyz answers through the client certificate,
# sets KUBEAPI_DIR, KUBEAPI_PORT, KUBEAPI_PID, KUBEAPI_KUBECONFIG and
# KUBEAPI_SERVER (https://127.0.0.1:PORT), and registers the server's
# termination with on_exit.  The server's stderr is in $KUBEAPI_DIR/server.log.

kubeapi_start() {
	KUBEAPI_DIR=$1
	shift
	mkdir -p "$KUBEAPI_DIR"
	"${PYTHON3:-python3}" "$top_srcdir/tests/kubeapi/server.py" \
		--dir "$KUBEAPI_DIR" "$@" 2>>"$KUBEAPI_DIR/server.log" &
	KUBEAPI_PID=$!
	on_exit "kill $KUBEAPI_PID 2>/dev/null || :"
	if ! kubeapi_ctl ready --timeout 60 --pid "$KUBEAPI_PID"; then
		sed 's/^/# server: /' "$KUBEAPI_DIR/server.log" >&2
		return 1
	fi
	KUBEAPI_PORT=$(cat "$KUBEAPI_DIR/port")
	KUBEAPI_KUBECONFIG=$KUBEAPI_DIR/kubeconfig
	KUBEAPI_SERVER=https://127.0.0.1:$KUBEAPI_PORT
	export KUBEAPI_DIR KUBEAPI_PORT KUBEAPI_PID KUBEAPI_KUBECONFIG \
		KUBEAPI_SERVER
}

kubeapi_ctl() {
	"${PYTHON3:-python3}" "$top_srcdir/tests/kubeapi/ctl.py" \
		--dir "$KUBEAPI_DIR" "$@"
}

# kubeapi_stop: terminate the server now (on_exit would do it at the end).
kubeapi_stop() {
	kill "$KUBEAPI_PID" 2>/dev/null || :
	wait "$KUBEAPI_PID" 2>/dev/null || :
}
