/* The state store against real SQLite files in a temporary directory. */
#include <check.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check-run.h"
#include "err.h"
#include "state.h"
#include "util.h"

static char dir[64];
static char path[256];

static void setup(void)
{
	check_tmpdir_make(dir, sizeof(dir), "state");
	snprintf(path, sizeof(path), "%s/sub/state.db", dir);
}

static void teardown(void)
{
	check_tmpdir_remove(dir);
}

static struct state *open_new(void)
{
	struct err e = { 0 };
	struct state *st = NULL;

	ck_assert_msg(state_open(path, STATE_OPEN_CREATE, &st, &e) == 0, "%s", e.msg);
	return st;
}

static void raw_exec(const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", sql, msg);
	sqlite3_close(db);
}

static void fill(struct tenant *t, const char *name, const char *host, const char *plan)
{
	memset(t, 0, sizeof(*t));
	ck_assert_int_eq(tenant_set_str(&t->name, name), 0);
	ck_assert_int_eq(tenant_set_str(&t->host, host), 0);
	ck_assert_int_eq(tenant_set_str(&t->plan, plan), 0);
}

static mode_t mode_of(const char *p)
{
	struct stat sb;
	ck_assert_msg(stat(p, &sb) == 0, "stat %s", p);
	return sb.st_mode & 07777;
}

START_TEST(create_sets_modes_and_schema)
{
	struct state *st;
	struct err e = { 0 };
	struct tenant t;
	char sub[300], wal[300], shm[300];

	umask(022);
	st = open_new();
	fill(&t, "acme", "acme.example.com", "small");
	ck_assert_int_eq(state_tenant_insert(st, &t, &e), 0);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	ck_assert_uint_eq(mode_of(sub), 0700);
	ck_assert_uint_eq(mode_of(path), 0600);
	ck_assert_uint_eq(mode_of(wal), 0600);
	ck_assert_uint_eq(mode_of(shm), 0600);
	ck_assert_int_eq(umask(022), 022); /* restored */
	tenant_clear(&t);
	state_close(st);
}
END_TEST

START_TEST(missing_file_is_named)
{
	struct state *st = NULL;
	struct err e = { 0 };

	ck_assert_int_lt(state_open(path, STATE_OPEN_EXISTING, &st, &e), 0);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(e.msg, path));
	ck_assert_ptr_nonnull(strstr(e.msg, "does not exist"));
	ck_assert_int_eq(access(path, F_OK), -1); /* and nothing was created */
}
END_TEST

