/* See backup-keycloak.h. */
#include "backup-keycloak.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup-keycloak-job.h"
#include "backup-tar.h"
#include "clock.h"
#include "job-state.h"
#include "kube.h"
#include "kubeconfig.h"
#include "pod-access.h"
#include "run.h"

/* The Job's own bound: the init container copies and builds the
 * distribution (a minute or two on the reference box) before kc.sh starts
 * and exports; a Job past it fails with DeadlineExceeded. Outpost waits a
 * little longer, for the job controller to say so. */
#define JOB_DEADLINE_S 1800
#define JOB_WAIT_GRACE_S 120
/* A Job left by a run killed before it could delete it goes away by itself
 * after this (on servers that honour the field); the next run deletes it
 * anyway. */
#define JOB_TTL_S 3600
/* A deleted Job's object goes at once (Background propagation); its pod
 * follows through the garbage collector. */
#define JOB_GONE_WAIT_S 60
#define POLL_FIRST_MS 200
#define POLL_MAX_MS 2000

static const struct kube_resource deployments = { "Deployment", "apps", "v1", "deployments", true };

int backup_keycloak_check(const struct backup_keycloak *k, struct err *e)
{
	char ns[64], name[254];

	if (k->kcsh && k->deployment)
		return err_set(e, EXIT_USAGE,
			       "--keycloak and --keycloak-deployment are two ways to one Keycloak: give one");
	if (k->kcsh && (k->kcsh[0] != '/' || access(k->kcsh, X_OK) < 0))
		return err_set(e, EXIT_USAGE, "--keycloak '%s': the absolute path of an executable kc.sh", k->kcsh);
	if (k->deployment && pod_split(k->deployment, ns, name) < 0)
		return err_set(e, EXIT_USAGE, "--keycloak-deployment '%s': NAMESPACE/NAME of a Deployment",
			       k->deployment);
	return 0;
}

/* The API and the Deployment the Job is made from. */
struct cluster {
	struct kubeconfig *kc;
	struct kube *kube;
	char ns[64], name[254];
	json_t *deployment;
};

static void cluster_close(struct cluster *c)
{
	json_decref(c->deployment);
	kube_free(c->kube);
	kubeconfig_free(c->kc);
}

static int cluster_open(const struct backup_keycloak *k, struct cluster *c, struct err *e)
{
	struct kube_request get = { .verb = KUBE_GET, .res = &deployments, .ns = c->ns, .name = c->name };

	if (pod_split(k->deployment, c->ns, c->name) < 0)
		return err_set(e, EXIT_USAGE, "--keycloak-deployment '%s': NAMESPACE/NAME", k->deployment);
	if (kubeconfig_load(k->kubeconfig ? k->kubeconfig : KUBECONFIG_DEFAULT, &c->kc, e) < 0 ||
	    kube_new(c->kc, NULL, &c->kube, e) < 0)
		return -1;
	return kube_call(c->kube, &get, &c->deployment, e) < 0 ? -1 : 0;
}

static int job_call(struct cluster *c, enum kube_verb verb, const char *body, json_t **out,
		    struct err *e)
{
	struct kube_request req = { .verb = verb, .res = kube_resource_find("Job"), .ns = c->ns,
				    .name = KC_JOB_NAME, .body = body };

	return kube_call(c->kube, &req, out, e);
}

static void pause_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t deadline_after(long seconds)
{
	return clock_mono_us() + (uint64_t)seconds * USEC_PER_SEC;
}

/* The Job's status is polled (the client has no watch), at growing
 * intervals: a fraction of a second while it may already be done, at
 * most two seconds over a long export. */
static unsigned next_poll(unsigned ms)
{
	return ms * 2 > POLL_MAX_MS ? POLL_MAX_MS : ms * 2;
}

/* A Job of the same name left by a killed run: deleted, and gone before
 * the new one is created (a create would meet it with 409). */
