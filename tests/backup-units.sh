#!/bin/sh
# The nightly backup units as built: `systemd-analyze verify` silent, the
# timer nightly and persistent, the service a oneshot `outpost backup` with
# retention from supervise.json, and nothing that enables the timer without an
# administrator (tests/backup-schedule.sh: the supervise.json switch).
. "$top_srcdir/tests/lib.sh"
skip_unless systemd-analyze

for u in outpost-backup.service outpost-backup.timer; do
	src=$top_builddir/systemd/$u
	if [ ! -f "$src" ]; then not_ok "$u was not built"; continue; fi
	sed -E "s|^(ExecStart=)[^ ]*/outpost |\\1$OUTPOST |" "$src" >"$T/$u"
done
expect_exit 0 "systemd-analyze verify passes" -- systemd-analyze verify "$T/outpost-backup.timer" "$T/outpost-backup.service"
if [ -s "$T/err" ] || [ -s "$T/out" ]; then not_ok "systemd-analyze verify has complaints"; sed 's/^/# /' "$T/out" "$T/err" >&2
else ok "systemd-analyze verify has nothing to say"; fi
expect_grep "^OnCalendar=\*-\*-\* 02:30:00" "$T/outpost-backup.timer" "timer: nightly"
expect_grep "^Persistent=true" "$T/outpost-backup.timer" "timer: catches up after downtime"
expect_grep "^WantedBy=timers.target" "$T/outpost-backup.timer" "timer: systemctl enable hooks it to timers.target"
expect_grep "^Type=oneshot" "$T/outpost-backup.service" "service: oneshot"
expect_grep "^ExecStart=$OUTPOST backup --pg-pod outpost-platform/postgresql-0 --redis-pod outpost-platform/redis-0 --minio-pod outpost-platform/minio-0 --keycloak-deployment outpost-platform/keycloak$" \
	"$T/outpost-backup.service" "service: outpost backup with the platform's PostgreSQL, Redis and MinIO pods and Keycloak's Deployment (retention from supervise.json)"
expect_true "the service has no [Install]: only the timer starts it" -- sh -c "! grep -q '^\\[Install\\]' '$T/outpost-backup.service'"
calendar=$(systemd-analyze calendar '*-*-* 02:30:00' 2>&1 | grep -c 'Next elapse' || :)
expect_true "systemd accepts the calendar expression" -- test "$calendar" -ge 1
# The package runs no dh_installsystemd (whose scripts would enable every
# unit it ships) and has no maintainer scripts of its own.
next=$(grep -A1 '^override_dh_installsystemd:' "$top_srcdir/debian/rules" | sed -n 2p)
if grep -q '^override_dh_installsystemd:' "$top_srcdir/debian/rules" && [ -z "$next" ] &&
	! ls "$top_srcdir"/debian/*.postinst >/dev/null 2>&1; then
	ok "the package does not enable the timer"; else not_ok "the package does not enable the timer"; fi

finish
