#!/bin/sh
# outpost backup/restore --minio and --minio-pod against tests/s3-server.py,
# a small S3 server that checks every request's AWS Signature V4 with
# botocore (not libcurl's code) and the body's x-amz-content-sha256, and
# caps list pages at 2 keys so paging is exercised. Tenant buckets are
# copied both ways, with nested keys, an empty "dir/" object, a 2 MiB object
# and keys that need encoding (space, '+', '?', '%', unicode); other buckets
# are never read or written. Restore writes the objects back, deletes those
# added after the backup and makes a removed bucket. The root password
# (holding ':@/%') stays out of argv, the output and the archive; a wrong one
# fails with S3's error code and no archive, and so does an HTTPS server
# whose certificate the system does not trust. --minio-pod goes through a
# stand-in for k3s's kubectl port-forward and get secret. What a real MinIO
# does with the same requests only a real cluster shows (README.md).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/backup-lib.sh"
"$PYTHON3" -c 'import botocore' 2>/dev/null || skip "python3-botocore not installed"
skip_unless openssl

STORE=$T/minio
mkdir -p "$STORE"
pw='pa:ss@w/rd%x'
(umask 077 && printf 'root\n%s\n' "$pw" >"$T/cred")
# The server's own copy of the credentials (a test may change $T/cred).
cp "$T/cred" "$T/server.cred"
S3_MAX_KEYS=2 S3_EXTRA_KEYS=$T/extra-keys "$PYTHON3" "$top_srcdir/tests/s3-server.py" "$STORE" "$T/server.cred" "$T/s3.port" "$T/s3.log" \
	2>"$T/s3.err" &
s3_pid=$!
on_exit "kill $s3_pid 2>/dev/null || true"
wait_for 30 "the S3 server listens" -- test -s "$T/s3.port"
PORT=$(cat "$T/s3.port")

mkdir -p "$STORE/t-acme/dir/sub" "$STORE/t-acme/empty" "$STORE/t-beta" "$STORE/loki"
echo hello >"$STORE/t-acme/a.txt"
head -c 2097152 /dev/urandom >"$STORE/t-acme/dir/big.bin"
echo spaced >"$STORE/t-acme/dir/with space+plus.txt"
echo unicode >"$STORE/t-acme/dir/sub/é – ü.txt"
echo odd >"$STORE/t-acme/odd?#&=%.txt"
echo chunk >"$STORE/loki/chunk"
cp -R "$STORE" "$T/minio.before"

R=$T/box
backup_box "$R" 1.2.0
S=$T/state.db
set -- --minio "http://127.0.0.1:$PORT" --minio-credfile "$T/cred"
: >"$T/s3.log"

expect_exit 0 "backup with --minio" -- "$OUTPOST" --state "$S" backup --root "$R" "$@"
A=$(cat "$T/out")
expect_true "the MinIO part is in the archive" -- sh -c "tar tzf '$A' | grep -qx minio/buckets.tar"
mkdir "$T/x" "$T/got" && tar xzf "$A" -C "$T/x" && tar xf "$T/x/minio/buckets.tar" -C "$T/got"
tar tf "$T/x/minio/buckets.tar" | sort | tr '\n' '|' >"$T/objects"
expect_true "the part holds the tenant buckets' objects and directories" -- test "$(cat "$T/objects")" = \
	"t-acme/|t-acme/a.txt|t-acme/dir/|t-acme/dir/big.bin|t-acme/dir/sub/|t-acme/dir/sub/é – ü.txt|t-acme/dir/with space+plus.txt|t-acme/empty/|t-acme/odd?#&=%.txt|t-beta/|"
expect_true "every object is copied byte for byte" -- diff -r "$T/minio.before/t-acme" "$T/got/t-acme"
expect_grep "^GET /t-acme?continuation-token=[^ ]*&list-type=2&max-keys=1000 200$" "$T/s3.log" \
	"a bucket's list is read page after page (continuation tokens)"
expect_fgrep "GET /t-acme/dir/sub/%C3%A9%20%E2%80%93%20%C3%BC.txt 200" "$T/s3.log" "a unicode key is percent-encoded"
expect_fgrep "GET /t-acme/odd%3F%23%26%3D%25.txt 200" "$T/s3.log" "and so are '?', '#', '&', '=' and '%'"
if grep -q "/loki" "$T/s3.log"; then not_ok "a bucket that is not a tenant's is not read"
else ok "a bucket that is not a tenant's is not read"; fi
if grep -q " 4[0-9][0-9]$" "$T/s3.log"; then not_ok "every request's signature was accepted"
else ok "every request's signature was accepted"; fi
if grep -rqF "$pw" "$T/x" "$T/got" "$T/out" "$T/err"; then not_ok "the root password is not in the archive or the output"
else ok "the root password is not in the archive or the output"; fi
expect_true "no work directory is left" -- test -z "$(find "$R/var/lib/outpost/backups" -name '.outpost-*')"

