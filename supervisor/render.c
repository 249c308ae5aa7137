#include "render.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Why the objects look the way they do:
 *
 * HelmChart in kube-system, not in the tenant namespace: k3s's helm-controller
 * runs the install Job (klipper-helm) in the HelmChart's own namespace. That Job
 * talks to the API server and fetches the chart from its /static endpoint, which
 * the tenant namespace's default-deny egress policy forbids, and its pod would
 * count against the tenant's quota and be judged by the `restricted` Pod
 * Security level. With targetNamespace the release still lands in t-<name>, the
 * tenant cannot edit its own HelmChart, and deleting the HelmChart makes the
 * controller uninstall the release, which is the first step of teardown.
 *
 * No Ingress here: every chart in charts/apps makes the Ingress for `host`
 * itself (issue 6). A second Ingress for the same host would make Traefik pick
 * one of two routers arbitrarily.
 *
 * Provisioning Jobs in the platform namespace: they run the services' own
 * clients with the services' admin credentials, which must never be readable
 * from a tenant namespace. They read the tenant's password from a copy of it
 * kept in the platform namespace (t-<name>-provision), labelled like the rest. */

const struct render_config render_config_default = {
	.platform_namespace = "outpost-platform",
	.ingress_namespace = "kube-system",
	.dns_namespace = "kube-system",
	.helm_namespace = "kube-system",
	.scripts_configmap = "outpost-provision-scripts",
	/* images/images.lock */
	.job_image = {
		[RENDER_PG] = "docker.io/library/postgres:17.6-bookworm@sha256:"
			      "f3bd19c606e442c3d7bdfa8002e03fe260a1023351e0ea4598032022b68dd6e3",
		[RENDER_REDIS] = "docker.io/valkey/valkey:8.1.3@sha256:"
				 "fea8b3e67b15729d4bb70589eb03367bab9ad1ee89c876f54327fc7c6e618571",
		[RENDER_MINIO] = "quay.io/minio/mc:RELEASE.2025-08-13T08-35-41Z@sha256:"
				 "a7fe349ef4bd8521fb8497f55c6042871b2ae640607cf99d9bede5e9bdf11727",
		[RENDER_KEYCLOAK] = "quay.io/keycloak/keycloak:26.4.7@sha256:"
				    "9409c59bdfb65dbffa20b11e6f18b8abb9281d480c7ca402f51ed3d5977e6007",
	},
};

const char *const render_password_key[RENDER_NSERVICES] = {
	[RENDER_PG] = "pg-password",
	[RENDER_REDIS] = "redis-password",
	[RENDER_MINIO] = "s3-secret-key",
	[RENDER_KEYCLOAK] = "oidc-client-secret",
};

/* The interface of charts/provision (its README): the script, the uid the
 * image runs as, the memory its client needs, and the admin connection, from
 * the Secrets the platform charts make in the platform namespace. */
struct admin_env {
	const char *name, *value, *secret, *key;
};

static const struct service {
	const char *name;       /* script /scripts/<name>.sh and container name */
	int uid;
	const char *memory_limit;
	struct admin_env env[4];
} services[RENDER_NSERVICES] = {
	[RENDER_PG] = { "postgres", 999, "128Mi", {
		{ "PGHOST", "postgresql", NULL, NULL }, { "PGPORT", "5432", NULL, NULL },
		{ "PGUSER", "postgres", NULL, NULL }, { "PGPASSWORD", NULL, "postgresql", "postgres-password" } } },
	[RENDER_REDIS] = { "redis", 999, "128Mi", {
		{ "REDIS_HOST", "redis", NULL, NULL }, { "REDIS_PORT", "6379", NULL, NULL },
		{ "REDISCLI_AUTH", NULL, "redis", "default-password" } } },
	[RENDER_MINIO] = { "minio", 1000, "128Mi", {
		{ "MINIO_URL", "http://minio:9000", NULL, NULL },
		{ "MINIO_ROOT_USER", NULL, "minio", "root-user" },
		{ "MINIO_ROOT_PASSWORD", NULL, "minio", "root-password" } } },
	[RENDER_KEYCLOAK] = { "keycloak", 1000, "512Mi", {
		{ "KEYCLOAK_URL", "http://keycloak:8080", NULL, NULL },
		{ "KEYCLOAK_ADMIN", NULL, "keycloak", "admin-username" },
		{ "KC_CLI_PASSWORD", NULL, "keycloak", "admin-password" } } },
};

