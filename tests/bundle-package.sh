#!/bin/sh
# Outpost in the bundle: `make deb` builds outpost_<version>_<arch>.deb with
# dpkg-buildpackage; a bundle carrying it installs it with dpkg under --root
# (a real dpkg database, seeded with this machine's so dependencies resolve),
# a newer bundle upgrades it, rollback goes back to the previous package, and
# an older bundle or an older package is refused without --allow-downgrade,
# with the tree unchanged.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/bundle-lib.sh"
skip_unless zstd
skip_unless helm
skip_unless dpkg-buildpackage
skip_unless dh

V=$("$OUTPOST" --version | awk '{ print $NF }')
ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)
DEB="$T/pkg/outpost_${V}_$ARCH.deb"

# --- make deb ------------------------------------------------------------
# As if configured --with-vendor-key: the package carries the vendor's key.
mkdir -p "$T/vendor"
openssl genpkey -algorithm ed25519 -out "$T/vendor/key" 2>/dev/null &&
	openssl pkey -in "$T/vendor/key" -pubout -out "$T/vendor/vendor.pub"
expect_exit 0 "make deb" -- env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${MAKE:-make}" -s --no-print-directory -C "$top_builddir" deb DEB_SCRATCH="$T/scratch" DEB_OUT="$T/pkg" VENDOR_KEY="$T/vendor/vendor.pub"
[ "$(tail -n 1 "$T/out")" = "$DEB" ] && ok "make deb prints the package's path last" ||
	not_ok "make deb printed '$(tail -n 1 "$T/out")', wanted $DEB"
[ -e "$T/scratch" ] && not_ok "make deb left its scratch directory" || ok "make deb cleans up"
dpkg-deb --contents "$DEB" | awk '{ print $6 }' >"$T/contents"
for f in ./usr/bin/outpost ./usr/libexec/outpost/outpost-supervise ./lib/systemd/system/outpost.service \
	./usr/share/outpost/capacity.json ./usr/share/outpost/platform.json; do
	expect_fgrep "$f" "$T/contents" "package ships $f"
done
dpkg-deb --fsys-tarfile "$DEB" | tar -xOf - ./etc/outpost/trusted-keys/vendor.pub >"$T/vendor/shipped" 2>/dev/null
cmp -s "$T/vendor/vendor.pub" "$T/vendor/shipped" && ok "the package ships the vendor key as /etc/outpost/trusted-keys/vendor.pub" ||
	not_ok "the package's vendor.pub is not the configured key"
[ "$(dpkg-deb --field "$DEB" Version)" = "$V" ] && ok "package version is configure's $V" || not_ok "package version"
dpkg-deb --control "$DEB" "$T/control"
scripts=$(find "$T/control" -name '*inst' -o -name '*rm')
[ -z "$scripts" ] && ok "no maintainer scripts (outpost install starts the service)" ||
	not_ok "package has maintainer scripts: $scripts"
dpkg-deb --fsys-tarfile "$DEB" | tar -xOf - ./lib/systemd/system/outpost.service >"$T/unit"
expect_fgrep "ExecStart=/usr/bin/outpost supervise" "$T/unit" "the packaged unit runs the packaged binary"

# A second, newer package: the same files under another version.
V2="$V.1"
dpkg-deb --raw-extract "$DEB" "$T/repack"
sed -i "s/^Version: .*/Version: $V2/" "$T/repack/DEBIAN/control"
DEB2="$T/pkg/outpost_${V2}_$ARCH.deb"
dpkg-deb --root-owner-group --build "$T/repack" "$DEB2" >/dev/null

# --- a root with a dpkg database -----------------------------------------
R="$T/root"
mkdir -p "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/info"
cp /var/lib/dpkg/status "$R/var/lib/dpkg/status"
make_keys "$T/keys"
PUB="$T/keys/bundle-signing.pub"
inst() { "$OUTPOST" install --root "$R" --pubkey "$PUB" --no-start --skip-preflight --quiet "$@"; }
pkgver() { dpkg-query --root="$R" --showformat='${Version}' --show outpost 2>/dev/null || true; }

PKG_DEB=$DEB make_bundle "$T/v1.bundle" 1.0.0 one
PKG_DEB=$DEB2 make_bundle "$T/v2.bundle" 2.0.0 two
PKG_DEB=$DEB make_bundle "$T/v3.bundle" 3.0.0 three

