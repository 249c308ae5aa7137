#!/bin/sh
# SIGKILL at random points of an install (fresh and upgrade), then a rerun:
# the tree must end exactly as after an uninterrupted install.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/bundle-lib.sh"
skip_unless zstd
skip_unless helm

make_keys "$T/keys"
PUB="$T/keys/bundle-signing.pub"
IMG_MB=24 make_bundle "$T/v1.bundle" 1.0.0 one
IMG_MB=24 make_bundle "$T/v2.bundle" 2.0.0 two "$T/keys" 0.2.0
inst() { r=$1; shift; "$OUTPOST" install --root "$r" --pubkey "$PUB" --no-start --skip-preflight --quiet --bundle "$@"; }

# References, and how long an install takes (to spread the kill points).
start=$(date +%s%N)
inst "$T/ref1" "$T/v1.bundle" >/dev/null 2>&1
ms=$((($(date +%s%N) - start) / 1000000))
walk "$T/ref1" >"$T/ref1.walk"
cp -a "$T/ref1" "$T/ref2"
inst "$T/ref2" "$T/v2.bundle" >/dev/null 2>&1
walk "$T/ref2" >"$T/ref2.walk"
[ "$ms" -gt 5 ] || ms=5
echo "# a clean install takes ${ms} ms"

rounds=12
i=0
killed=0
while [ $i -lt $rounds ]; do
	i=$((i + 1))
	R="$T/r$i"
	if [ $((i % 2)) -eq 0 ]; then
		cp -a "$T/ref1" "$R"; b="$T/v2.bundle"; ref="$T/ref2.walk"; what=upgrade
	else
		b="$T/v1.bundle"; ref="$T/ref1.walk"; what=install
	fi
	# A delay in [0, 1.2 * install time], from the kernel's random source.
	rnd=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	delay=$((rnd % (ms * 12 / 10 + 1)))
	# The binary itself in the background (a function would put a subshell
	# between $! and the process to kill).
	"$OUTPOST" install --root "$R" --pubkey "$PUB" --no-start --skip-preflight --quiet \
		--bundle "$b" >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '0.%03d' "$delay")" 2>/dev/null || sleep 1
	if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
	wait "$pid" 2>/dev/null || true
	expect_exit 0 "$what $i: rerun after SIGKILL at ${delay} ms" -- inst "$R" "$b"
	walk "$R" >"$T/r$i.walk"
	if cmp -s "$ref" "$T/r$i.walk"; then ok "$what $i: same tree as an uninterrupted $what"; else
		not_ok "$what $i: tree differs"; diff "$ref" "$T/r$i.walk" | head -20 | sed 's/^/# /' >&2; fi
done
echo "# $killed of $rounds runs were killed before they finished"
[ "$killed" -gt 0 ] && ok "at least one install was really interrupted" || not_ok "no run was interrupted"
finish
