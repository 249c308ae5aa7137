/* What exists: one labelled list per kind, page by page, into p->observed,
 * and the indexes the rest of the pass looks things up in. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drift.h"
#include "job-state.h"
#include "reconcile-pass.h"
#include "util.h"

const char *object_label(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(json_object_get(obj, "metadata"),
								 "labels"), key));
}

const char *object_role(json_t *obj)
{
	static const char *const roles[] = { "namespace", "app", "data", "deprovision" };
	const char *role = object_label(obj, RENDER_LABEL_ROLE);

	for (size_t i = 0; role && i < ARRAY_SIZE(roles); i++)
		if (!strcmp(role, roles[i]))
			return roles[i];
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

void observed_clear(struct observed *o)
{
	free(o->ns);
	free(o->name);
	free(o->tenant);
	free(o->failure);
	free(o->job_failure);
	free(o->body);
	free(o->rv);
	for (int i = 0; i < RENDER_NSERVICES; i++) {
		if (o->passwords[i]) {
			OPENSSL_cleanse(o->passwords[i], strlen(o->passwords[i]));
			free(o->passwords[i]);
		}
	}
	free(o->tls_cert);
	if (o->tls_key) {
		OPENSSL_cleanse(o->tls_key, strlen(o->tls_key));
		free(o->tls_key);
	}
}

/* Names, labels, hash and whether it is going away. */
static void listed_identity(struct observed *listed, const struct kube_resource *kind, json_t *item)
{
	json_t *md = json_object_get(item, "metadata");
	const char *managed = object_label(item, RENDER_LABEL_MANAGED_BY);
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *tenant = object_label(item, RENDER_LABEL_TENANT);
	const char *hash = json_string_value(json_object_get(json_object_get(md, "annotations"),
							     RENDER_ANNOTATION_HASH));
	const char *phase = json_string_value(json_object_get(json_object_get(item, "status"), "phase"));
	struct diff_object *d = &listed->diff_obj;

	listed->ns = ns ? strdup(ns) : NULL;
	listed->name = strdup(name ? name : "");
	listed->tenant = tenant ? strdup(tenant) : NULL;
	d->kind = kind->kind;
	d->ns = listed->ns;
	d->name = listed->name;
	d->tenant = listed->tenant;
	d->role = object_role(item);
	d->managed = managed && !strcmp(managed, RENDER_MANAGED_BY);
	snprintf(d->hash, sizeof(d->hash), "%s", hash ? hash : "");
	d->terminating = json_object_get(md, "deletionTimestamp") != NULL ||
			 (phase && !strcmp(phase, "Terminating"));
}

/* The passwords of the tenant's credentials Secret (base64 in `data`). */
static void listed_passwords(struct observed *listed, json_t *item)
{
	char want[128], ns[128];

	render_secret_name(listed->tenant, want, sizeof(want));
	render_namespace_name(listed->tenant, ns, sizeof(ns));
	if (strcmp(listed->name, want) || !listed->ns || strcmp(listed->ns, ns))
		return;
	for (int i = 0; i < RENDER_NSERVICES; i++) {
		const char *pw = json_string_value(json_object_get(json_object_get(item, "data"),
								   render_password_key[i]));
		if (pw)
			listed->passwords[i] = b64_text(pw);
	}
}

/* The certificate and key of the tenant's TLS Secret (base64 in `data`). */
static void listed_tls(struct observed *listed, json_t *item)
{
	char want[128], ns[128];
	json_t *data = json_object_get(item, "data");
	const char *crt = json_string_value(json_object_get(data, "tls.crt"));
	const char *key = json_string_value(json_object_get(data, "tls.key"));

	render_tls_secret_name(listed->tenant, want, sizeof(want));
	render_namespace_name(listed->tenant, ns, sizeof(ns));
	if (strcmp(listed->name, want) || !listed->ns || strcmp(listed->ns, ns) || !crt || !key)
		return;
	listed->tls_cert = b64_text(crt);
	listed->tls_key = b64_text(key);
}

/* What only some kinds tell: how far a Job got, why a Job or HelmChart
 * failed, the passwords of a credentials Secret. */
static void listed_state(struct observed *listed, json_t *item)
{
	struct diff_object *d = &listed->diff_obj;
	const char *failure = NULL;

	if (!strcmp(d->kind, "Job")) {
		d->job = job_state(item, &failure);
	} else if (!strcmp(d->kind, "HelmChart")) {
		failure = job_failed_message(item);
	} else if (!strcmp(d->kind, "Secret") && listed->tenant && d->managed) {
		listed_passwords(listed, item);
		listed_tls(listed, item);
	}
	if (failure)
		listed->failure = strdup(failure);
	d->failure = listed->failure;
	d->needs = render_needs(d->kind, d->role, listed->name);
}

/* Full passes: keeps the owned object's fields for the drift check, without
 * what a rendering never sets (dropped to keep 10,000 bodies small). Jobs are
 * immutable and replaced on a hash change: no drift repair. */
