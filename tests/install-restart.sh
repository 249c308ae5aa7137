#!/bin/sh
# outpost install on the machine itself (root /) with a bundle that carries a
# newer Outpost package: the package is installed with dpkg, and
# outpost.service is reloaded, enabled and restarted last, after everything
# else the install does; a rerun restarts nothing. Run as root in a private
# mount namespace in which the paths install writes are scratch copies, and
# with dpkg, dpkg-query and systemctl standing in on PATH (they log their
# arguments), so the host is left as it was.
# ok and not_ok always succeed, so "test && ok || not_ok" is an if-then-else here.
# shellcheck disable=SC2015
if [ -z "${INSTALL_RESTART_INNER:-}" ]; then
	if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
		. "$top_srcdir/tests/lib.sh"
		skip "needs root and unshare -m"
	fi
	INSTALL_RESTART_INNER=1 exec unshare -m sh "$0"
fi
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/bundle-lib.sh"
skip_unless zstd
skip_unless helm
skip_unless dpkg-deb

V=$("$OUTPOST" --version | awk '{ print $NF }')
mkdir -p "$T/pkg/DEBIAN"
printf 'Package: outpost\nVersion: %s\nArchitecture: all\nMaintainer: test <t@example.test>\nDescription: test\n' \
	"$V" >"$T/pkg/DEBIAN/control"
DEB=$T/outpost_${V}_all.deb
expect_exit 0 "a package to carry" -- dpkg-deb --root-owner-group --build "$T/pkg" "$DEB"
make_keys "$T/keys"
PKG_DEB=$DEB make_bundle "$T/v1.bundle" 1.0.0 one

mount --make-rprivate /
# Scratch copies of what install writes under /: /etc (copied, so the
# programs the test runs still find their configuration), and an empty
# /var/lib and /usr/local.
cp -a /etc "$T/etc"
mkdir -p "$T/varlib" "$T/usrlocal"
on_exit "umount -l /etc /usr/local /var/lib 2>/dev/null || true"
for m in etc:/etc usrlocal:/usr/local varlib:/var/lib; do
	mount --bind "$T/${m%%:*}" "${m#*:}" || { not_ok "cannot bind a scratch ${m#*:}"; finish; }
done

# The trusted keys live under the build's sysconfdir (under distcheck, its
# private prefix): a scratch copy of its nearest existing directory too,
# unless one of the above already covers it.
keydir=$("$OUTPOST" install --help | sed -n 's|.*Trusted keys: \(/[^ ]*\)/\*\.pub.*|\1|p')
[ -n "$keydir" ] || { not_ok "install --help names no trusted-keys directory"; finish; }
a=$keydir
while [ ! -d "$a" ]; do a=$(dirname "$a"); done
case $a in
/etc | /etc/* | /usr/local | /usr/local/* | /var/lib | /var/lib/*) ;;
*)
	cp -a "$a" "$T/keysroot"
	on_exit "umount -l '$a' 2>/dev/null || true"
	mount --bind "$T/keysroot" "$a" || { not_ok "cannot bind a scratch $a"; finish; }
	;;
esac

mkdir -p "$T/bin"
for tool in dpkg dpkg-query systemctl; do
	# dpkg-query: no outpost package installed yet.
	printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\n[ "%s" != dpkg-query ]\n' "$tool" "$T" "$tool" >"$T/bin/$tool"
	chmod +x "$T/bin/$tool"
done
PATH=$T/bin:$PATH

expect_exit 0 "install on / with the package" -- \
	"$OUTPOST" install --bundle "$T/v1.bundle" --pubkey "$T/keys/bundle-signing.pub" --skip-preflight --quiet
[ -x /usr/local/bin/k3s ] && ok "k3s laid out (in the scratch /usr/local)" || not_ok "no /usr/local/bin/k3s"
sed 's/^/# /' "$T/calls"
expect_grep "^dpkg --root=/ --install .*outpost_${V}_all.deb\$" "$T/calls" "dpkg installs the bundle's package"
grep -v '^dpkg-query' "$T/calls" >"$T/order"
printf 'dpkg\nsystemctl daemon-reload\nsystemctl enable outpost\nsystemctl restart outpost\n' >"$T/want"
sed 's/^\(dpkg\) .*/\1/' "$T/order" >"$T/got"
cmp -s "$T/want" "$T/got" && ok "package first, then daemon-reload, enable, and the restart last" ||
	not_ok "calls in order: $(tr '\n' ';' <"$T/got")"
expect_grep "restarted outpost.service\$" "$T/out" "the restart is the last line"
[ "$(tail -n 1 "$T/out")" = "restarted outpost.service" ] && ok "nothing printed after the restart" ||
	not_ok "last line: $(tail -n 1 "$T/out")"

# dpkg now reports the package: a rerun installs and restarts nothing.
printf '#!/bin/sh\necho "dpkg-query $*" >>"%s/calls"\nprintf "installed\\t%s"\n' "$T" "$V" >"$T/bin/dpkg-query"
: >"$T/calls"
expect_exit 0 "rerun" -- "$OUTPOST" install --bundle "$T/v1.bundle" --skip-preflight --quiet
expect_grep "^already installed: bundle 1.0.0" "$T/out" "already installed"
grep -q '^dpkg \|^systemctl' "$T/calls" && not_ok "rerun ran: $(tr '\n' ';' <"$T/calls")" ||
	ok "rerun neither installs the package nor restarts the service"
finish
