#!/bin/sh
# The test API server's semantics over HTTPS with the client certificate:
# authentication, discovery, selectors, pagination and 410, Status bodies,
# apply, Terminating namespaces, watch, fault rates, counters, controllers.
. "$top_srcdir/tests/lib.sh"

expect_exit 0 "test_semantics.py" -- "${PYTHON3:-python3}" "$top_srcdir/tests/kubeapi/test_semantics.py" -v
sed 's/^/# /' "$T/err"
expect_grep '^OK' "$T/err" "every semantics check passed"
finish