# Damage: an object changed, objects added (one in a new directory), a
# bucket gone, a bucket that is not a tenant's changed, a tenant bucket the
# archive does not hold made.
echo changed >"$STORE/t-acme/a.txt"
echo new >"$STORE/t-acme/new.txt"
mkdir "$STORE/t-acme/later" && echo new >"$STORE/t-acme/later/x"
rm "$STORE/t-acme/dir/with space+plus.txt"
rmdir "$STORE/t-acme/empty"
rm -r "$STORE/t-beta"
echo changed >"$STORE/loki/chunk"
mkdir "$STORE/t-gamma" && echo mine >"$STORE/t-gamma/g"

expect_exit 3 "an archive with a MinIO part needs --minio or --minio-pod on restore" -- \
	"$OUTPOST" --state "$S" restore "$A" --root "$R"
expect_fgrep "holds a MinIO dump: say where to restore it with --minio or --minio-pod" "$T/err" "and says so"

# A crafted part: a bucket that is not a tenant's, with a valid manifest.
cp -r "$T/x" "$T/bad"
mkdir -p "$T/craft/loki"
echo evil >"$T/craft/loki/chunk"
(cd "$T/craft" && tar cf "$T/bad/minio/buckets.tar" loki loki/chunk)
"$PYTHON3" "$top_srcdir/tests/backup-rehash.py" "$T/bad/manifest.json" minio/buckets.tar "$T/bad/minio/buckets.tar"
(cd "$T/bad" && tar czf "$T/bad.tar.gz" manifest.json minio/buckets.tar)
: >"$T/s3.log"
expect_exit 3 "a MinIO part with a bucket that is not a tenant's is refused" -- \
	"$OUTPOST" --state "$S" restore "$T/bad.tar.gz" --root "$R" "$@"
expect_fgrep "entry 'loki/' is not a relative file or directory of this part" "$T/err" "naming the entry"
expect_true "and no request was sent" -- test ! -s "$T/s3.log"

expect_exit 0 "restore with --minio" -- "$OUTPOST" --state "$S" restore "$A" --root "$R" "$@"
expect_true "t-acme is as it was: objects back, added ones gone, the empty directory object back" -- \
	diff -r "$T/minio.before/t-acme" "$STORE/t-acme"
expect_true "the removed bucket t-beta is back" -- test -d "$STORE/t-beta"
expect_fgrep "PUT /t-beta 200" "$T/s3.log" "made with a PUT of the bucket"
expect_fgrep "DELETE /t-acme/later/x 204" "$T/s3.log" "an object added after the backup is deleted"
expect_true "a bucket that is not a tenant's is left alone" -- test "$(cat "$STORE/loki/chunk")" = changed
expect_true "a tenant bucket the archive does not hold is left alone" -- test "$(cat "$STORE/t-gamma/g")" = mine
if grep -q "/loki\|/t-gamma" "$T/s3.log"; then not_ok "neither is touched"; else ok "neither is touched"; fi
expect_true "no work directory is left" -- test -z "$(find "$R/var/lib/outpost/backups" -name '.outpost-*')"

n=$(find "$R/var/lib/outpost/backups" -name '*.tar.gz' | wc -l)
(umask 077 && printf 'root\nwrong\n' >"$T/wrong")
expect_exit 1 "a wrong password fails the backup" -- "$OUTPOST" --state "$S" backup --root "$R" --keep 1 \
	--minio "http://127.0.0.1:$PORT" --minio-credfile "$T/wrong"
expect_true "with one line naming S3's error code" -- test \
	"$(grep -v '^outpost: backup: not there, left out: ' "$T/err")" = "outpost: backup: written without MinIO (MinIO: GET /: 403 SignatureDoesNotMatch); older backups all kept"
P=$(cat "$T/out")
expect_true "the other parts are written, the MinIO part left out, none of the older archives pruned despite --keep 1, no work directory left" -- test "$n" -ge 1 -a \
	"$(find "$R/var/lib/outpost/backups" -name '*.tar.gz' | wc -l)" = $((n + 1)) -a \
	-z "$(tar tzf "$P" | grep minio)" -a -z "$(find "$R/var/lib/outpost/backups" -name '.outpost-*')"
rm "$P"
# Keys a bucket may hold that cannot be a file under its directory.
for key in ../escape 'a/../../escape' /abs 'a//b' 'a/./b'; do
	printf 't-acme\t%s\n' "$key" >"$T/extra-keys"
	expect_exit 1 "a key '$key' fails the backup" -- "$OUTPOST" --state "$S" backup --root "$R" "$@"
	expect_fgrep "MinIO: t-acme: object '$key' cannot be a file of the archive" "$T/err" "naming it"
	if tar tzf "$(cat "$T/out")" | grep -q minio; then not_ok "and the archive has no MinIO part"
	else ok "and the archive has no MinIO part"; fi
	rm "$(cat "$T/out")"
done
rm "$T/extra-keys"
expect_true "and leaves no work directory or escaped file" -- test \
	"$(find "$R/var/lib/outpost/backups" -name '*.tar.gz' | wc -l)" = "$n" -a \
	-z "$(find "$R/var/lib/outpost/backups" -name '.outpost-*')" -a \
	-z "$(find "$R" "$T" -name escape)"
