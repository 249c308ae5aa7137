/* Tenant usage: quantities read as millicores and bytes (rounded up, as the
 * API server rounds), PodMetrics summed per tenant namespace, the order of
 * `outpost top`, percentages and the sentence of `tenant show`. */
#include <check.h>

#include "check-run.h"
#include <limits.h>
#include <string.h>

#include "quantity.h"
#include "usage.h"
#include "util.h"

static const struct {
	const char *s;
	int exp10;
	int64_t want; /* -1: refused */
} scaled[] = {
	{ "250m", -3, 250 },        { "1", -3, 1000 },          { "1.5", -3, 1500 },
	{ "12345678n", -3, 13 },    { "1n", -3, 1 },            { "0", -3, 0 },
	{ "999999u", -3, 1000 },    { "1000001u", -3, 1001 },   { "2k", -3, 2000000 },
	{ "1Ki", 0, 1024 },         { "80Mi", 0, 83886080 },    { "1.5Gi", 0, 1610612736 },
	{ "1e3", 0, 1000 },         { "0.5", 0, 1 },            { "123456k", 0, 123456000 },
	{ "-1", -3, -1 },           { "8Ei", 0, -1 },           { "9223372036854775807", 0, INT64_MAX },
	{ "9223372036854775808", 0, -1 }, { "9223372036854775807", -3, -1 },
};

START_TEST(quantity_scaled_table)
{
	struct quantity q;
	int64_t v = -42;

	ck_assert_msg(quantity_parse(scaled[_i].s, &q) == 0, "%s parses", scaled[_i].s);
	if (scaled[_i].want < 0) {
		ck_assert_msg(quantity_scaled(&q, scaled[_i].exp10, &v) == -1, "%s refused", scaled[_i].s);
		return;
	}
	ck_assert_msg(quantity_scaled(&q, scaled[_i].exp10, &v) == 0, "%s scales", scaled[_i].s);
	ck_assert_msg(v == scaled[_i].want, "%s at 10^%d: %lld, wanted %lld", scaled[_i].s,
		      scaled[_i].exp10, (long long)v, (long long)scaled[_i].want);
}
END_TEST

static const struct plan plans[] = {
	{ .name = "small", .cpu_limit_m = 500, .memory_limit_mib = 768 },
	{ .name = "large", .cpu_limit_m = 2000, .memory_limit_mib = 4096 },
};

/* Three tenants, sorted by name as the store lists them. */
static struct tenant tenants[] = {
	{ .name = (char *)"acme", .plan = (char *)"small" },
	{ .name = (char *)"beta", .plan = (char *)"large" },
	{ .name = (char *)"gone", .plan = (char *)"retired" },
};

static const struct tenant_list list = { tenants, 3 };

static json_t *pod(const char *ns, const char *name, const char *cpu, const char *mem)
{
	return json_pack("{s:{s:s, s:s}, s:s, s:s, s:[{s:s, s:{s:s, s:s}}]}", "metadata", "namespace",
			 ns, "name", name, "timestamp", "2026-12-04T01:00:00Z", "window", "15s",
			 "containers", "name", "app", "usage", "cpu", cpu, "memory", mem);
}

START_TEST(rows_sum_per_namespace)
{
	json_t *items = json_array(), *two = pod("t-beta", "web-1", "1", "1Gi");
	struct usage_row *rows = NULL;
	struct err e = { 0 };

	/* A second container in one pod counts toward the same pod. */
	json_array_append_new(json_object_get(two, "containers"),
			      json_pack("{s:s, s:{s:s, s:s}}", "name", "side", "usage", "cpu", "250m",
					"memory", "512Mi"));
	json_array_append_new(items, pod("t-acme", "web-0", "120m", "80Mi"));
	json_array_append_new(items, two);
	json_array_append_new(items, pod("t-beta", "web-2", "12345678n", "1Ki"));
	json_array_append_new(items, pod("kube-system", "coredns", "5m", "20Mi"));
	json_array_append_new(items, pod("t-stranger", "x", "9", "9Gi"));
	json_array_append_new(items, pod("outpost-platform", "postgres-0", "300m", "1Gi"));
	ck_assert_int_eq(usage_rows(&list, plans, 2, items, &rows, &e), 0);
	ck_assert_ptr_eq(rows[0].tenant, &tenants[0]);
	ck_assert_ptr_eq(rows[0].plan, &plans[0]);
	ck_assert_int_eq(rows[0].cpu_m, 120);
	ck_assert_int_eq(rows[0].memory_bytes, 80 << 20);
	ck_assert_uint_eq(rows[0].pods, 1);
	ck_assert_int_eq(rows[1].cpu_m, 1000 + 250 + 13);
	ck_assert_int_eq(rows[1].memory_bytes, (1536 << 20) + 1024);
	ck_assert_uint_eq(rows[1].pods, 2);
	ck_assert_ptr_null(rows[2].plan);
	ck_assert_int_eq(rows[2].cpu_m, 0);
	ck_assert_uint_eq(rows[2].pods, 0);

	usage_sort(rows, 3);
	ck_assert_str_eq(rows[0].tenant->name, "beta");
	ck_assert_str_eq(rows[1].tenant->name, "acme");
	ck_assert_str_eq(rows[2].tenant->name, "gone");
	free(rows);
	json_decref(items);
}
END_TEST

