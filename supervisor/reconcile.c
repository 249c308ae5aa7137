#include "reconcile.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diff.h"
#include "drift.h"
#include "kube.h"
#include "kubeconfig.h"
#include "log.h"
#include "ownership.h"
#include "reconcile-catalog.h"
#include "state.h"
#include "util.h"

#define COMPONENT "reconcile"
/* Requests queued before they are run: bounds the bodies held in memory. */
#define CHUNK 256
/* How soon to look again while something is in progress (Jobs, teardown). */
#define PROGRESS_POLL_MS 3000
#define RETRY_MIN_MS 2000
#define RETRY_MAX_MS 60000

struct reconcile {
	struct reconcile_config cfg;
	struct state *st;
	struct kubeconfig *kc;
	struct kube *kube;
	int64_t data_version;
	bool passed;            /* at least one pass ran */
	bool full_done;         /* a full pass succeeded: status rows can be trusted */
	uint64_t next_full_ms;  /* when the next full pass is due (with full_done) */
	uint64_t retry_at_ms;   /* 0: none */
	unsigned retry_ms;      /* current retry delay */
	struct catalog catalog;
	unsigned ready;         /* need bits (render.h) the platform meets */
	bool woken;             /* a service became ready since the last pass */
};

uint64_t reconcile_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int reconcile_new(const struct reconcile_config *cfg, struct reconcile **out, struct err *e)
{
	struct reconcile *r = calloc(1, sizeof(*r));
	struct kube_options ko = { 0 };

	*out = NULL;
	if (!r)
		return err_errno(e, ENOMEM, "reconcile");
	r->cfg = *cfg;
	if (!r->cfg.render)
		r->cfg.render = &render_config_default;
	if (!r->cfg.resync_s)
		r->cfg.resync_s = 600;
	/* A page is parsed whole: 250 keeps its share of the peak small (a
	 * pass over 1,000 tenants: 22 MiB from empty; 37 MiB in sync, where a
	 * full pass also holds the listed objects' text for the drift check). */
	if (!r->cfg.list_limit)
		r->cfg.list_limit = 250;
	if (!r->cfg.pass_budget_ms)
		r->cfg.pass_budget_ms = 120000;
	r->ready = cfg->readiness_by_caller ? 0 : RENDER_NEED_ALL;
	if (cfg->first_full_in_ms) {
		r->full_done = true;
		r->next_full_ms = reconcile_now_ms() + cfg->first_full_in_ms;
	}
	if (state_open(cfg->state_path, STATE_OPEN_EXISTING, &r->st, e) < 0)
		goto fail;
	if (cfg->first_due_in_ms) {
		if (state_data_version(r->st, &r->data_version, e) < 0)
			goto fail;
		r->passed = true;
		r->retry_at_ms = reconcile_now_ms() + cfg->first_due_in_ms;
	}
	r->retry_ms = cfg->retry_ms > RETRY_MAX_MS ? RETRY_MAX_MS : cfg->retry_ms;
	if (!cfg->dry_run_out) {
		if (kubeconfig_load(cfg->kubeconfig_path ? cfg->kubeconfig_path : KUBECONFIG_DEFAULT,
				    &r->kc, e) < 0)
			goto fail;
		ko.max_inflight = cfg->max_inflight;
		if (kube_new(r->kc, &ko, &r->kube, e) < 0)
			goto fail;
	}
	*out = r;
	return 0;
fail:
	reconcile_free(r);
	return -1;
}

void reconcile_free(struct reconcile *r)
{
	if (!r)
		return;
	kube_free(r->kube);
	kubeconfig_free(r->kc);
	state_close(r->st);
	catalog_free(&r->catalog);
	free(r);
}

bool reconcile_set_ready(struct reconcile *r, const char *component, bool ready)
{
	for (int b = 0; b <= RENDER_NSERVICES; b++) {
		unsigned bit = 1u << b, was = r->ready & bit;
		if (strcmp(component, render_need_component[b]))
			continue;
		r->ready = ready ? r->ready | bit : r->ready & ~bit;
		if (ready && !was)
			r->woken = true;
		return ready && !was;
	}
	return false;
}

