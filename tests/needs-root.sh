#!/bin/sh
# Privileges and the state file, as an operator meets them: the commands that
# change the machine say "needs root" (exit 1) when run by another user on
# the real root, and work for that user under --root DIR of its own; the
# daemon refuses to start when it cannot write its state file, before it
# starts k3s. The other user is `nobody` through setpriv (util-linux).
. "$top_srcdir/tests/lib.sh"
skip_unless setpriv
[ "$(id -u)" = 0 ] || skip "needs root to switch to another user"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
# A copy nobody can run, wherever the build tree is.
mkdir -p "$T/bin" && cp "$OUTPOST" "$T/bin/outpost" && chmod 755 "$T" "$T/bin" "$T/bin/outpost"
OUTPOST=$T/bin/outpost

expect_exit 1 "install on / as nobody" -- as_nobody "$OUTPOST" install --bundle /nonexistent.bundle
expect_grep "^outpost: install: needs root" "$T/err" "install says it needs root"
expect_exit 1 "reset on / as nobody" -- as_nobody "$OUTPOST" reset --yes
expect_grep "^outpost: reset: needs root" "$T/err" "reset says it needs root"
expect_exit 1 "rollback on / as nobody" -- as_nobody "$OUTPOST" rollback
expect_grep "^outpost: rollback: needs root" "$T/err" "rollback says it needs root"
mkdir -p "$T/mine" && chown 65534:65534 "$T/mine"
expect_exit 0 "reset --root in nobody's own tree is allowed" -- as_nobody "$OUTPOST" reset --yes --root "$T/mine"

# The daemon and its state file: a directory it cannot write, then a file.
mkdir -p "$T/rootonly" && chmod 755 "$T/rootonly"
printf '#!/bin/sh\ntouch "%s/k3s-started"\nexec sleep 60\n' "$T/mine" >"$T/mine/k3s" && chmod 755 "$T/mine/k3s"
expect_exit 1 "supervise refuses a state directory it cannot write" -- as_nobody "$OUTPOST" \
	--state "$T/rootonly/state.db" supervise --k3s "$T/mine/k3s" --platform none
expect_grep "^outpost: supervise: state $T/rootonly/state.db: directory $T/rootonly not writable" "$T/err" \
	"it names the state file and the directory"
[ ! -e "$T/mine/k3s-started" ] && ok "k3s was never started" || not_ok "k3s was never started"
: >"$T/mine/state.db" && chown root "$T/mine/state.db" && chmod 644 "$T/mine/state.db"
expect_exit 1 "supervise refuses a state file it cannot write" -- as_nobody "$OUTPOST" \
	--state "$T/mine/state.db" supervise --k3s "$T/mine/k3s" --platform none
expect_grep "state $T/mine/state.db: not writable: Permission denied" "$T/err" "it says why"
[ ! -e "$T/mine/k3s-started" ] && ok "k3s was still never started" || not_ok "k3s was still never started"
finish
