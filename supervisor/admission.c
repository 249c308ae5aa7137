#include "admission.h"

#include <stdlib.h>
#include <string.h>

int admission_load(const char *datadir, const char *profile, const char *state_path,
		   struct admission *a, struct err *e)
{
	if (capacity_budget_load(datadir, &a->budget, e) < 0 ||
	    capacity_profile_get(profile, state_path, &a->profile, e) < 0)
		return -1;
	return 0;
}

int admission_report(struct state *st, const struct admission *a, struct capacity_report *r,
		     struct plan **plans_out, size_t *nplans_out, struct err *e)
{
	struct tenant_list tenants = { 0 };
	struct plan *plans = NULL;
	size_t nplans = 0;

	if (state_plan_list(st, &plans, &nplans, e) < 0 || state_tenant_list(st, &tenants, e) < 0) {
		free(plans);
		return -1;
	}
	capacity_tenants(&a->budget, &a->profile.total, tenants.v, tenants.n, plans, nplans, r);
	tenant_list_free(&tenants);
	if (plans_out) {
		*plans_out = plans;
		*nplans_out = nplans;
	} else {
		free(plans);
	}
	return 0;
}

int admission_check(struct state *st, const struct admission *a, struct err *e)
{
	struct capacity_report r;

	if (admission_report(st, a, &r, NULL, NULL, e) < 0)
		return -1;
	if (capacity_admit(&r, e) < 0) {
		/* Say which box the figures are for: a detected test machine and the
		 * appliance disagree a lot. */
		size_t n = strlen(e->msg);
		snprintf(e->msg + n, sizeof(e->msg) - n, "; profile: %s", a->profile.source);
		return -1;
	}
	return 0;
}
