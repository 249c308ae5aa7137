/* The reconciler's loop API without a cluster (dry-run mode): when a pass is
 * wanted (first pass, another process's commit seen through data_version,
 * the resync timer), and what a pass reports. */
#include <check.h>

#include "check-run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "kube.h"
#include "reconcile.h"
#include "state.h"
#include "util.h"

static char dir[64];
static char *db;

static void add(const char *name, const char *app)
{
	struct state *st = NULL;
	struct tenant t = { 0 };
	struct err e = { 0 };
	char host[128];

	snprintf(host, sizeof(host), "%s.example.org", name);
	ck_assert_int_eq(state_open(db, STATE_OPEN_CREATE, &st, &e), 0);
	ck_assert_int_eq(tenant_set_str(&t.name, name), 0);
	ck_assert_int_eq(tenant_set_str(&t.host, host), 0);
	ck_assert_int_eq(tenant_set_str(&t.plan, "small"), 0);
	if (app)
		ck_assert_int_eq(tenant_set_str(&t.app_chart, app), 0);
	ck_assert_msg(state_tenant_insert(st, &t, &e) == 0, "%s", e.msg);
	tenant_clear(&t);
	state_close(st);
}

static void setup(void)
{
	check_tmpdir_make(dir, sizeof(dir), "reconcile");
	db = util_path_join(dir, "state.db");
	add("alpha", NULL);
	add("beta", "webapp");
}

static void teardown(void)
{
	check_tmpdir_remove(dir);
	free(db);
}

static struct reconcile *open_dry(FILE *out, unsigned resync_s)
{
	const char *src = getenv("top_srcdir");
	static char datadir[1024];
	struct reconcile_config cfg = { .state_path = db, .dry_run_out = out, .resync = resync_s * USEC_PER_SEC };
	struct reconcile *r = NULL;
	struct err e = { 0 };

	snprintf(datadir, sizeof(datadir), "%s/charts", src ? src : ".");
	cfg.datadir = datadir;
	ck_assert_msg(reconcile_new(&cfg, &r, &e) == 0, "%s", e.msg);
	return r;
}

START_TEST(wants_pass_follows_changes_and_timer)
{
	FILE *out = fopen("/dev/null", "w");
	struct reconcile *r = open_dry(out, 1);
	struct reconcile_summary sum;
	struct err e = { 0 };
	uint64_t now = clock_mono_us();

	ck_assert(reconcile_wants_pass(r, now));
	ck_assert_int_eq(reconcile_pass(r, &sum, &e), 0);
	ck_assert_uint_eq(sum.tenants, 2);
	now = clock_mono_us();
	ck_assert(!reconcile_wants_pass(r, now));
	/* The resync timer (1 s here) is the deadline. */
	ck_assert_uint_ge(reconcile_next_deadline(r), now + 500 * USEC_PER_MSEC);
	ck_assert_uint_le(reconcile_next_deadline(r), now + USEC_PER_SEC);
	ck_assert(reconcile_wants_pass(r, reconcile_next_deadline(r)));

	/* Another process commits: noticed at the next poll, no timer needed. */
	add("gamma", NULL);
	ck_assert(reconcile_wants_pass(r, clock_mono_us()));
	ck_assert_int_eq(reconcile_pass(r, &sum, &e), 0);
	ck_assert_uint_eq(sum.tenants, 3);
	ck_assert(!reconcile_wants_pass(r, clock_mono_us()));
	reconcile_free(r);
	fclose(out);
}
END_TEST

/* Learned from kube-apiserver 1.20: a patch it cannot type is a 500 that
 * fails the same way however often it is sent. */
START_TEST(retry_only_answers_that_can_change)
{
	static const struct { long code; const char *message; bool retry; } cases[] = {
		{ 429, "too many requests", true },
		{ 500, "etcdserver: request timed out", true },
		{ 500, NULL, true },
		{ 502, "", true }, { 503, "", true }, { 504, "", true },
		{ 500, "failed to create typed patch object: .spec.hard.pods: expected string, got "
		       "&value.valueUnstructured{Value:20}", false },
		{ 400, "", false }, { 404, "", false }, { 409, "", false }, { 410, "", false },
		{ 422, "", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(kube_retryable_answer(cases[i].code, cases[i].message) == cases[i].retry,
			      "case %zu: %ld %s", i, cases[i].code, cases[i].message ? cases[i].message : "(null)");
}
END_TEST

START_TEST(dry_run_prints_every_valid_tenant)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	struct reconcile *r;
	struct reconcile_summary sum;
	struct err e = { 0 };
	json_error_t je;
	json_t *list;

	add("nope", "no-such-app");
	r = open_dry(out, 0);
	ck_assert_int_eq(reconcile_pass(r, &sum, &e), 0);
	reconcile_free(r);
	fclose(out);
	list = json_loads(text, 0, &je);
	ck_assert_ptr_nonnull(list);
	ck_assert_str_eq(json_string_value(json_object_get(list, "kind")), "List");
	ck_assert_uint_eq(json_array_size(json_object_get(list, "items")), 2 * 14);
	ck_assert_uint_eq(sum.failed, 1);
	ck_assert_ptr_nonnull(strstr(sum.first_failure, "nope: app 'no-such-app': not in the app catalog"));
	/* No password ever appears in a dry run. */
	ck_assert_ptr_nonnull(strstr(text, "UkVEQUNURUQ=")); /* base64("REDACTED") */
	json_decref(list);
	free(text);
}
END_TEST

START_TEST(missing_state_file_is_named)
{
	struct reconcile_config cfg = { .state_path = "/nonexistent/state.db", .dry_run_out = stdout };
	struct reconcile *r = NULL;
	struct err e = { 0 };

	ck_assert_int_lt(reconcile_new(&cfg, &r, &e), 0);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/state.db"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reconcile");
	TCase *tc = tcase_create("loop");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, wants_pass_follows_changes_and_timer);
	tcase_add_test(tc, retry_only_answers_that_can_change);
	tcase_add_test(tc, dry_run_prints_every_valid_tenant);
	tcase_add_test(tc, missing_state_file_is_named);
	suite_add_tcase(s, tc);
	return check_run(s);
}
