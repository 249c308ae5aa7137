/* The Job that runs kc.sh export or import in the cluster, beside the
 * Keycloak server rather than inside its container: a second JVM in the
 * server's container would share its memory limit (an OOM kill of the
 * server) and its management port 9000, which every kc.sh command opens
 * (keycloak issues #29200, #29601). The Job is made from the Deployment's
 * own pod template, so it runs the same image with the same database
 * settings and the same built distribution. Its hostPath volume needs a
 * namespace whose Pod Security level is privileged (k3s's default; the
 * platform's namespace sets none): baseline refuses hostPath. Pure: JSON
 * in, JSON out. */
#ifndef OUTPOST_BACKUP_KEYCLOAK_JOB_H
#define OUTPOST_BACKUP_KEYCLOAK_JOB_H

#include <jansson.h>

#include "err.h"

/* Where the pod sees the work directory (a hostPath volume). */
#define KC_JOB_WORKDIR "/outpost-work"
/* What each of the Job's containers requests (backup-keycloak-job.c says why). */
#define KC_JOB_CPU_REQUEST "100m"
#define KC_JOB_MEMORY_REQUEST "512Mi"
/* The Job's name, and the name label of its pod. */
#define KC_JOB_NAME "outpost-backup-keycloak"

enum kc_job_verb { KC_JOB_EXPORT, KC_JOB_IMPORT };

struct kc_job {
	enum kc_job_verb verb;
	const char *host_dir;  /* the work directory on the host */
	long deadline_s;       /* activeDeadlineSeconds */
	long ttl_s;            /* ttlSecondsAfterFinished */
};

/* The Job (batch/v1) for `deployment` (as the API returns it), in its
 * namespace. NULL with e set when the Deployment has no pod template with
 * a container. The caller decrefs. */
json_t *kc_job_render(json_t *deployment, const struct kc_job *job, struct err *e);

/* The user and group the Deployment's Keycloak container runs as (its
 * securityContext over the pod's; the image's 1000:0 when neither says):
 * the owner the work directory needs for the pod to write or read it. */
void kc_job_ids(json_t *deployment, long *uid, long *gid);

/* A JSON patch (text, caller frees) setting the pod template's annotation
 * kubectl.kubernetes.io/restartedAt to `stamp`, as `kubectl rollout
 * restart` does; NULL when out of memory. */
char *kc_job_restart_patch(json_t *deployment, const char *stamp);

#endif
