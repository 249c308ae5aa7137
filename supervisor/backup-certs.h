/* The appliance CA (<state dir>/ca) and the operators' certificates
 * (<state dir>/tls) as one part of a backup: without them a restored box
 * would make a new CA, which every client that trusted the old one refuses,
 * and would serve the CA's certificates where an operator had put theirs. */
#ifndef OUTPOST_BACKUP_CERTS_H
#define OUTPOST_BACKUP_CERTS_H

#include <stdbool.h>

#include "err.h"

/* Whether either directory exists beside the state file. */
bool backup_certs_present(const char *state_path);

/* Both directories as a tar at `dst` (0600). */
int backup_certs_dump(const char *state_path, const char *dst, struct err *e);

/* 0 when `src` holds nothing but the CA's two files and operators'
 * certificates and keys; else -1 with EXIT_REFUSED naming the entry. */
int backup_certs_verify(const char *src, struct err *e);

/* Replaces both directories with the archive's, each by one rename (a
 * directory the archive lacks is removed). Rerun after a failure. */
int backup_certs_restore(const char *state_path, const char *src, struct err *e);

#endif
