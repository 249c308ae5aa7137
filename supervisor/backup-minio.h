/* The MinIO part of a backup: every tenant bucket ("t-<tenant>", as
 * charts/provision/minio.sh makes it) copied object by object into a
 * directory per bucket (the key's '/' as directories, an empty "dir/" object
 * as an empty directory), packed as one part. Restore makes each bucket
 * that is missing, puts every object of the archive back (overwriting) and
 * deletes the bucket's objects the archive does not hold, so the bucket
 * holds exactly the archive's objects (as `mc mirror --overwrite --remove`
 * did); buckets not in the archive, and buckets that are not a tenant's,
 * are never touched. The runner is Outpost's own S3 client (s3.h), with the
 * root user and password from a 0600 file for a server the host reaches
 * (--minio URL), or, for the platform's pod, through k3s's kubectl
 * port-forward to its port 9000 with the credentials read from the Secret
 * `minio` (keys root-user, root-password) of the pod's namespace, as the
 * chart makes it (memory only). Object data only: no versions, tags or
 * metadata; users and policies are re-made by provisioning. */
#ifndef OUTPOST_BACKUP_MINIO_H
#define OUTPOST_BACKUP_MINIO_H

#include "err.h"
#include "pod-access.h"

struct backup_minio {
	const char *url;      /* http(s)://HOST[:PORT]; NULL (and no pod): no MinIO part */
	const char *credfile; /* 0600: the root user on the first line, its password on the second */
	const char *pod;      /* or, with url NULL: NAMESPACE/POD, port 9000 */
	struct pod_access via;
};

int backup_minio_check(const struct backup_minio *m, struct err *e);
int backup_minio_dump(const struct backup_minio *m, const char *dst, struct err *e);
/* 0 when the part holds only tenant buckets' directories and files. */
int backup_minio_verify(const char *src, struct err *e);
int backup_minio_restore(const struct backup_minio *m, const char *src, struct err *e);

/* 1 when an object key can be a relative path under its bucket's
 * directory: not empty, no leading '/', no empty, "." or ".." segment (a
 * trailing '/', a directory object, is fine). */
int backup_minio_key_ok(const char *key);

#endif
