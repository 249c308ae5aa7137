# Shared helpers for the end-to-end shell tests. Source it; each test gets a
# fresh temporary directory ($T) that is removed on exit.
set -eu

: "${OUTPOST:?run through make check (OUTPOST is not set)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"

T=$(mktemp -d "${TMPDIR:-/tmp}/outpost-test.XXXXXX")
cleanup_hooks=""
on_exit() { cleanup_hooks="$1; $cleanup_hooks"; }
# shellcheck disable=SC2317  # invoked through the EXIT trap
run_cleanup() { eval "$cleanup_hooks"; rm -rf "$T"; }
trap run_cleanup EXIT

fails=0
passes=0
ok() { passes=$((passes + 1)); echo "ok - $*"; }
not_ok() { fails=$((fails + 1)); echo "not ok - $*"; }

# expect_exit CODE DESCRIPTION -- command...: runs the command, keeps its
# stdout in $T/out and stderr in $T/err, and checks the exit code.
expect_exit() {
	want=$1; desc=$2; shift 3
	set +e
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	set -e
	if [ "$got" -eq "$want" ]; then ok "$desc"; else
		not_ok "$desc (exit $got, wanted $want)"; sed 's/^/# /' "$T/err" >&2; fi
}

# expect_grep PATTERN FILE DESCRIPTION
expect_grep() {
	if grep -q -- "$1" "$2"; then ok "$3"; else not_ok "$3 ('$1' not in $2)"; sed 's/^/# /' "$2" >&2; fi
}

# expect_fgrep STRING FILE DESCRIPTION: like expect_grep, for a fixed string.
expect_fgrep() {
	if grep -qF -- "$1" "$2"; then ok "$3"; else not_ok "$3 ('$1' not in $2)"; sed 's/^/# /' "$2" >&2; fi
}

# expect_true DESCRIPTION -- command...: ok when the command succeeds.
expect_true() {
	desc=$1; shift 2
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# wait_for SECONDS DESCRIPTION -- command...: polls every 0.1 s until the
# command succeeds; records a failure (and returns 1) on timeout.
wait_for() {
	limit=$1; desc=$2; shift 3
	end=$(($(date +%s) + limit))
	while ! "$@" >/dev/null 2>&1; do
		if [ "$(date +%s)" -ge "$end" ]; then not_ok "$desc (timed out after ${limit}s)"; return 1; fi
		sleep 0.1
	done
	ok "$desc"
}

# skip_unless COMMAND: exit 77 (automake's "skipped") when a tool is missing.
# Under CI (CI=true) a missing tool is a failure: .ci/run installs every one,
# and a skip there would hide a missing install step.
skip_unless() { command -v "$1" >/dev/null 2>&1 || skip "$1 not installed"; }
skip() {
	if [ "${CI:-}" = true ]; then echo "FAIL: $* (CI must have it)"; exit 1; fi
	echo "SKIP: $*"; exit 77
}

# finish: the summary line and the exit status for automake.
finish() {
	echo "$passes passed, $fails failed"
	[ "$fails" -eq 0 ]
}
