/* The capacity arithmetic against hand-computed figures, with the real
 * charts/capacity.json: system 500m/1024 MiB/8 GiB, k3s 750m/1792 MiB/15 GiB
 * (metrics-server's 100m/70 MiB included),
 * eviction 512 MiB and max(nodefs 10 %, imagefs 10 %) of the disk; platform
 * requests 2750m/3968 MiB/41 GiB, limits 7500m/5632 MiB; limits ratio 2. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capacity.h"
#include "check-run.h"
#include "err.h"

/* The seeded plans (state-schema.c). */
static const struct plan small = { "small", 250, 500, 512, 768, 1, 10 };
static const struct plan medium = { "medium", 500, 1000, 1024, 1536, 2, 20 };
static const struct plan large = { "large", 1000, 2000, 2048, 3072, 5, 40 };

static struct capacity_budget budget;

static void setup(void)
{
	char dir[512];
	struct err e = { 0 };

	snprintf(dir, sizeof(dir), "%s/charts", getenv("top_srcdir"));
	ck_assert_msg(capacity_budget_load(dir, &budget, &e) == 0, "%s", e.msg);
}

#define RES_EQ(r, c, m, d)                                                                         \
	do {                                                                                       \
		ck_assert_int_eq((r).cpu_m, (c));                                                  \
		ck_assert_int_eq((r).memory_mib, (m));                                             \
		ck_assert_int_eq((r).disk_gib, (d));                                               \
	} while (0)

static void report(const struct capacity_res *total, const struct plan *const *tenants, size_t n,
		   struct capacity_report *r)
{
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < n; i++)
		capacity_add_tenant(r, tenants[i]);
	capacity_compute(&budget, total, r);
}

START_TEST(budget_file_parses)
{
	RES_EQ(budget.reference, 8000, 16384, 100);
	ck_assert_uint_eq(budget.nplatform, 5);
	ck_assert_int_eq(budget.eviction_disk_percent, 10);
	ck_assert(budget.limits_ratio == 2.0);
}
END_TEST

START_TEST(reference_8c_16g)
{
	struct capacity_report r;
	struct err e = { 0 };
	const struct plan *two[] = { &small, &small };
	const struct plan *thirteen[13];

	for (size_t i = 0; i < 13; i++)
		thirteen[i] = &small;
	report(&budget.reference, NULL, 0, &r);
	RES_EQ(r.reserved_eviction, 0, 512, 10);
	RES_EQ(r.allocatable, 6750, 13056, 67);
	RES_EQ(r.platform_request, 2750, 3968, 41);
	RES_EQ(r.platform_limit, 7500, 5632, 41);
	RES_EQ(r.free_request, 4000, 9088, 26);
	RES_EQ(r.limit_budget, 13500, 26112, 67);
	RES_EQ(r.free_limit, 6000, 20480, 26);
	/* CPU limits bind: 6000m of limit budget are left for tenants */
	ck_assert_int_eq(capacity_fits(&r, &small), 12);  /* 6000 / 500 */
	ck_assert_int_eq(capacity_fits(&r, &medium), 6);  /* 6000 / 1000 */
	ck_assert_int_eq(capacity_fits(&r, &large), 3);   /* 6000 / 2000 */
	ck_assert_int_eq(capacity_admit(&r, &e), 0);

	report(&budget.reference, two, 2, &r);
	ck_assert_uint_eq(r.tenants, 2);
	RES_EQ(r.tenant_request, 500, 1024, 2);
	RES_EQ(r.free_request, 3500, 8064, 24);
	RES_EQ(r.free_limit, 5000, 18944, 24);
	ck_assert_int_eq(capacity_fits(&r, &small), 10);
	ck_assert_int_eq(capacity_fits(&r, &medium), 5);

	report(&budget.reference, thirteen, 13, &r);
	ck_assert_int_lt(capacity_admit(&r, &e), 0);
	ck_assert_int_eq(e.exit_code, EXIT_REFUSED);
	ck_assert_str_eq(e.msg, "capacity: tenants' CPU limits would need 6500m, 6000m is available "
				"to tenants (see 'outpost capacity')");
}
END_TEST

START_TEST(smaller_4c_8g)
{
	const struct capacity_res box = { 4000, 8192, 200 };
	struct capacity_report r;
	struct err e = { 0 };

	report(&box, NULL, 0, &r);
	RES_EQ(r.reserved_eviction, 0, 512, 20);
	RES_EQ(r.allocatable, 2750, 4864, 157);
	RES_EQ(r.free_request, 0, 896, 116);
	RES_EQ(r.limit_budget, 5500, 9728, 157);
	RES_EQ(r.free_limit, -2000, 4096, 116);
	ck_assert_int_eq(capacity_fits(&r, &small), 0);
	ck_assert_int_eq(capacity_fits(&r, &large), 0);
	/* the platform's own limits do not fit twice the allocatable CPU */
	ck_assert_int_lt(capacity_admit(&r, &e), 0);
	ck_assert_str_eq(e.msg, "capacity: the platform alone needs 2000m more CPU limits than the "
				"box has (see 'outpost capacity')");
}
END_TEST

