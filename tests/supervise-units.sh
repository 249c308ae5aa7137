#!/bin/sh
# The systemd units as built: @bindir@ substituted, `systemd-analyze verify`
# silent (pointed at the built binary, since it checks that ExecStart exists),
# and the settings the supervisor and k3s rely on. Also lints the supervisor's
# test scripts with shellcheck when it is installed.
. "$top_srcdir/tests/lib.sh"
skip_unless systemd-analyze

for u in outpost.service outpost-install.service; do
	src=$top_builddir/systemd/$u
	if [ ! -f "$src" ]; then not_ok "$u was not built"; continue; fi
	grep -q "@bindir@" "$src" && not_ok "$u: @bindir@ left in it" || ok "$u: bindir substituted"
	# Same unit, with the built binary in place of the installed one.
	sed -E "s|^(ExecStart=)[^ ]*/outpost |\\1$OUTPOST |" "$src" >"$T/$u"
done
expect_exit 0 "systemd-analyze verify passes" -- systemd-analyze verify "$T/outpost.service" "$T/outpost-install.service"
if [ -s "$T/err" ] || [ -s "$T/out" ]; then not_ok "systemd-analyze verify has complaints"; sed 's/^/# /' "$T/out" "$T/err" >&2
else ok "systemd-analyze verify has nothing to say"; fi

for setting in Type=notify NotifyAccess=main WatchdogSec= Restart=always Delegate=yes KillMode=process \
	LimitNOFILE=1048576 TasksMax=infinity "ExecStartPre=-/sbin/modprobe br_netfilter" \
	"ExecStartPre=-/sbin/modprobe overlay" After=network-online.target "ExecStart=$OUTPOST supervise"; do
	expect_grep "^$setting" "$T/outpost.service" "outpost.service: $setting"
done
expect_grep "^Type=oneshot" "$T/outpost-install.service" "install unit: oneshot"
expect_grep "^ConditionPathExists=.*\.bundle$" "$T/outpost-install.service" "install unit: conditioned on the bundle"
expect_grep "^ExecStart=$OUTPOST install --bundle .* --no-start$" "$T/outpost-install.service" \
	"install unit: runs outpost install --bundle"
expect_grep "^Before=outpost.service" "$T/outpost-install.service" "install unit: before the supervisor"

# The supervisor's test scripts and fake k3s pass the linters that exist.
if [ -n "${SHELLCHECK:-}" ]; then
	expect_exit 0 "supervise test scripts pass shellcheck" -- "$SHELLCHECK" -x -s sh -e SC1091,SC2015,SC2154 \
		"$top_srcdir"/tests/supervise-*.sh "$top_srcdir/tests/bench/supervise.sh"
fi

# A unit with an error is caught by the same check (the test can fail).
sed 's/^Type=notify/Type=notifyy/' "$T/outpost.service" >"$T/broken.service"
systemd-analyze verify "$T/broken.service" >"$T/out" 2>&1 || :
[ -s "$T/out" ] && ok "a broken unit is reported" || not_ok "a broken unit went unnoticed"
finish
