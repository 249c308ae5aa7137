/* The Keycloak part of a backup: every realm exported with
 * `kc.sh export --dir DIR --users realm_file` (one JSON file per realm, its
 * users and client secrets included), packed as one part; restore runs
 * `kc.sh import --dir DIR --override true`, which replaces each realm of
 * the archive. kc.sh is the one of the Keycloak install (its database
 * settings come from that install's configuration and environment, not from
 * Outpost); in the cluster that is the keycloak container. */
#ifndef OUTPOST_BACKUP_KEYCLOAK_H
#define OUTPOST_BACKUP_KEYCLOAK_H

#include "err.h"

struct backup_keycloak {
	const char *kcsh; /* the path of kc.sh; NULL: no Keycloak part */
};

int backup_keycloak_check(const struct backup_keycloak *k, struct err *e);
int backup_keycloak_dump(const struct backup_keycloak *k, const char *dst, struct err *e);
/* 0 when the part holds only realm export files (*.json, no directories). */
int backup_keycloak_verify(const char *src, struct err *e);
int backup_keycloak_restore(const struct backup_keycloak *k, const char *src, struct err *e);

#endif