/* The rule without a supervisor (reconcile.h): the component rows it wrote. */
static int ready_from_rows(struct reconcile *r, struct err *e)
{
	struct component_status *rows;
	size_t n, known = 0;
	unsigned ready = 0;

	if (state_component_list(r->st, &rows, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		for (int b = 0; b <= RENDER_NSERVICES; b++)
			if (!strcmp(rows[i].name, render_need_component[b])) {
				known++;
				if (!strcmp(rows[i].phase, "Ready"))
					ready |= 1u << b;
			}
	free(rows);
	r->ready = known ? ready : RENDER_NEED_ALL;
	return 0;
}

bool reconcile_wants_pass(struct reconcile *r, uint64_t now_ms)
{
	struct err e = { 0 };
	int64_t v;

	if (!r->passed || r->woken)
		return true;
	if (state_data_version(r->st, &v, &e) == 0 && v != r->data_version)
		return true;
	return now_ms >= reconcile_next_deadline(r);
}

unsigned reconcile_retry_ms(const struct reconcile *r)
{
	return r->retry_ms;
}

uint64_t reconcile_next_full(const struct reconcile *r)
{
	return r->full_done ? r->next_full_ms : 0;
}

uint64_t reconcile_next_deadline(const struct reconcile *r)
{
	uint64_t resync = r->full_done ? r->next_full_ms : 0;

	if (!r->passed)
		return 0;
	return r->retry_at_ms && r->retry_at_ms < resync ? r->retry_at_ms : resync;
}

/* ---- one pass ---- */

static const struct tenant_status *status_find(const struct tenant_status *v, size_t n,
					       const char *name);

/* What the lists returned, with the strings the diff borrows. */
struct observed {
	struct diff_object o;
	char *ns, *name, *tenant, *failure;
	char *passwords[RENDER_NSERVICES]; /* the credentials Secret's, when it is one */
	/* Full passes: the owned object as listed (compact JSON, without status
	 * and server-owned metadata) until its rendering is compared with it.
	 * Text, not a json_t: a parsed tree costs several times the memory. */
	char *body;
	/* Our POST's managedFields entry is there (ownership.h): where our
	 * entries are, and the resourceVersion the move tests; else rv is NULL. */
	struct ownership at;
	char *rv;
};

/* What happened to one request of the execution. */
enum outcome { OUT_PENDING, OUT_OK, OUT_FAILED, OUT_EXISTS,
	       OUT_HELD /* not applied: the object changed since it was listed */ };

struct pass {
	struct reconcile *r;
	struct reconcile_summary *sum;
	struct tenant_list tenants;
	struct plan *plans;
	size_t nplans;
	struct diff_tenant *dt;
	struct render_credentials *cred;
	char **invalid;         /* per tenant: why it could not be rendered, or NULL */
	struct diff_object *desired;
	size_t ndesired, capdesired;
	char **owned_strings;   /* ns/name copies of the desired objects */
	size_t nstrings, capstrings;
	struct observed *observed;
	size_t nobserved, capobserved;
	const struct diff_object *obs; /* what the diff was given: observed[i].o, in order */
	struct observed **creds;  /* the credentials Secrets, by tenant */
	size_t ncreds;
	struct observed **by_key; /* full passes: the observed with a body, by diff_object_cmp */
	size_t nby_key;
	char **repaired;        /* "<tenant>\0Kind ns/name": drift repaired this pass */
	size_t nrepaired;
	struct tenant_status *rows; /* status rows at the start of the pass, by name */
	size_t nrows;
	bool targeted;            /* only the tenants in `targets` */
	const char **targets;     /* sorted */
	size_t ntargets;
	const struct kube_resource *listing;
	struct diff_result diff;
	char **error;           /* per report: the first execution error, or NULL */
	bool again;             /* something will need another pass soon */
	uint64_t start_ms;
};

static const char *intern_role(const char *role)
{
	static const char *const roles[] = { "namespace", "app", "data", "deprovision" };

	for (size_t i = 0; role && i < ARRAY_SIZE(roles); i++)
		if (!strcmp(role, roles[i]))
			return roles[i];
	return NULL;
}

static char *keep(struct pass *p, const char *s)
{
	char *copy;

	if (!s)
		return NULL;
	if (p->nstrings == p->capstrings) {
		size_t cap = p->capstrings ? 2 * p->capstrings : 1024;
		char **v = realloc(p->owned_strings, cap * sizeof(*v));
		if (!v)
			return NULL;
		p->owned_strings = v;
		p->capstrings = cap;
	}
	copy = strdup(s);
	if (copy)
		p->owned_strings[p->nstrings++] = copy;
	return copy;
}

static const char *label(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(json_object_get(obj, "metadata"),
								 "labels"), key));
}

/* A Failed condition's message (Job, HelmChart), or NULL. */
static const char *failed_condition(json_t *obj)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(obj, "status"), "conditions"), i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));
		const char *status = json_string_value(json_object_get(c, "status"));
		if (type && status && !strcmp(type, "Failed") && !strcmp(status, "True")) {
			const char *m = json_string_value(json_object_get(c, "message"));
			return m && *m ? m : "failed";
		}
	}
	return NULL;
}

static char *b64_text(const char *b64)
{
	size_t n = strlen(b64);
	unsigned char *buf = malloc(n / 4 * 3 + 4);
	int len;

	if (!buf)
		return NULL;
	len = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)n);
	if (len < 0) {
		free(buf);
		return NULL;
	}
	while (len > 0 && n && b64[n - 1] == '=') {
		len--;
		n--;
	}
	buf[len] = '\0';
	return (char *)buf;
}

static void observed_clear(struct observed *o)
{
	free(o->ns);
	free(o->name);
	free(o->tenant);
	free(o->failure);
	free(o->body);
	free(o->rv);
	for (int i = 0; i < RENDER_NSERVICES; i++) {
		if (o->passwords[i]) {
			OPENSSL_cleanse(o->passwords[i], strlen(o->passwords[i]));
			free(o->passwords[i]);
		}
	}
}

