/* What a tenant becomes in the cluster: a pure function from the tenant, its
 * plan and its credentials to an ordered list of Kubernetes objects (jansson).
 * Same input, same bytes: keys are sorted when serialised, the order of the
 * list is fixed, and each object carries the hash of its own content in the
 * `outpost.dev/hash` annotation so the reconciler compares objects by one
 * string instead of field by field.
 *
 * Placement decisions (see the comments in render.c for the reasons):
 *  - the app's HelmChart lives in kube-system with targetNamespace t-<name>;
 *  - the app chart makes the tenant's Ingress, so render makes none;
 *  - provisioning Jobs run in the platform namespace next to the services,
 *    reading a copy of the tenant's passwords there (outpost-tenant-<name>). */
#ifndef OUTPOST_RENDER_H
#define OUTPOST_RENDER_H

#include <jansson.h>
#include <stdbool.h>

#include "err.h"

#define RENDER_LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define RENDER_MANAGED_BY "outpost"
#define RENDER_LABEL_TENANT "outpost.dev/tenant"
#define RENDER_ANNOTATION_HASH "outpost.dev/hash"
/* Marks the role of an object inside a tenant ("namespace", "app", "data",
 * "deprovision") so teardown can order its deletions from a list alone. */
#define RENDER_LABEL_ROLE "outpost.dev/role"

/* The hash annotation's value: 32 hex digits of SHA-256. */
#define RENDER_HASH_LEN 32

/* The per-tenant data services, in the order their Jobs are listed. */
enum render_service { RENDER_PG, RENDER_REDIS, RENDER_MINIO, RENDER_KEYCLOAK, RENDER_NSERVICES };

struct render_config {
	const char *platform_namespace;  /* "outpost-platform" */
	const char *ingress_namespace;   /* where the ingress controller runs: "kube-system" */
	const char *dns_namespace;       /* cluster DNS: "kube-system" */
	const char *helm_namespace;      /* where HelmCharts live: "kube-system" */
	const char *scripts_configmap;   /* "outpost-provision-scripts" */
	/* The client image of each service (psql, valkey-cli, mc, kcadm.sh), from
	 * images/images.lock. */
	const char *job_image[RENDER_NSERVICES];
};

/* The defaults matching charts/ (the platform namespace, the Traefik packaged by k3s). */
extern const struct render_config render_config_default;

struct render_plan {
	const char *name;
	int cpu_request_m;      /* millicores */
	int cpu_limit_m;
	int memory_request_mib;
	int memory_limit_mib;
	int storage_gib;
	int max_pods;
	int max_replicas;       /* 1: a fixed single pod; more: the app's HPA scales 1..max */
};

/* The app's CPU target for its HorizontalPodAutoscaler: the average
 * utilisation of the pods' requests. */
#define RENDER_HPA_CPU_PERCENT 70

/* One `--set key=value`: a dotted path into the app chart's values. */
struct render_set {
	const char *key;
	const char *value;
};

/* The tenant host's certificate (PEM, the chain after the leaf) and its key:
 * a kubernetes.io/tls Secret that the app's Ingress serves. */
struct render_tls {
	const char *cert_pem;
	const char *key_pem;
};

struct render_tenant {
	const char *name;          /* DNS-1123 label, already validated */
	const char *app;           /* app chart name in charts/apps ("site", "webapp") */
	const char *app_version;   /* that chart's version: the static URL names it */
	const char *host;          /* the tenant's public host name */
	bool suspended;            /* keep data, scale the app to zero */
	long long generation;      /* desired-state generation, recorded in an annotation */
	const struct render_set *set;
	size_t nset;
	const struct render_plan *plan;
	const struct render_tls *tls; /* NULL: plain HTTP */
};

/* What a rendered object needs from the platform before it may be applied
 * (the reconciler withholds it until then): a bit per data service
 * (1u << RENDER_PG, ...) and one for the provisioning scripts' ConfigMap. Only
 * the provisioning and deprovisioning Jobs and the Jobs' copy of the passwords
 * need anything; the rest of a tenant (namespace, quota, policies, its own
 * Secret, the app) needs only the API. */
#define RENDER_NEED_SCRIPTS (1u << RENDER_NSERVICES)
#define RENDER_NEED_ALL ((RENDER_NEED_SCRIPTS << 1) - 1)

/* The platform component (charts/platform.json) behind each need bit. */
extern const char *const render_need_component[RENDER_NSERVICES + 1];

/* The needs of a rendered or listed object, from its kind, its
 * outpost.dev/role label and its name (0: none). */
unsigned render_needs(const char *kind, const char *role, const char *name);

/* Generated once (reconcile), then read back from the cluster on every pass:
 * one password per data service, 64 hex digits (32 bytes of the CSPRNG). */
struct render_credentials {
	char password[RENDER_NSERVICES][65];
};

/* The key of each service's password in the tenant Secret (charts/provision). */
extern const char *const render_password_key[RENDER_NSERVICES];

/* Appends the tenant's objects to `out` (a JSON array) in apply order:
 * Namespace first, then what lives in it, then the platform-side objects. */
int render_tenant(const struct render_config *cfg, const struct render_tenant *t,
		  const struct render_credentials *cred, json_t *out, struct err *e);

/* The deprovisioning Jobs of a removed tenant (the data phase of teardown). */
int render_deprovision(const struct render_config *cfg, const char *tenant, json_t *out,
		       struct err *e);

/* Names used by render and the reconciler. `buf` holds at least 128 bytes. */
void render_namespace_name(const char *tenant, char *buf, size_t len);
void render_secret_name(const char *tenant, char *buf, size_t len);
void render_platform_secret_name(const char *tenant, char *buf, size_t len);
void render_tls_secret_name(const char *tenant, char *buf, size_t len);

/* The content hash of an object (ignoring any hash annotation it carries). */
int render_hash(const json_t *obj, char out[RENDER_HASH_LEN + 1]);

/* Canonical serialisation: sorted keys, compact. Caller frees. */
char *render_dump(const json_t *obj);

#endif