expect_exit 1 "a server that is not there fails the backup" -- "$OUTPOST" --state "$S" backup --root "$R" \
	--minio "http://127.0.0.1:1" --minio-credfile "$T/cred"
expect_fgrep "MinIO: GET /: " "$T/err" "naming the request"

# TLS is verified: the same server over HTTPS with a certificate no CA of
# the system signed is refused. (Not in $T/tls: a tls/ beside the state
# file is the operators' certificates, which the backup carries.)
mkdir "$T/https"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$T/https/key.pem" -out "$T/https/cert.pem" 2>/dev/null
S3_TLS_CERT=$T/https/cert.pem S3_TLS_KEY=$T/https/key.pem "$PYTHON3" "$top_srcdir/tests/s3-server.py" "$STORE" \
	"$T/server.cred" "$T/https/port" 2>"$T/https/err" &
tls_pid=$!
on_exit "kill $tls_pid 2>/dev/null || true"
wait_for 30 "the HTTPS S3 server listens" -- test -s "$T/https/port"
expect_exit 1 "an https server whose certificate is not trusted is refused" -- "$OUTPOST" --state "$S" backup \
	--root "$R" --minio "https://127.0.0.1:$(cat "$T/https/port")" --minio-credfile "$T/cred"
expect_grep "MinIO: GET /: .*certificate" "$T/err" "naming the certificate"
kill "$tls_pid"

# The pod runner: k3s's kubectl port-forward to the platform's pod, and the
# root user and password from its namespace's Secret `minio`. A stand-in at
# the installed k3s's path plays both (the forward reports the test
# server's port, as kubectl reports the local end of its tunnel).
backup_forward_standin "$R" outpost-platform/minio-0 9000 "$PORT" minio root-user=root root-password="$pw"
echo pod >"$STORE/t-acme/a.txt"
expect_exit 0 "backup with --minio-pod" -- "$OUTPOST" --state "$S" backup --root "$R" \
	--minio-pod outpost-platform/minio-0
P=$(cat "$T/out")
expect_true "the port-forward was stopped" -- sh -c "! kill -0 \$(cat '$T/forward.pid') 2>/dev/null"
expect_fgrep "--kubeconfig $R/etc/rancher/k3s/k3s.yaml port-forward -n outpost-platform minio-0 :9000" \
	"$T/kubectl.log" "through k3s's kubectl with k3s's kubeconfig"
if grep -rqF "$pw" "$T/kubectl.log" "$T/out" "$T/err"; then not_ok "the password is not in argv or the output"
else ok "the password is not in argv or the output"; fi
echo lost >"$STORE/t-acme/a.txt"
expect_exit 0 "restore with --minio-pod and --kubeconfig" -- "$OUTPOST" --state "$S" restore "$P" --root "$R" \
	--minio-pod outpost-platform/minio-0 --kubeconfig "$T/kc.yaml"
expect_true "the object is back as the pod runner saved it" -- test "$(cat "$STORE/t-acme/a.txt")" = pod
expect_fgrep "--kubeconfig $T/kc.yaml get secret" "$T/kubectl.log" "with the --kubeconfig given"
expect_exit 1 "a pod that is not there fails" -- "$OUTPOST" --state "$S" backup --root "$R" \
	--minio-pod outpost-platform/minio-9
expect_fgrep "port-forward to outpost-platform/minio-9 port 9000 did not start" "$T/err" "naming the pod"

expect_exit 2 "credentials in the --minio URL are refused" -- "$OUTPOST" --state "$S" backup --root "$R" \
	--minio "http://root:$pw@127.0.0.1:9" --minio-credfile "$T/cred"
expect_exit 2 "a --minio URL with a path is refused" -- "$OUTPOST" --state "$S" backup --root "$R" \
	--minio "http://127.0.0.1:9/minio" --minio-credfile "$T/cred"
expect_exit 2 "--minio without --minio-credfile is refused" -- "$OUTPOST" --state "$S" backup --root "$R" \
	--minio http://127.0.0.1:9
expect_exit 2 "--minio and --minio-pod together are refused" -- "$OUTPOST" --state "$S" backup --root "$R" \
	--minio http://127.0.0.1:9 --minio-pod outpost-platform/minio-0
expect_exit 2 "--minio-pod with --minio-credfile is refused" -- "$OUTPOST" --state "$S" backup --root "$R" \
	--minio-pod outpost-platform/minio-0 --minio-credfile "$T/cred"
expect_exit 2 "--minio-pod names NAMESPACE/POD" -- "$OUTPOST" --state "$S" backup --root "$R" --minio-pod minio-0
chmod 644 "$T/cred"
expect_exit 2 "a credfile others can read is refused" -- "$OUTPOST" --state "$S" backup --root "$R" "$@"
if grep -q Traceback "$T/s3.err"; then not_ok "the S3 server raised nothing"; sed 's/^/# /' "$T/s3.err" >&2
else ok "the S3 server raised nothing"; fi
finish
