#!/bin/sh
# outpost install under --root: the layout k3s expects (paths, modes, hashes),
# a rerun that changes nothing, an upgrade that keeps the previous release,
# and a rollback that restores the previous tree exactly.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/bundle-lib.sh"
skip_unless zstd
skip_unless helm

make_keys "$T/keys"
PUB="$T/keys/bundle-signing.pub"
make_bundle "$T/v1.bundle" 1.0.0 one
R="$T/root"
inst() { "$OUTPOST" install --root "$R" --pubkey "$PUB" --no-start --skip-preflight --quiet --bundle "$@"; }

expect_exit 0 "install v1" -- inst "$T/v1.bundle"
expect_grep "^installed bundle 1.0.0" "$T/out" "reports the install"
expect_grep "Preflight:" "$T/out" "prints the preflight table"
expect_grep "skip-preflight" "$T/err" "warns when preflight failures are overridden"

# The live layout (outside Outpost's own state directory), with modes.
(cd "$R" && find . -path ./var/lib/outpost -prune -o -type f -printf '%P %m\n' | LC_ALL=C sort) >"$T/layout"
cat >"$T/want" <<'W'
etc/outpost/trusted-keys/bundle-signing.pub 644
etc/rancher/k3s/config.yaml 600
etc/rancher/k3s/registries.yaml 600
etc/systemd/system/outpost.service 644
usr/local/bin/k3s 755
var/lib/rancher/k3s/agent/images/platform-images.tar 644
var/lib/rancher/k3s/server/manifests/fixture-config.yaml 644
var/lib/rancher/k3s/server/manifests/outpost-keycloak.yaml 644
var/lib/rancher/k3s/server/manifests/outpost-minio.yaml 644
var/lib/rancher/k3s/server/manifests/outpost-postgresql.yaml 644
var/lib/rancher/k3s/server/manifests/outpost-provision.yaml 644
var/lib/rancher/k3s/server/manifests/outpost-redis.yaml 644
var/lib/rancher/k3s/server/static/charts/keycloak-0.1.0.tgz 644
var/lib/rancher/k3s/server/static/charts/minio-0.1.0.tgz 644
var/lib/rancher/k3s/server/static/charts/postgresql-0.1.0.tgz 644
var/lib/rancher/k3s/server/static/charts/provision-0.1.0.tgz 644
var/lib/rancher/k3s/server/static/charts/redis-0.1.0.tgz 644
W
if cmp -s "$T/layout" "$T/want"; then ok "layout matches the expected tree and modes"; else
	not_ok "layout differs"; diff "$T/want" "$T/layout" | sed 's/^/# /' >&2; fi
[ "$(stat -c %a "$R/var/lib/outpost")" = 700 ] && ok "state directory is 0700" || not_ok "state directory mode"
in="$T/in-1.0.0"
[ "$(sha "$R/usr/local/bin/k3s")" = "$(sha "$in/k3s")" ] && ok "k3s binary hash" || not_ok "k3s binary hash"
[ "$(sha "$R/var/lib/rancher/k3s/agent/images/platform-images.tar")" = "$(sha "$in/platform-images.tar")" ] &&
	ok "image archive hash" || not_ok "image archive hash"
[ "$(sha "$R/var/lib/rancher/k3s/server/static/charts/redis-0.1.0.tgz")" = "$(sha "$in/charts/redis-0.1.0.tgz")" ] &&
	ok "chart hash" || not_ok "chart hash"
"$R/usr/local/bin/k3s" >"$T/k3sout" && expect_grep "k3s one" "$T/k3sout" "installed k3s runs"

