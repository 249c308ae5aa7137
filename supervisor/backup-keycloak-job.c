/* See backup-keycloak-job.h. */
#include "backup-keycloak-job.h"

#include <string.h>

#define WORK_VOLUME "outpost-work"
#define RESTARTED_AT "kubectl.kubernetes.io/restartedAt"

/* The server container's dist volume (built by the init container with
 * `kc.sh build`) is mounted over /opt/keycloak, so this path is the built
 * copy and --optimized reuses its build-time options (database vendor,
 * cache) instead of building again in a read-only root filesystem. */
#define KCSH "/opt/keycloak/bin/kc.sh"

/* The container that runs Keycloak: the one named keycloak, else the first. */
static json_t *main_container(json_t *pod)
{
	json_t *list = json_object_get(pod, "containers"), *c;
	size_t i;

	json_array_foreach(list, i, c)
		if (json_is_string(json_object_get(c, "name")) &&
		    !strcmp(json_string_value(json_object_get(c, "name")), "keycloak"))
			return c;
	return json_is_object(json_array_get(list, 0)) ? json_array_get(list, 0) : NULL;
}

static json_t *pod_template_spec(json_t *deployment)
{
	return json_object_get(json_object_get(json_object_get(deployment, "spec"), "template"), "spec");
}

static json_t *command(enum kc_job_verb verb)
{
	if (verb == KC_JOB_EXPORT)
		return json_pack("[s,s,s,s,s,s,s]", KCSH, "export", "--optimized", "--dir", KC_JOB_WORKDIR,
				 "--users", "realm_file");
	return json_pack("[s,s,s,s,s,s,s]", KCSH, "import", "--optimized", "--dir", KC_JOB_WORKDIR,
			 "--override", "true");
}

/* The keycloak Service selects app.kubernetes.io/name=keycloak: a pod with
 * that label would get logins while it only exports, so the name is the
 * Job's own. PostgreSQL's NetworkPolicy admits, from its namespace, pods
 * labelled name=keycloak or component=provision (charts/postgresql values,
 * clients.podLabels): component=provision is the one left. It also admits
 * the pod to Redis, MinIO and Keycloak's port, which give it nothing
 * without their credentials; a label of its own would need every chart's
 * policy changed. No managed-by=outpost: the reconciler lists that label
 * as its own tenants' objects. */
static json_t *labels(void)
{
	return json_pack("{s:s, s:s, s:s}", "app.kubernetes.io/name", KC_JOB_NAME,
			 "app.kubernetes.io/component", "provision", "app.kubernetes.io/part-of", "outpost");
}

/* The server's container, turned into a one-shot kc.sh run on the work
 * directory: no ports (nothing may reach it), no probes (they would ask a
 * server that never starts to listen for requests). */
static int one_shot(json_t *c, enum kc_job_verb verb)
{
	static const char *const dropped[] = { "args", "ports", "startupProbe", "readinessProbe",
					       "livenessProbe", "lifecycle" };
	json_t *mounts = json_object_get(c, "volumeMounts");

	for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++)
		json_object_del(c, dropped[i]);
	if (!json_is_array(mounts) && json_object_set_new(c, "volumeMounts", mounts = json_array()) < 0)
		return -1;
	return json_object_set_new(c, "command", command(verb)) < 0 ||
			       json_array_append_new(mounts, json_pack("{s:s, s:s}", "name", WORK_VOLUME,
								       "mountPath", KC_JOB_WORKDIR)) < 0
		       ? -1
		       : 0;
}

/* What the Job's containers ask the scheduler for. The server's own request
 * (1280Mi) is already in the budget, and tenant admission may have handed
 * out the rest of the node's allocatable requests, so a Job asking as much
 * again could stay Pending until its deadline on a full box. An export or
 * import of the realms needs far less; the limits stay the server's, which
 * bound the JVM's heap (JAVA_OPTS_KC_HEAP is a share of the limit). */
static int small_requests(json_t *containers)
{
	json_t *c;
	size_t i;

	json_array_foreach(containers, i, c) {
		json_t *res = json_object_get(c, "resources");

		if (!json_is_object(res) && json_object_set_new(c, "resources", res = json_object()) < 0)
			return -1;
		if (json_object_set_new(res, "requests", json_pack("{s:s, s:s}", "cpu", KC_JOB_CPU_REQUEST,
								   "memory", KC_JOB_MEMORY_REQUEST)) < 0)
			return -1;
	}
	return 0;
}