static int job_clear(struct cluster *c, struct err *e)
{
	uint64_t until = deadline_after(JOB_GONE_WAIT_S);
	unsigned ms = POLL_FIRST_MS;
	int rc = job_call(c, KUBE_DELETE, NULL, NULL, e);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return -1;
	while ((rc = job_call(c, KUBE_GET, NULL, NULL, e)) == 0 && clock_mono_us() < until) {
		pause_ms(ms);
		ms = next_poll(ms);
	}
	if (rc == -ENOENT)
		return 0;
	return rc < 0 ? -1 : err_set(e, EXIT_RUNTIME, "Job %s/%s from an earlier run is still there after %d s",
				     c->ns, KC_JOB_NAME, JOB_GONE_WAIT_S);
}

/* One line, whatever the condition's message holds. */
static int job_failed(struct cluster *c, json_t *job, const char *message, struct err *e)
{
	const char *reason = json_string_value(json_object_get(job_failed_condition(job), "reason"));

	err_set(e, EXIT_RUNTIME, "Job %s/%s failed: %s: %s", c->ns, KC_JOB_NAME, reason ? reason : "Failed",
		message);
	for (char *p = e->msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return -1;
}

/* Until the Job succeeds or fails, bounded. */
static int job_wait(struct cluster *c, struct err *e)
{
	uint64_t until = deadline_after(JOB_DEADLINE_S + JOB_WAIT_GRACE_S);
	unsigned ms = POLL_FIRST_MS;

	for (;;) {
		json_t *job = NULL;
		const char *failure = NULL;
		int rc = job_call(c, KUBE_GET, NULL, &job, e);
		enum diff_job state = rc < 0 ? DIFF_JOB_NONE : job_state(job, &failure);

		if (rc == -ENOENT)
			err_set(e, EXIT_RUNTIME, "Job %s/%s was deleted before it finished", c->ns, KC_JOB_NAME);
		else if (state == DIFF_JOB_FAILED)
			job_failed(c, job, failure, e);
		json_decref(job);
		if (rc < 0 || state == DIFF_JOB_FAILED)
			return -1;
		if (state == DIFF_JOB_SUCCEEDED)
			return 0;
		if (clock_mono_us() >= until)
			return err_set(e, EXIT_RUNTIME, "Job %s/%s did not finish within %d s", c->ns, KC_JOB_NAME,
				       JOB_DEADLINE_S + JOB_WAIT_GRACE_S);
		pause_ms(ms);
		ms = next_poll(ms);
	}
}

/* Runs kc.sh in a Job on `work` and deletes the Job (and through it its
 * pod) whatever happened once it was created; the first error is kept. */
static int job_run(struct cluster *c, enum kc_job_verb verb, const char *work, struct err *e)
{
	const struct kc_job spec = { verb, work, JOB_DEADLINE_S, JOB_TTL_S };
	json_t *job = kc_job_render(c->deployment, &spec, e);
	char *body = job ? json_dumps(job, JSON_COMPACT) : NULL;
	struct err later = { 0 };
	int rc;

	json_decref(job);
	if (!body)
		return job ? err_set(e, EXIT_RUNTIME, "out of memory") : -1;
	rc = job_clear(c, e) < 0 || job_call(c, KUBE_CREATE, body, NULL, e) < 0 ? -1 : 0;
	free(body);
	if (rc < 0)
		return -1; /* no Job of this run to delete */
	rc = job_wait(c, e);
	if (job_call(c, KUBE_DELETE, NULL, NULL, &later) < 0 && !rc) {
		*e = later;
		return -1;
	}
	return rc;
}

/* The pod runs as the Deployment's user: the work directory and what it
 * holds become that user's (the directory stays 0700; the pod reaches it
 * through a bind mount, not through its root-only parents). */
static int own(const char *work, long uid, long gid, struct err *e)
{
	DIR *d;
	struct dirent *ent;
	int rc = 0;

	if (chown(work, (uid_t)uid, (gid_t)gid) < 0)
		return err_errno(e, errno, "chown %s", work);
	if (!(d = opendir(work)))
		return err_errno(e, errno, "%s", work);
	while (!rc && (ent = readdir(d)))
		if (strcmp(ent->d_name, ".") && strcmp(ent->d_name, "..") &&
		    fchownat(dirfd(d), ent->d_name, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0)
			rc = err_errno(e, errno, "chown %s/%s", work, ent->d_name);
	closedir(d);
	return rc;
}

static int restart(struct cluster *c, struct err *e)
{
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	char *patch;
	int rc;

	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	if (!(patch = kc_job_restart_patch(c->deployment, stamp)))
		return err_set(e, EXIT_RUNTIME, "out of memory");
	struct kube_request req = { .verb = KUBE_PATCH, .res = &deployments, .ns = c->ns, .name = c->name,
				    .body = patch };
	rc = kube_call(c->kube, &req, NULL, e);
	free(patch);
	return rc < 0 ? err_prefix(e, "realms imported; restart Keycloak by hand") : 0;
}

/* One Job run on the part's work directory: an export packs what the Job
 * wrote there; an import first unpacks the part for the Job to read. */
static int cluster_run(const struct backup_keycloak *k, const char *part, enum kc_job_verb verb, struct err *e)
{
	struct cluster c = { 0 };
	char work[4200];
	long uid, gid;
	int rc = -1;

	if (cluster_open(k, &c, e) < 0 || backup_tar_workdir(part, work, sizeof(work), e) < 0)
		goto out;
	kc_job_ids(c.deployment, &uid, &gid);
	rc = (verb == KC_JOB_IMPORT && backup_tar_unpack(part, work, e) < 0) || own(work, uid, gid, e) < 0 ||
		     job_run(&c, verb, work, e) < 0 ||
		     (verb == KC_JOB_EXPORT && backup_tar_pack(work, NULL, part, e) < 0)
		     ? -1
		     : 0;
	rc = backup_tar_workdone(work, rc, e);
	/* Keycloak keeps realms in its local cache: until it restarts it
	 * serves the ones it had. */
	if (!rc && verb == KC_JOB_IMPORT)
		rc = restart(&c, e);
out:
	cluster_close(&c);
	return rc;
}

int backup_keycloak_dump(const struct backup_keycloak *k, const char *dst, struct err *e)
{
	char work[4200];
	char *const argv[] = { (char *)k->kcsh, "export", "--dir", work, "--users", "realm_file", NULL };

	if (k->deployment)
		return cluster_run(k, dst, KC_JOB_EXPORT, e);
	if (backup_tar_workdir(dst, work, sizeof(work), e) < 0)
		return -1;
	return backup_tar_workdone(work, run_argv(argv, NULL, 0, NULL, e) < 0 || backup_tar_pack(work, NULL, dst, e) < 0 ? -1 : 0, e);
}

static int realm_file(const char *name)
{
	size_t n = strlen(name);

	return !strchr(name, '/') && n > 5 && !strcmp(name + n - 5, ".json");
}

int backup_keycloak_verify(const char *src, struct err *e)
{
	return backup_tar_verify(src, realm_file, e);
}

int backup_keycloak_restore(const struct backup_keycloak *k, const char *src, struct err *e)
{
	char work[4200];
	char *const argv[] = { (char *)k->kcsh, "import", "--dir", work, "--override", "true", NULL };

	if (k->deployment)
		return cluster_run(k, src, KC_JOB_IMPORT, e);
	if (backup_tar_workdir(src, work, sizeof(work), e) < 0)
		return -1;
	return backup_tar_workdone(work, backup_tar_unpack(src, work, e) < 0 || run_argv(argv, NULL, 0, NULL, e) < 0 ? -1 : 0, e);
}