expect_exit 0 "bundle list shows the package" -- "$OUTPOST" bundle list --pubkey "$PUB" "$T/v1.bundle"
expect_fgrep "outpost-package" "$T/out" "listed with role outpost-package"
expect_exit 0 "install v1 with package $V" -- inst --bundle "$T/v1.bundle"
expect_grep "^installed bundle 1.0.0" "$T/out" "bundle installed"
expect_fgrep "installed package outpost_${V}_$ARCH.deb" "$T/out" "says it installed the package"
[ "$(pkgver)" = "$V" ] && ok "dpkg under the root has outpost $V" || not_ok "dpkg has '$(pkgver)'"
"$R/usr/bin/outpost" --version >"$T/ver" 2>&1 && expect_fgrep "$V" "$T/ver" "the installed outpost runs" ||
	not_ok "installed outpost does not run: $(cat "$T/ver")"
[ -f "$R/lib/systemd/system/outpost.service" ] && ok "unit installed by the package" || not_ok "no packaged unit"

walk "$R" >"$T/v1.walk"
expect_exit 0 "rerun" -- inst --bundle "$T/v1.bundle"
if grep -q "installed package" "$T/out"; then not_ok "rerun reinstalled the package"; else ok "rerun leaves the package"; fi
walk "$R" >"$T/v1.again"
cmp -s "$T/v1.walk" "$T/v1.again" && ok "rerun changed nothing" || not_ok "rerun changed the tree"

expect_exit 0 "upgrade to v2 with package $V2" -- inst --bundle "$T/v2.bundle"
expect_grep "^upgraded to bundle 2.0.0" "$T/out" "bundle upgraded"
[ "$(pkgver)" = "$V2" ] && ok "package upgraded to $V2" || not_ok "dpkg has '$(pkgver)' after the upgrade"

expect_exit 0 "rollback" -- "$OUTPOST" rollback --root "$R"
expect_grep "^rolled back to bundle 1.0.0" "$T/out" "bundle rolled back"
[ "$(pkgver)" = "$V" ] && ok "rollback went back to package $V" || not_ok "dpkg has '$(pkgver)' after rollback"
expect_exit 0 "rollback forward again" -- "$OUTPOST" rollback --root "$R"
[ "$(pkgver)" = "$V2" ] && ok "second rollback returns to package $V2" || not_ok "dpkg has '$(pkgver)'"

# Refusals: nothing changes, not even staging.
walk "$R" >"$T/v2.walk"
expect_exit 3 "an older bundle is refused" -- inst --bundle "$T/v1.bundle"
expect_fgrep "bundle 1.0.0 is older than the installed 2.0.0; pass --allow-downgrade" "$T/err" "names both versions and the option"
expect_exit 3 "a newer bundle with an older package is refused" -- inst --bundle "$T/v3.bundle"
expect_fgrep "package outpost $V is older than the installed $V2; pass --allow-downgrade" "$T/err" "names the package versions"
walk "$R" >"$T/v2.after"
cmp -s "$T/v2.walk" "$T/v2.after" && ok "refusals changed nothing" || {
	not_ok "refusals changed the tree"; diff "$T/v2.walk" "$T/v2.after" | head | sed 's/^/# /' >&2; }

expect_exit 0 "--allow-downgrade installs the older bundle" -- inst --allow-downgrade --bundle "$T/v1.bundle"
expect_grep "^downgraded to bundle 1.0.0" "$T/out" "says downgraded"
[ "$(pkgver)" = "$V" ] && ok "package downgraded to $V" || not_ok "dpkg has '$(pkgver)'"

# A package whose control data contradicts its name is refused; dpkg never runs.
cp "$DEB2" "$T/pkg/outpost_9.9.9_$ARCH.deb"
PKG_DEB="$T/pkg/outpost_9.9.9_$ARCH.deb" make_bundle "$T/v4.bundle" 4.0.0 four
expect_exit 3 "a package named for another version is refused" -- inst --bundle "$T/v4.bundle"
expect_fgrep "control data does not say package outpost version 9.9.9" "$T/err" "says why"
[ "$(pkgver)" = "$V" ] && ok "dpkg did not run" || not_ok "dpkg has '$(pkgver)'"

# A package file not named outpost_<version>_<arch>.deb cannot be signed in.
cp "$DEB" "$T/pkg/outpost.deb"
if PKG_DEB="$T/pkg/outpost.deb" make_bundle "$T/bad.bundle" 5.0.0 five 2>"$T/err"; then
	not_ok "bundle build accepted a badly named package"
else
	expect_fgrep "is not named outpost_<version>_<arch>.deb" "$T/err" "bundle build refuses a badly named package"
fi
finish
