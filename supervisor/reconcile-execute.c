/* The diff carried out: one request context per action, sent in batches of
 * bounded size (kube.h retries each), in three rounds: the ownership moves,
 * the Namespaces, the rest. Then the creations that found an object already
 * there are settled one by one. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "reconcile-pass.h"

/* Requests queued before they are run: bounds the bodies held in memory. */
#define CHUNK 256

/* What happened to one request of the execution. */
enum outcome { OUT_PENDING, OUT_OK, OUT_FAILED, OUT_EXISTS,
	       OUT_HELD /* not applied: the object changed since it was listed */ };

struct exec_ctx {
	struct pass *p;
	size_t report;
	enum kube_verb verb;
	const char *kind, *ns, *name, *tenant;
	bool deprovision;       /* a teardown Job: rendered by render_deprovision */
	enum outcome outcome;
	const struct observed *over; /* APPLY over an object with our POST's entry: move it first */
	bool repair;            /* an apply that puts drifted fields back */
};

/* The rendering the requests of one report take their bodies from. */
struct body_cache {
	json_t *objs;
	size_t report;          /* SIZE_MAX: none yet */
};

static void set_error(struct pass *p, size_t report, const char *msg)
{
	/* Out of memory here loses the message, not the failure: the outcome
	 * and the error count are kept by the callers. */
	if (!p->error[report])
		p->error[report] = strdup(msg);
}

static void fail_ctx(struct exec_ctx *c, const char *msg)
{
	c->outcome = OUT_FAILED;
	c->p->sum->action_errors++;
	set_error(c->p, c->report, msg);
}

static void fail_result(struct exec_ctx *c, const struct kube_request *req, const struct kube_result *res)
{
	struct err e = { 0 };

	kube_result_err(req, res, &e);
	fail_ctx(c, e.msg);
}

/* The answer to an ownership move. 409 or 422 (its resourceVersion test
 * failed): the object changed since it was listed, so it is not applied over
 * now; the next pass lists it again and moves what it then finds. */
static void on_moved(const struct kube_request *req, const struct kube_result *res, void *ud)
{
	struct exec_ctx *c = ud;

	if (res->http >= 200 && res->http <= 299) {
		c->p->sum->moved++;
	} else if (res->http == 409 || res->http == 422) {
		c->outcome = OUT_HELD;
		c->p->again = true;
		log_emit(LOG_INFO, RECONCILE_LOG, c->tenant, "%s %s%s%s changed since it was listed: applied on the next pass",
			 c->kind, c->ns ? c->ns : "", c->ns ? "/" : "", c->name);
	} else {
		fail_result(c, req, res);
	}
}

static void on_written(const struct kube_request *req, const struct kube_result *res, void *ud)
{
	struct exec_ctx *c = ud;
	bool ok = res->http >= 200 && res->http <= 299;

	/* A delete that finds nothing has nothing left to do (a retried delete
	 * whose first answer was lost lands here too). */
	if (req->verb == KUBE_DELETE && res->http == 404)
		ok = true;
	if (ok) {
		c->outcome = OUT_OK;
		if (req->verb == KUBE_CREATE)
			c->p->sum->created++;
		else if (req->verb == KUBE_APPLY)
			c->p->sum->applied++;
		else
			c->p->sum->deleted++;
		return;
	}
	if (req->verb == KUBE_CREATE && res->http == 409) {
		/* Exists: ours whose creation answer was lost, or someone else's.
		 * Looked at after the batch. */
		c->outcome = OUT_EXISTS;
		return;
	}
	fail_result(c, req, res);
}