const char *const render_need_component[RENDER_NSERVICES + 1] = {
	[RENDER_PG] = "postgresql", [RENDER_REDIS] = "redis", [RENDER_MINIO] = "minio",
	[RENDER_KEYCLOAK] = "keycloak", [RENDER_NSERVICES] = "provision",
};

/* A Job of role data or deprovision is named <action>-<tenant>-<service> (see
 * job()); service names hold no '-', so the last one separates it. Read from
 * the name rather than a new label so Jobs made before answer the same. The
 * copy of the passwords for the Jobs waits with them: the platform namespace
 * it goes to is made by the platform's charts. */
unsigned render_needs(const char *kind, const char *role, const char *name)
{
	char copy[128];
	const char *dash;

	if (!kind || !role || !name)
		return 0;
	render_platform_secret_name("", copy, sizeof(copy));
	if (!strcmp(kind, "Secret"))
		return strcmp(role, "data") || strncmp(name, copy, strlen(copy)) ? 0 : RENDER_NEED_SCRIPTS;
	if (strcmp(kind, "Job") || (strcmp(role, "data") && strcmp(role, "deprovision")) ||
	    !(dash = strrchr(name, '-')))
		return 0;
	for (int svc = 0; svc < RENDER_NSERVICES; svc++)
		if (!strcmp(dash + 1, services[svc].name))
			return 1u << svc | RENDER_NEED_SCRIPTS;
	return 0;
}

/* The platform services' ports a tenant's pods may reach (charts/). */
static const int platform_ports[] = { 5432, 6379, 9000, 8080 };

void render_namespace_name(const char *tenant, char *buf, size_t len)
{
	snprintf(buf, len, "t-%s", tenant);
}

void render_secret_name(const char *tenant, char *buf, size_t len)
{
	snprintf(buf, len, "t-%s-credentials", tenant);
}

void render_platform_secret_name(const char *tenant, char *buf, size_t len)
{
	snprintf(buf, len, "outpost-tenant-%s", tenant);
}

void render_tls_secret_name(const char *tenant, char *buf, size_t len)
{
	snprintf(buf, len, "t-%s-tls", tenant);
}

char *render_dump(const json_t *obj)
{
	return json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
}

int render_hash(const json_t *obj, char out[RENDER_HASH_LEN + 1])
{
	json_t *ann = json_object_get(json_object_get(obj, "metadata"), "annotations");
	json_t *copy = NULL;
	unsigned char md[32];
	unsigned int mdlen = 0;
	char *text;
	int rc = -1;

	/* Copy only to drop a hash already stamped (emit hashes before stamping). */
	if (json_object_get(ann, RENDER_ANNOTATION_HASH)) {
		if (!(copy = json_deep_copy(obj)))
			return -1;
		json_object_del(json_object_get(json_object_get(copy, "metadata"), "annotations"),
				RENDER_ANNOTATION_HASH);
	}
	text = render_dump(copy ? copy : obj);
	if (text && EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL) == 1) {
		util_hex(md, RENDER_HASH_LEN / 2, out);
		rc = 0;
	}
	free(text);
	json_decref(copy);
	return rc;
}

/* A Secret's data value: base64 of the string, as the API stores it. */
static json_t *b64(const char *text)
{
	size_t n = strlen(text);
	char *buf = malloc(4 * ((n + 2) / 3) + 1);
	json_t *j;

	if (!buf)
		return NULL;
	EVP_EncodeBlock((unsigned char *)buf, (const unsigned char *)text, (int)n);
	j = json_string(buf);
	free(buf);
	return j;
}

