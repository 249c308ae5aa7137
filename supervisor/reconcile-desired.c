/* What should exist: each tenant of the pass rendered (render.h) into
 * p->desired, with the passwords its credentials Secret already holds, and
 * each rendering compared with its listed object for drift. */
#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reconcile-pass.h"
#include "util.h"

/* The render input of tenant i; *why is set when the tenant cannot be rendered. */
static int render_input(struct pass *p, size_t i, struct render_tenant *rt, struct render_plan *rp,
			struct render_set *sets, struct render_tls *tls, char *why, size_t whylen)
{
	const struct tenant *t = &p->tenants.v[i];
	const struct plan *pl = plan_find(p->plans, p->nplans, t->plan);
	const char *chart = t->app_chart ? t->app_chart : TENANT_DEFAULT_APP;
	const char *datadir = p->cfg->datadir ? p->cfg->datadir : OUTPOST_DATADIR;
	const char *version = t->app_version ? t->app_version : catalog_version(p->catalog, datadir, chart);

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
		.max_pods = (int)pl->pods, .max_replicas = (int)pl->max_replicas,
	};
	for (size_t k = 0; k < t->nvalues; k++)
		sets[k] = (struct render_set){ t->values[k].key, t->values[k].value };
	*rt = (struct render_tenant){
		.name = t->name, .app = chart, .app_version = version, .host = t->host,
		.suspended = t->suspended, .generation = t->generation, .set = sets,
		.nset = t->nvalues, .plan = rp,
	};
	if (p->tls[i].cert_pem) {
		*tls = (struct render_tls){ p->tls[i].cert_pem, p->tls[i].key_pem };
		rt->tls = tls;
	}
	return 0;
}

int pass_tenant_render(struct pass *p, size_t i, json_t *out, struct err *e)
{
	struct render_set sets[TENANT_VALUES_MAX];
	struct render_tenant rt;
	struct render_plan rp;
	struct render_tls tls;
	char why[512];

	if (p->tenants.v[i].nvalues > TENANT_VALUES_MAX)
		return err_set(e, EXIT_RUNTIME, "values: more than %d", TENANT_VALUES_MAX);
	if (render_input(p, i, &rt, &rp, sets, &tls, why, sizeof(why)) < 0)
		return err_set(e, EXIT_RUNTIME, "%s", why);
	return render_tenant(p->cfg->render, &rt, &p->cred[i], out, e);
}

/* Reuses what the cluster holds; only a password that is not there yet is
 * made, once, from the CSPRNG: from then on the Secret holds it. */
static int credentials_for(const struct pass *p, const char *tenant, struct render_credentials *cred,
			   struct err *e)
{
	const struct observed *secret = pass_credentials_find(p, tenant);

	for (int k = 0; k < RENDER_NSERVICES; k++) {
		unsigned char raw[32];
		if (secret && secret->passwords[k] && strlen(secret->passwords[k]) < sizeof(cred->password[k])) {
			snprintf(cred->password[k], sizeof(cred->password[k]), "%s", secret->passwords[k]);
			continue;
		}
		if (util_random_bytes(raw, sizeof(raw), e) < 0)
			return -1;
		util_hex(raw, sizeof(raw), cred->password[k]);
		OPENSSL_cleanse(raw, sizeof(raw));
	}
	return 0;
}

/* An operator's certificate for the host (tls.h), while it covers the host
 * and has not expired: 0 with *pair filled, 1 when there is none to use. */
static int tls_operator(struct pass *p, const struct tenant *t, struct tls_pair *pair, struct err *e)
{
	char dir[PATH_MAX];
	int rc;

	tls_store_dir_for_state(p->cfg->state_path, dir, sizeof(dir));
	rc = tls_store_for_host(dir, t->name, t->host, pair, e);
	if (rc != 0)
		return rc;
	if (tls_serves(pair->cert_pem, t->host, time(NULL))) {
		pair->from_operator = true;
		return 0;
	}
	tls_pair_free(pair);
	return 1;
}

/* The host's certificate: an operator's, else the one its TLS Secret holds
 * while this CA issued it for this host and it is not due for renewal (so a
 * pass in sync writes nothing), else a new one. A dry run shows placeholders. */
