#!/bin/sh
# tests/backup-keycloak.sh against the real control plane (tests/realapi).
OUTPOST_TEST_APISERVER=real; export OUTPOST_TEST_APISERVER
exec "${SHELL:-/bin/sh}" "$top_srcdir/tests/backup-keycloak.sh"
