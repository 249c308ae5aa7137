#include "diff.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {
	[DIFF_PENDING] = "Pending", [DIFF_PROVISIONING] = "Provisioning", [DIFF_READY] = "Ready",
	[DIFF_FAILED] = "Failed", [DIFF_DELETING] = "Deleting",
};

const char *diff_status_name(enum diff_status s)
{
	return status_names[s];
}

void diff_object_label(const struct diff_object *o, char *buf, size_t len)
{
	if (o->ns)
		snprintf(buf, len, "%s %s/%s", o->kind, o->ns, o->name);
	else
		snprintf(buf, len, "%s %s", o->kind, o->name);
}

static int strcmp_null(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

int diff_object_cmp(const struct diff_object *a, const struct diff_object *b)
{
	int c = strcmp(a->kind, b->kind);
	if (!c)
		c = strcmp_null(a->ns, b->ns);
	if (!c)
		c = strcmp(a->name, b->name);
	return c;
}

static int key_cmp_p(const void *a, const void *b)
{
	return diff_object_cmp(*(const struct diff_object *const *)a, *(const struct diff_object *const *)b);
}

/* Owned objects grouped by tenant, then in key order so output is stable. */
static int tenant_cmp_p(const void *a, const void *b)
{
	const struct diff_object *x = *(const struct diff_object *const *)a;
	const struct diff_object *y = *(const struct diff_object *const *)b;
	int c = strcmp(x->tenant, y->tenant);
	return c ? c : diff_object_cmp(x, y);
}

static int name_cmp_p(const void *a, const void *b)
{
	return strcmp((*(const struct diff_tenant *const *)a)->name,
		      (*(const struct diff_tenant *const *)b)->name);
}

static bool is_owned(const struct diff_object *o)
{
	return o->managed && o->tenant;
}

static bool is_role(const struct diff_object *o, const char *role)
{
	return o->role && !strcmp(o->role, role);
}

static bool is_provisioning_job(const struct diff_object *o)
{
	return !strcmp(o->kind, "Job") && is_role(o, "data");
}

static bool is_app_chart(const struct diff_object *o)
{
	return !strcmp(o->kind, "HelmChart") && is_role(o, "app");
}

/* One diff_compute: its inputs, the indexes over them, and the result built. */
struct builder {
	struct diff_result *r;
	size_t cap;                          /* of r->actions */
	const struct diff_tenant *tenants;
	size_t ntenants;
	const struct diff_object *observed;
	size_t nobserved;
	unsigned ready;
	const struct diff_object **by_key;   /* observed, by diff_object_cmp */
	const struct diff_tenant **by_name;  /* tenants, by name */
	bool *matched;                       /* per observed: a desired object has it */
	bool *rendered;                      /* per tenant: something was rendered for it */
	const struct diff_object **leftover; /* owned by tenants not desired any more */
	size_t nleftover;
};

static int add_action(struct builder *b, enum diff_op op, const char *tenant,
		      const struct diff_object *obj, struct diff_report *rep)
{
	if (b->r->nactions == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;
		struct diff_action *a = realloc(b->r->actions, cap * sizeof(*a));
		if (!a)
			return -1;
		b->r->actions = a;
		b->cap = cap;
	}
	b->r->actions[b->r->nactions++] = (struct diff_action){ .op = op, .tenant = tenant, .obj = obj };
	rep->nactions++;
	return 0;
}

static void reason_vformat(struct diff_report *rep, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void reason_vformat(struct diff_report *rep, const char *fmt, va_list ap)
{
	vsnprintf(rep->reason, sizeof(rep->reason), fmt, ap);
}

/* The first failure wins: it is the one an operator should fix first. */
static void report_failed(struct diff_report *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void report_failed(struct diff_report *rep, const char *fmt, ...)
{
	va_list ap;

	if (rep->status == DIFF_FAILED)
		return;
	rep->status = DIFF_FAILED;
	va_start(ap, fmt);
	reason_vformat(rep, fmt, ap);
	va_end(ap);
}

/* What a tenant that is not done yet is waiting for (the first thing). */
static void report_waiting(struct diff_report *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void report_waiting(struct diff_report *rep, const char *fmt, ...)
{
	va_list ap;

	if (rep->status == DIFF_FAILED || rep->reason[0])
		return;
	va_start(ap, fmt);
	reason_vformat(rep, fmt, ap);
	va_end(ap);
}

/* "postgresql, keycloak": the platform components behind need bits. */
static void needs_text(unsigned needs, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int b = 0; b <= RENDER_NSERVICES && n < len; b++)
		if (needs & 1u << b)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
					      render_need_component[b]);
}

/* Whether creating or changing `d` waits for the platform. A Job already
 * there is left to run: only a new one is held back. */
static bool is_withheld(const struct diff_object *d, unsigned ready, struct diff_report *rep)
{
	if (!(d->needs & ~ready))
		return false;
	rep->waiting |= d->needs & ~ready;
	return true;
}

/* Whether `o` lives in a Namespace of this same teardown: deleting the
 * namespace deletes it, one request instead of one per object. */
static bool in_owned_namespace(const struct diff_object *const *obs, size_t n,
			       const struct diff_object *o)
{
	for (size_t i = 0; o->ns && i < n; i++)
		if (!strcmp(obs[i]->kind, "Namespace") && !strcmp(obs[i]->name, o->ns))
			return true;
	return false;
}

/* Teardown step 1, the app: deleting its HelmChart makes helm-controller
 * uninstall it. */
static int teardown_app(struct builder *b, const struct diff_object *const *obs, size_t n,
			struct diff_report *rep)
{
	for (size_t i = 0; i < n; i++)
		if (is_role(obs[i], "app") && !obs[i]->terminating &&
		    add_action(b, DIFF_DELETE, rep->tenant, obs[i], rep) < 0)
			return -1;
	report_waiting(rep, "teardown: removing the app");
	return 0;
}

/* Teardown step 2, the data: the deprovisioning Jobs must all succeed
 * first; `have` holds the services whose Job is there. A service that is
 * not ready holds its Job back (and so the namespace): its data must be
 * dropped before the tenant goes. */
static int teardown_data(struct builder *b, unsigned have, struct diff_report *rep)
{
	unsigned create = 0;
	char what[320];

	for (int svc = 0; svc < RENDER_NSERVICES; svc++) {
		unsigned need = 1u << svc | RENDER_NEED_SCRIPTS;
		if (have & 1u << svc)
			continue;
		if (need & ~b->ready)
			rep->waiting |= need & ~b->ready;
		else
			create |= 1u << svc;
	}
	if (create && rep->status != DIFF_FAILED) {
		if (add_action(b, DIFF_DEPROVISION, rep->tenant, NULL, rep) < 0)
			return -1;
		b->r->actions[b->r->nactions - 1].services = create;
	}
	if (rep->waiting) {
		needs_text(rep->waiting, what, sizeof(what));
		report_waiting(rep, "teardown: waiting for %s to deprovision the data", what);
	}
	report_waiting(rep, "teardown: waiting for the data to be deprovisioned");
	return 0;
}

/* Teardown step 3, the namespace and the rest (`rest`: how many objects
 * are neither the app nor a deprovisioning Job). The deprovisioning Jobs go
 * last, so a later pass never mistakes a half-deleted tenant for one whose
 * data is still there. */
static int teardown_rest(struct builder *b, const struct diff_object *const *obs, size_t n,
			 size_t rest, struct diff_report *rep)
{
	for (size_t i = 0; i < n; i++) {
		bool dj = is_role(obs[i], "deprovision");
		if (obs[i]->terminating || (dj && rest) || in_owned_namespace(obs, n, obs[i]))
			continue;
		if (add_action(b, DIFF_DELETE, rep->tenant, obs[i], rep) < 0)
			return -1;
	}
	report_waiting(rep, "teardown: deleting the namespace");
	return 0;
}

/* Teardown of one removed tenant whose owned objects are obs[0..n): the
 * first step not done yet. */
static int plan_teardown(struct builder *b, const struct diff_object *const *obs, size_t n,
			 struct diff_report *rep)
{
	const unsigned all = RENDER_NEED_SCRIPTS - 1; /* one bit per service */
	unsigned have = 0, done = 0;
	size_t app = 0, rest = 0;
	char what[320];

	rep->status = DIFF_DELETING;
	for (size_t i = 0; i < n; i++) {
		if (is_role(obs[i], "app"))
			app++;
		else if (is_role(obs[i], "deprovision")) {
			have |= obs[i]->needs & all;
			if (obs[i]->job == DIFF_JOB_SUCCEEDED)
				done |= obs[i]->needs & all;
			if (obs[i]->job == DIFF_JOB_FAILED) {
				diff_object_label(obs[i], what, sizeof(what));
				report_failed(rep, "teardown: %s failed; the namespace is kept until it succeeds",
					      what);
			}
		} else
			rest++;
	}
	if (app)
		return teardown_app(b, obs, n, rep);
	if (done != all)
		return teardown_data(b, have, rep);
	return teardown_rest(b, obs, n, rest, rep);
}

/* The indexes, and a report per desired tenant (Failed when its row is invalid). */
static int builder_init(struct builder *b)
{
	const size_t nobserved = b->nobserved, ntenants = b->ntenants;
	struct diff_result *out = b->r;

	b->by_key = malloc((nobserved + 1) * sizeof(*b->by_key));
	b->leftover = malloc((nobserved + 1) * sizeof(*b->leftover));
	b->by_name = malloc((ntenants + 1) * sizeof(*b->by_name));
	b->matched = calloc(nobserved + 1, sizeof(*b->matched));
	b->rendered = calloc(ntenants + 1, sizeof(*b->rendered));
	/* Removed tenants can number at most the observed objects. */
	out->reports = calloc(ntenants + nobserved + 1, sizeof(*out->reports));
	if (!b->by_key || !b->leftover || !b->by_name || !b->matched || !b->rendered || !out->reports)
		return -1;
	for (size_t i = 0; i < nobserved; i++)
		b->by_key[i] = &b->observed[i];
	qsort(b->by_key, nobserved, sizeof(*b->by_key), key_cmp_p);
	for (size_t i = 0; i < ntenants; i++) {
		b->by_name[i] = &b->tenants[i];
		out->reports[i] = (struct diff_report){ .tenant = b->tenants[i].name, .status = DIFF_PENDING };
		if (b->tenants[i].invalid)
			report_failed(&out->reports[i], "%s", b->tenants[i].invalid);
	}
	qsort(b->by_name, ntenants, sizeof(*b->by_name), name_cmp_p);
	out->nreports = ntenants;
	return 0;
}

static void builder_free(struct builder *b)
{
	free(b->by_key);
	free(b->leftover);
	free(b->by_name);
	free(b->matched);
	free(b->rendered);
}

/* The index in b->tenants of the desired tenant `name`, or -1. */
static ptrdiff_t tenant_index(const struct builder *b, const char *name)
{
	struct diff_tenant probe = { .name = name }, *pp = &probe;
	const struct diff_tenant **t = bsearch(&pp, b->by_name, b->ntenants, sizeof(*b->by_name),
					       name_cmp_p);

	return t ? *t - b->tenants : -1;
}

/* Desired `d` that nothing in the cluster matches: created, unless withheld. */
static int plan_missing(struct builder *b, const struct diff_object *d, struct diff_report *rep)
{
	char what[320];

	if (is_withheld(d, b->ready, rep))
		return 0;
	if (add_action(b, DIFF_CREATE, d->tenant, d, rep) < 0)
		return -1;
	if (is_provisioning_job(d)) {
		diff_object_label(d, what, sizeof(what));
		report_waiting(rep, "waiting for %s", what);
	}
	return 0;
}

/* Desired `d` against `o`, the object with its key in the cluster: left
 * alone when not this tenant's, waited for while it terminates, applied (a
 * Job replaced) when the hash differs, repaired when it drifted. */
static int plan_existing(struct builder *b, const struct diff_object *d, const struct diff_object *o,
			 struct diff_report *rep)
{
	char what[320];

	if (rep->status == DIFF_PENDING)
		rep->status = DIFF_PROVISIONING;
	diff_object_label(d, what, sizeof(what));
	if (!is_owned(o) || strcmp(o->tenant, d->tenant)) {
		report_failed(rep, "%s exists and is not this tenant's (ownership labels differ): left alone",
			      what);
		return 0;
	}
	if (o->terminating) {
		report_waiting(rep, "waiting for %s to finish terminating", what);
		return 0;
	}
	if (strcmp(o->hash, d->hash)) {
		if (is_withheld(d, b->ready, rep))
			return 0;
		enum diff_op op = !strcmp(d->kind, "Job") ? DIFF_REPLACE : DIFF_APPLY;
		if (add_action(b, op, d->tenant, op == DIFF_REPLACE ? o : d, rep) < 0)
			return -1;
		if (op == DIFF_APPLY)
			b->r->actions[b->r->nactions - 1].observed = o;
		return 0;
	}
	if (o->drifted && strcmp(d->kind, "Job")) {
		if (add_action(b, DIFF_REPAIR, d->tenant, d, rep) < 0)
			return -1;
		b->r->actions[b->r->nactions - 1].observed = o;
		rep->nactions--; /* no change of the tenant: it may stay Ready */
	}
	if (o->failure)
		report_failed(rep, "%s: %s", what, o->failure);
	else if (is_provisioning_job(d) && o->job != DIFF_JOB_SUCCEEDED)
		report_waiting(rep, "waiting for %s", what);
	else if (is_app_chart(d) && o->job != DIFF_JOB_SUCCEEDED)
		report_waiting(rep, "waiting for helm to install the app (Job %s/helm-install-%s %s)",
			       o->ns, o->name, o->job == DIFF_JOB_NONE ? "not made yet" : "running");
	return 0;
}

/* Desired objects: create, apply, replace or leave. */
static int plan_desired(struct builder *b, const struct diff_object *desired, size_t ndesired)
{
	for (size_t i = 0; i < ndesired; i++) {
		const struct diff_object *d = &desired[i], *key = d, **hit;
		ptrdiff_t t = tenant_index(b, d->tenant);
		struct diff_report *rep;

		if (t < 0)
			continue; /* rendered for a tenant the caller did not list: ignore */
		rep = &b->r->reports[t];
		b->rendered[t] = true;
		hit = bsearch(&key, b->by_key, b->nobserved, sizeof(*b->by_key), key_cmp_p);
		if (!hit) {
			if (plan_missing(b, d, rep) < 0)
				return -1;
			continue;
		}
		b->matched[*hit - b->observed] = true;
		if (plan_existing(b, d, *hit, rep) < 0)
			return -1;
	}
	return 0;
}

/* Owned objects nothing rendered: pruned, or kept for their tenant's teardown. */
static int plan_unrendered(struct builder *b)
{
	for (size_t i = 0; i < b->nobserved; i++) {
		const struct diff_object *o = &b->observed[i];
		ptrdiff_t t;

		if (b->matched[i] || !is_owned(o))
			continue;
		t = tenant_index(b, o->tenant);
		if (t < 0) {
			b->leftover[b->nleftover++] = o;
			continue;
		}
		if (b->tenants[t].invalid || o->terminating)
			continue;
		if (add_action(b, DIFF_DELETE, o->tenant, o, &b->r->reports[t]) < 0)
			return -1;
	}
	return 0;
}

/* Each desired tenant's status once its actions are known. */
static void settle_desired(struct builder *b)
{
	for (size_t i = 0; i < b->ntenants; i++) {
		struct diff_report *rep = &b->r->reports[i];
		if (rep->status == DIFF_FAILED)
			continue;
		if (rep->waiting) {
			/* The root cause an operator can act on: it replaces what
			 * else the tenant waits for. */
			char names[128];
			needs_text(rep->waiting, names, sizeof(names));
			snprintf(rep->reason, sizeof(rep->reason), "waiting for %s", names);
			rep->status = DIFF_PROVISIONING;
			continue;
		}
		if (rep->status == DIFF_PROVISIONING && !rep->nactions && !rep->reason[0] && b->rendered[i])
			rep->status = DIFF_READY;
	}
}

/* A report and a teardown for each removed tenant that still owns something. */
static int plan_teardowns(struct builder *b)
{
	const struct diff_object **left = b->leftover;
	size_t n = b->nleftover;

	qsort(left, n, sizeof(*left), tenant_cmp_p);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && !strcmp(left[j]->tenant, left[i]->tenant); j++)
			;
		struct diff_report *rep = &b->r->reports[b->r->nreports++];
		rep->tenant = left[i]->tenant;
		if (plan_teardown(b, left + i, j - i, rep) < 0)
			return -1;
	}
	return 0;
}

int diff_compute(const struct diff_tenant *tenants, size_t ntenants,
		 const struct diff_object *desired, size_t ndesired,
		 const struct diff_object *observed, size_t nobserved, unsigned ready,
		 struct diff_result *out)
{
	struct builder b = {
		.r = out, .tenants = tenants, .ntenants = ntenants, .observed = observed,
		.nobserved = nobserved, .ready = ready,
	};
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (builder_init(&b) == 0 && plan_desired(&b, desired, ndesired) == 0 &&
	    plan_unrendered(&b) == 0) {
		settle_desired(&b);
		rc = plan_teardowns(&b);
	}
	builder_free(&b);
	if (rc < 0)
		diff_result_free(out);
	return rc;
}

void diff_result_free(struct diff_result *r)
{
	if (!r)
		return;
	free(r->actions);
	free(r->reports);
	memset(r, 0, sizeof(*r));
}
