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
#define JOB(ns_, n_, t_, r_, s_) { .kind = "Job", .ns = ns_, .name = n_, .tenant = t_, .role = r_, \
	.managed = true, .hash = "j", .job = s_ }

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
};

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
	  { O("Namespace", NULL, "t-r", "r", "namespace", "h"), JOB("outpost-platform", "t-r-redis-down", "r", "deprovision", DIFF_JOB_SUCCEEDED) }, 2,
	  { { DIFF_DEPROVISION, NULL } }, 1,
	  { DIFF_PENDING, DIFF_DELETING }, 2, NULL },
	{ "teardown 3: data gone, the namespace and the rest go, deprovision Jobs last",
	  { { "keep", NULL } }, 1,
	  { { 0 } }, 0,
	  { O("Namespace", NULL, "t-r", "r", "namespace", "h"),
	    JOB("outpost-platform", "t-r-postgresql-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    JOB("outpost-platform", "t-r-redis-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    JOB("outpost-platform", "t-r-minio-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    JOB("outpost-platform", "t-r-keycloak-down", "r", "deprovision", DIFF_JOB_SUCCEEDED) }, 5,
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
	    JOB("outpost-platform", "t-r-redis-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    JOB("outpost-platform", "t-r-minio-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    JOB("outpost-platform", "t-r-keycloak-down", "r", "deprovision", DIFF_JOB_SUCCEEDED) }, 8,
	  { { DIFF_DELETE, "t-r" }, { DIFF_DELETE, "t-r-provision" } }, 2,
	  { DIFF_PENDING, DIFF_DELETING }, 2, NULL },
	{ "teardown 4: only the deprovision Jobs remain: they go",
	  { { "keep", NULL } }, 1,
	  { { 0 } }, 0,
	  { JOB("outpost-platform", "t-r-postgresql-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    JOB("outpost-platform", "t-r-redis-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    JOB("outpost-platform", "t-r-minio-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    JOB("outpost-platform", "t-r-keycloak-down", "r", "deprovision", DIFF_JOB_SUCCEEDED) }, 4,
	  { { DIFF_DELETE, "t-r-keycloak-down" }, { DIFF_DELETE, "t-r-minio-down" },
	    { DIFF_DELETE, "t-r-postgresql-down" }, { DIFF_DELETE, "t-r-redis-down" } }, 4,
	  { DIFF_PENDING, DIFF_DELETING }, 2, NULL },
	{ "teardown: a failed deprovision Job keeps the namespace",
	  { { "keep", NULL } }, 1,
	  { { 0 } }, 0,
	  { O("Namespace", NULL, "t-r", "r", "namespace", "h"),
	    JOB("outpost-platform", "t-r-redis-down", "r", "deprovision", DIFF_JOB_FAILED) }, 2,
	  { { 0 } }, 0,
	  { DIFF_PENDING, DIFF_FAILED }, 2, NULL },
	{ "teardown waits for a terminating namespace without deleting it again",
	  { { "keep", NULL } }, 1,
	  { { 0 } }, 0,
	  { { .kind = "Namespace", .name = "t-r", .tenant = "r", .role = "namespace", .managed = true, .terminating = true, .hash = "h" },
	    JOB("outpost-platform", "t-r-postgresql-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    JOB("outpost-platform", "t-r-redis-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    JOB("outpost-platform", "t-r-minio-down", "r", "deprovision", DIFF_JOB_SUCCEEDED),
	    JOB("outpost-platform", "t-r-keycloak-down", "r", "deprovision", DIFF_JOB_SUCCEEDED) }, 5,
	  { { 0 } }, 0,
	  { DIFF_PENDING, DIFF_DELETING }, 2, NULL },
	{ "a removed tenant's foreign neighbours are never part of its teardown",
	  { { "keep", NULL } }, 1,
	  { { 0 } }, 0,
	  { { .kind = "Namespace", .name = "t-r", .tenant = "r", .hash = "" },
	    { .kind = "Namespace", .name = "foreign", .hash = "" } }, 2,
	  { { 0 } }, 0,
	  { DIFF_PENDING }, 1, NULL },
};

START_TEST(table)
{
	const struct tcase_def *c = &cases[_i];
	struct diff_object desired[8], observed[12];
	struct diff_result r;

	memcpy(desired, c->desired, sizeof(desired));
	memcpy(observed, c->observed, sizeof(observed));
	ck_assert_int_eq(diff_compute(c->tenants, c->ntenants, desired, c->ndesired, observed,
				      c->nobserved, &r), 0);
	ck_assert_msg(r.nactions == c->nactions, "%s: %zu actions, wanted %zu", c->title, r.nactions,
		      c->nactions);
	for (size_t i = 0; i < c->nactions; i++) {
		ck_assert_msg(r.actions[i].op == c->actions[i].op, "%s: action %zu op %d, wanted %d",
			      c->title, i, r.actions[i].op, c->actions[i].op);
		if (c->actions[i].name)
			ck_assert_str_eq(r.actions[i].obj->name, c->actions[i].name);
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
	ck_assert_int_eq(diff_compute(tenants, N, desired, N, observed, N, &r), 0);
	ck_assert_uint_eq(r.nactions, N / 2);
	for (size_t i = 0; i < r.nactions; i++)
		ck_assert_int_eq(r.actions[i].op, DIFF_APPLY);
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