/* kube_list's callback: one listed object, or NULL to start over. */
static int on_item(json_t *item, void *ud)
{
	struct pass *p = ud;
	json_t *md = json_object_get(item, "metadata");
	const char *managed = label(item, RENDER_LABEL_MANAGED_BY), *hash, *phase, *rv;
	struct observed *o;

	if (!item) {
		while (p->nobserved && p->observed[p->nobserved - 1].o.kind == p->listing->kind)
			observed_clear(&p->observed[--p->nobserved]);
		return 0;
	}
	if (p->nobserved == p->capobserved) {
		size_t cap = p->capobserved ? 2 * p->capobserved : 1024;
		struct observed *v = realloc(p->observed, cap * sizeof(*v));
		if (!v)
			return -1;
		p->observed = v;
		p->capobserved = cap;
	}
	o = &p->observed[p->nobserved];
	memset(o, 0, sizeof(*o));
	o->o.kind = p->listing->kind;
	o->ns = json_string_value(json_object_get(md, "namespace")) ?
		strdup(json_string_value(json_object_get(md, "namespace"))) : NULL;
	o->name = strdup(json_string_value(json_object_get(md, "name")) ? json_string_value(json_object_get(md, "name")) : "");
	o->tenant = label(item, RENDER_LABEL_TENANT) ? strdup(label(item, RENDER_LABEL_TENANT)) : NULL;
	o->o.ns = o->ns;
	o->o.name = o->name;
	o->o.tenant = o->tenant;
	o->o.role = intern_role(label(item, RENDER_LABEL_ROLE));
	o->o.managed = managed && !strcmp(managed, RENDER_MANAGED_BY);
	hash = json_string_value(json_object_get(json_object_get(md, "annotations"), RENDER_ANNOTATION_HASH));
	snprintf(o->o.hash, sizeof(o->o.hash), "%s", hash ? hash : "");
	phase = json_string_value(json_object_get(json_object_get(item, "status"), "phase"));
	o->o.terminating = json_object_get(md, "deletionTimestamp") != NULL ||
			   (phase && !strcmp(phase, "Terminating"));
	if (!strcmp(o->o.kind, "Job")) {
		json_int_t ok = json_integer_value(json_object_get(json_object_get(item, "status"), "succeeded"));
		const char *f = failed_condition(item);
		o->o.job = ok > 0 ? DIFF_JOB_SUCCEEDED : f ? DIFF_JOB_FAILED : DIFF_JOB_RUNNING;
		if (f && ok <= 0)
			o->failure = strdup(f);
	} else if (!strcmp(o->o.kind, "HelmChart")) {
		const char *f = failed_condition(item);
		if (f)
			o->failure = strdup(f);
	} else if (!strcmp(o->o.kind, "Secret") && o->tenant && o->o.managed) {
		char want[128], ns[128];
		render_secret_name(o->tenant, want, sizeof(want));
		render_namespace_name(o->tenant, ns, sizeof(ns));
		bool creds = !strcmp(o->name, want) && o->ns && !strcmp(o->ns, ns);
		for (int i = 0; creds && i < RENDER_NSERVICES; i++) {
			const char *pw = json_string_value(json_object_get(json_object_get(item, "data"),
									   render_password_key[i]));
			if (pw)
				o->passwords[i] = b64_text(pw);
		}
	}
	o->o.failure = o->failure;
	o->o.needs = render_needs(o->o.kind, o->o.role, o->name);
	o->at = o->o.managed ? ownership_find(md, KUBE_FIELD_MANAGER) : (struct ownership){ -1, -1 };
	rv = o->at.update >= 0 ? json_string_value(json_object_get(md, "resourceVersion")) : NULL;
	if (!o->name || (json_object_get(md, "namespace") && !o->ns) || (rv && !(o->rv = strdup(rv)))) {
		observed_clear(o);
		return -1;
	}
	/* Jobs are immutable and replaced on a hash change: no drift repair. */
	if (!p->targeted && o->o.managed && o->tenant && strcmp(o->o.kind, "Job")) {
		/* What a rendering never sets, dropped to keep 10,000 bodies small. */
		static const char *const server_owned[] = {
			"managedFields", "uid", "resourceVersion", "creationTimestamp", "generation",
			"selfLink",
		};
		for (size_t i = 0; i < ARRAY_SIZE(server_owned); i++)
			json_object_del(md, server_owned[i]);
		json_object_del(item, "status");
		json_object_del(item, "apiVersion");
		json_object_del(item, "kind");
		o->body = json_dumps(item, JSON_COMPACT);
		if (!o->body) {
			observed_clear(o);
			return -1;
		}
	}
	p->nobserved++;
	return 0;
}

static int list_all(struct pass *p, struct err *e)
{
	size_t len = 128;
	char *selector, *at;
	int rc = 0;

	for (size_t i = 0; i < p->ntargets; i++)
		len += strlen(p->targets[i]) + 1;
	if (!(selector = malloc(len)))
		return err_errno(e, ENOMEM, "reconcile");
	at = selector + sprintf(selector, "%s=%s", RENDER_LABEL_MANAGED_BY, RENDER_MANAGED_BY);
	if (p->targeted) {
		at += sprintf(at, ",%s in (", RENDER_LABEL_TENANT);
		for (size_t i = 0; i < p->ntargets; i++)
			at += sprintf(at, "%s%s", i ? "," : "", p->targets[i]);
		strcpy(at, ")");
	}
	for (size_t i = 0; i < kube_nresources && rc == 0; i++) {
		p->listing = &kube_resources[i];
		if (kube_list(p->r->kube, p->listing, selector, p->r->cfg.list_limit, on_item, p, e) < 0)
			rc = err_prefix(e, "reconcile: listing what exists");
		else if (p->r->cfg.progress)
			p->r->cfg.progress(p->r->cfg.progress_ud);
	}
	free(selector);
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool is_target(const struct pass *p, const char *name)
{
	return !p->targeted || bsearch(&name, p->targets, p->ntargets, sizeof(*p->targets), name_cmp);
}

/* state_tenant_list orders tenants by name (SQLite's binary collation: strcmp's order). */
static int tenant_name_cmp(const void *key, const void *t)
{
	return strcmp(key, ((const struct tenant *)t)->name);
}

/* A targeted pass looks only at the tenants whose desired state changed since
 * they were last reconciled (no status row, another generation observed) or
 * that are not Ready, and at removed tenants whose status row is still there:
 * the status rows say what the last passes saw. Returns 0, or 1 when too many
 * tenants qualify and a full pass is cheaper. */
static int select_targets(struct pass *p)
{
	size_t n = 0, cap = p->tenants.n + p->nrows + 1;
	const char **targets = malloc(cap * sizeof(*targets));

	if (!targets)
		return -1;
	for (size_t i = 0; i < p->tenants.n; i++) {
		const struct tenant *t = &p->tenants.v[i];
		const struct tenant_status *st = status_find(p->rows, p->nrows, t->name);
		if (!st || st->observed_generation != t->generation || st->phase != TENANT_PHASE_READY)
			targets[n++] = t->name;
	}
	/* With no tenant left the list is NULL, which bsearch may not be given. */
	for (size_t i = 0; i < p->nrows; i++)
		if (!p->tenants.n || !bsearch(p->rows[i].name, p->tenants.v, p->tenants.n,
					      sizeof(*p->tenants.v), tenant_name_cmp))
			targets[n++] = p->rows[i].name;
	if (n > RECONCILE_TARGETED_MAX) {
		free(targets);
		return 1;
	}
	qsort(targets, n, sizeof(*targets), name_cmp);
	p->targets = targets;
	p->ntargets = n;
	p->targeted = true;
	/* Keep only the targeted tenants: everything after works on p->tenants. */
	size_t kept = 0;
	for (size_t i = 0; i < p->tenants.n; i++) {
		if (is_target(p, p->tenants.v[i].name)) {
			struct tenant tmp = p->tenants.v[i];
			p->tenants.v[i] = p->tenants.v[kept];
			p->tenants.v[kept++] = tmp;
		}
	}
	for (size_t i = kept; i < p->tenants.n; i++)
		tenant_clear(&p->tenants.v[i]);
	p->tenants.n = kept;
	return 0;
}

/* The render input of tenant i; *why is set when the tenant cannot be rendered. */
static int render_input(struct pass *p, size_t i, struct render_tenant *rt, struct render_plan *rp,
			struct render_set *sets, char *why, size_t whylen)
{
	const struct tenant *t = &p->tenants.v[i];
	const struct plan *pl = plan_find(p->plans, p->nplans, t->plan);
	const char *chart = t->app_chart ? t->app_chart : TENANT_DEFAULT_APP;
	const char *datadir = p->r->cfg.datadir ? p->r->cfg.datadir : OUTPOST_DATADIR;
	const char *version = t->app_version ? t->app_version : catalog_version(&p->r->catalog, datadir, chart);

	if (!pl) {
		snprintf(why, whylen, "plan '%s': no such plan", t->plan);
		return -1;
	}
	if (!version) {
		snprintf(why, whylen, "app '%s': not in the app catalog (%s/apps/%s/Chart.yaml)", chart,
			 datadir, chart);
		return -1;
	}
	*rp = (struct render_plan){
		.name = pl->name, .cpu_request_m = (int)pl->cpu_request_m, .cpu_limit_m = (int)pl->cpu_limit_m,
		.memory_request_mib = (int)pl->memory_request_mib,
		.memory_limit_mib = (int)pl->memory_limit_mib, .storage_gib = (int)pl->storage_gib,
		.max_pods = (int)pl->pods,
	};
	for (size_t k = 0; k < t->nvalues; k++)
		sets[k] = (struct render_set){ t->values[k].key, t->values[k].value };
	*rt = (struct render_tenant){
		.name = t->name, .app = chart, .app_version = version, .host = t->host,
		.suspended = t->suspended, .generation = t->generation, .set = sets,
		.nset = t->nvalues, .plan = rp,
	};
	return 0;
}

/* Renders tenant i into `out`. */
static int render_one(struct pass *p, size_t i, json_t *out, struct err *e)
{
	struct render_set sets[TENANT_VALUES_MAX];
	struct render_tenant rt;
	struct render_plan rp;
	char why[512];

	if (p->tenants.v[i].nvalues > TENANT_VALUES_MAX)
		return err_set(e, EXIT_RUNTIME, "values: more than %d", TENANT_VALUES_MAX);
	if (render_input(p, i, &rt, &rp, sets, why, sizeof(why)) < 0)
		return err_set(e, EXIT_RUNTIME, "%s", why);
	return render_tenant(p->r->cfg.render, &rt, &p->cred[i], out, e);
}

static int cred_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct observed *const *)a)->tenant,
		      (*(const struct observed *const *)b)->tenant);
}