/* The rendered object (kind, ns, name) of the ctx's tenant, serialised. */
static char *body_of(struct pass *p, const struct exec_ctx *c, struct body_cache *cache)
{
	json_t *obj;
	size_t i;

	if (cache->report != c->report || !cache->objs) {
		struct err e = { 0 };
		json_decref(cache->objs);
		cache->objs = json_array();
		cache->report = c->report;
		if (!cache->objs)
			return NULL;
		if (c->deprovision ? render_deprovision(p->cfg->render, c->tenant, cache->objs, &e) < 0
				   : pass_tenant_render(p, c->report, cache->objs, &e) < 0)
			return NULL;
	}
	json_array_foreach(cache->objs, i, obj) {
		json_t *md = json_object_get(obj, "metadata");
		const char *ns = json_string_value(json_object_get(md, "namespace"));
		if (!strcmp(json_string_value(json_object_get(obj, "kind")), c->kind) &&
		    !strcmp(json_string_value(json_object_get(md, "name")), c->name) &&
		    ((!ns && !c->ns) || (ns && c->ns && !strcmp(ns, c->ns))))
			return render_dump(obj);
	}
	return NULL;
}

/* Queues the ctx's create, apply or delete. */
static int submit_write(struct pass *p, struct exec_ctx *c, struct body_cache *cache, struct err *e)
{
	struct kube_request req = {
		.verb = c->verb, .res = kube_resource_find(c->kind), .ns = c->ns, .name = c->name,
		.done = on_written, .ud = c,
	};
	char *body = NULL;
	int rc;

	if (c->verb == KUBE_CREATE || c->verb == KUBE_APPLY) {
		body = body_of(p, c, cache);
		if (!body) {
			c->outcome = OUT_FAILED;
			set_error(p, c->report, "render: out of memory");
			return 0;
		}
		req.body = body;
	}
	rc = kube_submit(p->kube, &req, e);
	free(body);
	return rc;
}

static int submit_move(struct pass *p, struct exec_ctx *c, const char *patch, struct err *e)
{
	struct kube_request req = {
		.verb = KUBE_PATCH, .res = kube_resource_find(c->kind), .ns = c->ns, .name = c->name,
		.body = patch, .done = on_moved, .ud = c,
	};

	return kube_submit(p->kube, &req, e);
}

/* The object as the server has it now, or NULL with the ctx failed. */
static json_t *read_object(struct pass *p, struct exec_ctx *c)
{
	struct kube_request get = { .verb = KUBE_GET, .res = kube_resource_find(c->kind), .ns = c->ns,
				    .name = c->name };
	struct err e = { 0 };
	json_t *obj = NULL;

	if (kube_call(p->kube, &get, &obj, &e) < 0)
		fail_ctx(c, e.msg);
	return obj;
}

/* Queues the move `obj` (as read) calls for, if any. */
static int move_read(struct pass *p, struct exec_ctx *c, const json_t *obj, struct err *e)
{
	char *patch = NULL;
	int rc = ownership_patch(json_object_get(obj, "metadata"), KUBE_FIELD_MANAGER, &patch);

	if (rc < 0)
		return err_errno(e, ENOMEM, "reconcile");
	rc = rc ? submit_move(p, c, patch, e) : 0;
	free(patch);
	return rc;
}

/* Queues the ownership move before an apply over an object Outpost created
 * (ownership.h), built from what the list kept. With both our entries there
 * the Apply entry needs the union of their fields, so the object is read
 * first: rare (a lost creation answer, or an older Outpost's apply). */
static int move_ownership(struct pass *p, struct exec_ctx *c, struct err *e)
{
	char *patch;
	json_t *obj;
	int rc;

	if (c->over->at.apply >= 0) {
		if (!(obj = read_object(p, c)))
			return 0;
		rc = move_read(p, c, obj, e);
		json_decref(obj);
		return rc;
	}
	if (!(patch = ownership_rename_patch(c->over->rv, (size_t)c->over->at.update)))
		return err_errno(e, ENOMEM, "reconcile");
	rc = submit_move(p, c, patch, e);
	free(patch);
	return rc;
}

/* The index of tenant `tenant`'s report: a desired tenant's (the same index
 * as in p->tenants.v), else a removed one's. */
static size_t report_of(const struct pass *p, const char *tenant)
{
	/* Desired objects point at the tenant list's own strings. */
	for (size_t i = 0; i < p->tenants.n; i++)
		if (p->tenants.v[i].name == tenant || !strcmp(p->tenants.v[i].name, tenant))
			return i;
	for (size_t i = p->tenants.n; i < p->diff.nreports; i++)
		if (!strcmp(p->diff.reports[i].tenant, tenant))
			return i;
	return SIZE_MAX;
}

