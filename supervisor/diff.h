/* The reconciler's decision, as a pure function: what is rendered (desired)
 * against what the cluster holds (observed, from one labelled list per kind)
 * gives the actions of one pass and each tenant's status. No I/O here, so the
 * safety rules are tested table by table:
 *  - an object is changed or deleted only when it carries BOTH ownership labels
 *    (app.kubernetes.io/managed-by=outpost and outpost.dev/tenant=<tenant>);
 *  - creation never overwrites: a create is a POST, which fails on an existing
 *    object (the executor then looks at that object's labels);
 *  - a removed tenant is torn down in order: its app, then its data
 *    (deprovisioning Jobs, waited for), then its namespace and the rest;
 *  - an object that needs a platform service which is not ready (the
 *    provisioning and deprovisioning Jobs: render_needs) is withheld, and its
 *    tenant waits, Provisioning or Deleting, naming the services: never Failed
 *    for that, and the rest of the tenant goes ahead;
 *  - drift inside an object (`drifted`: a field the rendering sets changed in
 *    the cluster) is repaired by the same apply; it is no change of the
 *    tenant, so a Ready tenant stays Ready. Jobs are immutable: never;
 *  - a tenant is Ready once its app is installed: helm-controller's
 *    helm-install Job of the tenant's HelmChart succeeded. */
#ifndef OUTPOST_DIFF_H
#define OUTPOST_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "render.h"

enum diff_job { DIFF_JOB_NONE, DIFF_JOB_RUNNING, DIFF_JOB_SUCCEEDED, DIFF_JOB_FAILED };

/* One object, rendered or listed. Strings are borrowed from the caller. */
struct diff_object {
	const char *kind;
	const char *ns;        /* NULL for cluster-scoped objects */
	const char *name;
	const char *tenant;    /* the outpost.dev/tenant label, or NULL */
	const char *role;      /* the outpost.dev/role label, or NULL */
	bool managed;          /* app.kubernetes.io/managed-by=outpost */
	bool terminating;      /* observed: deletionTimestamp set / namespace Terminating */
	enum diff_job job;     /* observed Jobs, and a tenant's HelmChart (its
	                        * helm-install Job): how far they got */
	const char *failure;   /* observed: why it failed (Job, HelmChart), or NULL */
	/* Observed: the hash matches but a field the rendering sets was changed
	 * in the cluster (drift.h). The caller computes it on full passes only. */
	bool drifted;
	char hash[RENDER_HASH_LEN + 1];
	size_t index;          /* desired: position in the tenant's rendering */
	unsigned needs;        /* render_needs(): the platform it waits for */
};

struct diff_tenant {
	const char *name;
	/* Why the tenant's row is invalid, or NULL. Such a tenant is Failed with
	 * this reason: nothing is applied and nothing it owns is pruned, so a bad
	 * row never tears a tenant down. */
	const char *invalid;
};

enum diff_op {
	DIFF_CREATE,      /* POST the desired object */
	DIFF_APPLY,       /* server-side apply: the hash differs */
	DIFF_REPAIR,      /* server-side apply: same hash, fields drifted (not Jobs) */
	DIFF_REPLACE,     /* immutable (Job): delete, recreated on a later pass */
	DIFF_DELETE,      /* prune or teardown: an owned object not rendered */
	DIFF_DEPROVISION, /* teardown's data step: apply the deprovisioning Jobs */
};

struct diff_action {
	enum diff_op op;
	const char *tenant;
	const struct diff_object *obj; /* desired for CREATE/APPLY, observed otherwise; NULL for DEPROVISION */
	const struct diff_object *observed; /* APPLY, REPAIR: the observed object it is applied over */
	unsigned services;     /* DEPROVISION: the services (1u << svc) whose Jobs to create */
};

enum diff_status { DIFF_PENDING, DIFF_PROVISIONING, DIFF_READY, DIFF_FAILED, DIFF_DELETING };

struct diff_report {
	const char *tenant;
	enum diff_status status;
	size_t nactions;      /* actions that change the tenant (drift repairs are not counted) */
	char reason[256];     /* FAILED / waiting: why, naming the object */
	unsigned waiting;     /* need bits (render.h) not ready that withheld something */
};

struct diff_result {
	struct diff_action *actions;
	size_t nactions;
	/* Desired tenants first (input order), then each removed tenant that still
	 * owns something. A removed tenant with no report owns nothing any more:
	 * its status row may go. */
	struct diff_report *reports;
	size_t nreports;
};

/* `desired` holds the objects rendered for the valid tenants; `observed`
 * what the labelled lists returned; `ready` the need bits (render.h) the
 * platform meets now (RENDER_NEED_ALL: everything). Returns 0, or -1 when out
 * of memory. */
int diff_compute(const struct diff_tenant *tenants, size_t ntenants,
		 const struct diff_object *desired, size_t ndesired,
		 const struct diff_object *observed, size_t nobserved, unsigned ready,
		 struct diff_result *out);

void diff_result_free(struct diff_result *r);

const char *diff_status_name(enum diff_status s);

/* Orders objects by kind, namespace, name: the key a rendering and what the
 * cluster holds are matched by. */
int diff_object_cmp(const struct diff_object *a, const struct diff_object *b);

/* "Kind ns/name" or "Kind name" into buf. */
void diff_object_label(const struct diff_object *o, char *buf, size_t len);

#endif