static int listed_body(struct observed *listed, json_t *item)
{
	static const char *const server_owned[] = {
		"managedFields", "uid", "resourceVersion", "creationTimestamp", "generation",
		"selfLink",
	};
	json_t *md = json_object_get(item, "metadata");

	if (!listed->diff_obj.managed || !listed->tenant || !strcmp(listed->diff_obj.kind, "Job"))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(server_owned); i++)
		json_object_del(md, server_owned[i]);
	json_object_del(item, "status");
	json_object_del(item, "apiVersion");
	json_object_del(item, "kind");
	listed->body = json_dumps(item, JSON_COMPACT);
	return listed->body ? 0 : -1;
}

/* kube_list's callback: one listed object, or NULL to start the kind over. */
static int on_listed(json_t *item, void *ud)
{
	struct pass *p = ud;
	json_t *md = json_object_get(item, "metadata");
	struct observed *listed, *grown;
	const char *rv;

	if (!item) {
		while (p->nobserved && p->observed[p->nobserved - 1].diff_obj.kind == p->listing->kind)
			observed_clear(&p->observed[--p->nobserved]);
		return 0;
	}
	if (!(grown = pass_grow(p->observed, p->nobserved, &p->capobserved, sizeof(*grown))))
		return -1;
	p->observed = grown;
	listed = memset(&grown[p->nobserved], 0, sizeof(*listed));
	listed_identity(listed, p->listing, item);
	listed_state(listed, item);
	listed->at = listed->diff_obj.managed ? ownership_find(md, KUBE_FIELD_MANAGER)
					      : (struct ownership){ -1, -1 };
	rv = listed->at.update >= 0 ? json_string_value(json_object_get(md, "resourceVersion")) : NULL;
	if (!listed->name || (json_object_get(md, "namespace") && !listed->ns) ||
	    (rv && !(listed->rv = strdup(rv))) || (!p->targeted && listed_body(listed, item) < 0)) {
		observed_clear(listed);
		return -1;
	}
	p->nobserved++;
	return 0;
}

static void tenant_name(const char *tenant, char *buf, size_t len)
{
	snprintf(buf, len, "%s", tenant);
}

/* `base` (a selector, or NULL), and on a targeted pass "`key` in (a,b,...)"
 * of the targets' `value`s: "managed-by=outpost,tenant in (a,b)". */
static char *list_selector(const struct pass *p, const char *base, const char *key,
			   void (*value)(const char *tenant, char *buf, size_t len))
{
	size_t len = 128 + strlen(key);
	char *selector, *at, v[128];

	for (size_t i = 0; i < p->ntargets; i++)
		len += strlen(p->targets[i]) + sizeof(v);
	if (!(selector = malloc(len)))
		return NULL;
	at = selector + sprintf(selector, "%s", base ? base : "");
	if (p->targeted) {
		at += sprintf(at, "%s%s in (", base ? "," : "", key);
		for (size_t i = 0; i < p->ntargets; i++) {
			value(p->targets[i], v, sizeof(v));
			at += sprintf(at, "%s%s", i ? "," : "", v);
		}
		strcpy(at, ")");
	} else if (!base) {
		strcpy(at, key); /* the label exists */
	}
	return selector;
}

/* The tenants' HelmCharts by namespace and name, while helm-controller's
 * install Jobs are matched to them. */
struct chart_index {
	struct observed **v;
	size_t n;
};

static int chart_cmp(const void *a, const void *b)
{
	const struct observed *x = *(const struct observed *const *)a;
	const struct observed *y = *(const struct observed *const *)b;
	int c = strcmp(x->ns ? x->ns : "", y->ns ? y->ns : "");

	return c ? c : strcmp(x->name, y->name);
}

static bool is_tenant_chart(const struct observed *o)
{
	return o->tenant && o->diff_obj.managed && !strcmp(o->diff_obj.kind, "HelmChart");
}

static int chart_job_set(struct observed *chart, enum diff_job job, const char *failure)
{
	free(chart->job_failure);
	chart->job_failure = NULL;
	if (failure && !(chart->job_failure = strdup(failure)))
		return -1;
	chart->diff_obj.job = job;
	/* The HelmChart's own Failed condition says more: it comes first. */
	chart->diff_obj.failure = chart->failure ? chart->failure : chart->job_failure;
	return 0;
}

/* kube_list's callback for the install Jobs: helm-install-<chart>, in the
 * HelmChart's namespace, labelled with its name (what helm-controller makes).
 * NULL starts the list over. */
