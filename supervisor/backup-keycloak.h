/* The Keycloak part of a backup: every realm exported with
 * `kc.sh export --dir DIR --users realm_file` (one JSON file per realm, its
 * users and client secrets included), packed as one part; restore runs
 * `kc.sh import --dir DIR --override true`, which replaces each realm of
 * the archive. Two runners:
 *  - kcsh: a kc.sh on this host, for a Keycloak outside the cluster (its
 *    database settings come from that install, not from Outpost);
 *  - deployment: the platform's Keycloak in the cluster. A Job made from
 *    the Deployment's pod template (backup-keycloak-job.h) runs kc.sh on a
 *    host directory mounted into its pod; restore then restarts the
 *    Deployment, since the server's local cache still holds the old realms. */
#ifndef OUTPOST_BACKUP_KEYCLOAK_H
#define OUTPOST_BACKUP_KEYCLOAK_H

#include "err.h"

struct backup_keycloak {
	const char *kcsh;       /* the path of kc.sh; NULL: not on this host */
	const char *deployment; /* or NAMESPACE/NAME of the Deployment; both NULL: no part */
	const char *kubeconfig; /* for deployment: the API's credentials */
};

int backup_keycloak_check(const struct backup_keycloak *k, struct err *e);
int backup_keycloak_dump(const struct backup_keycloak *k, const char *dst, struct err *e);
/* 0 when the part holds only realm export files (*.json, no directories). */
int backup_keycloak_verify(const char *src, struct err *e);
int backup_keycloak_restore(const struct backup_keycloak *k, const char *src, struct err *e);

#endif
