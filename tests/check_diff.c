/* The reconciler's plan, table by table: each case is desired objects,
 * observed objects, and the actions and statuses that must come out. */
#include <check.h>

#include "check-run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

#define D(k_, ns_, n_, t_, r_, h_) { .kind = k_, .ns = ns_, .name = n_, .tenant = t_, .role = r_, \
	.managed = true, .hash = h_ }
#define O D
/* Observed with the hash of its rendering but fields changed (drift.h). */
#define DRIFTED(k_, ns_, n_, t_, r_, h_) { .kind = k_, .ns = ns_, .name = n_, .tenant = t_, .role = r_, \
	.managed = true, .hash = h_, .drifted = true }
/* A provisioning or deprovisioning Job of service svc_ (render_needs). */
#define NEEDS(svc_) (1u << (svc_) | RENDER_NEED_SCRIPTS)
#define SJOB(svc_, ns_, n_, t_, r_, s_) { .kind = "Job", .ns = ns_, .name = n_, .tenant = t_, \
	.role = r_, .managed = true, .hash = "j", .job = s_, .needs = NEEDS(svc_) }
#define JOB(ns_, n_, t_, r_, s_) SJOB(RENDER_PG, ns_, n_, t_, r_, s_)

struct want {
	enum diff_op op;
	const char *name;
};

struct tcase_def {
	const char *title;
	struct diff_tenant tenants[3];
	size_t ntenants;
	struct diff_object desired[8];
	size_t ndesired;
	struct diff_object observed[12];
	size_t nobserved;
	struct want actions[8];
	size_t nactions;
	enum diff_status status[3];  /* reports in order */
	size_t nreports;
	const char *reason;          /* substring of the first report's reason, if any */
	unsigned not_ready;          /* need bits the platform does not meet */
	unsigned deprovision;        /* the services of a DEPROVISION action, if any */
};

#define B(svc_) (1u << (svc_))
/* A tenant's scaffolding and its four provisioning Jobs, as rendered. */
#define SCAFFOLD(t) D("Namespace", NULL, "t-" t, t, "namespace", "h1"), \
	D("Secret", "t-" t, "t-" t "-credentials", t, "data", "h2"), \
	D("HelmChart", "kube-system", "t-" t, t, "app", "h3")
#define UP(svc_, t, n) { .kind = "Job", .ns = "outpost-platform", .name = "provision-" t "-" n, \
	.tenant = t, .role = "data", .managed = true, .hash = "j", .needs = NEEDS(svc_) }
#define UP4(t) UP(RENDER_PG, t, "postgres"), UP(RENDER_REDIS, t, "redis"), \
	UP(RENDER_MINIO, t, "minio"), UP(RENDER_KEYCLOAK, t, "keycloak")
#define DOWN(svc_, n, s_) SJOB(svc_, "outpost-platform", "deprovision-r-" n, "r", "deprovision", s_)

/* A removed tenant whose data is gone from every service but keycloak. */
#define BUT_KEYCLOAK_DOWN O("Namespace", NULL, "t-r", "r", "namespace", "h"), \
	DOWN(RENDER_PG, "postgres", DIFF_JOB_SUCCEEDED), DOWN(RENDER_REDIS, "redis", DIFF_JOB_SUCCEEDED), \
	DOWN(RENDER_MINIO, "minio", DIFF_JOB_SUCCEEDED)

/* A tenant's app HelmChart in sync, and how far its helm-install Job got. */
#define APP(t, s_, why_) { .kind = "HelmChart", .ns = "kube-system", .name = t, .tenant = t, \
	.role = "app", .managed = true, .hash = "h3", .job = s_, .failure = why_ }

#define OK4(t) JOB("outpost-platform", "t-" t "-postgresql-up", t, "data", DIFF_JOB_SUCCEEDED)

