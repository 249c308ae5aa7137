#!/bin/sh
# SIGKILL at random points of an install (fresh and upgrade), and at every
# crash point of activation (OUTPOST_TEST_CRASH_AT), then a rerun: the tree
# must end exactly as after an uninterrupted install.
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
inst "$T/ref1" "$T/v1.bundle" >/dev/null 2>&1
walk "$T/ref1" >"$T/ref1.walk"
# The faster of two timed installs: a slow first run (cold cache, a busy
# machine) would put most random kill points after the end.
ms=
for k in 1 2; do
	start=$(date +%s%N)
	inst "$T/timing$k" "$T/v1.bundle" >/dev/null 2>&1
	t=$((($(date +%s%N) - start) / 1000000))
	if [ -z "$ms" ] || [ "$t" -lt "$ms" ]; then ms=$t; fi
	rm -rf "$T/timing$k"
done
cp -a "$T/ref1" "$T/ref2"
inst "$T/ref2" "$T/v2.bundle" >/dev/null 2>&1
walk "$T/ref2" >"$T/ref2.walk"
[ "$ms" -gt 5 ] || ms=5
echo "# a clean install takes ${ms} ms"

# Deterministic: die at activation step N for N = 0, 1, ... until a run
# gets through; each time the rerun must give the reference tree.
for what in install upgrade; do
	n=0
	while :; do
		R="$T/c-$what-$n"
		if [ $what = upgrade ]; then cp -a "$T/ref1" "$R"; b="$T/v2.bundle"; ref="$T/ref2.walk"
		else b="$T/v1.bundle"; ref="$T/ref1.walk"; fi
		set +e
		OUTPOST_TEST_CRASH_AT=$n "$OUTPOST" install --root "$R" --pubkey "$PUB" --no-start \
			--skip-preflight --quiet --bundle "$b" >/dev/null 2>&1
		rc=$?
		set -e
		[ "$rc" -eq 137 ] || break
		inst "$R" "$b" >/dev/null 2>&1 || true
		walk "$R" >"$T/c.walk"
		if cmp -s "$ref" "$T/c.walk"; then ok "$what: killed at activation step $n, rerun gives the same tree"; else
			not_ok "$what: killed at activation step $n"; diff "$ref" "$T/c.walk" | head -20 | sed 's/^/# /' >&2; fi
		rm -rf "$R"
		n=$((n + 1))
	done
	[ "$rc" -eq 0 ] && [ "$n" -gt 10 ] && ok "$what: $n crash points covered" || not_ok "$what: stopped at step $n with exit $rc"
done

rounds=8
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
	# A delay in [0, 0.9 * install time], from the kernel's random source.
	rnd=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	delay=$((rnd % (ms * 9 / 10 + 1)))
	# The binary itself in the background (a function would put a subshell
	# between $! and the process to kill).
	"$OUTPOST" install --root "$R" --pubkey "$PUB" --no-start --skip-preflight --quiet \
		--bundle "$b" >/dev/null 2>&1 &
	pid=$!
	sleep "$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 1000 }')"
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
