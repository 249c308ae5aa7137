#!/bin/sh
# The bundle's helper scripts: bundle/check-images on fixture charts, and
# bundle/fetch (which needs the network, so it is only linted here).
. "$top_srcdir/tests/lib.sh"
skip_unless helm

F="$top_srcdir/tests/fixtures/bundle/check-images"
CI="$top_srcdir/bundle/check-images"
expect_exit 0 "every image of the fixture charts is pinned" -- "$PYTHON3" "$CI" --lock "$F/images.lock" --charts "$F/charts"
expect_grep "3 image references in 2 charts/manifests" "$T/out" "templated, literal and plain-manifest images all found"

grep -v 'example/web' "$F/images.lock" >"$T/no-web.lock"
expect_exit 1 "an image rendered from chart values but missing from the lock fails" -- \
	"$PYTHON3" "$CI" --lock "$T/no-web.lock" --charts "$F/charts"
expect_grep "charts/web: image docker.io/example/web:1.0@sha256:1111" "$T/err" "names the chart and the image"

grep -v 'example/job' "$F/images.lock" >"$T/no-job.lock"
expect_exit 1 "an image in a plain manifest missing from the lock fails" -- \
	"$PYTHON3" "$CI" --lock "$T/no-job.lock" --charts "$F/charts"
expect_grep "extra/job.yaml: image ghcr.io/example/job:3.0" "$T/err" "names the manifest file"

cp -r "$F/charts" "$T/charts"
sed -i 's|image: ghcr.io/example/job:3.0@sha256:3*|image: ghcr.io/example/job:latest|' "$T/charts/extra/job.yaml"
expect_exit 1 "an image by tag only fails" -- "$PYTHON3" "$CI" --lock "$F/images.lock" --charts "$T/charts"
expect_grep "image ghcr.io/example/job:latest is not in" "$T/err" "names the unpinned image"

{ cat "$F/images.lock"; echo "docker.io/example/unpinned:1.0"; } >"$T/bad.lock"
expect_exit 1 "a lock line without a digest fails" -- "$PYTHON3" "$CI" --lock "$T/bad.lock" --charts "$F/charts"
expect_grep "is not registry/repository:tag@sha256" "$T/err" "says what a lock line must be"

if [ -n "${SHELLCHECK:-}" ]; then
	expect_exit 0 "bundle/fetch passes shellcheck" -- "$SHELLCHECK" -x "$top_srcdir/bundle/fetch"
	expect_exit 0 "bundle/lab-install passes shellcheck" -- "$SHELLCHECK" -x "$top_srcdir/bundle/lab-install"
	# SC2015: "A && ok || not_ok" is intended (ok and not_ok never fail);
	# SC2154: top_srcdir, OUTPOST, PYTHON3 come from the test environment.
	expect_exit 0 "bundle test scripts pass shellcheck" -- "$SHELLCHECK" -x -e SC1091,SC2015,SC2154 \
		"$top_srcdir/tests/bundle-lib.sh" "$top_srcdir/tests/bundle-install.sh" \
		"$top_srcdir/tests/bundle-corpus.sh" "$top_srcdir/tests/bundle-kill.sh" \
		"$top_srcdir/tests/bundle-scripts.sh" "$top_srcdir/tests/bench/bundle.sh" \
		"$top_srcdir/tests/bundle-package.sh" "$top_srcdir/tests/lab-install.sh"
else
	echo "# shellcheck not installed: fetch not linted"
fi
expect_exit 2 "fetch without --bundle-version is a usage error (before any download)" -- \
	sh "$top_srcdir/bundle/fetch"
finish
