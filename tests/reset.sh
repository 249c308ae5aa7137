#!/bin/sh
# outpost reset under --root: the files k3s and Outpost put down go, the
# backups (and with --keep-state the state file) stay, the confirmation is
# typed, a second run finishes, and a run killed at any crash point can be
# run again.
. "$top_srcdir/tests/lib.sh"

# plant DIR: what an installed box has on disk, plus foreign files.
plant() {
	r=$1
	mkdir -p "$r/etc/rancher/k3s" "$r/var/lib/rancher/k3s/server/db" "$r/var/lib/kubelet/pods/p1" \
		"$r/var/lib/cni/networks" "$r/run/k3s/containerd" "$r/usr/local/bin" \
		"$r/etc/systemd/system/outpost.service.d" "$r/var/lib/outpost/releases/1.0.0" \
		"$r/var/lib/outpost/backups" "$r/etc/ssh" "$r/var/lib/other"
	echo "token" >"$r/var/lib/rancher/k3s/server/token"
	echo "db" >"$r/var/lib/rancher/k3s/server/db/state.db"
	echo "k3s.yaml" >"$r/etc/rancher/k3s/k3s.yaml"
	echo "bin" >"$r/usr/local/bin/k3s"
	echo "[Service]" >"$r/etc/systemd/system/outpost.service.d/override.conf"
	echo "[Unit]" >"$r/etc/systemd/system/outpost.service"
	echo "{}" >"$r/var/lib/outpost/install.json"
	echo "rel" >"$r/var/lib/outpost/releases/1.0.0/file"
	echo "tenants" >"$r/var/lib/outpost/state.db"
	echo "backup" >"$r/var/lib/outpost/backups/outpost-backup-1.tar.gz"
	echo "foreign" >"$r/etc/ssh/sshd_config"
	echo "foreign" >"$r/var/lib/other/keep"
	# A file k3s cannot remove by name: a tree 40 levels deep of pod volumes.
	d="$r/var/lib/kubelet/pods/p1"
	for _ in $(seq 40); do d="$d/v"; done
	mkdir -p "$d" && echo x >"$d/f"
}

# gone ROOT: nothing of k3s or Outpost's records is left.
gone() {
	for p in etc/rancher var/lib/rancher var/lib/kubelet var/lib/cni run/k3s usr/local/bin/k3s \
		etc/systemd/system/outpost.service etc/systemd/system/outpost.service.d var/lib/outpost/install.json var/lib/outpost/releases; do
		if [ -e "$1/$p" ]; then echo "left: $p"; return 1; fi
	done
}
foreign_kept() {
	[ -f "$1/etc/ssh/sshd_config" ] && [ -f "$1/var/lib/other/keep" ] &&
		[ -f "$1/var/lib/outpost/backups/outpost-backup-1.tar.gz" ]
}

R=$T/root
plant "$R"

expect_exit 3 "no confirmation: refused" -- sh -c "echo no | '$OUTPOST' reset --root '$R'"
expect_fgrep "not confirmed" "$T/err" "the refusal says why"
expect_true "a refused reset removed nothing" -- test -f "$R/var/lib/rancher/k3s/server/token"
expect_exit 3 "empty stdin: refused" -- sh -c "'$OUTPOST' reset --root '$R' </dev/null"
expect_exit 2 "relative --root is a usage error" -- "$OUTPOST" reset --root rel --yes
expect_exit 0 "--help" -- "$OUTPOST" reset --help
expect_fgrep "--keep-state" "$T/out" "--help names --keep-state"

expect_exit 0 "typed confirmation: reset runs" -- sh -c "echo reset | '$OUTPOST' reset --root '$R'"
expect_true "k3s's files and Outpost's records are gone" -- gone "$R"
expect_true "backups and foreign files are kept" -- foreign_kept "$R"
expect_true "without --keep-state the state file is gone" -- test ! -e "$R/var/lib/outpost/state.db"
expect_grep "^STEP  *TARGET  *OUTCOME" "$T/out" "the run ends with a table of steps"
expect_grep "stop outpost.service.*skipped" "$T/out" "under --root the services are not touched"
expect_grep "delete CNI.*skipped" "$T/out" "under --root the network is untouched without --host"

expect_exit 0 "a second run finishes too" -- "$OUTPOST" reset --root "$R" --yes
expect_grep "remove .*k3s.yaml\|/etc/rancher .*ok *not there" "$T/out" "a second run finds nothing to do"

plant "$R"
expect_exit 0 "--keep-state" -- "$OUTPOST" reset --root "$R" --yes --keep-state
expect_true "--keep-state keeps the state file" -- test -f "$R/var/lib/outpost/state.db"
expect_true "--keep-state still removes the rest" -- gone "$R"

# A step that fails while the others still run: tests/reset-netns.sh (a
# mount no step covers; permissions are no obstacle to root).

# Killed at every crash point (before each step, and inside each removal
# after its first entry), then run again: the rerun finishes and leaves the
# same result as an uninterrupted run.
n=0 killed=0
while :; do
	plant "$R"
	set +e
	# The braces take the shell's own "Killed" notice too.
	{ OUTPOST_TEST_CRASH_AT=$n "$OUTPOST" reset --root "$R" --yes >/dev/null 2>&1; } 2>/dev/null
	rc=$?
	set -e
	[ "$rc" -eq 137 ] || break
	killed=$((killed + 1))
	if "$OUTPOST" reset --root "$R" --yes >"$T/out" 2>&1 && gone "$R" >/dev/null && foreign_kept "$R"; then
		ok "killed at crash point $n: a rerun finishes and keeps backups"
	else
		not_ok "killed at crash point $n"; sed 's/^/# /' "$T/out" >&2
	fi
	n=$((n + 1))
done
expect_true "the last run, past every crash point, succeeded" -- test "$rc" -eq 0
expect_true "at least 20 crash points were exercised ($killed)" -- test "$killed" -ge 20

finish
