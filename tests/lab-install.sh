#!/bin/sh
# bundle/lab-install end to end, with a loopback HTTPS server (verified with
# a test CA) standing in for the outside: k3s release files and a registry
# API serving test images by digest. The lab command fetches and checks them,
# signs a bundle with a throw-away key, installs it (the package into a real
# dpkg database under --root) and waits until the platform is Ready, which
# the suite's supervisor with the fake k3s and the test API server brings
# about. A k3s artifact that differs from the release's sum file or from the
# pin, and a registry serving other bytes for a digest, stop it before
# anything is signed.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/supervise-lib.sh"
for tool in zstd helm skopeo openssl dpkg-buildpackage dh kubectl sqlite3; do skip_unless "$tool"; done
[ "$(id -u)" -eq 0 ] || skip "the lab command runs as root"

sha() { sha256sum "$1" | cut -d' ' -f1; }
LAB=$top_srcdir/bundle/lab-install

# --- the outside: a CA, a server certificate for 127.0.0.1, the server ---
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=lab-test-ca \
	-keyout "$T/ca.key" -out "$T/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
	-keyout "$T/srv.key" -out "$T/srv.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$T/san"
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
	-extfile "$T/san" -out "$T/srv.crt" 2>/dev/null
O=$T/outside
mkdir -p "$O"
"$PYTHON3" "$top_srcdir/tests/lab-outside.py" "$O" "$T/srv.crt" "$T/srv.key" "$T/port" 2>"$T/outside.log" &
on_exit "kill $! 2>/dev/null || :"
wait_for 20 "the stand-in for the outside listens" -- test -s "$T/port"
PORT=$(cat "$T/port")
URL=https://127.0.0.1:$PORT

# k3s's release: a fake k3s, a small air-gap archive, the sum file.
REL=$O/releases/v1.36.3%2Bk3s1
mkdir -p "$REL" "$T/airgap"
printf '#!/bin/sh\necho "lab k3s"\n' >"$REL/k3s"
echo images >"$T/airgap/list.txt"
tar -C "$T/airgap" -cf - . | zstd -q >"$REL/k3s-airgap-images-amd64.tar.zst"
sums() { (cd "$REL" && sha256sum k3s k3s-airgap-images-amd64.tar.zst >sha256sum-amd64.txt); }
sums
cat >"$T/k3s.pin" <<PIN
K3S_VERSION=v1.36.3+k3s1
K3S_ARCH=amd64
K3S_SHA256_BINARY=$(sha "$REL/k3s")
K3S_SHA256_AIRGAP_IMAGES=$(sha "$REL/k3s-airgap-images-amd64.tar.zst")
PIN

# Two images in the registry, each a config and one layer, by digest.
"$PYTHON3" - "$O" >"$T/digests" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
root = sys.argv[1]
def put(repo, kind, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    path = os.path.join(root, "v2", repo, kind, d)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "wb").write(data)
    return d
for repo in ("lab/web", "lab/db"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        body = ("hello from %s\n" % repo).encode()
        info = tarfile.TarInfo("hello.txt"); info.size = len(body); info.mtime = 0
        t.addfile(info, io.BytesIO(body))
    raw = buf.getvalue()
    layer = gzip.compress(raw, mtime=0)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config),
                   "digest": put(repo, "blobs", config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer),
                    "digest": put(repo, "blobs", layer)}]}).encode()
    print(repo, put(repo, "manifests", manifest))
PY
{
	echo "# the lab test's images, served by the stand-in registry"
	while read -r repo digest; do echo "127.0.0.1:$PORT/$repo:1.0@$digest"; done <"$T/digests"
} >"$T/images.lock"

# Charts: the fixture charts (no images of their own) and the real data files.
CH=$T/charts
mkdir -p "$CH"
cp -r "$top_srcdir/tests/fixtures/bundle/charts/." "$CH/"
cp "$top_srcdir/charts/platform.json" "$top_srcdir/charts/capacity.json" "$CH/"

# --- Outpost's package, and a root with a dpkg database -----------------
expect_exit 0 "make deb" -- env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${MAKE:-make}" -s --no-print-directory -C "$top_builddir" deb \
	DEB_SCRATCH="$T/scratch" DEB_OUT="$T/pkg"
DEB=$(tail -n 1 "$T/out")
R=$T/root
mkdir -p "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/info"
cp /var/lib/dpkg/status "$R/var/lib/dpkg/status"

lab() { # OUTDIR [more options]
	o=$1; shift
	sh "$LAB" --skip-tools --outpost "$OUTPOST" --deb "$DEB" --root "$R" --no-start --skip-preflight \
		--state "$T/state.db" --pin "$T/k3s.pin" --images-lock "$T/images.lock" --charts "$CH" \
		--k3s-url "$URL/releases" --ca-file "$T/ca.crt" --out "$o" "$@"
}
no_bundle() { # OUTDIR DESCRIPTION
	if find "$1" -name '*.bundle' | grep -q .; then not_ok "$2: a bundle was signed"; else ok "$2: nothing signed"; fi
}

