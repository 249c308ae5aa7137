#include <check.h>

#include "check-run.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "table.h"
#include "util.h"

static char dir[64];

static void setup(void)
{
	check_tmpdir_make(dir, sizeof(dir), "util");
}

static void teardown(void)
{
	check_tmpdir_remove(dir);
}

START_TEST(write_atomic_replaces_and_sets_mode)
{
	struct err e = { 0 };
	char *path = util_path_join(dir, "f"), *got = NULL;
	size_t len;
	struct stat st;

	ck_assert_int_eq(util_write_atomic(path, "one", 3, 0600, &e), 0);
	ck_assert_int_eq(util_write_atomic(path, "second", 6, 0640, &e), 0);
	ck_assert_int_eq(util_read_file(path, 1024, &got, &len, &e), 0);
	ck_assert_str_eq(got, "second");
	ck_assert_uint_eq(len, 6);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0640);
	free(got);
	free(path);
}
END_TEST

START_TEST(write_atomic_failure_names_path)
{
	struct err e = { 0 };
	char *path = util_path_join(dir, "missing/f");

	ck_assert_int_lt(util_write_atomic(path, "x", 1, 0600, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "missing/f"));
	ck_assert_int_eq(e.exit_code, EXIT_RUNTIME);
	free(path);
}
END_TEST

START_TEST(mkdir_p_creates_parents)
{
	struct err e = { 0 };
	char *path = util_path_join(dir, "a/b/c");
	struct stat st;

	ck_assert_int_eq(util_mkdir_p(path, 0700, &e), 0);
	ck_assert_int_eq(util_mkdir_p(path, 0700, &e), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	free(path);
}
END_TEST

START_TEST(read_file_refuses_oversize)
{
	struct err e = { 0 };
	char *path = util_path_join(dir, "big"), *got = NULL;

	ck_assert_int_eq(util_write_atomic(path, "0123456789", 10, 0600, &e), 0);
	ck_assert_int_lt(util_read_file(path, 5, &got, NULL, &e), 0);
	ck_assert_ptr_null(got);
	ck_assert_ptr_nonnull(strstr(e.msg, "larger than 5 bytes"));
	free(path);
}
END_TEST

START_TEST(hex_and_join)
{
	const unsigned char in[] = { 0x00, 0xab, 0xff };
	char out[7], *p;

	util_hex(in, sizeof(in), out);
	ck_assert_str_eq(out, "00abff");
	p = util_path_join("/a/", "/b");
	ck_assert_str_eq(p, "/a/b");
	free(p);
}
END_TEST

START_TEST(err_prefix_keeps_class)
{
	struct err e = { 0 };

	err_set(&e, EXIT_REFUSED, "host: already used");
	err_prefix(&e, "tenant %s", "acme");
	ck_assert_str_eq(e.msg, "tenant acme: host: already used");
	ck_assert_int_eq(e.exit_code, EXIT_REFUSED);
}
END_TEST

START_TEST(table_aligns_columns)
{
	const char *h[] = { "NAME", ">CPU" }, *r1[] = { "a", "100m" }, *r2[] = { "longer", "2" };
	struct table *t = table_new(2, h);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_int_eq(table_add_row(t, r1), 0);
	ck_assert_int_eq(table_add_row(t, r2), 0);
	table_print(t, f);
	fclose(f);
	ck_assert_str_eq(buf, "NAME     CPU\na       100m\nlonger     2\n");
	free(buf);
	table_free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, write_atomic_replaces_and_sets_mode);
	tcase_add_test(tc, write_atomic_failure_names_path);
	tcase_add_test(tc, mkdir_p_creates_parents);
	tcase_add_test(tc, read_file_refuses_oversize);
	tcase_add_test(tc, hex_and_join);
	tcase_add_test(tc, err_prefix_keeps_class);
	tcase_add_test(tc, table_aligns_columns);
	suite_add_tcase(s, tc);
	return check_run(s);
}