static int tls_for(struct pass *p, size_t i, bool dry, struct err *e)
{
	const struct tenant *t = &p->tenants.v[i];
	const struct observed *s;
	struct tls_pair *pair = &p->tls[i];
	int rc;

	if (!dry && p->ca && (rc = tls_operator(p, t, pair, e)) <= 0)
		return rc;
	if (dry) {
		pair->cert_pem = strdup("REDACTED");
		pair->key_pem = strdup("REDACTED");
	} else if (!p->ca) {
		return 0;
	} else if ((s = pass_tls_find(p, t->name)) &&
		   tls_reusable(p->ca, s->tls_cert, s->tls_key, t->host, time(NULL), &pair->not_after)) {
		pair->cert_pem = strdup(s->tls_cert);
		pair->key_pem = strdup(s->tls_key);
	} else {
		return tls_issue(p->ca, t->host, time(NULL), pair, e);
	}
	if (!pair->cert_pem || !pair->key_pem)
		return err_errno(e, ENOMEM, "certificate");
	return 0;
}

/* Adds object `index` of tenant `tenant`'s rendering to p->desired. */
static int desired_add(struct pass *p, size_t tenant, json_t *obj, size_t index)
{
	json_t *md = json_object_get(obj, "metadata");
	const char *hash = json_string_value(json_object_get(json_object_get(md, "annotations"),
							     RENDER_ANNOTATION_HASH));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const struct kube_resource *res = kind ? kube_resource_find(kind) : NULL;
	struct diff_object *d;

	if (!res || !hash || !(d = pass_grow(p->desired, p->ndesired, &p->capdesired, sizeof(*d))))
		return -1;
	p->desired = d;
	d = memset(&d[p->ndesired], 0, sizeof(*d));
	d->kind = res->kind;
	d->ns = pass_strdup(p, json_string_value(json_object_get(md, "namespace")));
	d->name = pass_strdup(p, json_string_value(json_object_get(md, "name")));
	d->tenant = p->tenants.v[tenant].name;
	d->role = object_role(obj);
	d->managed = true;
	d->index = index;
	d->needs = render_needs(d->kind, d->role, d->name);
	snprintf(d->hash, sizeof(d->hash), "%s", hash);
	if (!d->name || (json_object_get(md, "namespace") && !d->ns))
		return -1;
	p->ndesired++;
	pass_drift_mark(p, d, obj);
	return 0;
}

/* A dry run has no cluster to read the real passwords from, and never prints them. */
static void credentials_redacted(struct render_credentials *cred)
{
	for (int svc = 0; svc < RENDER_NSERVICES; svc++)
		snprintf(cred->password[svc], sizeof(cred->password[svc]), "REDACTED");
}

/* Renders tenant i; one that cannot be rendered is marked invalid, with why. */
static int desired_render_tenant(struct pass *p, size_t i, json_t *dry, struct err *e)
{
	json_t *objs, *obj;
	struct err why = { 0 };
	size_t k;
	int rc = 0;

	if (dry)
		credentials_redacted(&p->cred[i]);
	else if (credentials_for(p, p->tenants.v[i].name, &p->cred[i], e) < 0)
		return -1;
	if ((dry ? p->cfg->ca_dir != NULL : p->ca != NULL) && tls_for(p, i, dry, e) < 0)
		return -1;
	objs = json_array();
	if (!objs)
		return err_errno(e, ENOMEM, "render");
	if (pass_tenant_render(p, i, objs, &why) < 0) {
		if (!(p->invalid[i] = strdup(why.msg)))
			rc = err_errno(e, ENOMEM, "render");
		p->diff_tenants[i].invalid = p->invalid[i];
		json_decref(objs);
		return rc;
	}
	json_array_foreach(objs, k, obj) {
		if (dry ? json_array_append(dry, obj) < 0 : desired_add(p, i, obj, k) < 0) {
			rc = err_errno(e, ENOMEM, "render");
			break;
		}
	}
	json_decref(objs);
	return rc;
}

int pass_desired_render(struct pass *p, json_t *dry, struct err *e)
{
	for (size_t i = 0; i < p->tenants.n; i++) {
		const struct tenant *t = &p->tenants.v[i];

		p->diff_tenants[i] = (struct diff_tenant){ t->name, t->invalid };
		if (!t->invalid && desired_render_tenant(p, i, dry, e) < 0)
			return -1;
	}
	return 0;
}
