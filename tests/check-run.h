/* The runner every Check suite ends with: run, report, map to an exit status. */
#ifndef OUTPOST_CHECK_RUN_H
#define OUTPOST_CHECK_RUN_H

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline int check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

static inline int check_remove_entry(const char *path, const struct stat *st, int flag,
				     struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Each test gets a fresh directory `/tmp/outpost-check-<name>.XXXXXX` in `dir`
 * (at least 64 bytes), removed with everything in it by check_tmpdir_remove(). */
static inline void check_tmpdir_make(char *dir, size_t size, const char *name)
{
	ck_assert_int_lt(snprintf(dir, size, "/tmp/outpost-check-%s.XXXXXX", name), (int)size);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static inline void check_tmpdir_remove(const char *dir)
{
	ck_assert_int_eq(nftw(dir, check_remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

#endif