C="$R/etc/rancher/k3s/config.yaml"
expect_grep 'write-kubeconfig-mode: "0600"' "$C" "kubeconfig mode 0600"
expect_grep '^  - servicelb' "$C" "servicelb disabled"
if grep -q -e traefik -e local-storage -e metrics-server "$C"; then not_ok "traefik/local-storage/metrics-server must stay"; else ok "traefik, local-storage and metrics-server kept"; fi
expect_grep 'system-reserved=cpu=500m,memory=1024Mi' "$C" "system-reserved from capacity.json"
expect_grep 'kube-reserved=cpu=750m,memory=1792Mi' "$C" "kube-reserved from capacity.json"
expect_grep 'eviction-hard=memory.available<512Mi,nodefs.available<10%,imagefs.available<10%' "$C" "eviction from capacity.json (one file system: the larger threshold)"
expect_grep 'disable-default-registry-endpoint: true' "$C" "no default registry endpoint"
expect_grep '^  docker.io:' "$R/etc/rancher/k3s/registries.yaml" "docker.io mirrored"
expect_grep '127.0.0.1:1' "$R/etc/rancher/k3s/registries.yaml" "mirrors point at a closed loopback port"
M="$R/var/lib/rancher/k3s/server/manifests/outpost-postgresql.yaml"
expect_grep '^kind: HelmChart' "$M" "HelmChart manifest"
expect_grep 'chart: https://%{KUBERNETES_API}%/static/charts/postgresql-0.1.0.tgz' "$M" "chart served by the API server"
expect_grep 'targetNamespace: outpost-platform' "$M" "target namespace from platform.json"
expect_grep '"memory":"1280Mi"' "$M" "values from capacity.json"
expect_grep '"size":"15Gi"' "$M" "storage size from capacity.json"
if [ -e "$R/var/lib/rancher/k3s/server/manifests/traefik.yaml" ]; then not_ok "ingress must not get a HelmChart"; else ok "k3s's own traefik left alone"; fi
# The rendered HelmChart is valid YAML with the fields helm-controller reads.
"$PYTHON3" - "$M" <<'P' && ok "valuesContent is JSON with resources" || not_ok "valuesContent"
import json, sys
text = open(sys.argv[1]).read()
values = text.split("valuesContent: |-\n", 1)[1].strip()
v = json.loads(values)
assert v["resources"]["limits"]["cpu"] == "2000m", v
P

walk "$R" >"$T/v1.walk"
expect_exit 0 "second install of the same bundle" -- inst "$T/v1.bundle"
expect_grep "^already installed: bundle 1.0.0" "$T/out" "second install says already installed"
expect_exit 0 "a rerun needs no --skip-preflight (no machine checks for a no-op)" -- \
	"$OUTPOST" install --root "$R" --pubkey "$PUB" --no-start --quiet --bundle "$T/v1.bundle"
if grep -q Preflight "$T/out"; then not_ok "rerun ran preflight"; else ok "rerun skipped preflight"; fi
walk "$R" >"$T/v1.again"
cmp -s "$T/v1.walk" "$T/v1.again" && ok "second install changed nothing" || not_ok "second install changed the tree"

# Same version, different content: refused, nothing changes.
make_bundle "$T/v1b.bundle" 1.0.0 one-changed
expect_exit 3 "changed bundle with the same version is refused" -- inst "$T/v1b.bundle"
expect_grep "already on this machine with different content" "$T/err" "says why"
walk "$R" >"$T/v1.after-refused"
cmp -s "$T/v1.walk" "$T/v1.after-refused" && ok "refusal changed nothing" || not_ok "refusal changed the tree"

# Upgrade: new k3s and new chart versions (the old chart files must go).
make_bundle "$T/v2.bundle" 2.0.0 two "$T/keys" 0.2.0
expect_exit 0 "upgrade to v2" -- inst "$T/v2.bundle"
expect_grep "^upgraded to bundle 2.0.0" "$T/out" "reports the upgrade"
"$R/usr/local/bin/k3s" >"$T/k3sout" && expect_grep "k3s two" "$T/k3sout" "upgraded k3s runs"
[ -d "$R/var/lib/outpost/releases/1.0.0" ] && ok "previous release kept" || not_ok "previous release gone"
[ -e "$R/var/lib/rancher/k3s/server/static/charts/redis-0.2.0.tgz" ] && ok "new chart placed" || not_ok "new chart missing"
[ -e "$R/var/lib/rancher/k3s/server/static/charts/redis-0.1.0.tgz" ] && not_ok "old chart left behind" || ok "old chart removed"
expect_grep 'static/charts/redis-0.2.0.tgz' "$R/var/lib/rancher/k3s/server/manifests/outpost-redis.yaml" "HelmChart points at the new chart"
expect_grep '"previous"' "$R/var/lib/outpost/install.json" "record names the previous release"

