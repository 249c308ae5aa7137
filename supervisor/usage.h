/* What each tenant uses, from metrics-server: the PodMetrics of the tenant's
 * namespace (metrics.k8s.io/v1beta1) summed, beside its plan's quota. The
 * arithmetic and the order are pure (usage.c, tested in check_usage); the
 * one request is in usage-fetch.c. */
#ifndef OUTPOST_USAGE_H
#define OUTPOST_USAGE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "tenant.h"

struct usage_row {
	const struct tenant *tenant; /* borrowed from the list given */
	const struct plan *plan;     /* borrowed; NULL when the plan is unknown */
	int64_t cpu_m;               /* millicores in use */
	int64_t memory_bytes;
	size_t pods;                 /* pods with metrics */
};

/* One row per tenant of `l`, in its order, with the PodMetrics `items` (a
 * JSON array) of its namespace summed; items of other namespaces are left
 * out. Returns 0, or -1 with e set when an item's usage is not a quantity
 * (the error names the pod). free(*out). */
int usage_rows(const struct tenant_list *l, const struct plan *plans, size_t nplans,
	       const json_t *items, struct usage_row **out, struct err *e);

/* Most CPU first, then most memory, then by name. */
void usage_sort(struct usage_row *rows, size_t n);

/* used as a whole percentage of `of` (rounded down); -1 when `of` is 0. */
int usage_percent(int64_t used, int64_t of);

/* The row's CPU and memory as percentages of its plan's limits; -1 each
 * when the plan is unknown. */
void usage_shares(const struct usage_row *r, int *cpu_pct, int *mem_pct);

/* Bytes as whole MiB, rounded up (what the table and the sentence show). */
int64_t usage_mib(int64_t bytes);

/* "120m of 500m (24%), 80 MiB of 768 MiB (10%), 1 pod" for a person. */
void usage_describe(const struct usage_row *r, char *out, size_t size);

/* One row as JSON: name, plan, cpu_millicores, cpu_limit_millicores,
 * cpu_percent, memory_bytes, memory_limit_bytes, memory_percent, pods (the
 * limits and percentages null when the plan is unknown). */
json_t *usage_json(const struct usage_row *r);

/* The PodMetrics of every namespace, through the API at `kubeconfig`
 * (NULL: k3s's), with short timeouts: the caller shows the rest without
 * them. Returns 0 and *items (decref), or -1 with e saying why usage is
 * unavailable ("metrics-server does not serve metrics.k8s.io", the API's
 * answer, or the kubeconfig's problem). */
int usage_fetch(const char *kubeconfig, json_t **items, struct err *e);

#endif
