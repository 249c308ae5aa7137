/* One scrape in the supervising process: counters it keeps, plus what the
 * state file says now. The state file is read, not cached: the CLI and the
 * worker write it, and a count query costs well under a millisecond. */
#include "metrics-http.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

/* Tenants by phase, the component rows (k3s's aside: outpost_k3s_up says
 * more) and the tenants' certificates, in one read snapshot. */
static int read_state(struct state *st, struct metrics_view *v, struct metrics_component **out,
		      struct tenant_certificate **certs, struct err *e)
{
	struct component_status *rows = NULL;
	struct metrics_component *comps = NULL;
	size_t n = 0, k = 0;
	int rc = -1;

	if (state_begin_read(st, e) < 0 || state_status_count(st, v->tenants, e) < 0 ||
	    state_component_list(st, &rows, &n, e) < 0 ||
	    state_certificate_list(st, certs, &v->ncertificates, e) < 0)
		goto out;
	v->certificates = *certs;
	if (!(comps = calloc(n + 1, sizeof(*comps)))) {
		err_set(e, EXIT_RUNTIME, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(rows[i].name, "k3s"))
			continue;
		memcpy(comps[k].name, rows[i].name, sizeof(comps[k].name));
		comps[k++].ready = !strcmp(rows[i].phase, "Ready");
	}
	v->components = *out = comps;
	v->ncomponents = k;
	v->state_read = true;
	rc = 0;
out:
	state_rollback(st);
	free(rows);
	return rc;
}

char *metrics_scrape(struct state *st, const struct metrics_counters *c,
		     const struct metrics_k3s *k, size_t *len)
{
	struct metrics_view v = {
		.version = PACKAGE_VERSION, .c = c, .k3s_up = k->up, .k3s_restarts = k->restarts,
		.k3s_since_restart = (double)k->since_start_usec / 1e6,
	};
	struct metrics_component *comps = NULL;
	struct tenant_certificate *certs = NULL;
	struct err e = { 0 };
	char *text;

	if (st && read_state(st, &v, &comps, &certs, &e) < 0)
		log_warn("metrics: %s", e.msg);
	text = metrics_render(&v, len);
	free(comps);
	free(certs);
	return text;
}
