/* Tenant usage: the one request (usage.h). */
#include "usage.h"

#include <errno.h>

#include "kube.h"
#include "kubeconfig.h"

static const struct kube_resource pod_metrics = { "PodMetrics", "metrics.k8s.io", "v1beta1", "pods", true };

int usage_fetch(const char *kubeconfig, json_t **items, struct err *e)
{
	/* A person waits for this: a down API answers within seconds. */
	struct kube_options opt = { .max_attempts = 2, .timeout_ms = 5000, .retry_budget_ms = 5000 };
	struct kubeconfig *kc = NULL;
	struct kube *k = NULL;
	int rc = -1;

	*items = NULL;
	if (kubeconfig_load(kubeconfig ? kubeconfig : KUBECONFIG_DEFAULT, &kc, e) < 0 ||
	    kube_new(kc, &opt, &k, e) < 0)
		goto out;
	rc = kube_list_array(k, &pod_metrics, "", 500, items, e);
	if (rc == -ENOENT)
		err_set(e, EXIT_RUNTIME, "metrics-server does not serve metrics.k8s.io");
out:
	kube_free(k);
	kubeconfig_free(kc);
	return rc < 0 ? -1 : 0;
}
