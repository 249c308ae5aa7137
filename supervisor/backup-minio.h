/* The MinIO part of a backup: every tenant bucket ("t-<tenant>", as
 * charts/provision/minio.sh makes it) copied with `mc mirror` into a
 * directory per bucket, packed as one part; restore makes each bucket
 * (`mc mb --ignore-existing`) and mirrors it back with --overwrite --remove,
 * so the bucket holds exactly the archive's objects. Buckets not in the
 * archive are left alone. mc reaches the server through MC_HOST_outpost in
 * its environment, as the chart's script does: the root credentials never
 * reach argv. Object data only: mc mirror carries no versions, and users and
 * policies are re-made by provisioning. */
#ifndef OUTPOST_BACKUP_MINIO_H
#define OUTPOST_BACKUP_MINIO_H

#include "err.h"

struct backup_minio {
	const char *url;      /* http(s)://HOST:PORT; NULL: no MinIO part */
	const char *credfile; /* 0600: the root user on the first line, its password on the second */
};

int backup_minio_check(const struct backup_minio *m, struct err *e);
int backup_minio_dump(const struct backup_minio *m, const char *dst, struct err *e);
/* 0 when the part holds only tenant buckets' directories and files. */
int backup_minio_verify(const char *src, struct err *e);
int backup_minio_restore(const struct backup_minio *m, const char *src, struct err *e);

#endif