/* The observed objects `pick` selects, sorted by `cmp`, into *out. */
static int index_observed(struct pass *p, bool (*pick)(const struct observed *),
			  int (*cmp)(const void *, const void *), struct observed ***out, size_t *n)
{
	*n = 0;
	*out = malloc((p->nobserved + 1) * sizeof(**out));
	if (!*out)
		return -1;
	for (size_t i = 0; i < p->nobserved; i++)
		if (pick(&p->observed[i]))
			(*out)[(*n)++] = &p->observed[i];
	qsort(*out, *n, sizeof(**out), cmp);
	return 0;
}

static bool has_password(const struct observed *o)
{
	for (int k = 0; k < RENDER_NSERVICES; k++)
		if (o->passwords[k])
			return true;
	return false;
}

/* Indexes the credentials Secrets the lists returned, by tenant. */
static int index_credentials(struct pass *p)
{
	return index_observed(p, has_password, cred_cmp, &p->creds, &p->ncreds);
}

/* The tenant's credentials Secret as listed (in its namespace, both labels), or NULL. */
static const struct observed *find_credentials(const struct pass *p, const char *tenant)
{
	struct observed probe = { .tenant = (char *)tenant }, *pp = &probe, **hit;

	hit = bsearch(&pp, p->creds, p->ncreds, sizeof(*p->creds), cred_cmp);
	return hit ? *hit : NULL;
}

/* Reuses what the cluster holds; only a password that is not there yet is
 * made, once, from the CSPRNG: from then on the Secret holds it. */
static int credentials(const struct pass *p, const char *tenant, struct render_credentials *cred,
		       struct err *e)
{
	const struct observed *c = find_credentials(p, tenant);

	for (int k = 0; k < RENDER_NSERVICES; k++) {
		unsigned char raw[32];
		if (c && c->passwords[k] && strlen(c->passwords[k]) < sizeof(cred->password[k])) {
			snprintf(cred->password[k], sizeof(cred->password[k]), "%s", c->passwords[k]);
			continue;
		}
		if (util_random_bytes(raw, sizeof(raw), e) < 0)
			return -1;
		util_hex(raw, sizeof(raw), cred->password[k]);
		OPENSSL_cleanse(raw, sizeof(raw));
	}
	return 0;
}

static int by_key_cmp(const void *a, const void *b)
{
	return diff_object_cmp(&(*(const struct observed *const *)a)->o,
			       &(*(const struct observed *const *)b)->o);
}

static bool has_body(const struct observed *o)
{
	return o->body != NULL;
}

/* Full passes: the observed objects whose fields are compared with their
 * renderings (those with a body), by key. */
static int index_bodies(struct pass *p)
{
	return index_observed(p, has_body, by_key_cmp, &p->by_key, &p->nby_key);
}

/* Marks the observed object of rendering `obj` (desired `d`) drifted when it
 * no longer carries every field of the rendering. Its body is done with
 * then. An observed object that cannot be parsed back counts as drifted: the
 * apply puts it right. */
static void check_drift(struct pass *p, const struct diff_object *d, const json_t *obj)
{
	struct observed probe = { .o = *d }, *pp = &probe, **hit;
	json_t *seen;

	if (!p->nby_key)
		return;
	hit = bsearch(&pp, p->by_key, p->nby_key, sizeof(*p->by_key), by_key_cmp);
	if (!hit || !(*hit)->body)
		return;
	seen = json_loads((*hit)->body, 0, NULL);
	(*hit)->o.drifted = !seen || !drift_subset(obj, seen);
	json_decref(seen);
	free((*hit)->body);
	(*hit)->body = NULL;
}