static const struct tcase_def cases[] = {
	{ "missing objects are created, in render order",
	  { { "a", NULL } }, 1,
	  { D("Namespace", NULL, "t-a", "a", "namespace", "h1"), D("Secret", "t-a", "s", "a", "data", "h2") }, 2,
	  { { 0 } }, 0,
	  { { DIFF_CREATE, "t-a" }, { DIFF_CREATE, "s" } }, 2,
	  { DIFF_PENDING }, 1, NULL },
	{ "a changed object is applied, an unchanged one is left",
	  { { "a", NULL } }, 1,
	  { D("Namespace", NULL, "t-a", "a", "namespace", "h1"), D("Secret", "t-a", "s", "a", "data", "NEW") }, 2,
	  { O("Namespace", NULL, "t-a", "a", "namespace", "h1"), O("Secret", "t-a", "s", "a", "data", "old") }, 2,
	  { { DIFF_APPLY, "s" } }, 1,
	  { DIFF_PROVISIONING }, 1, NULL },
	{ "in sync with its Jobs done: Ready, nothing to do",
	  { { "a", NULL } }, 1,
	  { D("Namespace", NULL, "t-a", "a", "namespace", "h1"), JOB("outpost-platform", "t-a-postgresql-up", "a", "data", 0) }, 2,
	  { O("Namespace", NULL, "t-a", "a", "namespace", "h1"), OK4("a") }, 2,
	  { { 0 } }, 0,
	  { DIFF_READY }, 1, NULL },
	{ "the app's HelmChart in sync, its helm-install Job not made yet: Provisioning",
	  { { "a", NULL } }, 1,
	  { D("HelmChart", "kube-system", "a", "a", "app", "h3") }, 1,
	  { O("HelmChart", "kube-system", "a", "a", "app", "h3") }, 1,
	  { { 0 } }, 0,
	  { DIFF_PROVISIONING }, 1, "waiting for helm to install the app (Job kube-system/helm-install-a not made yet)" },
	{ "the app's helm-install Job running: Provisioning",
	  { { "a", NULL } }, 1,
	  { D("HelmChart", "kube-system", "a", "a", "app", "h3") }, 1,
	  { APP("a", DIFF_JOB_RUNNING, NULL) }, 1,
	  { { 0 } }, 0,
	  { DIFF_PROVISIONING }, 1, "helm-install-a running" },
	{ "the app's helm-install Job succeeded: Ready",
	  { { "a", NULL } }, 1,
	  { D("HelmChart", "kube-system", "a", "a", "app", "h3") }, 1,
	  { APP("a", DIFF_JOB_SUCCEEDED, NULL) }, 1,
	  { { 0 } }, 0,
	  { DIFF_READY }, 1, NULL },
	{ "the app's helm-install Job failed: Failed, with its reason",
	  { { "a", NULL } }, 1,
	  { D("HelmChart", "kube-system", "a", "a", "app", "h3") }, 1,
	  { APP("a", DIFF_JOB_FAILED, "BackoffLimitExceeded") }, 1,
	  { { 0 } }, 0,
	  { DIFF_FAILED }, 1, "HelmChart kube-system/a: BackoffLimitExceeded" },
	{ "a Job still running keeps the tenant Provisioning",
	  { { "a", NULL } }, 1,
	  { JOB("outpost-platform", "t-a-postgresql-up", "a", "data", 0) }, 1,
	  { JOB("outpost-platform", "t-a-postgresql-up", "a", "data", DIFF_JOB_RUNNING) }, 1,
	  { { 0 } }, 0,
	  { DIFF_PROVISIONING }, 1, "waiting for Job outpost-platform/t-a-postgresql-up" },
	{ "a changed Job is replaced (Jobs are immutable)",
	  { { "a", NULL } }, 1,
	  { { .kind = "Job", .ns = "p", .name = "j1", .tenant = "a", .role = "data", .managed = true, .hash = "new" } }, 1,
	  { JOB("p", "j1", "a", "data", DIFF_JOB_SUCCEEDED) }, 1,
	  { { DIFF_REPLACE, "j1" } }, 1,
	  { DIFF_PROVISIONING }, 1, NULL },
	{ "drift under a matching hash is repaired, and the tenant stays Ready",
	  { { "a", NULL } }, 1,
	  { D("Namespace", NULL, "t-a", "a", "namespace", "h1"), D("ResourceQuota", "t-a", "quota", "a", "namespace", "h2") }, 2,
	  { O("Namespace", NULL, "t-a", "a", "namespace", "h1"), DRIFTED("ResourceQuota", "t-a", "quota", "a", "namespace", "h2") }, 2,
	  { { DIFF_REPAIR, "quota" } }, 1,
	  { DIFF_READY }, 1, NULL, 0, 0 },
	{ "drift and a changed hash: one apply, not two",
	  { { "a", NULL } }, 1,
	  { D("ResourceQuota", "t-a", "quota", "a", "namespace", "NEW") }, 1,
	  { DRIFTED("ResourceQuota", "t-a", "quota", "a", "namespace", "old") }, 1,
	  { { DIFF_APPLY, "quota" } }, 1,
	  { DIFF_PROVISIONING }, 1, NULL, 0, 0 },
	{ "a drifted Job is left alone (immutable, replaced on a hash change only)",
	  { { "a", NULL } }, 1,
	  { JOB("outpost-platform", "t-a-postgresql-up", "a", "data", 0) }, 1,
	  { { .kind = "Job", .ns = "outpost-platform", .name = "t-a-postgresql-up", .tenant = "a", .role = "data",
	      .managed = true, .hash = "j", .job = DIFF_JOB_SUCCEEDED, .needs = NEEDS(RENDER_PG), .drifted = true } }, 1,
	  { { 0 } }, 0,
	  { DIFF_READY }, 1, NULL, 0, 0 },
	{ "a drifted object that is not the tenant's is not repaired",
	  { { "a", NULL } }, 1,
	  { D("ResourceQuota", "t-a", "quota", "a", "namespace", "h2") }, 1,
	  { DRIFTED("ResourceQuota", "t-a", "quota", "b", "namespace", "h2") }, 1,
	  { { 0 } }, 0,
	  { DIFF_FAILED }, 1, "not this tenant's", 0, 0 },
	{ "an owned object no longer rendered is pruned",
	  { { "a", NULL } }, 1,
	  { D("Namespace", NULL, "t-a", "a", "namespace", "h1") }, 1,
	  { O("Namespace", NULL, "t-a", "a", "namespace", "h1"), O("ConfigMap", "t-a", "old", "a", "namespace", "x") }, 2,
	  { { DIFF_DELETE, "old" } }, 1,
	  { DIFF_PROVISIONING }, 1, NULL },
	{ "a foreign object without labels is never touched, even with our name",
	  { { "a", NULL } }, 1,
	  { D("Secret", "t-a", "s", "a", "data", "h") }, 1,
	  { { .kind = "Secret", .ns = "t-a", .name = "s", .hash = "" },
	    { .kind = "ConfigMap", .ns = "t-a", .name = "theirs", .hash = "" } }, 2,
	  { { 0 } }, 0,
	  { DIFF_FAILED }, 1, "Secret t-a/s exists and is not this tenant's" },
	{ "an object with one label only is never touched (managed-by, no tenant)",
	  { { "a", NULL } }, 1,
	  { D("Namespace", NULL, "t-a", "a", "namespace", "h1") }, 1,
	  { O("Namespace", NULL, "t-a", "a", "namespace", "h1"),
	    { .kind = "ConfigMap", .ns = "t-a", .name = "half", .managed = true, .hash = "" },
	    { .kind = "ConfigMap", .ns = "t-a", .name = "other", .tenant = "a", .managed = false, .hash = "" } }, 3,
	  { { 0 } }, 0,
	  { DIFF_READY }, 1, NULL },
	{ "another tenant's object with our name is a conflict, not an update",
	  { { "a", NULL } }, 1,
	  { D("Secret", "shared", "s", "a", "data", "h") }, 1,
	  { O("Secret", "shared", "s", "b", "data", "h") }, 1,
	  { { 0 } }, 0,
	  { DIFF_FAILED, DIFF_DELETING }, 1, "not this tenant's" },
	{ "an invalid tenant is Failed and keeps everything it owns",
	  { { "a", "tenants.plan: unknown plan 'huge'" } }, 1,
	  { { 0 } }, 0,
	  { O("Namespace", NULL, "t-a", "a", "namespace", "h1") }, 1,
	  { { 0 } }, 0,
	  { DIFF_FAILED }, 1, "tenants.plan: unknown plan 'huge'" },
	{ "teardown 1: the app goes first, nothing else yet",
	  { { "keep", NULL } }, 1,
	  { { 0 } }, 0,
	  { O("HelmChart", "kube-system", "t-r", "r", "app", "h"), O("Namespace", NULL, "t-r", "r", "namespace", "h"),
	    O("Secret", "outpost-platform", "t-r-provision", "r", "data", "h") }, 3,
	  { { DIFF_DELETE, "t-r" } }, 1,
	  { DIFF_PENDING, DIFF_DELETING }, 2, NULL },
	{ "teardown 2: app gone, the data is deprovisioned before the namespace",
	  { { "keep", NULL } }, 1,
	  { { 0 } }, 0,
	  { O("Namespace", NULL, "t-r", "r", "namespace", "h"), SJOB(RENDER_REDIS, "outpost-platform", "t-r-redis-down", "r", "deprovision", DIFF_JOB_SUCCEEDED) }, 2,
	  { { DIFF_DEPROVISION, NULL } }, 1,
	  { DIFF_PENDING, DIFF_DELETING }, 2, NULL, 0, B(RENDER_PG) | B(RENDER_MINIO) | B(RENDER_KEYCLOAK) },
	{ "teardown 3: data gone, the namespace and the rest go, deprovision Jobs last",
	  { { "keep", NULL } }, 1,
	  { { 0 } }, 0,
	  { O("Namespace", NULL, "t-r", "r", "namespace", "h"),
	    JOB("outpost-platform", "t-r-postgresql-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    SJOB(RENDER_REDIS, "outpost-platform", "t-r-redis-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    SJOB(RENDER_MINIO, "outpost-platform", "t-r-minio-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    SJOB(RENDER_KEYCLOAK, "outpost-platform", "t-r-keycloak-down", "r", "deprovision", DIFF_JOB_SUCCEEDED) }, 5,
	  { { DIFF_DELETE, "t-r" } }, 1,
	  { DIFF_PENDING, DIFF_DELETING }, 2, NULL },
	{ "teardown 3: what lives in the namespace goes with it, not one by one",
	  { { "keep", NULL } }, 1,
	  { { 0 } }, 0,
	  { O("Namespace", NULL, "t-r", "r", "namespace", "h"),
	    O("Secret", "t-r", "t-r-credentials", "r", "data", "h"),
	    O("ResourceQuota", "t-r", "quota", "r", "namespace", "h"),
	    O("Secret", "outpost-platform", "t-r-provision", "r", "data", "h"),
	    JOB("outpost-platform", "t-r-postgresql-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    SJOB(RENDER_REDIS, "outpost-platform", "t-r-redis-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    SJOB(RENDER_MINIO, "outpost-platform", "t-r-minio-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    SJOB(RENDER_KEYCLOAK, "outpost-platform", "t-r-keycloak-down", "r", "deprovision", DIFF_JOB_SUCCEEDED) }, 8,
	  { { DIFF_DELETE, "t-r" }, { DIFF_DELETE, "t-r-provision" } }, 2,
	  { DIFF_PENDING, DIFF_DELETING }, 2, NULL },
	{ "teardown 4: only the deprovision Jobs remain: they go",
	  { { "keep", NULL } }, 1,
	  { { 0 } }, 0,
	  { JOB("outpost-platform", "t-r-postgresql-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    SJOB(RENDER_REDIS, "outpost-platform", "t-r-redis-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    SJOB(RENDER_MINIO, "outpost-platform", "t-r-minio-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    SJOB(RENDER_KEYCLOAK, "outpost-platform", "t-r-keycloak-down", "r", "deprovision", DIFF_JOB_SUCCEEDED) }, 4,
	  { { DIFF_DELETE, "t-r-keycloak-down" }, { DIFF_DELETE, "t-r-minio-down" },
	    { DIFF_DELETE, "t-r-postgresql-down" }, { DIFF_DELETE, "t-r-redis-down" } }, 4,
	  { DIFF_PENDING, DIFF_DELETING }, 2, NULL },
	{ "teardown: a failed deprovision Job keeps the namespace",
	  { { "keep", NULL } }, 1,
	  { { 0 } }, 0,
	  { O("Namespace", NULL, "t-r", "r", "namespace", "h"),
	    SJOB(RENDER_REDIS, "outpost-platform", "t-r-redis-down", "r", "deprovision", DIFF_JOB_FAILED) }, 2,
	  { { 0 } }, 0,
	  { DIFF_PENDING, DIFF_FAILED }, 2, NULL },
	{ "teardown waits for a terminating namespace without deleting it again",
	  { { "keep", NULL } }, 1,
	  { { 0 } }, 0,
	  { { .kind = "Namespace", .name = "t-r", .tenant = "r", .role = "namespace", .managed = true, .terminating = true, .hash = "h" },
	    JOB("outpost-platform", "t-r-postgresql-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    SJOB(RENDER_REDIS, "outpost-platform", "t-r-redis-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    SJOB(RENDER_MINIO, "outpost-platform", "t-r-minio-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    SJOB(RENDER_KEYCLOAK, "outpost-platform", "t-r-keycloak-down", "r", "deprovision", DIFF_JOB_SUCCEEDED) }, 5,
	  { { 0 } }, 0,
	  { DIFF_PENDING, DIFF_DELETING }, 2, NULL },
	{ "a removed tenant's foreign neighbours are never part of its teardown",
	  { { "keep", NULL } }, 1,
	  { { 0 } }, 0,
	  { { .kind = "Namespace", .name = "t-r", .tenant = "r", .hash = "" },
	    { .kind = "Namespace", .name = "foreign", .hash = "" } }, 2,
	  { { 0 } }, 0,
	  { DIFF_PENDING }, 1, NULL },
	{ "a service not ready: the scaffolding goes ahead, that service's Job waits",
	  { { "a", NULL } }, 1,
	  { SCAFFOLD("a"), UP4("a") }, 7,
	  { { 0 } }, 0,
	  { { DIFF_CREATE, "t-a" }, { DIFF_CREATE, "t-a-credentials" }, { DIFF_CREATE, "t-a" },
	    { DIFF_CREATE, "provision-a-postgres" }, { DIFF_CREATE, "provision-a-redis" },
	    { DIFF_CREATE, "provision-a-minio" } }, 6,
	  { DIFF_PROVISIONING }, 1, "waiting for keycloak", B(RENDER_KEYCLOAK), 0 },
	{ "the tenant's message names every service it waits for",
	  { { "a", NULL } }, 1,
	  { SCAFFOLD("a"), UP4("a") }, 7,
	  { { 0 } }, 0,
	  { { DIFF_CREATE, "t-a" }, { DIFF_CREATE, "t-a-credentials" }, { DIFF_CREATE, "t-a" },
	    { DIFF_CREATE, "provision-a-redis" }, { DIFF_CREATE, "provision-a-minio" } }, 5,
	  { DIFF_PROVISIONING }, 1, "waiting for postgresql, keycloak", B(RENDER_PG) | B(RENDER_KEYCLOAK), 0 },
	{ "without the provision scripts no Job is created; the rest is",
	  { { "a", NULL } }, 1,
	  { SCAFFOLD("a"), UP4("a") }, 7,
	  { { 0 } }, 0,
	  { { DIFF_CREATE, "t-a" }, { DIFF_CREATE, "t-a-credentials" }, { DIFF_CREATE, "t-a" } }, 3,
	  { DIFF_PROVISIONING }, 1, "waiting for provision", RENDER_NEED_SCRIPTS, 0 },
	{ "the Jobs' copy of the passwords waits for the provision component",
	  { { "a", NULL } }, 1,
	  { SCAFFOLD("a"), { .kind = "Secret", .ns = "outpost-platform", .name = "outpost-tenant-a", .tenant = "a",
	      .role = "data", .managed = true, .hash = "h4", .needs = RENDER_NEED_SCRIPTS } }, 4,
	  { SCAFFOLD("a") }, 3,
	  { { 0 } }, 0,
	  { DIFF_PROVISIONING }, 1, "waiting for provision", RENDER_NEED_SCRIPTS, 0 },
	{ "a scaffolded tenant waiting for a service is Provisioning, not Ready or Failed",
	  { { "a", NULL } }, 1,
	  { SCAFFOLD("a"), UP(RENDER_KEYCLOAK, "a", "keycloak") }, 4,
	  { SCAFFOLD("a") }, 3,
	  { { 0 } }, 0,
	  { DIFF_PROVISIONING }, 1, "waiting for keycloak", B(RENDER_KEYCLOAK), 0 },
	{ "a changed Job is not replaced while its service is down",
	  { { "a", NULL } }, 1,
	  { { .kind = "Job", .ns = "p", .name = "j1", .tenant = "a", .role = "data", .managed = true,
	      .hash = "new", .needs = NEEDS(RENDER_REDIS) } }, 1,
	  { SJOB(RENDER_REDIS, "p", "j1", "a", "data", DIFF_JOB_SUCCEEDED) }, 1,
	  { { 0 } }, 0,
	  { DIFF_PROVISIONING }, 1, "waiting for redis", B(RENDER_REDIS), 0 },
	{ "a Job already done stays done when its service goes down",
	  { { "a", NULL } }, 1,
	  { UP(RENDER_REDIS, "a", "redis") }, 1,
	  { { .kind = "Job", .ns = "outpost-platform", .name = "provision-a-redis", .tenant = "a",
	      .role = "data", .managed = true, .hash = "j", .job = DIFF_JOB_SUCCEEDED,
	      .needs = NEEDS(RENDER_REDIS) } }, 1,
	  { { 0 } }, 0,
	  { DIFF_READY }, 1, NULL, B(RENDER_REDIS), 0 },
	{ "teardown: a service not ready holds its deprovision Job, the others start",
	  { { 0 } }, 0,
	  { { 0 } }, 0,
	  { O("Namespace", NULL, "t-r", "r", "namespace", "h") }, 1,
	  { { DIFF_DEPROVISION, NULL } }, 1,
	  { DIFF_DELETING }, 1, "teardown: waiting for keycloak to deprovision the data",
	  B(RENDER_KEYCLOAK), B(RENDER_PG) | B(RENDER_REDIS) | B(RENDER_MINIO) },
	{ "teardown: the namespace is kept while a service's data waits for it",
	  { { 0 } }, 0,
	  { { 0 } }, 0,
	  { BUT_KEYCLOAK_DOWN }, 4,
	  { { 0 } }, 0,
	  { DIFF_DELETING }, 1, "teardown: waiting for keycloak to deprovision the data", B(RENDER_KEYCLOAK), 0 },
	{ "teardown: once the service is ready, only its Job is created",
	  { { 0 } }, 0,
	  { { 0 } }, 0,
	  { BUT_KEYCLOAK_DOWN }, 4,
	  { { DIFF_DEPROVISION, NULL } }, 1,
	  { DIFF_DELETING }, 1, "teardown: waiting for the data", 0, B(RENDER_KEYCLOAK) },
	{ "teardown: without the scripts no deprovision Job starts",
	  { { 0 } }, 0,
	  { { 0 } }, 0,
	  { O("Namespace", NULL, "t-r", "r", "namespace", "h") }, 1,
	  { { 0 } }, 0,
	  { DIFF_DELETING }, 1, "teardown: waiting for provision to deprovision", RENDER_NEED_SCRIPTS, 0 },
};

START_TEST(table)
{
	const struct tcase_def *c = &cases[_i];
	struct diff_object desired[8], observed[12];
	struct diff_result r;

	memcpy(desired, c->desired, sizeof(desired));
	memcpy(observed, c->observed, sizeof(observed));
	ck_assert_int_eq(diff_compute(c->tenants, c->ntenants, desired, c->ndesired, observed,
				      c->nobserved, RENDER_NEED_ALL & ~c->not_ready, &r), 0);
	ck_assert_msg(r.nactions == c->nactions, "%s: %zu actions, wanted %zu", c->title, r.nactions,
		      c->nactions);
	for (size_t i = 0; i < c->nactions; i++) {
		ck_assert_msg(r.actions[i].op == c->actions[i].op, "%s: action %zu op %d, wanted %d",
			      c->title, i, r.actions[i].op, c->actions[i].op);
		if (c->actions[i].name)
			ck_assert_str_eq(r.actions[i].obj->name, c->actions[i].name);
		if (r.actions[i].op == DIFF_DEPROVISION)
			ck_assert_msg(r.actions[i].services == c->deprovision, "%s: deprovision services %#x",
				      c->title, r.actions[i].services);
		/* The rule the whole design hangs on. */
		if (r.actions[i].op != DIFF_CREATE && r.actions[i].obj)
			ck_assert(r.actions[i].obj->managed && r.actions[i].obj->tenant &&
				  !strcmp(r.actions[i].obj->tenant, r.actions[i].tenant));
	}
	ck_assert_msg(r.nreports >= c->nreports, "%s: %zu reports", c->title, r.nreports);
	for (size_t i = 0; i < c->nreports; i++)
		ck_assert_msg(r.reports[i].status == c->status[i], "%s: report %zu is %s (%s), wanted %s",
			      c->title, i, diff_status_name(r.reports[i].status), r.reports[i].reason,
			      diff_status_name(c->status[i]));
	if (c->reason)
		ck_assert_msg(strstr(r.reports[0].reason, c->reason), "%s: reason '%s'", c->title,
			      r.reports[0].reason);
	diff_result_free(&r);
}
END_TEST

/* Many tenants at once: no action leaks from one tenant to another. */
START_TEST(tenants_are_independent)
{
	enum { N = 200 };
	static struct diff_tenant tenants[N];
	static struct diff_object desired[N], observed[N];
	static char names[N][16], ns[N][20];
	struct diff_result r;

	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "t%03d", i);
		snprintf(ns[i], sizeof(ns[i]), "t-t%03d", i);
		tenants[i] = (struct diff_tenant){ names[i], i == 7 ? "bad row" : NULL };
		desired[i] = (struct diff_object)D("Namespace", NULL, ns[i], names[i], "namespace", "h");
		observed[i] = desired[i];
		if (i % 2)
			strcpy(observed[i].hash, "old");
	}
	ck_assert_int_eq(diff_compute(tenants, N, desired, N, observed, N, RENDER_NEED_ALL, &r), 0);
	ck_assert_uint_eq(r.nactions, N / 2);
	for (size_t i = 0; i < r.nactions; i++) {
		ck_assert_int_eq(r.actions[i].op, DIFF_APPLY);
		/* The observed object it is applied over (reconcile-execute.c moves its
		 * field ownership first): the same name, the old hash. */
		ck_assert_ptr_eq(r.actions[i].observed, &observed[r.actions[i].obj - desired]);
		ck_assert_str_eq(r.actions[i].observed->hash, "old");
	}
	ck_assert_int_eq(r.reports[7].status, DIFF_FAILED);
	ck_assert_int_eq(r.reports[8].status, DIFF_READY);
	ck_assert_int_eq(r.reports[9].status, DIFF_PROVISIONING);
	diff_result_free(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("diff");
	TCase *tc = tcase_create("plan");

	tcase_add_loop_test(tc, table, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, tenants_are_independent);
	suite_add_tcase(s, tc);
	return check_run(s);
}
