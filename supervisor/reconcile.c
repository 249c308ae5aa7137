#include "reconcile.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "kubeconfig.h"
#include "log.h"
#include "reconcile-pass.h"

/* How soon to look again while something is in progress (Jobs, teardown). */
#define PROGRESS_POLL (3 * USEC_PER_SEC)
#define RETRY_MIN (2 * USEC_PER_SEC)
#define RETRY_MAX (60 * USEC_PER_SEC)

struct reconcile {
	struct reconcile_config cfg;
	struct state *st;
	struct kubeconfig *kc;
	struct kube *kube;
	int64_t data_version;
	bool passed;            /* at least one pass ran */
	bool full_done;         /* a full pass succeeded: status rows can be trusted */
	/* clock_mono_us: */
	uint64_t next_full;     /* when the next full pass is due (with full_done) */
	uint64_t retry_at;      /* 0: none */
	uint64_t retry;         /* current retry delay */
	struct catalog catalog;
	struct tls_ca ca;       /* cfg.ca_dir's, loaded once; ca.cert NULL: no TLS */
	unsigned ready;         /* need bits (render.h) the platform meets */
	bool woken;             /* a service became ready since the last pass */
};

/* The appliance CA: `outpost install` makes it; a daemon started without
 * an install (a lab, the tests) makes its own in the same place. */
static int load_ca(struct reconcile *r, struct err *e)
{
	char host[256] = "outpost";
	int created;

	gethostname(host, sizeof(host) - 1);
	if (tls_ca_ensure(r->cfg.ca_dir, host, &created, e) < 0 || tls_ca_load(r->cfg.ca_dir, &r->ca, e) < 0)
		return err_prefix(e, "reconcile: certificates");
	if (created)
		log_emit(LOG_INFO, RECONCILE_LOG, NULL, "created the appliance CA in %s", r->cfg.ca_dir);
	return 0;
}

