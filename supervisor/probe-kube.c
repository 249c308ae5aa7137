#include "probe-kube.h"

#include <stdlib.h>
#include <string.h>

/* PLACEHOLDER until the reconcile branch's kube.c lands: every question
 * fails, so the supervisor never claims the API is ready. */
struct probe_kube {
	char *kubeconfig;
};

static int no_client(struct err *e)
{
	return err_set(e, EXIT_RUNTIME, "Kubernetes client not available in this build");
}

static int kp_readyz(void *ctx, struct err *e)
{
	(void)ctx;
	return no_client(e);
}

static int kp_job(void *ctx, const char *ns, const char *name, enum job_phase *phase,
		  char *reason, size_t len, struct err *e)
{
	(void)ctx; (void)ns; (void)name; (void)phase; (void)reason; (void)len;
	return no_client(e);
}

static int kp_workload(void *ctx, const char *ns, const char *kind, const char *name,
		       unsigned *ready, unsigned *want, struct err *e)
{
	(void)ctx; (void)ns; (void)kind; (void)name; (void)ready; (void)want;
	return no_client(e);
}

static const struct probe_ops kube_ops = { kp_readyz, kp_job, kp_workload };

int probe_kube_init(struct probe *p, const char *kubeconfig, struct err *e)
{
	struct probe_kube *k = calloc(1, sizeof(*k));

	if (!k || !(k->kubeconfig = strdup(kubeconfig))) {
		free(k);
		return err_set(e, EXIT_RUNTIME, "out of memory");
	}
	p->ops = &kube_ops;
	p->ctx = k;
	return 0;
}

void probe_kube_fini(struct probe *p)
{
	struct probe_kube *k = p->ctx;

	if (k)
		free(k->kubeconfig);
	free(k);
	p->ctx = NULL;
}