static int on_install_job(json_t *item, void *ud)
{
	const struct chart_index *ix = ud;
	json_t *md = json_object_get(item, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *chart = object_label(item, KUBE_LABEL_HELM_CHART);
	struct observed probe, *pp = &probe, **hit;
	const char *failure;
	enum diff_job job;

	if (!item) {
		for (size_t i = 0; i < ix->n; i++)
			if (chart_job_set(ix->v[i], DIFF_JOB_NONE, NULL) < 0)
				return -1;
		return 0;
	}
	if (!ns || !name || !chart || strncmp(name, "helm-install-", 13) || strcmp(name + 13, chart))
		return 0;
	probe = (struct observed){ .ns = (char *)ns, .name = (char *)chart };
	hit = bsearch(&pp, ix->v, ix->n, sizeof(*ix->v), chart_cmp);
	if (!hit)
		return 0;
	job = job_state(item, &failure);
	return chart_job_set(*hit, job, failure);
}

/* How far the install of each tenant's app got: one more list, of the Jobs
 * helm-controller runs, and none when no tenant has a HelmChart. */
static int list_install_jobs(struct pass *p, struct err *e)
{
	struct chart_index ix = { malloc((p->nobserved + 1) * sizeof(*ix.v)), 0 };
	/* A tenant's HelmChart is named as its namespace (render.c). */
	char *selector = list_selector(p, NULL, KUBE_LABEL_HELM_CHART, render_namespace_name);
	int rc = 0;

	if (!ix.v || !selector) {
		rc = err_errno(e, ENOMEM, "reconcile");
		goto out;
	}
	for (size_t i = 0; i < p->nobserved; i++)
		if (is_tenant_chart(&p->observed[i]))
			ix.v[ix.n++] = &p->observed[i];
	if (!ix.n)
		goto out;
	qsort(ix.v, ix.n, sizeof(*ix.v), chart_cmp);
	if (kube_list(p->kube, kube_resource_find("Job"), selector, p->cfg->list_limit, on_install_job,
		      &ix, e) < 0)
		rc = err_prefix(e, "reconcile: listing the apps' install Jobs");
	else
		pass_progress(p);
out:
	free(selector);
	free(ix.v);
	return rc;
}

int pass_observed_list(struct pass *p, struct err *e)
{
	char managed[64];
	char *selector;
	int rc = 0;

	snprintf(managed, sizeof(managed), "%s=%s", RENDER_LABEL_MANAGED_BY, RENDER_MANAGED_BY);
	if (!(selector = list_selector(p, managed, RENDER_LABEL_TENANT, tenant_name)))
		return err_errno(e, ENOMEM, "reconcile");
	for (size_t i = 0; i < kube_nresources && rc == 0; i++) {
		p->listing = &kube_resources[i];
		if (kube_list(p->kube, p->listing, selector, p->cfg->list_limit, on_listed, p, e) < 0)
			rc = err_prefix(e, "reconcile: listing what exists");
		else
			pass_progress(p);
	}
	free(selector);
	return rc ? rc : list_install_jobs(p, e);
}

static int cred_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct observed *const *)a)->tenant,
		      (*(const struct observed *const *)b)->tenant);
}

static int by_key_cmp(const void *a, const void *b)
{
	return diff_object_cmp(&(*(const struct observed *const *)a)->diff_obj,
			       &(*(const struct observed *const *)b)->diff_obj);
}

static bool has_password(const struct observed *o)
{
	for (int k = 0; k < RENDER_NSERVICES; k++)
		if (o->passwords[k])
			return true;
	return false;
}

static bool has_tls(const struct observed *o)
{
	return o->tls_cert && o->tls_key;
}

static bool has_body(const struct observed *o)
{
	return o->body != NULL;
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

/* The credentials Secrets by tenant; on full passes also the objects whose
 * fields are compared with their renderings (those with a body), by key. */
int pass_observed_index(struct pass *p)
{
	if (index_observed(p, has_password, cred_cmp, &p->creds, &p->ncreds) < 0 ||
	    index_observed(p, has_tls, cred_cmp, &p->tls_secrets, &p->ntls_secrets) < 0)
		return -1;
	return index_observed(p, has_body, by_key_cmp, &p->by_key, &p->nby_key);
}

static const struct observed *by_tenant(struct observed **v, size_t n, const char *tenant)
{
	struct observed probe = { .tenant = (char *)tenant }, *pp = &probe, **hit;

	hit = bsearch(&pp, v, n, sizeof(*v), cred_cmp);
	return hit ? *hit : NULL;
}

const struct observed *pass_credentials_find(const struct pass *p, const char *tenant)
{
	return by_tenant(p->creds, p->ncreds, tenant);
}

const struct observed *pass_tls_find(const struct pass *p, const char *tenant)
{
	return by_tenant(p->tls_secrets, p->ntls_secrets, tenant);
}

/* An observed object that cannot be parsed back counts as drifted: the apply
 * puts it right. */
void pass_drift_mark(struct pass *p, const struct diff_object *d, const json_t *obj)
{
	struct observed probe = { .diff_obj = *d }, *pp = &probe, **hit;
	json_t *listed;

	if (!p->nby_key)
		return;
	hit = bsearch(&pp, p->by_key, p->nby_key, sizeof(*p->by_key), by_key_cmp);
	if (!hit || !(*hit)->body)
		return;
	listed = json_loads((*hit)->body, 0, NULL);
	(*hit)->diff_obj.drifted = !listed || !drift_subset(obj, listed);
	json_decref(listed);
	free((*hit)->body);
	(*hit)->body = NULL;
}
