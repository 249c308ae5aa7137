/* The few questions the supervisor asks the Kubernetes API, behind one small
 * interface: the daemon uses the real client (probe-kube.c over kube.c), the tests
 * a scripted stub. */
#ifndef OUTPOST_PROBE_H
#define OUTPOST_PROBE_H

#include <stddef.h>

#include "err.h"

enum job_phase {
	JOB_ABSENT,    /* not created yet (helm-controller has not seen the HelmChart) */
	JOB_RUNNING,
	JOB_SUCCEEDED, /* condition Complete=True or status.succeeded > 0 */
	JOB_FAILED,    /* condition Failed=True: the reason goes with it */
};

struct probe_ops {
	/* 0 when GET /readyz answers 200, else -1 with the reason in e. */
	int (*readyz)(void *ctx, struct err *e);
	int (*job)(void *ctx, const char *ns, const char *name, enum job_phase *phase,
		   char *reason, size_t reason_len, struct err *e);
	/* kind is "Deployment" or "StatefulSet"; an absent workload is 0 of 1 ready. */
	int (*workload)(void *ctx, const char *ns, const char *kind, const char *name,
			unsigned *ready, unsigned *want, struct err *e);
};

struct probe {
	const struct probe_ops *ops;
	void *ctx;
};

const char *job_phase_name(enum job_phase p);

#endif
