/* How far a Job got, read from the status the job controller writes: one
 * reading for the reconciler (tenant data Jobs, helm's install Jobs) and for
 * the Jobs the backup runs (backup-keycloak.c), so both agree on what
 * "failed" means. Pure: no I/O. */
#ifndef OUTPOST_JOB_STATE_H
#define OUTPOST_JOB_STATE_H

#include <jansson.h>

#include "diff.h"

/* The condition Failed=True of a Job (or a HelmChart), borrowed; or NULL. */
json_t *job_failed_condition(json_t *obj);

/* That condition's message ("failed" when it has none), or NULL. */
const char *job_failed_message(json_t *obj);

/* Succeeded once status.succeeded > 0; failed with a Failed condition
 * (*failure gets its message, borrowed from job); else running. */
enum diff_job job_state(json_t *job, const char **failure);

#endif
