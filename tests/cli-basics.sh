#!/bin/sh
# The CLI's contract: help, version, usage errors with exit 2.
. "$top_srcdir/tests/lib.sh"

expect_exit 0 "--help exits 0" -- "$OUTPOST" --help
expect_grep "Commands:" "$T/out" "--help lists the commands"
expect_exit 0 "--version exits 0" -- "$OUTPOST" --version
expect_grep "^outpost [0-9]" "$T/out" "--version prints the version"
expect_exit 2 "no command is a usage error" -- "$OUTPOST"
expect_exit 2 "unknown command is a usage error" -- "$OUTPOST" frobnicate
expect_grep "^outpost: unknown command 'frobnicate'" "$T/err" "unknown command is named"
expect_exit 2 "unknown global option is a usage error" -- "$OUTPOST" --bogus version
expect_grep "'--bogus'" "$T/err" "unknown option is named"
expect_exit 2 "--state without a value is a usage error" -- "$OUTPOST" --state
finish
