/* The platform's components (charts/platform.json): their dependency order
 * (pure) and a readiness state machine per component, fed with observations
 * from the API (job and workload status) by platform_poll(). */
#ifndef OUTPOST_PLATFORM_H
#define OUTPOST_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "probe.h"

/* k3s's helm-controller runs `helm-install-<helmchart>` in the namespace of
 * the HelmChart object; k3s's packaged charts (traefik) and the manifests
 * install writes live in kube-system. */
#define PLATFORM_HELMCHART_NAMESPACE "kube-system"

enum pc_state {
	PC_PENDING,    /* a dependency is not ready */
	PC_INSTALLING, /* waiting for helm-install-<helmchart> to succeed */
	PC_STARTING,   /* installed; waiting for every workload's replicas to be ready */
	PC_READY,
	PC_FAILED,     /* reason set; re-evaluated, and retried after the retry delay */
	PC_STATE_COUNT
};

struct platform_workload {
	char *kind; /* Deployment | StatefulSet */
	char *name;
};

struct platform_component {
	char *name, *helmchart, *namespace;
	struct platform_workload *workloads;
	size_t nworkloads;
	char **depends;
	size_t ndepends;
	size_t *dep; /* indexes of depends[] in platform.c, resolved by platform_order */

	enum pc_state state;
	uint64_t since;    /* when the current wait began (for the timeout) */
	uint64_t retry_at; /* PC_FAILED: when to start a fresh attempt */
	char reason[256];  /* PC_FAILED: why; otherwise what is awaited */
};

struct platform {
	struct platform_component *c;
	size_t n;
	size_t *order; /* dependency order: every component after its dependencies */
	uint64_t timeout; /* a component not ready this long after its wait began fails */
	uint64_t retry;   /* a failed component is retried after this long */
};

/* What the API said about one component in one poll. */
struct pc_obs {
	bool api_error;          /* the questions could not be asked: keep the state */
	enum job_phase job;
	char job_reason[128];
	unsigned wl_ready, wl_total; /* workloads with all replicas ready, workloads */
	char wl_waiting[128];    /* the first workload not ready, e.g. "StatefulSet/redis 0/1" */
};

/* Parses a platform.json text; `what` names it in errors. Resolves and orders
 * the dependencies (platform_order). */
int platform_parse(const char *json, const char *what, struct platform **out, struct err *e);
int platform_load(const char *path, struct platform **out, struct err *e);
void platform_free(struct platform *p);

/* Resolves depends[] to indexes and computes p->order: unknown dependencies,
 * duplicates and cycles are errors that name the components. Pure. */
int platform_order(struct platform *p, struct err *e);

/* One step of every component's machine from this poll's observations
 * (obs[i] for component i; only components in PC_PENDING may lack one).
 * Returns how many components changed state. Pure. */
size_t platform_step(struct platform *p, const struct pc_obs *obs, uint64_t now);

/* Asks the API about every component whose dependencies are ready, then steps. */
size_t platform_poll(struct platform *p, const struct probe *probe, uint64_t now);

/* Starts a pending component as Ready: what an earlier process last saw (the
 * status rows), so a new one neither reports the platform down nor holds
 * tenants back while it walks the dependency chain again. The next poll
 * checks it like any ready component: one no longer up goes back to Starting. */
void platform_assume_ready(struct platform *p, const char *name, uint64_t now);

size_t platform_ready_count(const struct platform *p);
bool platform_is_ready(const struct platform *p, const char *name);
const char *pc_state_name(enum pc_state s);

#endif
