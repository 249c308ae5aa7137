#!/bin/sh
# The nightly backup switched from supervise.json: "backup-nightly": "on"
# makes the supervisor enable outpost-backup.timer with systemctl (a stand-in
# recording its argv) at start, "off" disables it on SIGHUP, an absent key
# leaves the timer alone, a bad value is refused, and a failing systemctl is
# logged without stopping the supervisor. "backup-keep" is the retention
# `outpost backup` uses without --keep (the timer's service runs it so).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/backup-lib.sh"
. "$top_srcdir/tests/supervise-lib.sh"
skip_unless sqlite3

mkdir -p "$T/bin"
printf '#!/bin/sh\necho "systemctl $*" >>"%s"\nexit "${SYSTEMCTL_RC:-0}"\n' "$T/systemctl.log" >"$T/bin/systemctl"
chmod +x "$T/bin/systemctl"
: >"$T/systemctl.log"
PATH=$T/bin:$PATH
export PATH

echo '{"backup-nightly": "on", "backup-keep": 3}' >"$T/supervise.json"
start_outpost
wait_for 30 "at start, \"on\" enables the timer" -- grep -qx "systemctl enable --now outpost-backup.timer" "$T/systemctl.log"
wait_for 10 "and says so" -- grep -q "backup-nightly: outpost-backup.timer enabled" "$T/outpost.log"
echo '{"backup-nightly": "off"}' >"$T/supervise.json"
kill -HUP "$OUTPOST_PID"
wait_for 30 "on SIGHUP, \"off\" disables it" -- grep -qx "systemctl disable --now outpost-backup.timer" "$T/systemctl.log"
n=$(wc -l <"$T/systemctl.log")
echo '{"backup-nightly": "yes"}' >"$T/supervise.json"
kill -HUP "$OUTPOST_PID"
wait_for 30 "a bad value on SIGHUP keeps the running configuration" -- \
	grep -q 'backup-nightly: "yes" is not on or off.*keeping the running configuration' "$T/outpost.log"
expect_true "and runs no systemctl" -- test "$(wc -l <"$T/systemctl.log")" = "$n"
stop_outpost
expect_true "the supervisor stopped cleanly" -- test "$OUTPOST_RC" = 0

echo '{}' >"$T/supervise.json"
: >"$T/systemctl.log"
: >"$FAKE_K3S_LOG"
start_outpost
wait_for 30 "k3s is started" -- grep -q exec "$FAKE_K3S_LOG"
stop_outpost
expect_true "without the key the timer is left alone (no systemctl)" -- test ! -s "$T/systemctl.log"

echo '{"backup-nightly": "on"}' >"$T/supervise.json"
: >"$FAKE_K3S_LOG"
SYSTEMCTL_RC=1
export SYSTEMCTL_RC
start_outpost
wait_for 30 "a failing systemctl is logged" -- grep -q "backup-nightly: .*systemctl" "$T/outpost.log"
wait_for 30 "and the supervisor goes on to start k3s" -- grep -q exec "$FAKE_K3S_LOG"
stop_outpost
unset SYSTEMCTL_RC

echo '{"backup-nightly": "yes"}' >"$T/supervise.json"
expect_exit 2 "supervise refuses a bad backup-nightly in the file" -- \
	"$OUTPOST" --state "$T/state.db" supervise --k3s "$FAKE_K3S" --config "$T/supervise.json" --platform none
expect_fgrep '"yes" is not on or off' "$T/err" "naming the value"
echo '{"backup-keep": 0}' >"$T/supervise.json"
expect_exit 2 "and a backup-keep of 0" -- \
	"$OUTPOST" --state "$T/state.db" supervise --k3s "$FAKE_K3S" --config "$T/supervise.json" --platform none

# Retention from the file.
R=$T/box
backup_box "$R" 1.2.0
echo '{"backup-nightly": "on", "backup-keep": 2}' >"$T/supervise.json"
for i in 1 2 3; do
	expect_exit 0 "backup $i without --keep" -- "$OUTPOST" --state "$T/s.db" backup --root "$R" --supervise-config "$T/supervise.json"
done
count() { find "$R/var/lib/outpost/backups" -name 'outpost-backup-*.tar.gz' | wc -l; }
expect_true "keeps the file's backup-keep: 2" -- test "$(count)" = 2
expect_exit 0 "--keep overrides the file" -- "$OUTPOST" --state "$T/s.db" backup --root "$R" --supervise-config "$T/supervise.json" --keep 3
expect_true "3 kept" -- test "$(count)" = 3
expect_exit 0 "without the file, the default" -- "$OUTPOST" --state "$T/s.db" backup --root "$R" --supervise-config "$T/none.json"
expect_true "7 kept at most (4 there)" -- test "$(count)" = 4
echo '{"backup-keep": "many"}' >"$T/supervise.json"
expect_exit 2 "a backup-keep that is not a count is refused" -- "$OUTPOST" --state "$T/s.db" backup --root "$R" --supervise-config "$T/supervise.json"
expect_fgrep "supervise.json: \"backup-keep\" is not a count" "$T/err" "naming the file and key"
expect_true "and no archive was written" -- test "$(count)" = 4
finish