static int add_desired(struct pass *p, size_t tenant, json_t *obj, size_t index)
{
	json_t *md = json_object_get(obj, "metadata");
	const char *hash = json_string_value(json_object_get(json_object_get(md, "annotations"),
							     RENDER_ANNOTATION_HASH));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const struct kube_resource *res = kind ? kube_resource_find(kind) : NULL;
	struct diff_object *d;

	if (!res || !hash)
		return -1;
	if (p->ndesired == p->capdesired) {
		size_t cap = p->capdesired ? 2 * p->capdesired : 1024;
		struct diff_object *v = realloc(p->desired, cap * sizeof(*v));
		if (!v)
			return -1;
		p->desired = v;
		p->capdesired = cap;
	}
	d = &p->desired[p->ndesired];
	memset(d, 0, sizeof(*d));
	d->kind = res->kind;
	d->ns = keep(p, json_string_value(json_object_get(md, "namespace")));
	d->name = keep(p, json_string_value(json_object_get(md, "name")));
	d->tenant = p->tenants.v[tenant].name;
	d->role = intern_role(label(obj, RENDER_LABEL_ROLE));
	d->managed = true;
	d->index = index;
	d->needs = render_needs(d->kind, d->role, d->name);
	snprintf(d->hash, sizeof(d->hash), "%s", hash);
	if (!d->name || (json_object_get(md, "namespace") && !d->ns))
		return -1;
	p->ndesired++;
	check_drift(p, d, obj);
	return 0;
}

/* Renders every valid tenant; credentials come from the cluster or are made now. */
static int render_all(struct pass *p, json_t *dry, struct err *e)
{
	for (size_t i = 0; i < p->tenants.n; i++) {
		const struct tenant *t = &p->tenants.v[i];
		json_t *objs, *obj;
		struct err re = { 0 };
		size_t k;

		p->dt[i] = (struct diff_tenant){ t->name, t->invalid };
		if (t->invalid)
			continue;
		if (dry) {
			/* No cluster to read the real ones from, and never print them. */
			for (int svc = 0; svc < RENDER_NSERVICES; svc++)
				snprintf(p->cred[i].password[svc], sizeof(p->cred[i].password[svc]), "REDACTED");
		} else if (credentials(p, t->name, &p->cred[i], e) < 0) {
			return -1;
		}
		objs = json_array();
		if (!objs)
			return err_errno(e, ENOMEM, "render");
		if (render_one(p, i, objs, &re) < 0) {
			if (!(p->invalid[i] = strdup(re.msg))) {
				json_decref(objs);
				return err_errno(e, ENOMEM, "render");
			}
			p->dt[i].invalid = p->invalid[i];
			json_decref(objs);
			continue;
		}
		json_array_foreach(objs, k, obj) {
			if (dry ? json_array_append(dry, obj) < 0 : add_desired(p, i, obj, k) < 0) {
				json_decref(objs);
				return err_errno(e, ENOMEM, "render");
			}
		}
		json_decref(objs);
	}
	return 0;
}

/* ---- executing the diff ---- */

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
		log_emit(LOG_INFO, COMPONENT, c->tenant, "%s %s%s%s changed since it was listed: applied on the next pass",
			 c->kind, c->ns ? c->ns : "", c->ns ? "/" : "", c->name);
	} else {
		fail_result(c, req, res);
	}
}

static void on_done(const struct kube_request *req, const struct kube_result *res, void *ud)
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

/* The rendered object (kind, ns, name) of tenant `tenant`, serialised. */
static char *body_of(struct pass *p, const struct exec_ctx *c, json_t **cache, size_t *cache_for)
{
	json_t *obj;
	size_t i;

	if (*cache_for != c->report || !*cache) {
		struct err e = { 0 };
		json_decref(*cache);
		*cache = json_array();
		*cache_for = c->report;
		if (!*cache)
			return NULL;
		if (c->deprovision ? render_deprovision(p->r->cfg.render, c->tenant, *cache, &e) < 0
				   : render_one(p, c->report, *cache, &e) < 0)
			return NULL;
	}
	json_array_foreach(*cache, i, obj) {
		json_t *md = json_object_get(obj, "metadata");
		const char *ns = json_string_value(json_object_get(md, "namespace"));
		if (!strcmp(json_string_value(json_object_get(obj, "kind")), c->kind) &&
		    !strcmp(json_string_value(json_object_get(md, "name")), c->name) &&
		    ((!ns && !c->ns) || (ns && c->ns && !strcmp(ns, c->ns))))
			return render_dump(obj);
	}
	return NULL;
}

static int submit(struct pass *p, struct exec_ctx *c, json_t **cache, size_t *cache_for,
		  struct err *e)
{
	struct kube_request req = {
		.verb = c->verb, .res = kube_resource_find(c->kind), .ns = c->ns, .name = c->name,
		.done = on_done, .ud = c,
	};
	char *body = NULL;
	int rc;

	if (c->verb == KUBE_CREATE || c->verb == KUBE_APPLY) {
		body = body_of(p, c, cache, cache_for);
		if (!body) {
			c->outcome = OUT_FAILED;
			set_error(p, c->report, "render: out of memory");
			return 0;
		}
		req.body = body;
	}
	rc = kube_submit(p->r->kube, &req, e);
	free(body);
	return rc;
}

static int submit_move(struct pass *p, struct exec_ctx *c, const char *patch, struct err *e)
{
	struct kube_request req = {
		.verb = KUBE_PATCH, .res = kube_resource_find(c->kind), .ns = c->ns, .name = c->name,
		.body = patch, .done = on_moved, .ud = c,
	};

	return kube_submit(p->r->kube, &req, e);
}

