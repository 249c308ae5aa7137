/* The Keycloak runner Job's rendering (backup-keycloak-job.c) and the Job
 * state it is waited on with (job-state.c). */
#include <check.h>

#include "check-run.h"
#include <string.h>

#include "backup-keycloak-job.h"
#include "job-state.h"

/* What charts/keycloak renders, trimmed to what the rendering reads. */
static const char deployment_text[] =
	"{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\","
	" \"metadata\": {\"name\": \"keycloak\", \"namespace\": \"outpost-platform\"},"
	" \"spec\": {\"selector\": {\"matchLabels\": {\"app.kubernetes.io/name\": \"keycloak\"}},"
	"  \"template\": {\"metadata\": {\"labels\": {\"app.kubernetes.io/name\": \"keycloak\","
	"    \"app.kubernetes.io/part-of\": \"outpost\", \"app.kubernetes.io/managed-by\": \"Helm\"}},"
	"   \"spec\": {\"automountServiceAccountToken\": false, \"enableServiceLinks\": false,"
	"    \"securityContext\": {\"runAsNonRoot\": true, \"runAsUser\": 1000, \"runAsGroup\": 1000,"
	"     \"fsGroup\": 1000},"
	"    \"initContainers\": [{\"name\": \"build\", \"image\": \"keycloak:26.4.7\","
	"     \"command\": [\"/bin/bash\", \"-ec\", \"cp -a /opt/keycloak/. /build/ && exec /build/bin/kc.sh build\"],"
	"     \"volumeMounts\": [{\"name\": \"dist\", \"mountPath\": \"/build\"}]}],"
	"    \"containers\": [{\"name\": \"keycloak\", \"image\": \"keycloak:26.4.7\","
	"     \"command\": [\"/opt/keycloak/bin/kc.sh\"], \"args\": [\"start\", \"--optimized\"],"
	"     \"env\": [{\"name\": \"KC_DB_URL\", \"value\": \"jdbc:postgresql://postgresql:5432/keycloak\"},"
	"      {\"name\": \"KC_DB_PASSWORD\", \"valueFrom\": {\"secretKeyRef\": {\"name\": \"postgresql\","
	"       \"key\": \"keycloak-password\"}}}],"
	"     \"ports\": [{\"name\": \"http\", \"containerPort\": 8080}, {\"name\": \"management\", \"containerPort\": 9000}],"
	"     \"resources\": {\"requests\": {\"cpu\": \"1000m\", \"memory\": \"1280Mi\"},"
	"      \"limits\": {\"memory\": \"1536Mi\"}},"
	"     \"securityContext\": {\"readOnlyRootFilesystem\": true},"
	"     \"startupProbe\": {\"httpGet\": {\"path\": \"/health/started\", \"port\": \"management\"}},"
	"     \"readinessProbe\": {\"httpGet\": {\"path\": \"/health/ready\", \"port\": \"management\"}},"
	"     \"livenessProbe\": {\"httpGet\": {\"path\": \"/health/live\", \"port\": \"management\"}},"
	"     \"volumeMounts\": [{\"name\": \"dist\", \"mountPath\": \"/opt/keycloak\"},"
	"      {\"name\": \"tmp\", \"mountPath\": \"/tmp\"}]}],"
	"    \"volumes\": [{\"name\": \"dist\", \"emptyDir\": {}}, {\"name\": \"tmp\", \"emptyDir\": {}}]}}}}";

static json_t *deployment(void)
{
	json_error_t je;
	json_t *d = json_loads(deployment_text, 0, &je);

	ck_assert_msg(d != NULL, "fixture: %s", je.text);
	return d;
}

static json_t *at(json_t *j, const char *path)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && j; k = strtok_r(NULL, ".", &save))
		j = json_is_array(j) ? json_array_get(j, (size_t)strtoul(k, NULL, 10)) : json_object_get(j, k);
	return j;
}

static const char *str(json_t *j, const char *path)
{
	return json_string_value(at(j, path));
}

static json_t *render(json_t *d, enum kc_job_verb verb)
{
	const struct kc_job spec = { verb, "/var/lib/outpost/backups/.outpost-backup.x/part6.d", 1800, 3600 };
	struct err e = { 0 };
	json_t *job = kc_job_render(d, &spec, &e);

	ck_assert_msg(job != NULL, "%s", e.msg);
	return job;
}

