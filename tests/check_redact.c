#include <check.h>

#include "check-run.h"
#include <stdlib.h>
#include <string.h>

#include "redact.h"

/* Every way a credential shows up in what the support bundle collects:
 * environment files, journal lines, YAML and JSON settings, URLs, libpq and
 * JDBC connection strings; and lines that must come through unchanged. */
static const struct {
	const char *in, *want;
} cases[] = {
	{ "POSTGRES_PASSWORD=hunter2", "POSTGRES_PASSWORD=REDACTED" },
	{ "export API_TOKEN='abc def'", "export API_TOKEN='REDACTED'" },
	{ "client_secret: s3cr3t", "client_secret: REDACTED" },
	{ "  accessKey: \"AKIA123\"", "  accessKey: \"REDACTED\"" },
	{ "{\"password\": \"p\\\"w\", \"user\": \"bob\"}", "{\"password\": \"REDACTED\", \"user\": \"bob\"}" },
	{ "--set admin.Password=x1 --set size=3", "--set admin.Password=REDACTED --set size=3" },
	{ "url=postgres://app:pw0rd@db:5432/app?sslmode=require",
	  "url=postgres://REDACTED@db:5432/app?sslmode=require" },
	{ "redis://:only-pass@127.0.0.1:6379/0", "redis://REDACTED@127.0.0.1:6379/0" },
	{ "host=db port=5432 user=app password=pw dbname=app", "host=db port=5432 user=app password=REDACTED dbname=app" },
	{ "jdbc:postgresql://db/app?user=a&password=b&ssl=true", "jdbc:postgresql://db/app?user=a&password=REDACTED&ssl=true" },
	{ "Authorization: Bearer eyJhbGc\nnext", "Authorization: REDACTED\nnext" },
	{ "proxy_authorization=Basic dXNlcg==", "proxy_authorization=REDACTED" },
	{ "https://example.org/path", "https://example.org/path" },
	{ "tenant acme: phase Ready, 3 pods", "tenant acme: phase Ready, 3 pods" },
	{ "token:", "token:" },
	{ "\"valuesContent\": \"admin:\\n  password: pw\\ns3: {accessKey: k}\"",
	  "\"valuesContent\": \"admin:\\n  password: REDACTED\\ns3: {accessKey: REDACTED}\"" },
	{ "", "" },
};

START_TEST(text_table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;

		ck_assert_int_eq(redact_text(cases[i].in, strlen(cases[i].in), &out), 0);
		ck_assert_msg(!strcmp(out, cases[i].want), "'%s' gave '%s', wanted '%s'", cases[i].in,
			      out, cases[i].want);
		free(out);
	}
}
END_TEST

START_TEST(json_env_and_keys)
{
	json_error_t jerr;
	json_t *j = json_loads("{\"spec\": {\"containers\": [{\"env\": ["
			       "{\"name\": \"DB_PASSWORD\", \"value\": \"pw1\"},"
			       "{\"name\": \"DB_HOST\", \"value\": \"db\"}]}]},"
			       "\"settings\": {\"adminKey\": \"k1\", \"replicas\": \"2\"}}",
			       0, &jerr);
	char *dump;

	ck_assert_ptr_nonnull(j);
	redact_json(j);
	dump = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_ptr_null(strstr(dump, "pw1"));
	ck_assert_ptr_null(strstr(dump, "k1"));
	ck_assert_ptr_nonnull(strstr(dump, "\"value\":\"db\""));
	ck_assert_ptr_nonnull(strstr(dump, "\"replicas\":\"2\""));
	free(dump);
	json_decref(j);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("redact");
	TCase *tc = tcase_create("redact");

	tcase_add_test(tc, text_table);
	tcase_add_test(tc, json_env_and_keys);
	suite_add_tcase(s, tc);
	return check_run(s);
}
