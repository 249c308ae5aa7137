#include <check.h>

#include "check-run.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debver.h"

/* Pairs with the order dpkg gives them (deb-version(7)); each is also put to
 * `dpkg --compare-versions` when dpkg is there, so the table cannot drift
 * from the tool that installs the package. */
static const struct {
	const char *a, *b;
	int want; /* -1, 0, 1 */
} pairs[] = {
	{ "1.0.0", "1.0.0", 0 },
	{ "1.0.0", "2.0.0", -1 },
	{ "1.10", "1.9", 1 },
	{ "1.0", "1.0.0", -1 },
	{ "1.01", "1.1", 0 },
	{ "1.0~rc1", "1.0", -1 },
	{ "1.0~~", "1.0~", -1 },
	{ "1.0a", "1.0", 1 },
	{ "1.0a", "1.0+", -1 },
	{ "1.0.", "1.0a", 1 },
	{ "1:0.1", "9.9", 1 },
	{ "0:1.0", "1.0", 0 },
	{ "1.0-1", "1.0-2", -1 },
	{ "1.0-10", "1.0-9", 1 },
	{ "1.0-0", "1.0", 0 },
	{ "1.0-rc1", "1.0", 1 },
	{ "2026.11.0", "2026.2.5", 1 },
	{ "0.1.0", "0.1.0.1", -1 },
	{ "12345678901234567890", "12345678901234567891", -1 },
};

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

START_TEST(order_table)
{
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		ck_assert_msg(sign(debver_cmp(pairs[i].a, pairs[i].b)) == pairs[i].want,
			      "%s vs %s: wanted %d", pairs[i].a, pairs[i].b, pairs[i].want);
		ck_assert_msg(sign(debver_cmp(pairs[i].b, pairs[i].a)) == -pairs[i].want,
			      "%s vs %s reversed", pairs[i].b, pairs[i].a);
	}
}
END_TEST

START_TEST(order_agrees_with_dpkg)
{
	static const char *const ops[] = { "lt", "eq", "gt" };
	char cmd[256];

	if (system("command -v dpkg >/dev/null 2>&1") != 0)
		return; /* the table above still ran */
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		snprintf(cmd, sizeof(cmd), "dpkg --compare-versions '%s' %s '%s'", pairs[i].a,
			 ops[pairs[i].want + 1], pairs[i].b);
		ck_assert_msg(system(cmd) == 0, "dpkg disagrees: %s", cmd);
	}
}
END_TEST

START_TEST(package_file_names)
{
	char v[DEBVER_MAX];

	ck_assert_int_eq(debver_of_package_file("packages/outpost_0.1.0_amd64.deb", "outpost", v), 0);
	ck_assert_str_eq(v, "0.1.0");
	ck_assert_int_eq(debver_of_package_file("outpost_1.0-2+b1_arm64.deb", "outpost", v), 0);
	ck_assert_str_eq(v, "1.0-2+b1");
	ck_assert_int_eq(debver_of_package_file("outpost.deb", "outpost", v), -EINVAL);
	ck_assert_int_eq(debver_of_package_file("outpost_1.0.deb", "outpost", v), -EINVAL);
	ck_assert_int_eq(debver_of_package_file("outpost__amd64.deb", "outpost", v), -EINVAL);
	ck_assert_int_eq(debver_of_package_file("outpost_1.0_.deb", "outpost", v), -EINVAL);
	ck_assert_int_eq(debver_of_package_file("outpost_1.0_amd64_x.deb", "outpost", v), -EINVAL);
	ck_assert_int_eq(debver_of_package_file("outpost_1.0_amd64.tar", "outpost", v), -EINVAL);
	ck_assert_int_eq(debver_of_package_file("outposts_1.0_amd64.deb", "outpost", v), -EINVAL);
	ck_assert_int_eq(debver_of_package_file("other_1.0_amd64.deb", "outpost", v), -EINVAL);
	ck_assert_int_eq(debver_of_package_file("outpost_", "outpost", v), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("debver");
	TCase *tc = tcase_create("debver");

	tcase_add_test(tc, order_table);
	tcase_add_test(tc, order_agrees_with_dpkg);
	tcase_add_test(tc, package_file_names);
	suite_add_tcase(s, tc);
	return check_run(s);
}