START_TEST(export_job_keeps_the_pod_and_runs_kcsh)
{
	json_t *d = deployment(), *job = render(d, KC_JOB_EXPORT);
	json_t *pod = at(job, "spec.template.spec"), *c = at(pod, "containers.0");
	const char *const want[] = { "/opt/keycloak/bin/kc.sh", "export", "--optimized", "--dir",
				     KC_JOB_WORKDIR, "--users", "realm_file" };

	ck_assert_str_eq(str(job, "apiVersion"), "batch/v1");
	ck_assert_str_eq(str(job, "kind"), "Job");
	ck_assert_str_eq(str(job, "metadata.name"), KC_JOB_NAME);
	ck_assert_str_eq(str(job, "metadata.namespace"), "outpost-platform");
	ck_assert_int_eq(json_integer_value(at(job, "spec.backoffLimit")), 0);
	ck_assert_int_eq(json_integer_value(at(job, "spec.activeDeadlineSeconds")), 1800);
	ck_assert_int_eq(json_integer_value(at(job, "spec.ttlSecondsAfterFinished")), 3600);
	ck_assert_str_eq(str(pod, "restartPolicy"), "Never");
	ck_assert_uint_eq(json_array_size(at(pod, "containers")), 1);
	ck_assert_str_eq(str(c, "image"), "keycloak:26.4.7");
	ck_assert_uint_eq(json_array_size(at(c, "command")), 7);
	for (size_t i = 0; i < 7; i++)
		ck_assert_str_eq(json_string_value(json_array_get(at(c, "command"), i)), want[i]);
	ck_assert_ptr_null(at(c, "args"));
	ck_assert_ptr_null(at(c, "ports"));
	ck_assert_ptr_null(at(c, "startupProbe"));
	ck_assert_ptr_null(at(c, "readinessProbe"));
	ck_assert_ptr_null(at(c, "livenessProbe"));
	/* The database settings, the build and the built distribution. */
	ck_assert_str_eq(str(c, "env.1.valueFrom.secretKeyRef.key"), "keycloak-password");
	ck_assert_str_eq(str(c, "resources.limits.memory"), "1536Mi");
	/* Asking the scheduler for less than the server, the build included. */
	ck_assert_str_eq(str(c, "resources.requests.memory"), KC_JOB_MEMORY_REQUEST);
	ck_assert_str_eq(str(c, "resources.requests.cpu"), KC_JOB_CPU_REQUEST);
	ck_assert_str_eq(str(pod, "initContainers.0.resources.requests.memory"), KC_JOB_MEMORY_REQUEST);
	ck_assert(json_is_true(at(c, "securityContext.readOnlyRootFilesystem")));
	ck_assert_str_eq(str(pod, "initContainers.0.name"), "build");
	ck_assert_int_eq(json_integer_value(at(pod, "securityContext.runAsUser")), 1000);
	ck_assert(json_is_false(at(pod, "automountServiceAccountToken")));
	ck_assert_str_eq(str(c, "volumeMounts.0.mountPath"), "/opt/keycloak");
	ck_assert_str_eq(str(c, "volumeMounts.2.name"), "outpost-work");
	ck_assert_str_eq(str(c, "volumeMounts.2.mountPath"), KC_JOB_WORKDIR);
	ck_assert_str_eq(str(pod, "volumes.2.name"), "outpost-work");
	ck_assert_str_eq(str(pod, "volumes.2.hostPath.path"), "/var/lib/outpost/backups/.outpost-backup.x/part6.d");
	ck_assert_str_eq(str(pod, "volumes.2.hostPath.type"), "Directory");
	/* The Deployment it came from is left as it was. */
	ck_assert_str_eq(str(d, "spec.template.spec.containers.0.args.0"), "start");
	ck_assert_uint_eq(json_array_size(at(d, "spec.template.spec.volumes")), 2);
	json_decref(job);
	json_decref(d);
}
END_TEST

START_TEST(labels_escape_the_service_but_reach_postgresql)
{
	json_t *d = deployment(), *job = render(d, KC_JOB_EXPORT);
	json_t *labels[] = { at(job, "metadata.labels"), at(job, "spec.template.metadata.labels") };

	for (int i = 0; i < 2; i++) {
		/* charts/keycloak's Service selects name=keycloak. */
		ck_assert_str_ne(json_string_value(json_object_get(labels[i], "app.kubernetes.io/name")), "keycloak");
		/* charts/postgresql's NetworkPolicy admits component=provision. */
		ck_assert_str_eq(json_string_value(json_object_get(labels[i], "app.kubernetes.io/component")),
				 "provision");
		/* The reconciler lists managed-by=outpost as its own. */
		ck_assert_ptr_null(json_object_get(labels[i], "app.kubernetes.io/managed-by"));
	}
	ck_assert_ptr_null(at(job, "spec.template.metadata.annotations"));
	json_decref(job);
	json_decref(d);
}
END_TEST

START_TEST(import_job_overrides)
{
	json_t *d = deployment(), *job = render(d, KC_JOB_IMPORT);
	json_t *cmd = at(job, "spec.template.spec.containers.0.command");
	const char *const want[] = { "/opt/keycloak/bin/kc.sh", "import", "--optimized", "--dir",
				     KC_JOB_WORKDIR, "--override", "true" };

	ck_assert_uint_eq(json_array_size(cmd), 7);
	for (size_t i = 0; i < 7; i++)
		ck_assert_str_eq(json_string_value(json_array_get(cmd, i)), want[i]);
	json_decref(job);
	json_decref(d);
}
END_TEST