expect_exit 0 "rollback" -- "$OUTPOST" rollback --root "$R"
expect_grep "^rolled back to bundle 1.0.0" "$T/out" "reports the rollback"
# Everything but Outpost's own bookkeeping is as it was before the upgrade.
walk "$R" | grep -v 'var/lib/outpost' >"$T/rolled"
grep -v 'var/lib/outpost' "$T/v1.walk" >"$T/v1.live"
cmp -s "$T/v1.live" "$T/rolled" && ok "rollback restored the previous tree" || {
	not_ok "rollback tree differs"; diff "$T/v1.live" "$T/rolled" | head -20 | sed 's/^/# /' >&2; }
"$R/usr/local/bin/k3s" >"$T/k3sout" && expect_grep "k3s one" "$T/k3sout" "rolled-back k3s runs"
expect_exit 0 "rollback again goes forward" -- "$OUTPOST" rollback --root "$R"
"$R/usr/local/bin/k3s" >"$T/k3sout" && expect_grep "k3s two" "$T/k3sout" "second rollback returns to v2"
expect_exit 3 "rollback with nothing installed is refused" -- "$OUTPOST" rollback --root "$T/empty"

# A third release prunes the oldest one.
make_bundle "$T/v3.bundle" 3.0.0 three
expect_exit 0 "upgrade to v3" -- inst "$T/v3.bundle"
ls "$R/var/lib/outpost/releases" >"$T/releases"
[ "$(tr '\n' ' ' <"$T/releases")" = "1.0.0 3.0.0 " ] || [ "$(tr '\n' ' ' <"$T/releases")" = "2.0.0 3.0.0 " ] &&
	ok "only current and previous releases kept" || not_ok "releases: $(cat "$T/releases")"

# A target on another file system (a tmpfs in a private mount namespace):
# hardlinks are impossible there, so files are copied, still atomically.
mkdir -p "$T/x/usr/local"
if unshare -m true 2>/dev/null; then
	# shellcheck disable=SC2016  # expanded by the inner shell
	unshare -m sh -c 'mount -t tmpfs none "$1/usr/local" &&
		"$2" install --root "$1" --pubkey "$3" --no-start --skip-preflight --quiet --bundle "$4" >/dev/null &&
		stat -c "links=%h mode=%a" "$1/usr/local/bin/k3s" && "$1/usr/local/bin/k3s"' \
		sh "$T/x" "$OUTPOST" "$PUB" "$T/v1.bundle" >"$T/cross" 2>&1 || true
	expect_grep "links=1 mode=755" "$T/cross" "across file systems the k3s binary is copied with its mode"
	expect_grep "k3s one" "$T/cross" "the copied k3s runs"
else
	echo "# unshare -m not permitted: cross-file-system copy not tested"
fi

# Usage errors.
expect_exit 2 "install without --bundle" -- "$OUTPOST" install --root "$R"
expect_exit 2 "relative --root" -- "$OUTPOST" install --bundle "$T/v1.bundle" --root rel
expect_exit 0 "install --help" -- "$OUTPOST" install --help
expect_exit 3 "untrusted bundle (default keys under the root) refused" -- \
	"$OUTPOST" install --root "$T/fresh" --no-start --skip-preflight --quiet --bundle "$T/v1.bundle"
[ -e "$T/fresh" ] && not_ok "refused install created the root" || ok "refused install wrote nothing"
# The key the first bundle installed is the root's trust store from then on.
expect_exit 0 "a later bundle verifies with the keys a bundle installed" -- \
	"$OUTPOST" install --root "$R" --no-start --skip-preflight --quiet --bundle "$T/v3.bundle"
finish
