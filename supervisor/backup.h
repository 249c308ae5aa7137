/* outpost backup / restore: one tar.gz holding a manifest (format, bundle
 * version, SHA-256 per part) and the parts: the tenants' state file and
 * k3s's SQLite datastore, both copied with SQLite's online backup API (so
 * the copy is consistent while they run), and k3s's token (a datastore
 * restored without its token does not come up on another host). Parts
 * taken from running services go through their own clients: backup-pg.h,
 * backup-redis.h, backup-minio.h, backup-keycloak.h. */
#ifndef OUTPOST_BACKUP_H
#define OUTPOST_BACKUP_H

#include <stddef.h>

#include "backup-pg.h"
#include "backup-keycloak.h"
#include "backup-minio.h"
#include "backup-redis.h"
#include "err.h"

#define BACKUP_DIR "var/lib/outpost/backups"
#define BACKUP_K3S_DB "var/lib/rancher/k3s/server/db/state.db"
#define BACKUP_K3S_TOKEN "var/lib/rancher/k3s/server/token"

/* Which parts a restore puts back: the files (state, datastore, token,
 * certificates) need outpost.service stopped; the services' dumps need the
 * services up, so a box whose services run in its own cluster restores in
 * two steps: FILES with the service stopped, then SERVICES once the
 * platform is up again. */
enum backup_phase { BACKUP_PHASE_ALL, BACKUP_PHASE_FILES, BACKUP_PHASE_SERVICES };

struct backup_opts {
	const char *root;       /* "/" or a prefix for k3s's files and the install record */
	const char *state_path; /* the tenants' state file (not under root: the CLI's --state) */
	const char *out_dir;    /* where archives go */
	unsigned keep;          /* retention: archives kept in out_dir, this one included */
	struct backup_pg pg;    /* pg.conninfo NULL: no PostgreSQL part */
	struct backup_redis redis; /* redis.addr NULL: no Redis part */
	struct backup_minio minio; /* minio.url NULL: no MinIO part */
	struct backup_keycloak keycloak; /* kcsh and deployment NULL: no Keycloak part */
	enum backup_phase phase;       /* restore only */
};

/* What a backup or restore says besides its result. */
struct backup_report {
	/* backup: the parts that are not there (no k3s datastore yet), left
	 * out; restore: the archive's parts of the other phase, not put back */
	char absent[256];
	/* backup: the services whose dump failed, "NAME (why)" joined by "; ";
	 * restore: those the archive's backup recorded as failed */
	char failed[2048];
};

/* Writes outpost-backup-<time>.tar.gz (0600, whole or absent). A service
 * whose dump fails does not cost the others: the archive is written
 * without its part, the manifest lists it under "failed", r->failed names
 * it, and the older archives are all kept (a run of failures never prunes
 * the last whole backup). Otherwise the oldest beyond o->keep are removed.
 * `path` gets the archive's path. Returns 0 when an archive was written
 * (r->failed may still be set), -1 with e set when none was. */
int backup_write(const struct backup_opts *o, char *path, size_t cap, struct backup_report *r,
		 struct err *e);

/* Restores `archive`: every part is extracted to a staging directory and
 * checked against the manifest, and the archive's bundle version against
 * the installed one, before anything is replaced (exit 3 for a newer
 * version, a hash mismatch, an unknown or missing part). Then each part is
 * renamed into place. Only the parts of o->phase are checked for a runner
 * and put back; r->absent names the archive's other parts and r->failed the
 * services its backup failed to dump. Returns 0, or -1 with e set. */
int backup_restore(const struct backup_opts *o, const char *archive, struct backup_report *r,
		   struct err *e);

#endif
