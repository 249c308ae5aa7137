# shellcheck shell=sh
# Fixture bundles for the bundle/install tests: a fake k3s (a shell script),
# a small image archive, the fixture charts packaged with the real helm, the
# real charts/platform.json and charts/capacity.json. Source after lib.sh.

FIX="${top_srcdir:?}/tests/fixtures/bundle"

# make_keys DIR: an Ed25519 signing key pair via outpost itself.
make_keys() {
	"$OUTPOST" bundle keygen --out "$1" >/dev/null
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# make_bundle OUT VERSION K3S_TEXT [KEYDIR [CHART_VERSION]]: builds the inputs
# under $T/in-VERSION, writes a lock and runs `outpost bundle build`.
make_bundle() {
	out=$1 version=$2 k3s_text=$3 keydir=${4:-$T/keys} cv=${5:-0.1.0}
	in="$T/in-$version"
	rm -rf "$in"
	mkdir -p "$in/charts" "$in/img"
	# K3S_FILE / UNIT_FILE: another k3s and unit (the ISO test's stand-in).
	if [ -n "${K3S_FILE:-}" ]; then cp "$K3S_FILE" "$in/k3s"; else
		printf '#!/bin/sh\n# fake k3s for tests\necho "k3s %s"\n' "$k3s_text" >"$in/k3s"; fi
	chmod 0755 "$in/k3s"
	cp "$FIX/images.txt" "$in/img/images.txt"
	echo "$version" >"$in/img/version.txt"
	# IMG_MB adds incompressible bulk, so an install takes long enough to be
	# interrupted at many different points.
	[ -z "${IMG_MB:-}" ] || head -c "${IMG_MB}M" /dev/urandom >"$in/img/bulk.bin"
	tar -C "$in/img" --sort=name --mtime=@0 --owner=0 --group=0 -cf "$in/platform-images.tar" .
	for c in postgresql redis minio keycloak provision; do
		helm package --version "$cv" "$FIX/charts/$c" -d "$in/charts" >/dev/null
	done
	# APP_CHARTS=1: the catalog's app charts too, as bundle/fetch packs them
	# (a tenant's HelmChart names one; only a real helm needs the archive).
	apps=
	if [ "${APP_CHARTS:-}" = 1 ]; then
		for a in "$top_srcdir"/charts/apps/*/; do
			apps="$apps $(helm package "$a" -d "$in/charts" | sed -n 's|.*saved it to: .*/||p')"
		done
	fi
	cp "$top_srcdir/charts/platform.json" "$top_srcdir/charts/capacity.json" "$in/"
	{
		printf '{ "bundle_version": "%s", "k3s_version": "v1.31.4+k3s1", "inputs": [\n' "$version"
		printf '  { "source": "k3s", "path": "k3s/k3s", "role": "k3s-binary", "sha256": "%s" },\n' "$(sha "$in/k3s")"
		printf '  { "source": "platform-images.tar", "path": "images/platform-images.tar", "role": "images", "sha256": "%s" },\n' "$(sha "$in/platform-images.tar")"
		for c in postgresql redis minio keycloak provision; do
			printf '  { "source": "charts/%s-%s.tgz", "path": "charts/%s-%s.tgz", "role": "chart", "sha256": "%s" },\n' "$c" "$cv" "$c" "$cv" "$(sha "$in/charts/$c-$cv.tgz")"
		done
		for a in $apps; do
			printf '  { "source": "charts/%s", "path": "charts/%s", "role": "app-chart", "sha256": "%s" },\n' "$a" "$a" "$(sha "$in/charts/$a")"
		done
		printf '  { "source": "platform.json", "path": "data/platform.json", "role": "platform", "sha256": "%s" },\n' "$(sha "$in/platform.json")"
		printf '  { "source": "capacity.json", "path": "data/capacity.json", "role": "capacity", "sha256": "%s" },\n' "$(sha "$in/capacity.json")"
		unit=${UNIT_FILE:-$FIX/outpost.service}
		printf '  { "source": "%s", "path": "systemd/outpost.service", "role": "unit", "sha256": "%s" },\n' "$unit" "$(sha "$unit")"
		printf '  { "source": "%s", "path": "manifests/fixture-config.yaml", "role": "manifest", "sha256": "%s" },\n' "$FIX/fixture-config.yaml" "$(sha "$FIX/fixture-config.yaml")"
		# PKG_DEB: an Outpost Debian package the bundle carries.
		[ -z "${PKG_DEB:-}" ] ||
			printf '  { "source": "%s", "path": "packages/%s", "role": "outpost-package", "sha256": "%s" },\n' "$PKG_DEB" "$(basename "$PKG_DEB")" "$(sha "$PKG_DEB")"
		printf '  { "source": "%s", "path": "keys/bundle-signing.pub", "role": "key", "sha256": "%s" }\n' "$keydir/bundle-signing.pub" "$(sha "$keydir/bundle-signing.pub")"
		printf '] }\n'
	} >"$in/bundle.lock"
	"$OUTPOST" bundle build --quiet --lock "$in/bundle.lock" --key "$keydir/bundle-signing.key" --out "$out" >/dev/null
}

# walk DIR: every path with its type, mode and size, and every file's sha256;
# two walks are equal when nothing under DIR changed.
walk() {
	# The appliance CA is made afresh by each install (random keys): its
	# files' names and modes count, not their bytes (tests/tls-ca.sh checks
	# that a rerun keeps it byte for byte).
	(cd "$1" && find . -printf '%p %y %m %s\n' |
		sed 's#^\(\./var/lib/outpost/ca/[^ ]* [a-z] [0-7]*\) [0-9]*$#\1#' | LC_ALL=C sort &&
		find . -type f ! -path './var/lib/outpost/ca/*' -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}