START_TEST(only_the_keycloak_container_runs)
{
	json_t *d = deployment(), *cs = at(d, "spec.template.spec.containers"), *job;

	json_array_insert_new(cs, 0, json_pack("{s:s, s:s}", "name", "sidecar", "image", "busybox"));
	job = render(d, KC_JOB_EXPORT);
	ck_assert_uint_eq(json_array_size(at(job, "spec.template.spec.containers")), 1);
	ck_assert_str_eq(str(job, "spec.template.spec.containers.0.name"), "keycloak");
	json_decref(job);
	json_decref(d);
}
END_TEST

START_TEST(no_container_is_an_error)
{
	json_t *d = deployment();
	struct err e = { 0 };
	const struct kc_job spec = { KC_JOB_EXPORT, "/w", 1, 1 };

	json_array_clear(at(d, "spec.template.spec.containers"));
	ck_assert_ptr_null(kc_job_render(d, &spec, &e));
	ck_assert_ptr_nonnull(strstr(e.msg, "no pod template with a container"));
	json_decref(d);
}
END_TEST

START_TEST(ids_from_the_security_contexts)
{
	json_t *d = deployment();
	long uid, gid;

	kc_job_ids(d, &uid, &gid);
	ck_assert_int_eq(uid, 1000);
	ck_assert_int_eq(gid, 1000);
	json_object_set_new(at(d, "spec.template.spec.containers.0.securityContext"), "runAsUser",
			    json_integer(2000));
	kc_job_ids(d, &uid, &gid);
	ck_assert_int_eq(uid, 2000);
	ck_assert_int_eq(gid, 1000);
	json_object_del(at(d, "spec.template.spec"), "securityContext");
	json_object_del(at(d, "spec.template.spec.containers.0"), "securityContext");
	kc_job_ids(d, &uid, &gid);
	ck_assert_int_eq(uid, 1000);
	ck_assert_int_eq(gid, 0);
	json_decref(d);
}
END_TEST

START_TEST(restart_patch_adds_the_annotation)
{
	json_t *d = deployment();
	char *p = kc_job_restart_patch(d, "2026-12-04T08:00:00Z");

	ck_assert_str_eq(p, "[{\"op\":\"add\",\"path\":\"/spec/template/metadata/annotations\","
			    "\"value\":{\"kubectl.kubernetes.io/restartedAt\":\"2026-12-04T08:00:00Z\"}}]");
	free(p);
	json_object_set_new(at(d, "spec.template.metadata"), "annotations", json_pack("{s:s}", "a", "b"));
	p = kc_job_restart_patch(d, "2026-12-04T08:00:01Z");
	ck_assert_str_eq(p, "[{\"op\":\"add\",\"path\":\"/spec/template/metadata/annotations/"
			    "kubectl.kubernetes.io~1restartedAt\",\"value\":\"2026-12-04T08:00:01Z\"}]");
	free(p);
	json_decref(d);
}
END_TEST

START_TEST(job_state_reads_the_conditions)
{
	json_t *running = json_pack("{s:{s:i}}", "status", "active", 1);
	json_t *done = json_pack("{s:{s:i, s:[{s:s, s:s}]}}", "status", "succeeded", 1, "conditions", "type",
				 "Complete", "status", "True");
	json_t *failed = json_pack("{s:{s:i, s:[{s:s, s:s, s:s, s:s}]}}", "status", "failed", 1, "conditions",
				   "type", "Failed", "status", "True", "reason", "BackoffLimitExceeded",
				   "message", "Job has reached the specified backoff limit");
	const char *why = "x";

	ck_assert_int_eq(job_state(running, &why), DIFF_JOB_RUNNING);
	ck_assert_ptr_null(why);
	ck_assert_int_eq(job_state(done, &why), DIFF_JOB_SUCCEEDED);
	ck_assert_int_eq(job_state(failed, &why), DIFF_JOB_FAILED);
	ck_assert_str_eq(why, "Job has reached the specified backoff limit");
	ck_assert_str_eq(str(job_failed_condition(failed), "reason"), "BackoffLimitExceeded");
	json_decref(running);
	json_decref(done);
	json_decref(failed);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("backup-keycloak");
	TCase *tc = tcase_create("job");

	tcase_add_test(tc, export_job_keeps_the_pod_and_runs_kcsh);
	tcase_add_test(tc, labels_escape_the_service_but_reach_postgresql);
	tcase_add_test(tc, import_job_overrides);
	tcase_add_test(tc, only_the_keycloak_container_runs);
	tcase_add_test(tc, no_container_is_an_error);
	tcase_add_test(tc, ids_from_the_security_contexts);
	tcase_add_test(tc, restart_patch_adds_the_annotation);
	tcase_add_test(tc, job_state_reads_the_conditions);
	suite_add_tcase(s, tc);
	return check_run(s);
}