START_TEST(larger_32c_128g)
{
	const struct capacity_res box = { 32000, 131072, 1000 };
	struct capacity_report r;
	struct err e = { 0 };
	const struct plan *mix[] = { &large, &large, &medium, &small };

	report(&box, NULL, 0, &r);
	RES_EQ(r.reserved_eviction, 0, 512, 100);
	RES_EQ(r.allocatable, 30750, 127744, 877);
	RES_EQ(r.free_request, 28000, 123776, 836);
	RES_EQ(r.limit_budget, 61500, 255488, 877);
	RES_EQ(r.free_limit, 54000, 249856, 836);
	ck_assert_int_eq(capacity_fits(&r, &small), 108);  /* CPU limits: 54000 / 500 */
	ck_assert_int_eq(capacity_fits(&r, &medium), 54);  /* CPU limits: 54000 / 1000 */
	ck_assert_int_eq(capacity_fits(&r, &large), 27);   /* CPU limits: 54000 / 2000 */

	report(&box, mix, 4, &r);
	RES_EQ(r.tenant_request, 2750, 5632, 13);
	RES_EQ(r.tenant_limit, 5500, 8448, 13);
	RES_EQ(r.free_request, 25250, 118144, 823);
	ck_assert_int_eq(capacity_fits(&r, &large), 24); /* (54000 - 5500) / 2000 */
	ck_assert_int_eq(capacity_admit(&r, &e), 0);
}
END_TEST

START_TEST(suspended_and_unknown_plan_tenants_do_not_count)
{
	struct tenant v[3] = { { .plan = "small" }, { .plan = "large", .suspended = true },
			       { .plan = "nosuch" } };
	const struct plan plans[] = { small, medium, large };
	struct capacity_report r;

	capacity_tenants(&budget, &budget.reference, v, 3, plans, 3, &r);
	ck_assert_uint_eq(r.tenants, 1);
	RES_EQ(r.tenant_request, 250, 512, 1);
}
END_TEST

START_TEST(profile_files)
{
	char path[] = "/tmp/outpost-check-profile.XXXXXX";
	struct capacity_profile p;
	struct err e = { 0 };
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fputs("{\"cpu_millicores\": 8000, \"memory_mib\": 16384, \"disk_gib\": 100}", f);
	fclose(f);
	ck_assert_msg(capacity_profile_get(path, "/", &p, &e) == 0, "%s", e.msg);
	RES_EQ(p.total, 8000, 16384, 100);
	ck_assert_str_eq(p.source, path);
	f = fopen(path, "w");
	fputs("{\"cpu_millicores\": 8000, \"memory_mib\": -1, \"disk_gib\": 100}", f);
	fclose(f);
	ck_assert_int_lt(capacity_profile_load(path, &p, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "memory_mib: must be a non-negative integer"));
	f = fopen(path, "w");
	fputs("{\"cpus\": 8}", f);
	fclose(f);
	ck_assert_int_lt(capacity_profile_load(path, &p, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "unknown key 'cpus'"));
	unlink(path);
	ck_assert_int_lt(capacity_profile_load(path, &p, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, path));

	/* Detection works on a directory that does not exist yet (its parent counts). */
	ck_assert_msg(capacity_profile_get(NULL, "/tmp/no/such/dir", &p, &e) == 0, "%s", e.msg);
	ck_assert_int_ge(p.total.cpu_m, 1000);
	ck_assert_int_gt(p.total.memory_mib, 0);
	ck_assert_int_gt(p.total.disk_gib, 0);
	ck_assert_str_eq(p.source, "detected");
}
END_TEST

/* The real capacity.json with its first `from` replaced by `to`, loaded from a
 * temporary directory; returns capacity_budget_load's result. */
static int load_edited(const char *from, const char *to, struct err *e)
{
	char src[512], dir[] = "/tmp/outpost-check-budget.XXXXXX", dst[64], text[16384];
	struct capacity_budget b;
	FILE *f;
	size_t n;
	char *at;
	int rc;

	snprintf(src, sizeof(src), "%s/charts/capacity.json", getenv("top_srcdir"));
	f = fopen(src, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	at = strstr(text, from);
	ck_assert_ptr_nonnull(at);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(dst, sizeof(dst), "%s/capacity.json", dir);
	f = fopen(dst, "w");
	fprintf(f, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	fclose(f);
	rc = capacity_budget_load(dir, &b, e);
	unlink(dst);
	rmdir(dir);
	return rc;
}

/* metrics-server's requests are carried by the k3s reservation; a part that
 * outgrows it is refused at load, so it cannot eat the tenants' share. */
START_TEST(k3s_reservation_covers_its_parts)
{
	struct err e = { 0 };
	const char *ms = "\"metrics-server\": { \"cpu_millicores\": 100, \"memory_mib\": 70";

	ck_assert_msg(load_edited(ms, ms, &e) == 0, "%s", e.msg);
	ck_assert_int_lt(load_edited(ms, "\"metrics-server\": { \"cpu_millicores\": 800, \"memory_mib\": 70",
				     &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "reserved.k3s.includes: 800m CPU and 70 MiB exceed the "
					    "reservation (750m, 1792 MiB)"));
	ck_assert_int_lt(load_edited(ms, "\"metrics-server\": { \"cpu_millicores\": 100, \"memory_mib\": 1793",
				     &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "exceed the reservation"));
	ck_assert_int_lt(load_edited(ms, "\"metrics-server\": { \"cpu_millicores\": \"1\", \"memory_mib\": 70",
				     &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "reserved.k3s.includes.metrics-server.cpu_millicores: must be "
					    "a non-negative integer"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("capacity");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, budget_file_parses);
	tcase_add_test(tc, reference_8c_16g);
	tcase_add_test(tc, smaller_4c_8g);
	tcase_add_test(tc, larger_32c_128g);
	tcase_add_test(tc, suspended_and_unknown_plan_tenants_do_not_count);
	tcase_add_test(tc, profile_files);
	tcase_add_test(tc, k3s_reservation_covers_its_parts);
	suite_add_tcase(s, tc);
	return check_run(s);
}