/* metadata with both ownership labels, the role label and, for namespaced
 * objects, the namespace. */
static json_t *meta(const char *name, const char *ns, const char *tenant, const char *role)
{
	json_t *m = json_pack("{s:s, s:{s:s, s:s, s:s}, s:{}}", "name", name,
			      "labels", RENDER_LABEL_MANAGED_BY, RENDER_MANAGED_BY,
			      RENDER_LABEL_TENANT, tenant, RENDER_LABEL_ROLE, role,
			      "annotations");
	if (m && ns)
		json_object_set_new(m, "namespace", json_string(ns));
	return m;
}

static json_t *object(const char *api_version, const char *kind, json_t *metadata)
{
	return json_pack("{s:s, s:s, s:o}", "apiVersion", api_version, "kind", kind,
			 "metadata", metadata);
}

/* Seals an object: stamps its hash and appends it. Steals `obj`. */
static int emit(json_t *out, json_t *obj)
{
	char hash[RENDER_HASH_LEN + 1];
	json_t *ann;

	if (!obj)
		return -1;
	ann = json_object_get(json_object_get(obj, "metadata"), "annotations");
	if (!ann || render_hash(obj, hash) < 0 ||
	    json_object_set_new(ann, RENDER_ANNOTATION_HASH, json_string(hash)) < 0) {
		json_decref(obj);
		return -1;
	}
	return json_array_append_new(out, obj);
}

static json_t *quantity_m(int millicores)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%dm", millicores);
	return json_string(buf);
}

static json_t *quantity_mi(int mib)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%dMi", mib);
	return json_string(buf);
}

/* One app pod's share of the plan: with max_replicas pods, the quota still
 * holds them all (rounded down, so n * share <= the plan for every figure). */
static json_t *pod_resources(const struct render_plan *p)
{
	int n = p->max_replicas > 1 ? p->max_replicas : 1;

	return json_pack("{s:{s:o, s:o}, s:{s:o, s:o}}",
			 "requests", "cpu", quantity_m(p->cpu_request_m / n),
			 "memory", quantity_mi(p->memory_request_mib / n),
			 "limits", "cpu", quantity_m(p->cpu_limit_m / n),
			 "memory", quantity_mi(p->memory_limit_mib / n));
}

/* The app chart's HPA: only for a plan that scales out, and never while
 * suspended (an HPA's minReplicas would wake the app). */
static json_t *autoscaling(const struct render_tenant *t)
{
	bool on = t->plan->max_replicas > 1 && !t->suspended;

	return on ? json_pack("{s:b, s:i, s:i, s:i}", "enabled", 1, "minReplicas", 1, "maxReplicas",
			      t->plan->max_replicas, "targetCPUUtilizationPercentage",
			      RENDER_HPA_CPU_PERCENT)
		  : json_pack("{s:b}", "enabled", 0);
}

static json_t *ns_selector(const char *ns)
{
	return json_pack("{s:{s:{s:s}}}", "namespaceSelector", "matchLabels",
			 "kubernetes.io/metadata.name", ns);
}

static int render_namespace(const struct render_tenant *t, const char *ns, json_t *out)
{
	json_t *m = meta(ns, NULL, t->name, "namespace");
	json_t *labels = json_object_get(m, "labels");

	/* The app charts must run under the `restricted` Pod Security level. */
	json_object_set_new(labels, "pod-security.kubernetes.io/enforce", json_string("restricted"));
	json_object_set_new(labels, "pod-security.kubernetes.io/enforce-version", json_string("latest"));
	return emit(out, object("v1", "Namespace", m));
}

