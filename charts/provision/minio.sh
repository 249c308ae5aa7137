#!/bin/sh
# One tenant's MinIO bucket "t-<tenant>", user "t-<tenant>" (secret key =
# TENANT_PASSWORD) and policy "t-<tenant>" allowing object work in that bucket
# only. ACTION=provision creates or repairs them (idempotent),
# ACTION=deprovision removes user, policy and bucket with its objects.
# Interface: charts/provision/README.md. mc reaches the server through
# MC_HOST_outpost (set here from MINIO_URL, MINIO_ROOT_USER and
# MINIO_ROOT_PASSWORD) so the root credentials never reach argv.
set -eu

die() { echo "minio.sh: $*" >&2; exit 2; }

: "${ACTION:?ACTION must be provision or deprovision}"
: "${TENANT:?TENANT (the tenant name) is not set}"
case $TENANT in
'' | -* | *- | *[!a-z0-9-]*) die "TENANT '$TENANT' is not a DNS-1123 label" ;;
esac
: "${MINIO_ROOT_USER:?MINIO_ROOT_USER is not set}"
: "${MINIO_ROOT_PASSWORD:?MINIO_ROOT_PASSWORD is not set}"
name="t-$TENANT"
url=${MINIO_URL:-http://minio.outpost-platform.svc:9000}
scheme=${url%%://*}
MC_HOST_outpost="$scheme://$MINIO_ROOT_USER:$MINIO_ROOT_PASSWORD@${url#*://}"
export MC_HOST_outpost
# mc keeps its state under the home directory; the Job mounts /tmp writable.
MC_CONFIG_DIR=${MC_CONFIG_DIR:-${TMPDIR:-/tmp}/.mc}
export MC_CONFIG_DIR

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

provision() {
	[ "${#TENANT_PASSWORD}" -ge 8 ] || die "TENANT_PASSWORD must be at least 8 characters"
	mc --quiet mb --ignore-existing "outpost/$name" >/dev/null
	# Objects only: no bucket policy, versioning or deletion of the bucket,
	# so a tenant cannot make its bucket public or remove it.
	cat >"$work/policy.json" <<JSON
{
  "Version": "2012-10-17",
  "Statement": [
    { "Effect": "Allow",
      "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
      "Resource": ["arn:aws:s3:::$name"] },
    { "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                 "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      "Resource": ["arn:aws:s3:::$name/*"] }
  ]
}
JSON
	mc --quiet admin policy create outpost "$name" "$work/policy.json" >/dev/null
	# mc takes the secret key only as an argument; it is visible to this
	# Job's own processes for the life of this one command.
	mc --quiet admin user add outpost "$name" "$TENANT_PASSWORD" >/dev/null
	# Attaching an attached policy is an error, so attach only when missing.
	# (No grep: the mc image is minimal.)
	info=$(mc --quiet admin user info outpost "$name" --json)
	case $info in
	*"\"policyName\":\"$name\""* | *"\"policyName\": \"$name\""*) ;;
	*) mc --quiet admin policy attach outpost "$name" --user "$name" >/dev/null ;;
	esac
}

deprovision() {
	if mc --quiet admin user info outpost "$name" >/dev/null 2>&1; then
		mc --quiet admin user rm outpost "$name" >/dev/null
	fi
	if mc --quiet admin policy info outpost "$name" >/dev/null 2>&1; then
		mc --quiet admin policy rm outpost "$name" >/dev/null
	fi
	if mc --quiet stat "outpost/$name" >/dev/null 2>&1; then
		mc --quiet rb --force "outpost/$name" >/dev/null
	fi
}

case $ACTION in
provision) provision ;;
deprovision) deprovision ;;
*) die "ACTION '$ACTION' is not provision or deprovision" ;;
esac
echo "minio.sh: $ACTION $name: done"
