#!/bin/sh
# Throughput and footprint of the test API server (tests/kubeapi), the
# baseline under every benchmark that runs against it.
set -eu
exec "${PYTHON3:-python3}" "$top_srcdir/tests/kubeapi/bench.py"
