/* Admission: the capacity model applied to what the store holds. A writing
 * command loads the budget and the box first (so a broken budget or profile
 * fails before the store is touched), makes its change inside its write
 * transaction, calls admission_check, and rolls back when it refuses: nothing
 * over budget is ever committed. */
#ifndef OUTPOST_ADMISSION_H
#define OUTPOST_ADMISSION_H

#include "capacity.h"
#include "state.h"

struct admission {
	struct capacity_budget budget;
	struct capacity_profile profile;
};

/* `<datadir>/capacity.json`, and the box: the `profile` file, or when NULL the
 * host itself (on the file system of `state_path`). */
int admission_load(const char *datadir, const char *profile, const char *state_path,
		   struct admission *a, struct err *e);

/* The plans and the tenants' sums from the store, computed against the budget.
 * `plans` is malloc'd (free it); pass NULL to skip it. */
int admission_report(struct state *st, const struct admission *a, struct capacity_report *r,
		     struct plan **plans, size_t *nplans, struct err *e);

/* 0 if the tenants now in the store fit; EXIT_REFUSED naming the resource if not. */
int admission_check(struct state *st, const struct admission *a, struct err *e);

#endif