/* The object as the server has it now, or NULL with the ctx failed. */
static json_t *read_object(struct pass *p, struct exec_ctx *c)
{
	struct kube_request get = { .verb = KUBE_GET, .res = kube_resource_find(c->kind), .ns = c->ns,
				    .name = c->name };
	struct err e = { 0 };
	json_t *obj = NULL;

	if (kube_call(p->r->kube, &get, &obj, &e) < 0)
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

static size_t report_of(const struct pass *p, const char *tenant)
{
	for (size_t i = p->tenants.n; i < p->diff.nreports; i++)
		if (!strcmp(p->diff.reports[i].tenant, tenant))
			return i;
	return SIZE_MAX;
}

/* The context of each action (DEPROVISION expands to one per service). */
static int plan_contexts(struct pass *p, struct exec_ctx **out, size_t *n)
{
	size_t cap = p->diff.nactions * RENDER_NSERVICES + 1, k = 0;
	struct exec_ctx *v = calloc(cap, sizeof(*v));
	const char *last_tenant = NULL;
	size_t last_report = 0;

	if (!v)
		return -1;
	for (size_t i = 0; i < p->diff.nactions; i++) {
		const struct diff_action *a = &p->diff.actions[i];
		size_t report;

		if (a->tenant != last_tenant) {
			/* Desired objects point at the tenant list's own strings. */
			report = SIZE_MAX;
			for (size_t t = 0; t < p->tenants.n && report == SIZE_MAX; t++)
				if (p->tenants.v[t].name == a->tenant || !strcmp(p->tenants.v[t].name, a->tenant))
					report = t;
			if (report == SIZE_MAX)
				report = report_of(p, a->tenant);
			last_tenant = a->tenant;
			last_report = report;
		}
		report = last_report;
		if (a->op == DIFF_DEPROVISION) {
			json_t *jobs = json_array(), *obj;
			struct err e = { 0 };
			size_t j;
			if (!jobs || render_deprovision(p->r->cfg.render, a->tenant, jobs, &e) < 0) {
				json_decref(jobs);
				free(v);
				return -1;
			}
			json_array_foreach(jobs, j, obj) {
				json_t *md = json_object_get(obj, "metadata");
				const char *name = json_string_value(json_object_get(md, "name"));
				if (!(render_needs("Job", "deprovision", name) & a->services))
					continue;
				v[k++] = (struct exec_ctx){ p, report, KUBE_CREATE, "Job",
					keep(p, json_string_value(json_object_get(md, "namespace"))),
					keep(p, name), a->tenant, true,
					OUT_PENDING, NULL, false };
			}
			json_decref(jobs);
			continue;
		}
		v[k++] = (struct exec_ctx){
			p, report,
			a->op == DIFF_CREATE ? KUBE_CREATE :
			a->op == DIFF_APPLY || a->op == DIFF_REPAIR ? KUBE_APPLY : KUBE_DELETE,
			a->obj->kind, a->obj->ns, a->obj->name, a->tenant, false, OUT_PENDING,
			a->observed && p->observed[a->observed - p->obs].rv ? &p->observed[a->observed - p->obs]
									    : NULL,
			a->op == DIFF_REPAIR,
		};
		if (a->op == DIFF_REPLACE)
			p->again = true;
	}
	*out = v;
	*n = k;
	return 0;
}

static void progress(struct pass *p)
{
	if (p->r->cfg.progress)
		p->r->cfg.progress(p->r->cfg.progress_ud);
}

static bool namespace_write(const struct exec_ctx *c)
{
	return !strcmp(c->kind, "Namespace") && c->verb != KUBE_DELETE;
}

/* An object that already existed when we created it: if it carries both our
 * labels for this tenant it is ours (the creation's answer was lost), so it is
 * applied, after the ownership move its POST calls for; anything else is left
 * alone and the tenant is Failed. */
static void settle_existing(struct pass *p, struct exec_ctx *c, json_t **cache, size_t *cache_for)
{
	const char *managed, *tenant;
	char what[320], msg[512];
	struct err e = { 0 };
	json_t *obj = read_object(p, c);
	int rc;

	if (!obj)
		return;
	managed = label(obj, RENDER_LABEL_MANAGED_BY);
	tenant = label(obj, RENDER_LABEL_TENANT);
	if (!managed || !tenant || strcmp(managed, RENDER_MANAGED_BY) || strcmp(tenant, c->tenant)) {
		json_decref(obj);
		snprintf(what, sizeof(what), "%s %s%s%s", c->kind, c->ns ? c->ns : "", c->ns ? "/" : "", c->name);
		snprintf(msg, sizeof(msg), "%s exists and is not this tenant's (ownership labels differ): left alone",
			 what);
		fail_ctx(c, msg);
		return;
	}
	c->outcome = OUT_PENDING;
	rc = move_read(p, c, obj, &e) < 0 || kube_run(p->r->kube, &e) < 0 ? -1 : 0;
	json_decref(obj);
	if (rc < 0)
		fail_ctx(c, e.msg);
	if (c->outcome != OUT_PENDING)
		return;
	c->verb = KUBE_APPLY;
	if (submit(p, c, cache, cache_for, &e) < 0 || kube_run(p->r->kube, &e) < 0)
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

static int execute(struct pass *p, struct err *e)
{
	struct exec_ctx *ctx = NULL;
	json_t *cache = NULL;
	size_t n = 0, cache_for = SIZE_MAX, queued = 0;
	int rc = -1;

	if (plan_contexts(p, &ctx, &n) < 0)
		return err_errno(e, ENOMEM, "reconcile");
	/* The ownership moves first (an apply must not land before its move),
	 * then namespaces (everything else of a tenant lives in its namespace),
	 * then the rest. */
	for (int phase = 0; phase < 3; phase++) {
		for (size_t i = 0; i < n; i++) {
			struct exec_ctx *c = &ctx[i];
			if (phase == 0 ? !c->over
				       : c->outcome != OUT_PENDING || namespace_write(c) != (phase == 1))
				continue;
			if (phase == 2 && c->verb != KUBE_DELETE && p->error[c->report])
				continue; /* its namespace failed: nothing would land */
			if (reconcile_now_ms() - p->start_ms > p->r->cfg.pass_budget_ms) {
				p->sum->incomplete = true;
				break;
			}
			if ((phase == 0 ? move_ownership(p, c, e) : submit(p, c, &cache, &cache_for, e)) < 0)
				goto out;
			if (++queued == CHUNK) {
				if (kube_run(p->r->kube, e) < 0)
					goto out;
				queued = 0;
				progress(p);
			}
		}
		if (kube_run(p->r->kube, e) < 0)
			goto out;
		queued = 0;
		progress(p);
	}
	for (size_t i = 0; i < n; i++)
		if (ctx[i].outcome == OUT_EXISTS)
			settle_existing(p, &ctx[i], &cache, &cache_for);
	for (size_t i = 0; i < n; i++)
		if (ctx[i].repair && ctx[i].outcome == OUT_OK && note_repair(p, &ctx[i]) < 0) {
			err_errno(e, ENOMEM, "reconcile");
			goto out;
		}
	rc = 0;
out:
	json_decref(cache);
	free(ctx);
	return rc;
}

/* ---- status ---- */

static const struct tenant_status *status_find(const struct tenant_status *v, size_t n,
					       const char *name)
{
	size_t lo = 0, hi = n;

	/* state_status_list returns rows ordered by name. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(v[mid].name, name);
		if (!c)
			return &v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static enum tenant_phase phase_of(const struct pass *p, size_t i, const char **msg)
{
	const struct diff_report *rep = &p->diff.reports[i];

	*msg = rep->reason;
	if (p->error[i]) {
		*msg = p->error[i];
		return TENANT_PHASE_FAILED;
	}
	switch (rep->status) {
	case DIFF_PENDING:
		return rep->nactions ? TENANT_PHASE_PROVISIONING : TENANT_PHASE_PENDING;
	case DIFF_PROVISIONING:
		return TENANT_PHASE_PROVISIONING;
	case DIFF_READY:
		return TENANT_PHASE_READY;
	case DIFF_FAILED:
		return TENANT_PHASE_FAILED;
	case DIFF_DELETING:
		return TENANT_PHASE_DELETING;
	}
	return TENANT_PHASE_FAILED;
}

static void count(struct reconcile_summary *sum, enum tenant_phase ph)
{
	switch (ph) {
	case TENANT_PHASE_PENDING: sum->pending++; break;
	case TENANT_PHASE_PROVISIONING: sum->provisioning++; break;
	case TENANT_PHASE_READY: sum->ready++; break;
	case TENANT_PHASE_FAILED: sum->failed++; break;
	case TENANT_PHASE_DELETING: sum->deleting++; break;
	}
}

/* Writes what changed: status rows, an event per phase change, and drops the
 * rows of tenants whose teardown is finished. One transaction. */
static int write_status(struct pass *p, struct err *e)
{
	struct state *st = p->r->st;
	const struct tenant_status *rows = p->rows;
	size_t nrows = p->nrows;

	if (state_begin(st, e) < 0)
		return -1;
	for (size_t i = 0; i < p->diff.nreports; i++) {
		const struct diff_report *rep = &p->diff.reports[i];
		const struct tenant_status *old = status_find(rows, nrows, rep->tenant);
		struct tenant_status ts = { 0 };
		const char *msg;

		ts.phase = phase_of(p, i, &msg);
		count(p->sum, ts.phase);
		if (ts.phase == TENANT_PHASE_FAILED && !p->sum->first_failure[0])
			snprintf(p->sum->first_failure, sizeof(p->sum->first_failure), "%s: %.250s",
				 rep->tenant, msg);
		snprintf(ts.name, sizeof(ts.name), "%s", rep->tenant);
		snprintf(ts.message, sizeof(ts.message), "%s", msg);
		ts.observed_generation = i < p->tenants.n ? p->tenants.v[i].generation :
					 old ? old->observed_generation : 0;
		if (old && old->phase == ts.phase && !strcmp(old->message, ts.message) &&
		    old->observed_generation == ts.observed_generation)
			continue;
		if (state_status_upsert(st, &ts, e) < 0)
			goto fail;
		p->sum->status_writes++;
		if (!old || old->phase != ts.phase) {
			if (state_event_append(st, rep->tenant, ts.phase == TENANT_PHASE_FAILED,
					       tenant_phase_name(ts.phase), e, "%s%s%s",
					       tenant_phase_name(ts.phase), ts.message[0] ? ": " : "",
					       ts.message) < 0)
				goto fail;
			p->sum->status_writes++;
			log_emit(ts.phase == TENANT_PHASE_FAILED ? LOG_WARNING : LOG_INFO, COMPONENT,
				 rep->tenant, "%s%s%s", tenant_phase_name(ts.phase),
				 ts.message[0] ? ": " : "", ts.message);
		}
	}
	/* Drift is no phase change: each repair is an event of its own, so an
	 * operator sees which edit was undone. */
	for (size_t i = 0; i < p->nrepaired; i++) {
		const char *tenant = p->repaired[i], *what = tenant + strlen(tenant) + 1;
		if (state_event_append(st, tenant, false, "DriftRepaired", e,
				       "%s: fields changed outside Outpost were put back", what) < 0)
			goto fail;
		p->sum->status_writes++;
		log_emit(LOG_INFO, COMPONENT, tenant, "drift repaired: %s", what);
	}
	/* A row with neither a desired tenant nor anything left in the cluster:
	 * the teardown is finished. */
	for (size_t i = 0; i < nrows; i++) {
		bool live = !is_target(p, rows[i].name);
		for (size_t k = 0; k < p->diff.nreports && !live; k++)
			live = !strcmp(p->diff.reports[k].tenant, rows[i].name);
		if (live)
			continue;
		if (state_status_delete(st, rows[i].name, e) < 0 ||
		    state_event_append(st, rows[i].name, false, "Deleted", e,
				       "teardown finished: nothing of the tenant is left") < 0)
			goto fail;
		p->sum->removed++;
		p->sum->status_writes += 2;
		log_emit(LOG_INFO, COMPONENT, rows[i].name, "deleted");
	}
	if (state_commit(st, e) < 0)
		goto fail;
	return 0;
fail:
	state_rollback(st);
	return -1;
}

/* ---- the pass ---- */

static void pass_free(struct pass *p)
{
	for (size_t i = 0; i < p->nobserved; i++)
		observed_clear(&p->observed[i]);
	free(p->observed);
	free(p->creds);
	free(p->by_key);
	for (size_t i = 0; i < p->nrepaired; i++)
		free(p->repaired[i]);
	free(p->repaired);
	free(p->rows);
	free(p->targets);
	for (size_t i = 0; i < p->nstrings; i++)
		free(p->owned_strings[i]);
	free(p->owned_strings);
	free(p->desired);
	if (p->cred) {
		OPENSSL_cleanse(p->cred, p->tenants.n * sizeof(*p->cred));
		free(p->cred);
	}
	free(p->dt);
	for (size_t i = 0; p->invalid && i < p->tenants.n; i++)
		free(p->invalid[i]);
	free(p->invalid);
	for (size_t i = 0; p->error && i < p->diff.nreports; i++)
		free(p->error[i]);
	free(p->error);
	free(p->plans);
	diff_result_free(&p->diff);
	tenant_list_free(&p->tenants);
}

static int dry_run(struct pass *p, struct err *e)
{
	json_t *items = json_array(), *list;
	int rc;

	if (!items)
		return err_errno(e, ENOMEM, "reconcile");
	if (render_all(p, items, e) < 0) {
		json_decref(items);
		return -1;
	}
	for (size_t i = 0; i < p->tenants.n; i++) {
		if (p->dt[i].invalid) {
			if (!p->sum->failed++)
				snprintf(p->sum->first_failure, sizeof(p->sum->first_failure), "%s: %.250s",
					 p->tenants.v[i].name, p->dt[i].invalid);
			log_emit(LOG_WARNING, COMPONENT, p->tenants.v[i].name, "not rendered: %s",
				 p->dt[i].invalid);
		}
	}
	list = json_pack("{s:s, s:s, s:o}", "apiVersion", "v1", "kind", "List", "items", items);
	rc = list && json_dumpf(list, p->r->cfg.dry_run_out, JSON_INDENT(2) | JSON_SORT_KEYS) == 0 &&
	     fputc('\n', p->r->cfg.dry_run_out) != EOF ? 0 : err_errno(e, EIO, "reconcile: writing the dry run");
	json_decref(list);
	return rc;
}

int reconcile_pass(struct reconcile *r, struct reconcile_summary *sum, struct err *e)
{
	struct pass p = { .r = r, .sum = sum };
	struct kube_stats before = { 0 }, after;
	int64_t version = 0;
	bool full = false;
	int rc = -1;

	memset(sum, 0, sizeof(*sum));
	p.start_ms = reconcile_now_ms();
	r->woken = false;
	if (r->kube)
		before = *kube_stats(r->kube);
	/* Read the version first: a change committed during the pass asks for
	 * the next one. */
	if (state_data_version(r->st, &version, e) < 0 ||
	    state_begin_read(r->st, e) < 0)
		goto out;
	if (state_tenant_list(r->st, &p.tenants, e) < 0 ||
	    state_plan_list(r->st, &p.plans, &p.nplans, e) < 0 ||
	    state_status_list(r->st, &p.rows, &p.nrows, e) < 0 ||
	    (!r->cfg.readiness_by_caller && ready_from_rows(r, e) < 0)) {
		state_rollback(r->st);
		goto out;
	}
	state_rollback(r->st);
	/* A dry run renders everything. */
	full = r->cfg.dry_run_out || (!r->cfg.changed_only && (!r->full_done ||
	       p.start_ms >= r->next_full_ms));
	if (!full) {
		int t = select_targets(&p);
		if (t < 0) {
			err_errno(e, ENOMEM, "reconcile");
			goto out;
		}
		full = t == 1;
	}
	sum->full = full;
	sum->tenants = p.tenants.n;
	p.dt = calloc(p.tenants.n + 1, sizeof(*p.dt));
	p.cred = calloc(p.tenants.n + 1, sizeof(*p.cred));
	p.invalid = calloc(p.tenants.n + 1, sizeof(*p.invalid));
	if (!p.dt || !p.cred || !p.invalid) {
		err_errno(e, ENOMEM, "reconcile");
		goto out;
	}
	if (r->cfg.dry_run_out) {
		rc = dry_run(&p, e);
		goto out;
	}
	/* A targeted pass with nothing to look at sends nothing. */
	if ((!p.targeted || p.ntargets) && list_all(&p, e) < 0)
		goto out;
	if (index_credentials(&p) < 0 || index_bodies(&p) < 0) {
		err_errno(e, ENOMEM, "reconcile");
		goto out;
	}
	if (render_all(&p, NULL, e) < 0)
		goto out;
	{
		/* The observed records are stable now: the diff borrows them. */
		struct diff_object *obs = malloc((p.nobserved + 1) * sizeof(*obs));
		if (!obs) {
			err_errno(e, ENOMEM, "reconcile");
			goto out;
		}
		for (size_t i = 0; i < p.nobserved; i++)
			obs[i] = p.observed[i].o;
		p.obs = obs;
		rc = diff_compute(p.dt, p.tenants.n, p.desired, p.ndesired, obs, p.nobserved, r->ready,
				  &p.diff);
		if (rc == 0) {
			p.error = calloc(p.diff.nreports + 1, sizeof(*p.error));
			rc = p.error ? execute(&p, e) : err_errno(e, ENOMEM, "reconcile");
		} else {
			err_errno(e, ENOMEM, "reconcile: diff");
		}
		free(obs);
		if (rc < 0)
			goto out;
	}
	rc = write_status(&p, e);
out:
	if (r->kube) {
		after = *kube_stats(r->kube);
		for (int v = 0; v < KUBE_NVERBS; v++) {
			sum->requests += after.requests[v] - before.requests[v];
			if (v == KUBE_CREATE || v == KUBE_APPLY || v == KUBE_PATCH || v == KUBE_DELETE)
				sum->writes += after.requests[v] - before.requests[v];
		}
		sum->retries = after.retries - before.retries;
	}
	sum->elapsed_ms = reconcile_now_ms() - p.start_ms;
	r->passed = true;
	if (full && rc == 0) {
		r->full_done = true;
		r->next_full_ms = p.start_ms + (uint64_t)r->cfg.resync_s * 1000;
	}
	if (version)
		r->data_version = version;
	if (rc < 0 || sum->action_errors) {
		r->retry_ms = r->retry_ms ? r->retry_ms * 2 : RETRY_MIN_MS;
		if (r->retry_ms > RETRY_MAX_MS)
			r->retry_ms = RETRY_MAX_MS;
		r->retry_at_ms = reconcile_now_ms() + r->retry_ms;
	} else {
		r->retry_ms = 0;
		if (sum->incomplete)
			r->retry_at_ms = reconcile_now_ms();
		else if (p.again || sum->pending || sum->provisioning || sum->deleting)
			r->retry_at_ms = reconcile_now_ms() + PROGRESS_POLL_MS;
		else
			r->retry_at_ms = 0;
	}
	pass_free(&p);
	return rc;
}
