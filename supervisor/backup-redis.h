/* The Redis part of a backup: every tenant's ACL user ("t-<tenant>", as
 * charts/provision/redis.sh makes it, with its password hash and limits)
 * and the keys of its prefix "t:<tenant>:" in every database, each as
 * DUMP's serialized value with its expiry. The part is a stream of the
 * commands that put them back (ACL SETUSER, SELECT, RESTORE), in Redis's own
 * protocol. The runner connects to a server this host reaches (a socket or
 * HOST:PORT), or to a pod through k3s's kubectl port-forward with the admin
 * password read from the Secret `redis` (key default-password) of the pod's
 * namespace, as the platform's chart makes it; keys are read one page at a
 * time, so the copy is per key, not a snapshot of the whole server at one
 * instant. */
#ifndef OUTPOST_BACKUP_REDIS_H
#define OUTPOST_BACKUP_REDIS_H

#include "err.h"
#include "pod-access.h"

struct backup_redis {
	const char *addr;     /* a socket path or HOST:PORT; NULL: no Redis part */
	const char *passfile; /* a 0600 file holding the admin (default user) password, or NULL */
	const char *pod;      /* or, with addr NULL: NAMESPACE/POD, port 6379 */
	struct pod_access via;
};

/* 0 when the password file is a regular file only its owner can read, and a
 * pod is named NAMESPACE/POD. */
int backup_redis_check(const struct backup_redis *rd, struct err *e);

int backup_redis_dump(const struct backup_redis *rd, const char *dst, struct err *e);

/* 0 when `src` holds only commands a backup writes (see below); else -1
 * with EXIT_REFUSED. */
int backup_redis_verify(const char *src, struct err *e);

/* Checks the whole stream first (only ACL SETUSER of tenant users, SELECT,
 * and RESTORE of keys in those tenants' prefixes), then replaces each
 * tenant's user and its keys: keys of the prefix that are not in the backup
 * are removed. Users and keys of tenants not in the backup are left alone. */
int backup_redis_restore(const struct backup_redis *rd, const char *src, struct err *e);

#endif
