/* One reconcile pass, shared by the files that each do one of its jobs:
 *
 *   reconcile.c          the conductor (load, scope, steps in order) and the
 *                        scheduling and back-off of passes (reconcile.h)
 *   reconcile-observe.c  what exists: the labelled lists, page by page, and
 *                        the indexes over what they returned
 *   reconcile-desired.c  what should exist: each tenant rendered, with the
 *                        credentials the cluster holds, compared for drift
 *   reconcile-execute.c  the diff carried out: ownership moves, Namespaces,
 *                        the rest, and the creations that found an object
 *   reconcile-status.c   status rows and events, only where they changed
 *
 * Private to those files: the rest of the program sees reconcile.h. */
#ifndef OUTPOST_RECONCILE_PASS_H
#define OUTPOST_RECONCILE_PASS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diff.h"
#include "err.h"
#include "kube.h"
#include "ownership.h"
#include "reconcile-catalog.h"
#include "reconcile.h"
#include "render.h"
#include "state.h"
#include "tls.h"

/* The log component of every message of a pass. */
#define RECONCILE_LOG "reconcile"

/* One object the lists returned, with the strings the diff borrows. */
struct observed {
	struct diff_object diff_obj; /* what the diff sees: points into the strings below */
	char *ns, *name, *tenant, *failure;
	/* A tenant's HelmChart: why its helm-install Job failed, or NULL. */
	char *job_failure;
	char *passwords[RENDER_NSERVICES]; /* the credentials Secret's, when it is one */
	char *tls_cert, *tls_key;          /* the TLS Secret's, when it is one */
	/* Full passes: the owned object as listed (compact JSON, without status
	 * and server-owned metadata) until its rendering is compared with it.
	 * Text, not a json_t: a parsed tree costs several times the memory. */
	char *body;
	/* Our POST's managedFields entry is there (ownership.h): where our
	 * entries are, and the resourceVersion the move tests; else rv is NULL. */
	struct ownership at;
	char *rv;
};

struct pass {
	/* What the pass works with; the reconciler owns them. */
	const struct reconcile_config *cfg;
	struct state *st;
	struct kube *kube;
	struct catalog *catalog;
	const struct tls_ca *ca; /* NULL: no certificates (or a dry run) */
	unsigned ready;         /* need bits (render.h) the platform meets */
	struct reconcile_summary *sum;

	struct tenant_list tenants;
	struct plan *plans;
	size_t nplans;
	struct tenant_status *rows; /* status rows at the start of the pass, by name */
	size_t nrows;
	bool targeted;            /* only the tenants in `targets` */
	const char **targets;     /* sorted */
	size_t ntargets;

	/* Per tenant, parallel to tenants.v. */
	struct diff_tenant *diff_tenants;
	struct render_credentials *cred;
	struct tls_pair *tls;   /* the host's certificate, when cfg->ca_dir is set */
	char **invalid;         /* why it could not be rendered, or NULL */

	struct diff_object *desired;
	size_t ndesired, capdesired;
	char **owned_strings;   /* ns/name copies of the desired objects */
	size_t nstrings, capstrings;

	struct observed *observed;
	size_t nobserved, capobserved;
	const struct kube_resource *listing; /* the kind being listed */
	struct observed **creds;  /* the credentials Secrets, by tenant */
	size_t ncreds;
	struct observed **tls_secrets; /* the TLS Secrets, by tenant */
	size_t ntls_secrets;
	struct observed **by_key; /* full passes: the observed with a body, by diff_object_cmp */
	size_t nby_key;

	/* What the diff was given: observed[i].diff_obj, in order, while the
	 * diff and its execution borrow it. */
	const struct diff_object *diff_observed;
	struct diff_result diff;
	char **error;           /* per report: the first execution error, or NULL */
	char **repaired;        /* "<tenant>\0Kind ns/name": drift repaired this pass */
	size_t nrepaired;
	bool again;             /* something will need another pass soon */
	uint64_t start;
};

/* reconcile.c: the pass's own memory and callbacks. */

/* Room for one more element in `v` (n used of *cap elements of `size`):
 * `v` itself, or a larger copy (*cap updated), or NULL when out of memory
 * (then `v` is untouched). */
void *pass_grow(void *v, size_t n, size_t *cap, size_t size);
/* A copy of `s` that lives as long as the pass; NULL for NULL or out of memory. */
char *pass_strdup(struct pass *p, const char *s);
/* Tells the caller the pass is alive (reconcile_config.progress). */
void pass_progress(const struct pass *p);
/* Whether the pass looks at tenant `name` (every tenant on a full pass). */
bool pass_is_target(const struct pass *p, const char *name);

/* reconcile-observe.c */

/* A label of a listed or rendered object, or NULL. */
const char *object_label(json_t *obj, const char *key);
/* The role label, as a string that outlives `obj`; NULL when none or unknown. */
const char *object_role(json_t *obj);
/* Lists every kind with the ownership label (and, targeted, the tenants'). */
int pass_observed_list(struct pass *p, struct err *e);
/* Indexes what the lists returned: credentials Secrets, and bodies to compare. */
int pass_observed_index(struct pass *p);
/* The tenant's credentials Secret as listed (in its namespace, both labels), or NULL. */
const struct observed *pass_credentials_find(const struct pass *p, const char *tenant);
/* The same for the tenant's TLS Secret. */
const struct observed *pass_tls_find(const struct pass *p, const char *tenant);
/* Marks the observed object of rendering `obj` (desired `d`) drifted when it
 * no longer carries every field of the rendering; its body is done with then. */
void pass_drift_mark(struct pass *p, const struct diff_object *d, const json_t *obj);
void observed_clear(struct observed *o);

/* reconcile-desired.c */

/* Renders every valid tenant into p->desired, or with `dry` into that array. */
int pass_desired_render(struct pass *p, json_t *dry, struct err *e);
/* Renders tenant i (p->tenants.v[i]) into `out`. */
int pass_tenant_render(struct pass *p, size_t i, json_t *out, struct err *e);

/* reconcile-execute.c */

/* Carries out p->diff; what failed is in p->error, per report. */
int pass_execute(struct pass *p, struct err *e);

/* reconcile-status.c */

/* The row of tenant `name` among rows ordered by name, or NULL. */
const struct tenant_status *status_row_find(const struct tenant_status *rows, size_t n,
					    const char *name);
/* Writes what changed: status rows, events, finished teardowns. One transaction. */
int pass_status_write(struct pass *p, struct err *e);

#endif