/* One context per deprovisioning Job of action `a` (the services it names). */
static int deprovision_contexts(struct pass *p, const struct diff_action *a, size_t report,
				struct exec_ctx *v, size_t *k)
{
	json_t *jobs = json_array(), *obj;
	struct err e = { 0 };
	size_t j;

	if (!jobs || render_deprovision(p->cfg->render, a->tenant, jobs, &e) < 0) {
		json_decref(jobs);
		return -1;
	}
	json_array_foreach(jobs, j, obj) {
		json_t *md = json_object_get(obj, "metadata");
		const char *name = json_string_value(json_object_get(md, "name"));
		if (!(render_needs("Job", "deprovision", name) & a->services))
			continue;
		v[(*k)++] = (struct exec_ctx){ p, report, KUBE_CREATE, "Job",
			pass_strdup(p, json_string_value(json_object_get(md, "namespace"))),
			pass_strdup(p, name), a->tenant, true,
			OUT_PENDING, NULL, false };
	}
	json_decref(jobs);
	return 0;
}

/* The listed object an apply goes over, when its ownership is to be moved first. */
static const struct observed *moved_over(const struct pass *p, const struct diff_action *a)
{
	const struct observed *listed;

	if (!a->observed)
		return NULL;
	listed = &p->observed[a->observed - p->diff_observed];
	return listed->rv ? listed : NULL;
}

static enum kube_verb verb_of(enum diff_op op)
{
	return op == DIFF_CREATE ? KUBE_CREATE :
	       op == DIFF_APPLY || op == DIFF_REPAIR ? KUBE_APPLY : KUBE_DELETE;
}

/* The context of each action (DEPROVISION expands to one per service). */
static int plan_contexts(struct pass *p, struct exec_ctx **out, size_t *n)
{
	size_t cap = p->diff.nactions * RENDER_NSERVICES + 1, k = 0;
	struct exec_ctx *v = calloc(cap, sizeof(*v));
	const char *last_tenant = NULL;
	size_t report = 0;

	if (!v)
		return -1;
	for (size_t i = 0; i < p->diff.nactions; i++) {
		const struct diff_action *a = &p->diff.actions[i];

		if (a->tenant != last_tenant) {
			report = report_of(p, a->tenant);
			last_tenant = a->tenant;
		}
		if (a->op == DIFF_DEPROVISION) {
			if (deprovision_contexts(p, a, report, v, &k) < 0) {
				free(v);
				return -1;
			}
			continue;
		}
		v[k++] = (struct exec_ctx){
			p, report, verb_of(a->op), a->obj->kind, a->obj->ns, a->obj->name, a->tenant,
			false, OUT_PENDING, moved_over(p, a), a->op == DIFF_REPAIR,
		};
		if (a->op == DIFF_REPLACE)
			p->again = true;
	}
	*out = v;
	*n = k;
	return 0;
}

static bool namespace_write(const struct exec_ctx *c)
{
	return !strcmp(c->kind, "Namespace") && c->verb != KUBE_DELETE;
}

/* An object that already existed when we created it: if it carries both our
 * labels for this tenant it is ours (the creation's answer was lost), so it is
 * applied, after the ownership move its POST calls for; anything else is left
 * alone and the tenant is Failed. */
static void settle_existing(struct pass *p, struct exec_ctx *c, struct body_cache *cache)
{
	const char *managed, *tenant;
	char what[320], msg[512];
	struct err e = { 0 };
	json_t *obj = read_object(p, c);
	int rc;

	if (!obj)
		return;
	managed = object_label(obj, RENDER_LABEL_MANAGED_BY);
	tenant = object_label(obj, RENDER_LABEL_TENANT);
	if (!managed || !tenant || strcmp(managed, RENDER_MANAGED_BY) || strcmp(tenant, c->tenant)) {
		json_decref(obj);
		snprintf(what, sizeof(what), "%s %s%s%s", c->kind, c->ns ? c->ns : "", c->ns ? "/" : "", c->name);
		snprintf(msg, sizeof(msg), "%s exists and is not this tenant's (ownership labels differ): left alone",
			 what);
		fail_ctx(c, msg);
		return;
	}
	c->outcome = OUT_PENDING;
	rc = move_read(p, c, obj, &e) < 0 || kube_run(p->kube, &e) < 0 ? -1 : 0;
	json_decref(obj);
	if (rc < 0)
		fail_ctx(c, e.msg);
	if (c->outcome != OUT_PENDING)
		return;
	c->verb = KUBE_APPLY;
	if (submit_write(p, c, cache, &e) < 0 || kube_run(p->kube, &e) < 0)
		fail_ctx(c, e.msg);
}