START_TEST(plans_are_seeded)
{
	struct state *st = open_new();
	struct err e = { 0 };
	struct plan *plans, p;
	size_t n;

	ck_assert_int_eq(state_plan_list(st, &plans, &n, &e), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(plans[0].name, "small");
	ck_assert_str_eq(plans[1].name, "medium");
	ck_assert_str_eq(plans[2].name, "large");
	free(plans);
	ck_assert_int_eq(state_plan_get(st, "medium", &p, &e), 0);
	ck_assert_int_eq(p.cpu_request_m, 500);
	ck_assert_int_eq(p.memory_request_mib, 1024);
	ck_assert_int_eq(state_plan_get(st, "huge", &p, &e), -ENOENT);
	ck_assert_int_eq(e.exit_code, EXIT_REFUSED);
	state_close(st);
}
END_TEST

START_TEST(tenant_crud_and_generation)
{
	struct state *st = open_new();
	struct err e = { 0 };
	struct tenant t, got, other;
	struct tenant_list l;
	char *owner;

	fill(&t, "acme", "acme.example.com", "small");
	ck_assert_int_eq(tenant_value_put(&t, "image.tag", "1.2"), 0);
	ck_assert_int_eq(state_tenant_insert(st, &t, &e), 0);
	ck_assert_int_eq(t.generation, 1);
	ck_assert_int_gt(t.created_at, 0);

	fill(&other, "beta", "acme.example.com", "small");
	ck_assert_int_lt(state_tenant_insert(st, &other, &e), 0);
	ck_assert_int_eq(e.exit_code, EXIT_REFUSED);
	ck_assert_ptr_nonnull(strstr(e.msg, "host 'acme.example.com'"));
	ck_assert_int_eq(state_tenant_host_owner(st, "acme.example.com", "beta", &owner, &e), 0);
	ck_assert_str_eq(owner, "acme");
	free(owner);
	ck_assert_int_eq(state_tenant_host_owner(st, "acme.example.com", "acme", &owner, &e), 0);
	ck_assert_ptr_null(owner);
	tenant_clear(&other);

	ck_assert_int_eq(tenant_set_str(&t.plan, "large"), 0);
	t.suspended = true;
	ck_assert_int_eq(state_tenant_update(st, &t, &e), 0);
	ck_assert_int_eq(t.generation, 2);
	ck_assert_int_eq(state_tenant_get(st, "acme", &got, &e), 0);
	ck_assert_str_eq(got.plan, "large");
	ck_assert(got.suspended);
	ck_assert_int_eq(got.generation, 2);
	ck_assert_uint_eq(got.nvalues, 1);
	ck_assert_str_eq(got.values[0].key, "image.tag");
	ck_assert_str_eq(got.values[0].value, "1.2");
	ck_assert_ptr_null(got.invalid);
	tenant_clear(&got);

	/* Another tool's UPDATE that forgets the generation still bumps it. */
	raw_exec("UPDATE tenants SET suspended = 0 WHERE name = 'acme'");
	ck_assert_int_eq(state_tenant_get(st, "acme", &got, &e), 0);
	ck_assert_int_eq(got.generation, 3);
	tenant_clear(&got);

	ck_assert_int_eq(state_tenant_list(st, &l, &e), 0);
	ck_assert_uint_eq(l.n, 1);
	tenant_list_free(&l);
	ck_assert_int_eq(state_tenant_delete(st, "acme", &e), 0);
	ck_assert_int_eq(state_tenant_delete(st, "acme", &e), -ENOENT);
	ck_assert_ptr_nonnull(strstr(e.msg, "no such tenant"));
	ck_assert_int_eq(state_tenant_get(st, "acme", &got, &e), -ENOENT);
	ck_assert_int_eq(state_tenant_update(st, &t, &e), -ENOENT);
	tenant_clear(&t);
	state_close(st);
}
END_TEST

START_TEST(bad_rows_are_flagged_not_fatal)
{
	struct state *st = open_new();
	struct err e = { 0 };
	struct tenant_list l;

	raw_exec("INSERT INTO tenants (name, host, plan, values_json, created_at, updated_at) VALUES "
		 "('good', 'good.example.com', 'small', '{}', 1, 1),"
		 "('kube-evil', 'evil.example.com', 'small', '{}', 1, 1),"
		 "('nohost', 'localhost', 'small', '{}', 1, 1),"
		 "('badval', 'badval.example.com', 'small', '{\"a..b\":\"x\"}', 1, 1),"
		 "('numval', 'numval.example.com', 'small', '{\"a\":1}', 1, 1),"
		 "('Upper', 'upper.example.com', 'small', '{}', 1, 1)");
	ck_assert_int_eq(state_tenant_list(st, &l, &e), 0);
	ck_assert_uint_eq(l.n, 6);
	/* ORDER BY name uses byte order: "Upper" sorts first. */
	ck_assert_str_eq(l.v[0].name, "Upper");
	ck_assert_ptr_nonnull(strstr(l.v[0].invalid, "name 'Upper'"));
	ck_assert_str_eq(l.v[1].name, "badval");
	ck_assert_ptr_nonnull(strstr(l.v[1].invalid, "set key 'a..b'"));
	ck_assert_str_eq(l.v[2].name, "good");
	ck_assert_ptr_null(l.v[2].invalid);
	ck_assert_str_eq(l.v[3].name, "kube-evil");
	ck_assert_ptr_nonnull(strstr(l.v[3].invalid, "name 'kube-evil'"));
	ck_assert_ptr_nonnull(strstr(l.v[4].invalid, "host 'localhost'"));
	ck_assert_ptr_nonnull(strstr(l.v[5].invalid, "values: key 'a'"));
	tenant_list_free(&l);
	state_close(st);
}
END_TEST

START_TEST(check_constraints_hold)
{
	struct state *st = open_new();
	struct err e = { 0 };
	struct tenant t;

	fill(&t, "acme", "acme.example.com", "nosuchplan");
	ck_assert_int_lt(state_tenant_insert(st, &t, &e), 0);
	ck_assert_int_eq(e.exit_code, EXIT_REFUSED);
	ck_assert_ptr_nonnull(strstr(e.msg, "plan 'nosuchplan'"));
	tenant_clear(&t);
	state_close(st);
}
END_TEST

START_TEST(status_events_components)
{
	struct state *st = open_new();
	struct err e = { 0 };
	struct tenant_status ts = { .name = "acme", .phase = TENANT_PHASE_PROVISIONING,
				    .message = "applying", .observed_generation = 1 }, got, *all;
	struct component_status c = { .name = "k3s", .phase = "Ready", .pid = 42, .restarts = 1,
				       .started_at = 1000 }, *cs;
	struct state_event *ev;
	size_t n;
	enum tenant_phase p;

	ck_assert_int_eq(state_status_get(st, "acme", &got, &e), -ENOENT);
	ck_assert_int_eq(state_status_upsert(st, &ts, &e), 0);
	ts.phase = TENANT_PHASE_READY;
	ck_assert_int_eq(state_status_upsert(st, &ts, &e), 0);
	ck_assert_int_eq(state_status_get(st, "acme", &got, &e), 0);
	ck_assert_int_eq(got.phase, TENANT_PHASE_READY);
	ck_assert_str_eq(got.message, "applying");
	ck_assert_int_gt(got.updated_at, 0);
	ck_assert_int_eq(state_status_list(st, &all, &n, &e), 0);
	ck_assert_uint_eq(n, 1);
	free(all);
	ck_assert_int_eq(state_status_delete(st, "acme", &e), 0);
	ck_assert_int_eq(state_status_list(st, &all, &n, &e), 0);
	ck_assert_uint_eq(n, 0);
	free(all);
	ck_assert_int_eq(tenant_phase_parse("Deleting", &p), 0);
	ck_assert_int_eq(p, TENANT_PHASE_DELETING);
	ck_assert_int_lt(tenant_phase_parse("deleting", &p), 0);

	ck_assert_int_eq(state_begin(st, &e), 0);
	for (int i = 0; i < STATE_EVENTS_PER_TENANT + 50; i++)
		ck_assert_int_eq(state_event_append(st, "acme", i % 2, "Tick", &e, "event %d", i), 0);
	ck_assert_int_eq(state_event_append(st, NULL, false, "Boot", &e, "appliance"), 0);
	ck_assert_int_eq(state_commit(st, &e), 0);
	ck_assert_int_eq(state_event_list(st, "acme", 1000, &ev, &n, &e), 0);
	ck_assert_uint_eq(n, STATE_EVENTS_PER_TENANT);
	ck_assert_str_eq(ev[0].message, "event 50");
	ck_assert_str_eq(ev[n - 1].message, "event 149");
	ck_assert_str_eq(ev[n - 1].type, "Warning");
	free(ev);
	ck_assert_int_eq(state_event_list(st, NULL, 2, &ev, &n, &e), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(ev[1].reason, "Boot");
	ck_assert_str_eq(ev[1].tenant, "");
	free(ev);

	ck_assert_int_eq(state_component_upsert(st, &c, &e), 0);
	c.restarts = 2;
	ck_assert_int_eq(state_component_upsert(st, &c, &e), 0);
	ck_assert_int_eq(state_component_list(st, &cs, &n, &e), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(cs[0].name, "k3s");
	ck_assert_int_eq(cs[0].restarts, 2);
	ck_assert_int_eq(cs[0].pid, 42);
	free(cs);
	state_close(st);
}
END_TEST

/* Two processes share the component rows: each writes only what changed
 * from what it wrote (or, after seeding, from what the file holds), so a
 * health check that finds everything as it was commits nothing, and other
 * processes' data_version does not move. */
START_TEST(component_rows_sync_and_seed)
{
	struct state *a = open_new(), *b = open_new();
	struct component_status last[2] = { { .name = "api" }, { .name = "redis" } }, next[2];
	struct component_status seeded[3] = { { .name = "api" }, { .name = "redis" },
					       { .name = "minio" } };
	struct err e = { 0 };
	int64_t v0, v1;

	memcpy(next, last, sizeof(next));
	snprintf(next[0].phase, sizeof(next[0].phase), "Ready");
	next[0].started_at = 1000;
	snprintf(next[1].phase, sizeof(next[1].phase), "Starting");
	snprintf(next[1].message, sizeof(next[1].message), "waiting for StatefulSet/redis 0/1");
	ck_assert_int_eq(state_data_version(b, &v0, &e), 0);
	ck_assert_int_eq(state_component_sync(a, last, next, 2, &e), 0);
	ck_assert_int_eq(state_data_version(b, &v1, &e), 0);
	ck_assert_int_ne(v1, v0);
	ck_assert_int_eq(memcmp(last, next, sizeof(next)), 0);
	ck_assert_int_eq(state_component_sync(a, last, next, 2, &e), 0);
	ck_assert_int_eq(state_data_version(b, &v0, &e), 0);
	ck_assert_int_eq(v0, v1); /* nothing changed: no commit */

	ck_assert_int_eq(state_component_seed(b, seeded, 3, &e), 0);
	ck_assert_str_eq(seeded[0].phase, "Ready");
	ck_assert_int_eq(seeded[0].started_at, 1000);
	ck_assert_str_eq(seeded[1].message, "waiting for StatefulSet/redis 0/1");
	ck_assert_str_eq(seeded[2].name, ""); /* no row: cleared, so it is written */
	snprintf(next[1].phase, sizeof(next[1].phase), "Ready");
	next[1].message[0] = '\0';
	memcpy(last, seeded, sizeof(last));
	ck_assert_int_eq(state_component_sync(b, last, next, 2, &e), 0);
	ck_assert_int_eq(state_data_version(a, &v0, &e), 0);
	ck_assert_int_eq(state_data_version(b, &v1, &e), 0);
	ck_assert_int_eq(state_component_sync(b, last, next, 2, &e), 0);
	ck_assert_int_eq(state_data_version(a, &v1, &e), 0);
	ck_assert_int_eq(v1, v0);
	state_close(a);
	state_close(b);
}
END_TEST

/* What no pass has looked at, by content: new and changed tenants, and the
 * row of a removed one until the reconciler marks it Deleting. */
START_TEST(desired_unobserved)
{
	struct state *st = open_new();
	struct tenant_status ts = { .name = "acme", .phase = TENANT_PHASE_READY,
				    .observed_generation = 1 };
	struct err e = { 0 };
	struct tenant t;
	bool u = true;

	ck_assert_int_eq(state_desired_unobserved(st, &u, &e), 0);
	ck_assert(!u);
	fill(&t, "acme", "acme.example.com", "small");
	ck_assert_int_eq(state_tenant_insert(st, &t, &e), 0);
	ck_assert_int_eq(state_desired_unobserved(st, &u, &e), 0);
	ck_assert(u);
	ck_assert_int_eq(state_status_upsert(st, &ts, &e), 0);
	ck_assert_int_eq(state_desired_unobserved(st, &u, &e), 0);
	ck_assert(!u);
	ck_assert_int_eq(state_tenant_update(st, &t, &e), 0);
	ck_assert_int_eq(state_desired_unobserved(st, &u, &e), 0);
	ck_assert(u);
	ts.observed_generation = t.generation;
	ck_assert_int_eq(state_status_upsert(st, &ts, &e), 0);
	ck_assert_int_eq(state_desired_unobserved(st, &u, &e), 0);
	ck_assert(!u);
	ck_assert_int_eq(state_tenant_delete(st, "acme", &e), 0);
	ck_assert_int_eq(state_desired_unobserved(st, &u, &e), 0);
	ck_assert(u);
	ts.phase = TENANT_PHASE_DELETING;
	ck_assert_int_eq(state_status_upsert(st, &ts, &e), 0);
	ck_assert_int_eq(state_desired_unobserved(st, &u, &e), 0);
	ck_assert(!u);
	tenant_clear(&t);
	state_close(st);
}
END_TEST

START_TEST(data_version_sees_other_writers_only)
{
	struct state *a = open_new(), *b = open_new();
	struct err e = { 0 };
	struct tenant t;
	int64_t v0, v1, v2;

	ck_assert_int_eq(state_data_version(a, &v0, &e), 0);
	fill(&t, "acme", "acme.example.com", "small");
	ck_assert_int_eq(state_tenant_insert(a, &t, &e), 0);
	ck_assert_int_eq(state_data_version(a, &v1, &e), 0);
	ck_assert_int_eq(v1, v0); /* its own commit does not count */
	ck_assert_int_eq(state_tenant_delete(b, "acme", &e), 0);
	ck_assert_int_eq(state_data_version(a, &v2, &e), 0);
	ck_assert_int_ne(v2, v1);
	tenant_clear(&t);
	state_close(a);
	state_close(b);
}
END_TEST

/* A certificate row is written only when it changes, refused when it is not
 * a certificate's, and goes with the tenant's status row. */
START_TEST(certificate_rows)
{
	struct state *st = open_new();
	struct err e = { 0 };
	struct tenant_status ts = { .name = "acme", .phase = TENANT_PHASE_READY };
	struct tenant_certificate c = { .name = "acme", .source = "ca", .not_after = 1796428800 },
				  bad = { .name = "beta", .source = "self", .not_after = 1 }, *all;
	size_t n;

	ck_assert_int_eq(state_status_upsert(st, &ts, &e), 0);
	ck_assert_int_eq(state_certificate_set(st, &c, &e), 1);
	ck_assert_int_eq(state_certificate_set(st, &c, &e), 0);
	c.not_after++;
	ck_assert_int_eq(state_certificate_set(st, &c, &e), 1);
	snprintf(c.source, sizeof(c.source), "operator");
	ck_assert_int_eq(state_certificate_set(st, &c, &e), 1);
	ck_assert_int_eq(state_certificate_set(st, &bad, &e), -1);
	ck_assert_int_eq(e.exit_code, EXIT_REFUSED);
	/* The supervisor rewrites a status row with INSERT OR REPLACE: the
	 * certificate stays. */
	ck_assert_int_eq(state_status_upsert(st, &ts, &e), 0);
	ck_assert_int_eq(state_certificate_list(st, &all, &n, &e), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(all[0].source, "operator");
	ck_assert_int_eq(all[0].not_after, 1796428801);
	free(all);
	ck_assert_int_eq(state_status_delete(st, "acme", &e), 0);
	ck_assert_int_eq(state_certificate_list(st, &all, &n, &e), 0);
	ck_assert_uint_eq(n, 0);
	free(all);
	state_close(st);
}
END_TEST

START_TEST(migrates_from_v1)
{
	struct state *st;
	struct err e = { 0 };
	struct tenant t;
	struct tenant_status ts;
	struct component_status c = { .name = "api", .phase = "Ready" }, *cs;
	char fixture[512], sub[300], *sql;
	size_t n;

	snprintf(fixture, sizeof(fixture), "%s/tests/fixtures/state-v1.sql", getenv("top_srcdir"));
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_msg(util_read_file(fixture, 1 << 20, &sql, NULL, &e) == 0, "%s", e.msg);
	raw_exec(sql);
	free(sql);

	ck_assert_msg(state_open(path, STATE_OPEN_EXISTING, &st, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(state_tenant_get(st, "acme", &t, &e), 0);
	ck_assert_str_eq(t.host, "acme.example.com");
	ck_assert_str_eq(t.app_chart, "wordpress");
	ck_assert_str_eq(t.app_version, "6.4.2");
	ck_assert_int_eq(t.generation, 3);
	ck_assert_uint_eq(t.nvalues, 1);
	tenant_clear(&t);
	ck_assert_int_eq(state_tenant_get(st, "beta", &t, &e), 0);
	ck_assert(t.suspended);
	tenant_clear(&t);
	ck_assert_int_eq(state_status_get(st, "acme", &ts, &e), 0);
	ck_assert_int_eq(ts.observed_generation, 3);
	ck_assert_int_eq(state_component_upsert(st, &c, &e), 0);
	ck_assert_int_eq(state_component_list(st, &cs, &n, &e), 0);
	ck_assert_uint_eq(n, 1);
	free(cs);
	state_close(st);
	/* Reopening an up-to-date file changes nothing. */
	ck_assert_int_eq(state_open(path, STATE_OPEN_EXISTING, &st, &e), 0);
	state_close(st);
	raw_exec("PRAGMA user_version = 99");
	ck_assert_int_lt(state_open(path, STATE_OPEN_EXISTING, &st, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "newer"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, create_sets_modes_and_schema);
	tcase_add_test(tc, missing_file_is_named);
	tcase_add_test(tc, plans_are_seeded);
	tcase_add_test(tc, tenant_crud_and_generation);
	tcase_add_test(tc, bad_rows_are_flagged_not_fatal);
	tcase_add_test(tc, check_constraints_hold);
	tcase_add_test(tc, status_events_components);
	tcase_add_test(tc, component_rows_sync_and_seed);
	tcase_add_test(tc, desired_unobserved);
	tcase_add_test(tc, data_version_sees_other_writers_only);
	tcase_add_test(tc, certificate_rows);
	tcase_add_test(tc, migrates_from_v1);
	suite_add_tcase(s, tc);
	return check_run(s);
}
