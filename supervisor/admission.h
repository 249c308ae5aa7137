/* Admission: the capacity model applied to what the store holds. The writing
 * commands call admission_check inside their write transaction, after their
 * change, and roll back when it refuses, so nothing over budget is committed. */
#ifndef OUTPOST_ADMISSION_H
#define OUTPOST_ADMISSION_H

#include "capacity.h"
#include "state.h"

/* Where the figures come from: `datadir` holds capacity.json; `profile` is a
 * profile file or NULL to detect the host (on the file system of `state_path`). */
struct admission_source {
	const char *datadir;
	const char *profile;
	const char *state_path;
};

/* The budget, the box, the plans and the tenants' sums.
 * `plans` is malloc'd (free it); pass NULL to skip it. */
int admission_report(struct state *st, const struct admission_source *src,
		     struct capacity_report *r, struct capacity_profile *prof,
		     struct plan **plans, size_t *nplans, struct err *e);

/* 0 if the tenants now in the store fit; EXIT_REFUSED naming the resource if not. */
int admission_check(struct state *st, const struct admission_source *src, struct err *e);

#endif