/* Keeps "<tenant>\0Kind ns/name" of a repaired object for its event. */
static int note_repair(struct pass *p, const struct exec_ctx *c)
{
	char **v = realloc(p->repaired, (p->nrepaired + 1) * sizeof(*v));
	char *s = NULL;
	int n;

	if (!v)
		return -1;
	p->repaired = v;
	n = asprintf(&s, "%s%c%s %s%s%s", c->tenant, '\0', c->kind, c->ns ? c->ns : "",
		     c->ns ? "/" : "", c->name);
	if (n < 0)
		return -1;
	p->repaired[p->nrepaired++] = s;
	p->sum->repaired++;
	return 0;
}

enum round { ROUND_MOVES, ROUND_NAMESPACES, ROUND_REST };

/* Whether ctx c is sent in round `round`. */
static bool in_round(const struct pass *p, const struct exec_ctx *c, enum round round)
{
	if (round == ROUND_MOVES)
		return c->over != NULL;
	if (c->outcome != OUT_PENDING || namespace_write(c) != (round == ROUND_NAMESPACES))
		return false;
	/* Its namespace failed: nothing would land. */
	return !(round == ROUND_REST && c->verb != KUBE_DELETE && p->error[c->report]);
}

/* Sends one round in batches of CHUNK, until the pass budget is spent. */
static int run_round(struct pass *p, struct exec_ctx *ctx, size_t n, enum round round,
		     struct body_cache *cache, struct err *e)
{
	size_t queued = 0;

	for (size_t i = 0; i < n; i++) {
		struct exec_ctx *c = &ctx[i];
		if (!in_round(p, c, round))
			continue;
		if ((clock_mono_us() - p->start) / USEC_PER_MSEC > p->cfg->pass_budget_ms) {
			p->sum->incomplete = true;
			break;
		}
		if ((round == ROUND_MOVES ? move_ownership(p, c, e) : submit_write(p, c, cache, e)) < 0)
			return -1;
		if (++queued == CHUNK) {
			if (kube_run(p->kube, e) < 0)
				return -1;
			queued = 0;
			pass_progress(p);
		}
	}
	if (kube_run(p->kube, e) < 0)
		return -1;
	pass_progress(p);
	return 0;
}

int pass_execute(struct pass *p, struct err *e)
{
	struct exec_ctx *ctx = NULL;
	struct body_cache cache = { NULL, SIZE_MAX };
	size_t n = 0;
	int rc = -1;

	if (plan_contexts(p, &ctx, &n) < 0)
		return err_errno(e, ENOMEM, "reconcile");
	/* The ownership moves first (an apply must not land before its move),
	 * then namespaces (everything else of a tenant lives in its namespace),
	 * then the rest. */
	for (enum round round = ROUND_MOVES; round <= ROUND_REST; round++)
		if (run_round(p, ctx, n, round, &cache, e) < 0)
			goto out;
	for (size_t i = 0; i < n; i++)
		if (ctx[i].outcome == OUT_EXISTS)
			settle_existing(p, &ctx[i], &cache);
	for (size_t i = 0; i < n; i++)
		if (ctx[i].repair && ctx[i].outcome == OUT_OK && note_repair(p, &ctx[i]) < 0) {
			err_errno(e, ENOMEM, "reconcile");
			goto out;
		}
	rc = 0;
out:
	json_decref(cache.objs);
	free(ctx);
	return rc;
}
