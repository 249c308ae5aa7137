#include <check.h>

#include "check-run.h"
#include <stdlib.h>
#include <string.h>

#include "backup-minio.h"
#include "s3.h"

/* S3's URI encoding of keys in a path ('/' kept) and of query values. */
START_TEST(encode)
{
	static const struct {
		const char *in;
		int keep_slash;
		const char *want;
	} cases[] = {
		{ "a.txt", 1, "a.txt" },
		{ "dir/sub/x-y_z~1", 1, "dir/sub/x-y_z~1" },
		{ "with space+plus.txt", 1, "with%20space%2Bplus.txt" },
		{ "odd?#&=%.txt", 1, "odd%3F%23%26%3D%25.txt" },
		{ "é – ü", 1, "%C3%A9%20%E2%80%93%20%C3%BC" },
		{ "a/b", 0, "a%2Fb" },
		{ "YS50eHQ=", 0, "YS50eHQ%3D" },
		{ "", 1, "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = s3_encode(cases[i].in, cases[i].keep_slash);

		ck_assert_str_eq(got, cases[i].want);
		free(got);
	}
}
END_TEST

START_TEST(parse_buckets)
{
	static const char xml[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Owner><ID>x</ID></Owner><Buckets>"
		"<Bucket><Name>loki</Name><CreationDate>2026-01-01T00:00:00Z</CreationDate></Bucket>"
		"<Bucket><Name>t-acme</Name></Bucket></Buckets></ListAllMyBucketsResult>";
	struct s3_list l = { 0 };
	struct err e = { 0 };

	ck_assert_int_eq(s3_parse_buckets(xml, strlen(xml), &l, &e), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.v[0], "loki");
	ck_assert_str_eq(l.v[1], "t-acme");
	s3_list_free(&l);
	ck_assert_int_eq(s3_parse_buckets("<Error/>", 8, &l, &e), -1);
	ck_assert_int_eq(s3_parse_buckets("not xml", 7, &l, &e), -1);
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(parse_objects)
{
	static const char page[] =
		"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Name>t-acme</Name><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>"
		"<Contents><Key>a &amp; b.txt</Key><Size>1</Size></Contents>"
		"<Contents><Key>dir/</Key><Size>0</Size></Contents>"
		"<NextContinuationToken>tok/=</NextContinuationToken></ListBucketResult>";
	static const char last[] = "<ListBucketResult><IsTruncated>false</IsTruncated>"
				   "<Contents><Key>z</Key></Contents></ListBucketResult>";
	static const char no_token[] = "<ListBucketResult><IsTruncated>true</IsTruncated>"
				       "<Contents><Key>z</Key></Contents></ListBucketResult>";
	struct s3_list l = { 0 };
	struct err e = { 0 };
	char *next;

	ck_assert_int_eq(s3_parse_objects(page, strlen(page), &l, &next, &e), 0);
	ck_assert_str_eq(next, "tok/=");
	free(next);
	ck_assert_int_eq(s3_parse_objects(last, strlen(last), &l, &next, &e), 0);
	ck_assert_ptr_null(next);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(l.v[0], "a & b.txt");
	ck_assert_str_eq(l.v[1], "dir/");
	ck_assert_str_eq(l.v[2], "z");
	s3_list_sort(&l);
	ck_assert(s3_list_has(&l, "dir/"));
	ck_assert(!s3_list_has(&l, "dir"));
	s3_list_free(&l);
	/* Truncated without a token: the next page cannot be asked for. */
	ck_assert_int_eq(s3_parse_objects(no_token, strlen(no_token), &l, &next, &e), -1);
	ck_assert_ptr_null(next);
	s3_list_free(&l);
}
END_TEST

START_TEST(error_code)
{
	static const char xml[] = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>"
				  "<Message>The request signature ...</Message></Error>";
	char code[64];

	s3_error_code(xml, strlen(xml), code, sizeof(code));
	ck_assert_str_eq(code, "SignatureDoesNotMatch");
	s3_error_code("<html>bad gateway</html>", 24, code, sizeof(code));
	ck_assert_str_eq(code, "");
	s3_error_code(NULL, 0, code, sizeof(code));
	ck_assert_str_eq(code, "");
	s3_error_code("<Error><Code>Bad\nLine</Code></Error>", 36, code, sizeof(code));
	ck_assert_str_eq(code, "BadLine");
}
END_TEST

/* Keys that can be a relative path in the archive, and those that cannot. */
START_TEST(key_ok)
{
	static const char *const good[] = { "a", "a/b", "dir/", "a/b/", "..a", "a..", ".hidden", "a/.b" };
	static const char *const bad[] = { "", "/a", "a//b", "../a", "a/../b", "a/..", "./a", "a/./b",
					   "a/.", ".", "..", "a/../" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(backup_minio_key_ok(good[i]), "%s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!backup_minio_key_ok(bad[i]), "%s", bad[i]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("s3");
	TCase *tc = tcase_create("s3");

	tcase_add_test(tc, encode);
	tcase_add_test(tc, parse_buckets);
	tcase_add_test(tc, parse_objects);
	tcase_add_test(tc, error_code);
	tcase_add_test(tc, key_ok);
	suite_add_tcase(s, tc);
	return check_run(s);
}