static int render_limits(const struct render_tenant *t, const char *ns, json_t *out)
{
	const struct render_plan *p = t->plan;
	char storage[32], pods[32];
	json_t *rq, *lr;

	snprintf(storage, sizeof(storage), "%dGi", p->storage_gib);
	/* A quantity, so a string: server-side apply converts the patch to its
	 * typed form and refuses a JSON number there (a POST accepts one). */
	snprintf(pods, sizeof(pods), "%d", p->max_pods);
	/* The quota is what admission granted the tenant; nothing in the
	 * namespace can add up to more. */
	rq = object("v1", "ResourceQuota", meta("quota", ns, t->name, "namespace"));
	json_object_set_new(rq, "spec", json_pack("{s:{s:o, s:o, s:o, s:o, s:s, s:s}}", "hard",
		"requests.cpu", quantity_m(p->cpu_request_m),
		"requests.memory", quantity_mi(p->memory_request_mib),
		"limits.cpu", quantity_m(p->cpu_limit_m),
		"limits.memory", quantity_mi(p->memory_limit_mib),
		"requests.storage", storage,
		"pods", pods));
	if (emit(out, rq) < 0)
		return -1;
	/* A container without resources gets the plan's figures, so the quota
	 * (which requires requests and limits) never rejects a chart's pod for
	 * leaving them out; no container may ask for more than the whole plan. */
	lr = object("v1", "LimitRange", meta("limits", ns, t->name, "namespace"));
	json_object_set_new(lr, "spec", json_pack("{s:[{s:s, s:{s:o, s:o}, s:{s:o, s:o}, s:{s:o, s:o}}]}",
		"limits", "type", "Container",
		"default", "cpu", quantity_m(p->cpu_limit_m), "memory", quantity_mi(p->memory_limit_mib),
		"defaultRequest", "cpu", quantity_m(p->cpu_request_m),
		"memory", quantity_mi(p->memory_request_mib),
		"max", "cpu", quantity_m(p->cpu_limit_m), "memory", quantity_mi(p->memory_limit_mib)));
	return emit(out, lr);
}

static int render_policies(const struct render_config *cfg, const struct render_tenant *t,
			   const char *ns, json_t *out)
{
	json_t *deny, *ingress, *egress, *ports;

	/* Empty podSelector + both policy types + no rules: nothing in, nothing out. */
	deny = object("networking.k8s.io/v1", "NetworkPolicy", meta("default-deny", ns, t->name, "namespace"));
	json_object_set_new(deny, "spec", json_pack("{s:{}, s:[s, s]}", "podSelector",
						    "policyTypes", "Ingress", "Egress"));
	if (emit(out, deny) < 0)
		return -1;

	/* Traefik (packaged by k3s) proxies from its own namespace to the app. */
	ingress = object("networking.k8s.io/v1", "NetworkPolicy",
			 meta("allow-ingress-controller", ns, t->name, "namespace"));
	json_object_set_new(ingress, "spec", json_pack("{s:{}, s:[s], s:[{s:[o]}]}",
		"podSelector", "policyTypes", "Ingress", "ingress", "from",
		ns_selector(cfg->ingress_namespace)));
	if (emit(out, ingress) < 0)
		return -1;

	ports = json_array();
	for (size_t i = 0; i < sizeof(platform_ports) / sizeof(platform_ports[0]); i++)
		json_array_append_new(ports, json_pack("{s:s, s:i}", "protocol", "TCP",
						       "port", platform_ports[i]));
	egress = object("networking.k8s.io/v1", "NetworkPolicy",
			meta("allow-egress-platform", ns, t->name, "namespace"));
	json_object_set_new(egress, "spec", json_pack(
		"{s:{}, s:[s], s:[{s:[o], s:[{s:s, s:i}, {s:s, s:i}]}, {s:[o], s:o}]}",
		"podSelector", "policyTypes", "Egress", "egress",
		"to", ns_selector(cfg->dns_namespace), "ports",
		"protocol", "UDP", "port", 53, "protocol", "TCP", "port", 53,
		"to", ns_selector(cfg->platform_namespace), "ports", ports));
	return emit(out, egress);
}

/* stringData would be turned into data by the server; render data itself so
 * what is listed back compares with what was rendered. */
