/* The PostgreSQL part of a backup: one logical dump of the whole server
 * (every tenant database, the platform's databases such as Keycloak's, and
 * the roles with their password hashes) taken with pg_dumpall, and its
 * replay with psql. Two runners: a local one, which connects to a server
 * this host reaches (a socket directory or 127.0.0.1), and one that execs
 * into the server's pod through the API with k3s's kubectl, so the dump is
 * made by the server's own version of pg_dumpall (the host's may be older
 * than the platform's server, which pg_dumpall refuses) over the pod's
 * socket, and no password is needed or handled. */
#ifndef OUTPOST_BACKUP_PG_H
#define OUTPOST_BACKUP_PG_H

#include "err.h"
#include "pod-access.h"

struct backup_pg {
	const char *conninfo; /* libpq connection string, never with a password */
	const char *passfile; /* a 0600 libpq password file, or NULL */
	/* Or, with conninfo NULL: NAMESPACE/POD (its first container) reached
	 * with k3s's kubectl exec. */
	const char *pod;
	struct pod_access via;
};

/* 0 when the settings may be used: no password in the connection string
 * (it would be in argv), a password file that only its owner can read; a
 * pod named NAMESPACE/POD. */
int backup_pg_check(const struct backup_pg *pg, struct err *e);

/* Writes the dump (plain SQL, with DROP ... IF EXISTS before each object,
 * so that replaying it onto a server that has them replaces them) to dst. */
int backup_pg_dump(const struct backup_pg *pg, const char *dst, struct err *e);

/* Replays a dump; the first failing statement stops it (exit 1 with the
 * server's message on stderr). */
int backup_pg_restore(const struct backup_pg *pg, const char *src, struct err *e);

#endif
