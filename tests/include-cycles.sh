#!/bin/sh
# No include cycle among supervisor/*.h, and the checker does find one when
# there is one (a check that cannot fail proves nothing).
. "$top_srcdir/tests/lib.sh"
check="$PYTHON3 $top_srcdir/tests/include-cycles.py"

expect_exit 0 "supervisor/*.h include one another without a cycle" -- $check "$top_srcdir/supervisor"

mkdir "$T/loop"
printf '#include "b.h"\n' >"$T/loop/a.h"
printf '#include <stdio.h>\n#include "c.h"\n' >"$T/loop/b.h"
printf '#include "a.h"\n' >"$T/loop/c.h"
printf '#include "a.h"\n' >"$T/loop/d.h"
expect_exit 1 "a three-header loop is refused" -- $check "$T/loop"
expect_grep "a.h -> b.h -> c.h -> a.h" "$T/err" "the loop is named"

mkdir "$T/self"
printf '#include "self.h"\n' >"$T/self/self.h"
expect_exit 1 "a header including itself is refused" -- $check "$T/self"

# The same files without the closing edge: a chain, not a loop.
printf '\n' >"$T/loop/c.h"
expect_exit 0 "a chain of includes passes" -- $check "$T/loop"
finish