/* The template's pod with only the Keycloak container (its init containers,
 * volumes and security context kept), restarted never, and the work
 * directory mounted. The host directory must exist (type Directory): a
 * missing one is an error, never an empty directory made by the kubelet. */
static json_t *job_pod(json_t *deployment, const struct kc_job *job)
{
	json_t *pod = json_deep_copy(pod_template_spec(deployment)), *c, *volumes;

	if (!pod || !(c = main_container(pod)))
		goto fail;
	c = json_incref(c);
	if (json_object_set_new(pod, "containers", json_pack("[o]", c)) < 0 || one_shot(c, job->verb) < 0 ||
	    small_requests(json_object_get(pod, "containers")) < 0 ||
	    small_requests(json_object_get(pod, "initContainers")) < 0 ||
	    json_object_set_new(pod, "restartPolicy", json_string("Never")) < 0)
		goto fail;
	if (!json_is_array(volumes = json_object_get(pod, "volumes")) &&
	    json_object_set_new(pod, "volumes", volumes = json_array()) < 0)
		goto fail;
	if (json_array_append_new(volumes, json_pack("{s:s, s:{s:s, s:s}}", "name", WORK_VOLUME, "hostPath",
						     "path", job->host_dir, "type", "Directory")) < 0)
		goto fail;
	return pod;
fail:
	json_decref(pod);
	return NULL;
}

json_t *kc_job_render(json_t *deployment, const struct kc_job *job, struct err *e)
{
	const char *ns = json_string_value(json_object_get(json_object_get(deployment, "metadata"),
							   "namespace"));
	json_t *pod = pod_template_spec(deployment);

	if (!ns || !json_is_object(pod) || !main_container(pod)) {
		err_set(e, EXIT_RUNTIME, "the Keycloak Deployment has no pod template with a container");
		return NULL;
	}
	if (!(pod = job_pod(deployment, job))) {
		err_set(e, EXIT_RUNTIME, "out of memory");
		return NULL;
	}
	json_t *out = json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:{s:i, s:I, s:I, s:{s:{s:o}, s:o}}}",
				"apiVersion", "batch/v1", "kind", "Job",
				"metadata", "name", KC_JOB_NAME, "namespace", ns, "labels", labels(),
				"spec", "backoffLimit", 0, "activeDeadlineSeconds", (json_int_t)job->deadline_s,
				"ttlSecondsAfterFinished", (json_int_t)job->ttl_s,
				"template", "metadata", "labels", labels(), "spec", pod);
	if (!out)
		err_set(e, EXIT_RUNTIME, "out of memory");
	return out;
}

static long run_as(json_t *pod, json_t *c, const char *key, long dflt)
{
	json_t *v = json_object_get(json_object_get(c, "securityContext"), key);

	if (!json_is_integer(v))
		v = json_object_get(json_object_get(pod, "securityContext"), key);
	return json_is_integer(v) ? (long)json_integer_value(v) : dflt;
}

void kc_job_ids(json_t *deployment, long *uid, long *gid)
{
	json_t *pod = pod_template_spec(deployment), *c = main_container(pod);

	*uid = run_as(pod, c, "runAsUser", 1000);
	*gid = run_as(pod, c, "runAsGroup", 0);
}

char *kc_job_restart_patch(json_t *deployment, const char *stamp)
{
	json_t *md = json_object_get(json_object_get(json_object_get(deployment, "spec"), "template"),
				     "metadata");
	json_t *patch;
	char *text;

	/* JSON patch's add needs the parent: the annotations map is made when
	 * the template has none. "/" in the key is "~1". */
	if (json_is_object(json_object_get(md, "annotations")))
		patch = json_pack("[{s:s, s:s, s:s}]", "op", "add", "path",
				  "/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt",
				  "value", stamp);
	else
		patch = json_pack("[{s:s, s:s, s:{s:s}}]", "op", "add", "path", "/spec/template/metadata/annotations",
				  "value", RESTARTED_AT, stamp);
	text = patch ? json_dumps(patch, JSON_COMPACT) : NULL;
	json_decref(patch);
	return text;
}
