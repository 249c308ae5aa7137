#include "probe-kube.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kube.h"
#include "kubeconfig.h"

/* k3s writes the kubeconfig when it starts (and a fresh k3s may write new
 * credentials), so the client is rebuilt whenever the file changes. */
struct probe_kube {
	char *path;
	struct kube *k;
	struct kubeconfig *kc; /* the client's credentials point into it */
	struct stat seen;
};

static int client(struct probe_kube *pk, struct kube **out, struct err *e)
{
	/* One attempt with a short timeout: the daemon's poll is the retry, and
	 * a blocked call would hold up its signals and watchdog. */
	static const struct kube_options opt = {
		.max_inflight = 2, .max_attempts = 1, .retry_budget_ms = 5000, .timeout_ms = 5000,
		.backoff_ms = 100,
	};
	struct kubeconfig *kc = NULL;
	struct kube *k = NULL;
	struct stat st;

	if (stat(pk->path, &st) < 0)
		return err_errno(e, errno, "kubeconfig %s", pk->path);
	if (pk->k && st.st_ino == pk->seen.st_ino && st.st_size == pk->seen.st_size &&
	    st.st_mtim.tv_sec == pk->seen.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == pk->seen.st_mtim.tv_nsec) {
		*out = pk->k;
		return 0;
	}
	if (kubeconfig_load(pk->path, &kc, e) < 0)
		return -1;
	if (kube_new(kc, &opt, &k, e) < 0) {
		kubeconfig_free(kc);
		return -1;
	}
	kube_free(pk->k);
	kubeconfig_free(pk->kc);
	pk->k = k;
	pk->kc = kc;
	pk->seen = st;
	*out = k;
	return 0;
}

static int kp_readyz(void *ctx, struct err *e)
{
	struct kube *k;

	if (client(ctx, &k, e) < 0)
		return -1;
	return kube_get_path(k, "/readyz", e) < 0 ? -1 : 0;
}

static bool condition(json_t *obj, const char *type, json_t **found)
{
	json_t *conds = json_object_get(json_object_get(obj, "status"), "conditions"), *c;
	size_t i;

	json_array_foreach(conds, i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *s = json_string_value(json_object_get(c, "status"));
		if (t && s && !strcmp(t, type) && !strcmp(s, "True")) {
			*found = c;
			return true;
		}
	}
	return false;
}

static int get(void *ctx, const struct kube_resource *res, const char *ns, const char *name,
	       json_t **obj, struct err *e)
{
	struct kube_request req = { .verb = KUBE_GET, .res = res, .ns = ns, .name = name };
	struct kube *k;

	if (client(ctx, &k, e) < 0)
		return -1;
	return kube_call(k, &req, obj, e);
}

static int kp_job(void *ctx, const char *ns, const char *name, enum job_phase *phase,
		  char *reason, size_t len, struct err *e)
{
	json_t *job = NULL, *c;
	int r = get(ctx, kube_resource_find("Job"), ns, name, &job, e);

	if (r == -ENOENT) {
		*phase = JOB_ABSENT;
		return 0;
	}
	if (r < 0)
		return -1;
	if (condition(job, "Failed", &c)) {
		*phase = JOB_FAILED;
		snprintf(reason, len, "%s%s%s",
			 json_string_value(json_object_get(c, "reason")) ?: "Failed",
			 json_string_value(json_object_get(c, "message")) ? ": " : "",
			 json_string_value(json_object_get(c, "message")) ?: "");
	} else if (condition(job, "Complete", &c) ||
		   json_integer_value(json_object_get(json_object_get(job, "status"), "succeeded")) > 0) {
		*phase = JOB_SUCCEEDED;
	} else {
		*phase = JOB_RUNNING;
	}
	json_decref(job);
	return 0;
}

static int kp_workload(void *ctx, const char *ns, const char *kind, const char *name,
		       unsigned *ready, unsigned *want, struct err *e)
{
	static const struct kube_resource deploy = { "Deployment", "apps", "v1", "deployments", true };
	static const struct kube_resource sts = { "StatefulSet", "apps", "v1", "statefulsets", true };
	json_t *obj = NULL, *replicas;
	int r = get(ctx, strcmp(kind, "StatefulSet") ? &deploy : &sts, ns, name, &obj, e);

	if (r == -ENOENT) {
		*ready = 0;
		*want = 1;
		return 0;
	}
	if (r < 0)
		return -1;
	/* spec.replicas defaults to 1; status.readyReplicas is omitted when 0. */
	replicas = json_object_get(json_object_get(obj, "spec"), "replicas");
	*want = json_is_integer(replicas) ? (unsigned)json_integer_value(replicas) : 1;
	*ready = (unsigned)json_integer_value(
		json_object_get(json_object_get(obj, "status"), "readyReplicas"));
	json_decref(obj);
	return 0;
}

static const struct probe_ops kube_ops = { kp_readyz, kp_job, kp_workload };

int probe_kube_init(struct probe *p, const char *kubeconfig, struct err *e)
{
	struct probe_kube *pk = calloc(1, sizeof(*pk));

	if (!pk || !(pk->path = strdup(kubeconfig))) {
		free(pk);
		return err_errno(e, ENOMEM, "probe");
	}
	p->ops = &kube_ops;
	p->ctx = pk;
	return 0;
}

int probe_kube_retarget(struct probe *p, const char *kubeconfig, struct err *e)
{
	struct probe_kube *pk = p->ctx;
	char *path;

	if (!strcmp(pk->path, kubeconfig))
		return 0;
	if (!(path = strdup(kubeconfig)))
		return err_errno(e, ENOMEM, "probe");
	free(pk->path);
	pk->path = path;
	kube_free(pk->k);
	kubeconfig_free(pk->kc);
	pk->k = NULL;
	pk->kc = NULL;
	return 0;
}

void probe_kube_fini(struct probe *p)
{
	struct probe_kube *pk = p->ctx;

	if (pk) {
		kube_free(pk->k);
		kubeconfig_free(pk->kc);
		free(pk->path);
	}
	free(pk);
	p->ctx = NULL;
}