static json_t *credentials_secret(const char *name, const char *ns, const char *tenant,
				  const struct render_credentials *cred)
{
	json_t *s = object("v1", "Secret", meta(name, ns, tenant, "data")), *data = json_object();

	if (!s || !data || json_object_set_new(s, "type", json_string("Opaque")) < 0 ||
	    json_object_set(s, "data", data) < 0)
		goto fail;
	for (int i = 0; i < RENDER_NSERVICES; i++)
		if (json_object_set_new(data, render_password_key[i], b64(cred->password[i])) < 0)
			goto fail;
	json_decref(data);
	return s;
fail:
	json_decref(data);
	json_decref(s);
	return NULL;
}

static int render_identity(const struct render_tenant *t, const struct render_credentials *cred,
			   const char *ns, json_t *out)
{
	char secret[128];
	json_t *sa, *s;

	/* The app never talks to the Kubernetes API: no token in its pods. */
	sa = object("v1", "ServiceAccount", meta("app", ns, t->name, "namespace"));
	json_object_set_new(sa, "automountServiceAccountToken", json_false());
	if (emit(out, sa) < 0)
		return -1;

	render_secret_name(t->name, secret, sizeof(secret));
	s = credentials_secret(secret, ns, t->name, cred);
	if (emit(out, s) < 0)
		return -1;
	if (!t->tls)
		return 0;
	/* The type the Ingress controller reads: tls.crt (leaf first) and tls.key. */
	render_tls_secret_name(t->name, secret, sizeof(secret));
	s = object("v1", "Secret", meta(secret, ns, t->name, "namespace"));
	if (!s || json_object_set_new(s, "type", json_string("kubernetes.io/tls")) < 0 ||
	    json_object_set_new(s, "data", json_pack("{s:o, s:o}", "tls.crt", b64(t->tls->cert_pem),
						     "tls.key", b64(t->tls->key_pem))) < 0) {
		json_decref(s);
		return -1;
	}
	return emit(out, s);
}

/* Places `value` at a dotted path ("image.tag") inside `values`, making the
 * intermediate objects; what was there is replaced, as helm's --set does. */
static int set_path(json_t *values, const char *path, json_t *value)
{
	char *copy = strdup(path), *save = NULL, *part, *next;
	json_t *at = values;
	int rc = -1;

	if (!copy || !value)
		goto out;
	part = strtok_r(copy, ".", &save);
	while (part) {
		next = strtok_r(NULL, ".", &save);
		if (!next) {
			rc = json_object_set(at, part, value);
			break;
		}
		json_t *child = json_object_get(at, part);
		if (!json_is_object(child)) {
			child = json_object();
			if (json_object_set_new(at, part, child) < 0)
				break;
		}
		at = child;
		part = next;
	}
out:
	json_decref(value);
	free(copy);
	return rc;
}