# --- mismatches stop before signing ---------------------------------------
cp "$REL/k3s" "$T/k3s.good"
printf '#!/bin/sh\necho "tampered k3s"\n' >"$REL/k3s"
expect_exit 1 "k3s differing from the release's sum file stops the lab" -- lab "$T/bad1" --timeout 5
expect_fgrep "k3s does not match sha256sum-amd64.txt" "$T/err" "names the artifact and the sum file"
expect_fgrep "nothing was signed" "$T/err" "says nothing was signed"
no_bundle "$T/bad1" "sum file mismatch"
sums
expect_exit 1 "k3s and sum file changed together still differ from the pin" -- lab "$T/bad2" --timeout 5
expect_fgrep "differs from the pinned K3S_SHA256_BINARY" "$T/err" "names the pin"
no_bundle "$T/bad2" "pin mismatch"
cp "$T/k3s.good" "$REL/k3s"
sums

read -r repo digest <"$T/digests"
mpath=$O/v2/$repo/manifests/$digest
cp "$mpath" "$T/manifest.good"
sed 's/"schemaVersion": 2/"schemaVersion":  2/' "$T/manifest.good" >"$mpath"
expect_exit 1 "a registry serving other bytes for a digest stops the lab" -- lab "$T/bad3" --timeout 5
expect_fgrep "$repo:1.0@$digest" "$T/err" "names the image"
expect_fgrep "nothing was signed" "$T/err" "says nothing was signed"
no_bundle "$T/bad3" "digest mismatch"
cp "$T/manifest.good" "$mpath"
[ -e "$R/usr/local/bin/k3s" ] && not_ok "a refused lab run installed k3s" || ok "refused runs installed nothing"

# --- the whole way, with the suite's supervisor playing outpost.service ---
mkdir -p "$T/api"
cat >"$FAKE_K3S_CONTROL" <<CTL
api=$T/api
controllers={"helm": true, "jobs": true, "workloads": true, "delay": 0.2}
CTL
start_outpost --ready platform --platform "$CH/platform.json" --kubeconfig "$T/api/kubeconfig" \
	--poll 300 --poll-idle 1000 --component-retry 1000 --reconcile-check 60000
wait_for 60 "the stand-in k3s API comes up" -- grep -q "API is ready" "$T/outpost.log"
platform_manifests "$T/manifests.json" workloads
KUBECONFIG=$T/api/kubeconfig; export KUBECONFIG
expect_exit 0 "the platform's HelmCharts and workloads are applied" -- kubectl apply --validate=false -f "$T/manifests.json"

expect_exit 0 "lab-install runs to a Ready platform" -- lab "$T/lab" --timeout 120
cp "$T/out" "$T/lab.out"
for s in "[1/6] tools" "[2/6] build" "[3/6] fetch" "[4/6] sign" "[5/6] install" "[6/6] wait"; do
	expect_fgrep "$s" "$T/lab.out" "shows step $s"
done
expect_fgrep "$URL/releases/v1.36.3%2Bk3s1/k3s" "$T/lab.out" "k3s came from the stand-in"
N=$("$PYTHON3" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["components"]))' "$CH/platform.json")
expect_fgrep "platform $N/$N ready" "$T/lab.out" "progress reaches $N/$N"
expect_fgrep "the platform is Ready" "$T/lab.out" "says the platform is Ready"
[ "$("$R/usr/local/bin/k3s")" = "lab k3s" ] && ok "the fetched k3s is installed" || not_ok "installed k3s"
for repo in lab/web lab/db; do
	f=$R/var/lib/rancher/k3s/agent/images/127.0.0.1_${PORT}_$(echo "$repo" | tr / _)_1.0.tar.zst
	if [ -f "$f" ] && zstd -dc "$f" | tar -xOf - manifest.json | grep -qF "127.0.0.1:$PORT/$repo:1.0"; then
		ok "image $repo is in k3s's images as a tagged archive"
	else not_ok "image archive $f"; fi
done
[ "$(dpkg-query --root="$R" --showformat='${Version}' --show outpost)" = "$("$OUTPOST" --version | awk '{ print $NF }')" ] &&
	ok "the package is installed under the root" || not_ok "package not installed"
[ -e "$T/lab/keys/bundle-signing.key" ] && not_ok "the throw-away private key was kept" ||
	ok "the throw-away private key is gone"
[ -f "$T/lab/keys/bundle-signing.pub" ] && ok "its public half stays" || not_ok "public key missing"
expect_exit 0 "the bundle verifies with it" -- "$OUTPOST" bundle verify --pubkey "$T/lab/keys/bundle-signing.pub" "$T"/lab/outpost-lab-*.bundle
# The supervisor stops its k3s (and the test API server) itself.
stop_outpost
[ "$OUTPOST_RC" -eq 0 ] && ok "the supervisor stops cleanly" || not_ok "supervisor exit $OUTPOST_RC"

# Usage errors.
expect_exit 2 "unknown option" -- sh "$LAB" --bogus
expect_exit 2 "--outpost without --deb" -- sh "$LAB" --outpost "$OUTPOST"
expect_exit 2 "bad --timeout" -- sh "$LAB" --timeout soon
finish