/* The schedule an earlier process left (reconcile_config.handover). */
static int take_over(struct reconcile *r, const struct worker_timing *h, struct err *e)
{
	uint64_t now = clock_mono_us();

	if (h->full_in != WORKER_TIMING_NONE) {
		r->full_done = true;
		r->next_full = now + h->full_in;
	}
	if (h->due_in != WORKER_TIMING_NONE) {
		if (state_data_version(r->st, &r->data_version, e) < 0)
			return -1;
		r->passed = true;
		r->retry_at = now + h->due_in;
	}
	r->retry = h->retry > RETRY_MAX ? RETRY_MAX : h->retry;
	return 0;
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
	if (!r->cfg.resync)
		r->cfg.resync = 600 * USEC_PER_SEC;
	/* A page is parsed whole: 250 keeps its share of the peak small (a
	 * pass over 1,000 tenants: 22 MiB from empty; 37 MiB in sync, where a
	 * full pass also holds the listed objects' text for the drift check). */
	if (!r->cfg.list_limit)
		r->cfg.list_limit = 250;
	if (!r->cfg.pass_budget_ms)
		r->cfg.pass_budget_ms = 120000;
	r->ready = cfg->readiness_by_caller ? 0 : RENDER_NEED_ALL;
	if (state_open(cfg->state_path, STATE_OPEN_EXISTING, &r->st, e) < 0 ||
	    (cfg->handover && take_over(r, cfg->handover, e) < 0))
		goto fail;
	if (cfg->ca_dir && !cfg->dry_run_out && load_ca(r, e) < 0)
		goto fail;
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
	tls_ca_free(&r->ca);
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

bool reconcile_wants_pass(struct reconcile *r, uint64_t now)
{
	struct err e = { 0 };
	int64_t v;

	if (!r->passed || r->woken)
		return true;
	if (state_data_version(r->st, &v, &e) == 0 && v != r->data_version)
		return true;
	return now >= reconcile_next_deadline(r);
}

uint64_t reconcile_next_full(const struct reconcile *r)
{
	return r->full_done ? r->next_full : 0;
}

struct worker_timing reconcile_handover(const struct reconcile *r, uint64_t now)
{
	uint64_t due = reconcile_next_deadline(r), full = reconcile_next_full(r);

	return (struct worker_timing){
		.due_in = !r->passed || !due ? WORKER_TIMING_NONE : due > now ? due - now : 0,
		.full_in = !full ? WORKER_TIMING_NONE : full > now ? full - now : 0,
		.retry = r->retry,
	};
}

uint64_t reconcile_next_deadline(const struct reconcile *r)
{
	if (!r->passed)
		return 0;
	/* Until a full pass succeeds one is due at once, except after a failed
	 * one: then at its retry, so a list that keeps failing backs off. */
	if (!r->full_done)
		return r->retry_at;
	return r->retry_at && r->retry_at < r->next_full ? r->retry_at : r->next_full;
}

/* ---- one pass: its memory, its scope, its steps in order ---- */

void *pass_grow(void *v, size_t n, size_t *cap, size_t size)
{
	size_t more;
	void *grown;

	if (n < *cap)
		return v;
	more = *cap ? 2 * *cap : 1024;
	grown = realloc(v, more * size);
	if (grown)
		*cap = more;
	return grown;
}

char *pass_strdup(struct pass *p, const char *s)
{
	char **grown, *copy;

	if (!s)
		return NULL;
	grown = pass_grow(p->owned_strings, p->nstrings, &p->capstrings, sizeof(*grown));
	if (!grown)
		return NULL;
	p->owned_strings = grown;
	copy = strdup(s);
	if (copy)
		p->owned_strings[p->nstrings++] = copy;
	return copy;
}

void pass_progress(const struct pass *p)
{
	if (p->cfg->progress)
		p->cfg->progress(p->cfg->progress_ud);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bool pass_is_target(const struct pass *p, const char *name)
{
	return !p->targeted || bsearch(&name, p->targets, p->ntargets, sizeof(*p->targets), name_cmp);
}

/* state_tenant_list orders tenants by name (SQLite's binary collation: strcmp's order). */
static int tenant_name_cmp(const void *key, const void *t)
{
	return strcmp(key, ((const struct tenant *)t)->name);
}

/* The tenants a targeted pass looks at, in *targets (unsorted): those whose
 * desired state changed since they were last reconciled (no status row,
 * another generation observed) or that are not Ready, and removed tenants
 * whose status row is still there. */
static size_t targets_collect(const struct pass *p, const char **targets)
{
	size_t n = 0;

	for (size_t i = 0; i < p->tenants.n; i++) {
		const struct tenant *t = &p->tenants.v[i];
		const struct tenant_status *st = status_row_find(p->rows, p->nrows, t->name);
		if (!st || st->observed_generation != t->generation || st->phase != TENANT_PHASE_READY)
			targets[n++] = t->name;
	}
	/* With no tenant left the list is NULL, which bsearch may not be given. */
	for (size_t i = 0; i < p->nrows; i++)
		if (!p->tenants.n || !bsearch(p->rows[i].name, p->tenants.v, p->tenants.n,
					      sizeof(*p->tenants.v), tenant_name_cmp))
			targets[n++] = p->rows[i].name;
	return n;
}

/* Keeps only the targeted tenants: everything after works on p->tenants. */
static void tenants_keep_targets(struct pass *p)
{
	size_t kept = 0;

	for (size_t i = 0; i < p->tenants.n; i++) {
		if (pass_is_target(p, p->tenants.v[i].name)) {
			struct tenant tmp = p->tenants.v[i];
			p->tenants.v[i] = p->tenants.v[kept];
			p->tenants.v[kept++] = tmp;
		}
	}
	for (size_t i = kept; i < p->tenants.n; i++)
		tenant_clear(&p->tenants.v[i]);
	p->tenants.n = kept;
}

/* Makes the pass a targeted one: the status rows say what the last passes
 * saw. Returns 0, or 1 when too many tenants qualify and a full pass is
 * cheaper, or -1 when out of memory. */
static int select_targets(struct pass *p)
{
	const char **targets = malloc((p->tenants.n + p->nrows + 1) * sizeof(*targets));
	size_t n;

	if (!targets)
		return -1;
	n = targets_collect(p, targets);
	if (n > RECONCILE_TARGETED_MAX) {
		free(targets);
		return 1;
	}
	qsort(targets, n, sizeof(*targets), name_cmp);
	p->targets = targets;
	p->ntargets = n;
	p->targeted = true;
	tenants_keep_targets(p);
	return 0;
}

static void pass_free(struct pass *p)
{
	for (size_t i = 0; i < p->nobserved; i++)
		observed_clear(&p->observed[i]);
	free(p->observed);
	free(p->creds);
	free(p->tls_secrets);
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
	for (size_t i = 0; p->tls && i < p->tenants.n; i++)
		tls_pair_free(&p->tls[i]);
	free(p->tls);
	free(p->diff_tenants);
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

/* Reads the desired state in one snapshot: tenants, plans, status rows and,
 * without a supervisor, the platform's readiness. The data version is read
 * first: a change committed during the pass asks for the next one. */
static int pass_load(struct pass *p, struct reconcile *r, int64_t *version, struct err *e)
{
	if (state_data_version(r->st, version, e) < 0 ||
	    state_begin_read(r->st, e) < 0)
		return -1;
	if (state_tenant_list(r->st, &p->tenants, e) < 0 ||
	    state_plan_list(r->st, &p->plans, &p->nplans, e) < 0 ||
	    state_status_list(r->st, &p->rows, &p->nrows, e) < 0 ||
	    (!r->cfg.readiness_by_caller && ready_from_rows(r, e) < 0)) {
		state_rollback(r->st);
		return -1;
	}
	state_rollback(r->st);
	p->ready = r->ready;
	return 0;
}

/* Full or targeted (reconcile.h), and the per-tenant arrays of the tenants
 * the pass looks at. */
static int pass_scope(struct pass *p, const struct reconcile *r, bool *full, struct err *e)
{
	/* A dry run renders everything. */
	*full = r->cfg.dry_run_out || (!r->cfg.changed_only && (!r->full_done ||
		p->start >= r->next_full));
	if (!*full) {
		int t = select_targets(p);
		if (t < 0)
			return err_errno(e, ENOMEM, "reconcile");
		*full = t == 1;
	}
	p->sum->full = *full;
	p->sum->tenants = p->tenants.n;
	p->diff_tenants = calloc(p->tenants.n + 1, sizeof(*p->diff_tenants));
	p->cred = calloc(p->tenants.n + 1, sizeof(*p->cred));
	p->invalid = calloc(p->tenants.n + 1, sizeof(*p->invalid));
	p->tls = calloc(p->tenants.n + 1, sizeof(*p->tls));
	if (!p->diff_tenants || !p->cred || !p->invalid || !p->tls)
		return err_errno(e, ENOMEM, "reconcile");
	return 0;
}

/* No cluster: every valid tenant rendered into one JSON List. */
static int dry_run(struct pass *p, struct err *e)
{
	json_t *items = json_array(), *list;
	int rc;

	if (!items)
		return err_errno(e, ENOMEM, "reconcile");
	if (pass_desired_render(p, items, e) < 0) {
		json_decref(items);
		return -1;
	}
	for (size_t i = 0; i < p->tenants.n; i++) {
		if (p->diff_tenants[i].invalid) {
			if (!p->sum->failed++)
				snprintf(p->sum->first_failure, sizeof(p->sum->first_failure), "%s: %.250s",
					 p->tenants.v[i].name, p->diff_tenants[i].invalid);
			log_emit(LOG_WARNING, RECONCILE_LOG, p->tenants.v[i].name, "not rendered: %s",
				 p->diff_tenants[i].invalid);
		}
	}
	list = json_pack("{s:s, s:s, s:o}", "apiVersion", "v1", "kind", "List", "items", items);
	rc = list && json_dumpf(list, p->cfg->dry_run_out, JSON_INDENT(2) | JSON_SORT_KEYS) == 0 &&
	     fputc('\n', p->cfg->dry_run_out) != EOF ? 0 : err_errno(e, EIO, "reconcile: writing the dry run");
	json_decref(list);
	return rc;
}

/* The diff of the pass, carried out. The observed records are stable now:
 * the diff and its actions borrow them until the execution is over. */
static int diff_and_execute(struct pass *p, struct err *e)
{
	struct diff_object *observed = malloc((p->nobserved + 1) * sizeof(*observed));
	int rc;

	if (!observed)
		return err_errno(e, ENOMEM, "reconcile");
	for (size_t i = 0; i < p->nobserved; i++)
		observed[i] = p->observed[i].diff_obj;
	p->diff_observed = observed;
	if (diff_compute(p->diff_tenants, p->tenants.n, p->desired, p->ndesired, observed,
			 p->nobserved, p->ready, &p->diff) < 0)
		rc = err_errno(e, ENOMEM, "reconcile: diff");
	else if (!(p->error = calloc(p->diff.nreports + 1, sizeof(*p->error))))
		rc = err_errno(e, ENOMEM, "reconcile");
	else
		rc = pass_execute(p, e);
	p->diff_observed = NULL;
	free(observed);
	return rc;
}

/* Observe, render, diff and execute, tell. */
static int pass_against_cluster(struct pass *p, struct err *e)
{
	/* A targeted pass with nothing to look at sends nothing. */
	if ((!p->targeted || p->ntargets) && pass_observed_list(p, e) < 0)
		return -1;
	if (pass_observed_index(p) < 0)
		return err_errno(e, ENOMEM, "reconcile");
	if (pass_desired_render(p, NULL, e) < 0 || diff_and_execute(p, e) < 0)
		return -1;
	return pass_status_write(p, e);
}

/* The pass's requests, writes and retries, from the client's counters. */
static void summary_count_requests(struct reconcile_summary *sum, const struct kube_stats *before,
				   const struct kube_stats *after)
{
	for (int v = 0; v < KUBE_NVERBS; v++) {
		sum->requests += after->requests[v] - before->requests[v];
		if (v == KUBE_CREATE || v == KUBE_APPLY || v == KUBE_PATCH || v == KUBE_DELETE)
			sum->writes += after->requests[v] - before->requests[v];
	}
	sum->retries = after->retries - before->retries;
}

/* When the next pass is due: the resync after a full pass, a growing back-off
 * after a failure, soon while something is in progress. */
static void schedule_next(struct reconcile *r, const struct reconcile_summary *sum, uint64_t start,
			  bool full, bool again, int64_t version, int rc)
{
	r->passed = true;
	if (full && rc == 0) {
		r->full_done = true;
		r->next_full = start + r->cfg.resync;
	}
	if (version)
		r->data_version = version;
	if (rc < 0 || sum->action_errors) {
		r->retry = r->retry ? r->retry * 2 : RETRY_MIN;
		if (r->retry > RETRY_MAX)
			r->retry = RETRY_MAX;
		r->retry_at = clock_mono_us() + r->retry;
	} else {
		r->retry = 0;
		if (sum->incomplete)
			r->retry_at = clock_mono_us();
		else if (again || sum->pending || sum->provisioning || sum->deleting)
			r->retry_at = clock_mono_us() + PROGRESS_POLL;
		else
			r->retry_at = 0;
	}
}

int reconcile_pass(struct reconcile *r, struct reconcile_summary *sum, struct err *e)
{
	struct pass p = {
		.cfg = &r->cfg, .st = r->st, .kube = r->kube, .catalog = &r->catalog, .sum = sum,
		.ca = r->ca.cert ? &r->ca : NULL,
	};
	struct kube_stats before = { 0 };
	int64_t version = 0;
	bool full = false;
	int rc;

	memset(sum, 0, sizeof(*sum));
	p.start = clock_mono_us();
	r->woken = false;
	if (r->kube)
		before = *kube_stats(r->kube);
	rc = pass_load(&p, r, &version, e);
	if (rc == 0)
		rc = pass_scope(&p, r, &full, e);
	if (rc == 0)
		rc = r->cfg.dry_run_out ? dry_run(&p, e) : pass_against_cluster(&p, e);
	if (r->kube)
		summary_count_requests(sum, &before, kube_stats(r->kube));
	sum->elapsed_ms = (clock_mono_us() - p.start) / USEC_PER_MSEC;
	schedule_next(r, sum, p.start, full, p.again, version, rc);
	pass_free(&p);
	return rc;
}