static int render_app(const struct render_config *cfg, const struct render_tenant *t,
		      const char *ns, json_t *out)
{
	char secret[128], chart[512], tls[128];
	json_t *values = json_object(), *hc;
	char *values_text;
	int rc;

	for (size_t i = 0; i < t->nset; i++)
		if (set_path(values, t->set[i].key, json_string(t->set[i].value)) < 0)
			goto fail;
	/* What Outpost owns is written after --set, so a tenant's values cannot
	 * lift its plan's resources or wake a suspended app (the CLI refuses new
	 * --set values on these keys: tenant_check_set_key). */
	render_secret_name(t->name, secret, sizeof(secret));
	if (json_object_set_new(values, "tenant", json_string(t->name)) < 0 ||
	    json_object_set_new(values, "host", json_string(t->host)) < 0 ||
	    json_object_set_new(values, "secretName", json_string(secret)) < 0 ||
	    json_object_set_new(values, "serviceAccountName", json_string("app")) < 0 ||
	    json_object_set_new(values, "resources", pod_resources(t->plan)) < 0 ||
	    json_object_set_new(values, "replicas", json_integer(t->suspended ? 0 : 1)) < 0 ||
	    json_object_set_new(values, "autoscaling", autoscaling(t)) < 0 ||
	    (t->tls && (render_tls_secret_name(t->name, tls, sizeof(tls)),
			set_path(values, "ingress.tlsSecretName", json_string(tls)) < 0)))
		goto fail;
	/* JSON is YAML (1.2): sorted and indented it is deterministic and readable. */
	values_text = json_dumps(values, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(values);
	values = NULL;
	if (!values_text)
		return -1;
	snprintf(chart, sizeof(chart), "https://%%{KUBERNETES_API}%%/static/charts/%s-%s.tgz",
		 t->app, t->app_version);
	hc = object("helm.cattle.io/v1", "HelmChart", meta(ns, cfg->helm_namespace, t->name, "app"));
	json_object_set_new(hc, "spec", json_pack("{s:s, s:s, s:s}", "chart", chart,
						  "targetNamespace", ns, "valuesContent", values_text));
	free(values_text);
	rc = emit(out, hc);
	return rc;
fail:
	json_decref(values);
	return -1;
}

static json_t *env_value(const char *name, const char *value)
{
	return json_pack("{s:s, s:s}", "name", name, "value", value);
}

static json_t *env_secret(const char *name, const char *secret, const char *key)
{
	return json_pack("{s:s, s:{s:{s:s, s:s}}}", "name", name, "valueFrom", "secretKeyRef",
			 "name", secret, "key", key);
}

/* One data-service Job (charts/provision/README.md, "The Jobs"): the
 * service's own client runs its script with ACTION=provision|deprovision.
 * No ttlSecondsAfterFinished: a finished provisioning Job is part of the
 * rendered set, and one the TTL removed would be recreated (and rerun) by the
 * next pass. */
static json_t *job(const struct render_config *cfg, const char *tenant, const char *host,
		   enum render_service svc, const struct render_credentials *cred)
{
	int provision = cred != NULL;
	const struct service *sv = &services[svc];
	const char *role = provision ? "data" : "deprovision";
	char name[160], script[64], copy[128], fp[17] = "";
	json_t *env, *j, *pod_labels, *pod_annotations, *container, *md;

	/* A fingerprint of the password the Job provisions: should the password
	 * ever change (its Secret lost and made again), the Job's hash changes,
	 * it is replaced and the script sets the new password in the service. */
	if (provision) {
		unsigned char digest[32];
		unsigned int dlen = 0;
		const char *pw = cred->password[svc];
		if (EVP_Digest(pw, strlen(pw), digest, &dlen, EVP_sha256(), NULL) != 1)
			return NULL;
		util_hex(digest, 8, fp);
	}

	snprintf(name, sizeof(name), "%s-%s-%s", provision ? "provision" : "deprovision", tenant, sv->name);
	snprintf(script, sizeof(script), "/scripts/%s.sh", sv->name);
	render_platform_secret_name(tenant, copy, sizeof(copy));
	/* Passwords come from Secrets, never from argv or the object itself. */
	env = json_array();
	json_array_append_new(env, env_value("ACTION", provision ? "provision" : "deprovision"));
	json_array_append_new(env, env_value("TENANT", tenant));
	if (provision)
		json_array_append_new(env, env_secret("TENANT_PASSWORD", copy, render_password_key[svc]));
	if (host)
		json_array_append_new(env, env_value("TENANT_HOST", host));
	if (svc == RENDER_MINIO || svc == RENDER_KEYCLOAK)
		json_array_append_new(env, env_value("HOME", "/tmp")); /* the clients' state */
	for (size_t i = 0; i < ARRAY_SIZE(sv->env) && sv->env[i].name; i++)
		json_array_append_new(env, sv->env[i].value ? env_value(sv->env[i].name, sv->env[i].value)
					   : env_secret(sv->env[i].name, sv->env[i].secret, sv->env[i].key));
	/* The platform's NetworkPolicies admit pods labelled component=provision. */
	pod_labels = json_pack("{s:s, s:s, s:s, s:s}", "app.kubernetes.io/component", "provision",
			       RENDER_LABEL_MANAGED_BY, RENDER_MANAGED_BY,
			       RENDER_LABEL_TENANT, tenant, RENDER_LABEL_ROLE, role);
	pod_annotations = fp[0] ? json_pack("{s:s}", "outpost.dev/credentials", fp) : json_object();
	container = json_pack(
		"{s:s, s:s, s:[s, s], s:o, s:[{s:s, s:s, s:b}, {s:s, s:s}],"
		" s:{s:b, s:b, s:{s:[s]}}, s:{s:{s:s, s:s}, s:{s:s, s:s}}}",
		"name", sv->name, "image", cfg->job_image[svc],
		"command", "sh", script, "env", env,
		"volumeMounts", "name", "scripts", "mountPath", "/scripts", "readOnly", 1,
		"name", "tmp", "mountPath", "/tmp",
		"securityContext", "allowPrivilegeEscalation", 0, "readOnlyRootFilesystem", 1,
		"capabilities", "drop", "ALL",
		"resources", "requests", "cpu", "50m", "memory", "64Mi",
		"limits", "cpu", "500m", "memory", sv->memory_limit);
	md = meta(name, cfg->platform_namespace, tenant, role);
	json_object_set_new(json_object_get(md, "labels"), "app.kubernetes.io/component",
			    json_string("provision"));
	j = object("batch/v1", "Job", md);
	json_object_set_new(j, "spec", json_pack(
		"{s:i, s:i, s:{s:{s:o, s:o}, s:{s:s, s:b, s:b, s:{s:b, s:i, s:i, s:i, s:{s:s}}, s:[o],"
		" s:[{s:s, s:{s:s}}, {s:s, s:{s:s}}]}}}",
		"backoffLimit", 6, "activeDeadlineSeconds", 600, "template",
		"metadata", "labels", pod_labels, "annotations", pod_annotations,
		"spec", "restartPolicy", "Never", "automountServiceAccountToken", 0,
		"enableServiceLinks", 0,
		"securityContext", "runAsNonRoot", 1, "runAsUser", sv->uid, "runAsGroup", sv->uid,
		"fsGroup", sv->uid, "seccompProfile", "type", "RuntimeDefault",
		"containers", container,
		"volumes", "name", "scripts", "configMap", "name", cfg->scripts_configmap,
		"name", "tmp", "emptyDir", "sizeLimit", "64Mi"));
	return j;
}

int render_tenant(const struct render_config *cfg, const struct render_tenant *t,
		  const struct render_credentials *cred, json_t *out, struct err *e)
{
	char ns[128], copy[128];

	render_namespace_name(t->name, ns, sizeof(ns));
	if (render_namespace(t, ns, out) < 0 || render_limits(t, ns, out) < 0 ||
	    render_policies(cfg, t, ns, out) < 0 || render_identity(t, cred, ns, out) < 0 ||
	    render_app(cfg, t, ns, out) < 0)
		goto fail;
	render_platform_secret_name(t->name, copy, sizeof(copy));
	if (emit(out, credentials_secret(copy, cfg->platform_namespace, t->name, cred)) < 0)
		goto fail;
	for (int svc = 0; svc < RENDER_NSERVICES; svc++)
		if (emit(out, job(cfg, t->name, svc == RENDER_KEYCLOAK ? t->host : NULL, svc, cred)) < 0)
			goto fail;
	return 0;
fail:
	return err_set(e, EXIT_RUNTIME, "render: tenant %s: out of memory", t->name);
}

int render_deprovision(const struct render_config *cfg, const char *tenant, json_t *out,
		       struct err *e)
{
	for (int svc = 0; svc < RENDER_NSERVICES; svc++)
		if (emit(out, job(cfg, tenant, NULL, svc, NULL)) < 0)
			return err_set(e, EXIT_RUNTIME, "render: tenant %s: out of memory", tenant);
	return 0;
}