START_TEST(rows_refuse_garbage)
{
	static const char *const bad[][2] = { { "lots", "1Mi" }, { "1m", "1 Mi" }, { "-5m", "1Mi" },
					      { "1m", "9Ei" } };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_t *items = json_pack("[o]", pod("t-acme", "web-0", bad[i][0], bad[i][1]));
		struct usage_row *rows = (void *)1;
		struct err e = { 0 };
		ck_assert_int_eq(usage_rows(&list, plans, 2, items, &rows, &e), -1);
		ck_assert_ptr_null(rows);
		ck_assert_msg(strstr(e.msg, "pod t-acme/web-0") != NULL, "%s", e.msg);
		json_decref(items);
	}
	/* Usage missing altogether is garbage too, not zero. */
	json_t *items = json_pack("[{s:{s:s, s:s}, s:[{s:s}]}]", "metadata", "namespace", "t-acme",
				  "name", "web-0", "containers", "name", "app");
	struct usage_row *rows = NULL;
	struct err e = { 0 };
	ck_assert_int_eq(usage_rows(&list, plans, 2, items, &rows, &e), -1);
	json_decref(items);
}
END_TEST

START_TEST(sort_ties)
{
	struct usage_row rows[] = {
		{ .tenant = &tenants[2], .cpu_m = 100, .memory_bytes = 5 },
		{ .tenant = &tenants[1], .cpu_m = 100, .memory_bytes = 5 },
		{ .tenant = &tenants[0], .cpu_m = 100, .memory_bytes = 9 },
	};

	usage_sort(rows, 3);
	ck_assert_str_eq(rows[0].tenant->name, "acme"); /* more memory */
	ck_assert_str_eq(rows[1].tenant->name, "beta"); /* then by name */
	ck_assert_str_eq(rows[2].tenant->name, "gone");
	usage_sort(NULL, 0);
}
END_TEST

START_TEST(percent_and_sentence)
{
	struct usage_row r = { .tenant = &tenants[0], .plan = &plans[0], .cpu_m = 120,
			       .memory_bytes = 80 << 20, .pods = 1 };
	char s[200];
	json_t *j;

	ck_assert_int_eq(usage_percent(120, 500), 24);
	ck_assert_int_eq(usage_percent(499, 500), 99);
	ck_assert_int_eq(usage_percent(750, 500), 150);
	ck_assert_int_eq(usage_percent(1, 0), -1);
	ck_assert_int_eq(usage_percent(INT64_MAX, 1), INT_MAX);
	usage_describe(&r, s, sizeof(s));
	ck_assert_str_eq(s, "CPU 120m of 500m (24%), memory 80 MiB of 768 MiB (10%), 1 pod");
	j = usage_json(&r);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "cpu_percent")), 24);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "memory_limit_bytes")), 768LL << 20);
	json_decref(j);

	r.plan = NULL;
	r.tenant = &tenants[2];
	r.pods = 2;
	r.memory_bytes = 1;
	usage_describe(&r, s, sizeof(s));
	ck_assert_str_eq(s, "CPU 120m, memory 1 MiB, 2 pods (plan retired unknown)");
	j = usage_json(&r);
	ck_assert(json_is_null(json_object_get(j, "cpu_percent")));
	ck_assert(json_is_null(json_object_get(j, "memory_limit_bytes")));
	json_decref(j);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("usage");
	TCase *q = tcase_create("quantity"), *u = tcase_create("usage");

	tcase_add_loop_test(q, quantity_scaled_table, 0, ARRAY_SIZE(scaled));
	suite_add_tcase(s, q);
	tcase_add_test(u, rows_sum_per_namespace);
	tcase_add_test(u, rows_refuse_garbage);
	tcase_add_test(u, sort_ties);
	tcase_add_test(u, percent_and_sentence);
	suite_add_tcase(s, u);
	return check_run(s);
}
