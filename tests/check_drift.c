/* Drift inside an object: the exact quantity parser, table by table, and the
 * subset comparison of a rendering with what the cluster returns. */
#include <check.h>

#include "check-run.h"
#include <string.h>

#include "drift.h"
#include "quantity.h"
#include "util.h"

/* Pairs that must compare equal (the API server's canonical forms among them). */
static const char *const same[][2] = {
	{ "1000m", "1" },       { "1024Mi", "1Gi" },    { "0.5Gi", "512Mi" },  { "2000", "2k" },
	{ "1e3", "1k" },        { "1E3", "1000" },      { "1.5", "1500m" },    { "+1", "1" },
	{ "0", "0m" },          { "-0", "0" },          { "0.000", "0Ki" },    { "1E", "1e18" },
	{ "1Ki", "1024" },      { "1Ei", "1152921504606846976" }, { ".5", "500m" }, { "5.", "5" },
	{ "250m", "0.25" },     { "100n", "0.1u" },     { "1e-3", "1m" },      { "12Gi", "12288Mi" },
	{ "1.5Gi", "1536Mi" },  { "2048Mi", "2Gi" },    { "1M", "1000k" },     { "1T", "1e12" },
	{ "-500m", "-0.5" },    { "007", "7" },         { "1e+3", "1k" },      { "1P", "1000T" },
};

/* Pairs that must differ. */
static const char *const differ[][2] = {
	{ "1", "2" },    { "1Gi", "1G" },  { "1k", "1Ki" }, { "1m", "1M" }, { "-1", "1" },
	{ "1000m", "1001m" }, { "512Mi", "0.4Gi" },
};

/* Not quantities. */
static const char *const bad[] = {
	"", "+", "-", ".", "m", "1x", "1Ki1", "1 Ki", "1e", "1e+", "1ee3", "1..2", "Gi", "1KI",
	"1K", "1i", "1e1001", "1.5.5", "1Mi ", " 1",
	"999999999999999999999999999999999999999999", /* beyond 2^128 */
	"300000000000000000000000000000000000Ei",     /* fits, but not once shifted */
};

START_TEST(quantity_same)
{
	struct quantity a, b;

	ck_assert_msg(quantity_parse(same[_i][0], &a) == 0, "%s", same[_i][0]);
	ck_assert_msg(quantity_parse(same[_i][1], &b) == 0, "%s", same[_i][1]);
	ck_assert_msg(quantity_equal(&a, &b), "%s == %s", same[_i][0], same[_i][1]);
}
END_TEST

START_TEST(quantity_differ)
{
	struct quantity a, b;

	ck_assert(quantity_parse(differ[_i][0], &a) == 0);
	ck_assert(quantity_parse(differ[_i][1], &b) == 0);
	ck_assert_msg(!quantity_equal(&a, &b), "%s != %s", differ[_i][0], differ[_i][1]);
}
END_TEST

START_TEST(quantity_bad)
{
	struct quantity q;

	ck_assert_msg(quantity_parse(bad[_i], &q) < 0, "'%s' parsed", bad[_i]);
}
END_TEST

struct subset_case {
	const char *title, *desired, *observed;
	bool same;
};

#define QUOTA(hard) "{\"apiVersion\": \"v1\", \"kind\": \"ResourceQuota\", \"metadata\": {\"name\": \"q\"," \
	" \"namespace\": \"t-a\", \"labels\": {\"outpost.dev/tenant\": \"a\"}," \
	" \"annotations\": {\"outpost.dev/hash\": \"h\"}}, \"spec\": {\"hard\": " hard "}}"
#define SEEN(hard, extra) "{\"metadata\": {\"name\": \"q\", \"namespace\": \"t-a\"," \
	" \"uid\": \"u\", \"resourceVersion\": \"7\", \"creationTimestamp\": \"2026-01-01T00:00:00Z\"," \
	" \"labels\": {\"outpost.dev/tenant\": \"a\"" extra "}, \"annotations\": {\"outpost.dev/hash\": \"h\"}}," \
	" \"spec\": {\"hard\": " hard "}, \"status\": {\"used\": {\"pods\": \"3\"}}}"
#define HARD "{\"requests.cpu\": \"1000m\", \"limits.memory\": \"1024Mi\", \"pods\": 10}"

static const struct subset_case subset_cases[] = {
	{ "canonical quantities, server fields, no kind in a list item",
	  QUOTA(HARD), SEEN("{\"requests.cpu\": \"1\", \"limits.memory\": \"1Gi\", \"pods\": \"10\"}", ""), true },
	{ "extra label and extra quota key of another manager",
	  QUOTA(HARD), SEEN("{\"requests.cpu\": \"1\", \"limits.memory\": \"1Gi\", \"pods\": \"10\","
			    " \"services\": \"5\"}", ", \"team\": \"x\""), true },
	{ "a raised quota", QUOTA(HARD),
	  SEEN("{\"requests.cpu\": \"2\", \"limits.memory\": \"1Gi\", \"pods\": \"10\"}", ""), false },
	{ "a removed quota key", QUOTA(HARD), SEEN("{\"requests.cpu\": \"1\", \"pods\": \"10\"}", ""), false },
	{ "a changed label",
	  "{\"metadata\": {\"labels\": {\"outpost.dev/tenant\": \"a\"}}}",
	  "{\"metadata\": {\"labels\": {\"outpost.dev/tenant\": \"b\"}}}", false },
	{ "a removed label",
	  "{\"metadata\": {\"labels\": {\"outpost.dev/role\": \"namespace\"}}}",
	  "{\"metadata\": {\"labels\": {}}}", false },
	{ "quantities only where a field is one: a name is compared as text",
	  "{\"metadata\": {\"name\": \"1000m\"}}", "{\"metadata\": {\"name\": \"1\"}}", false },
	{ "LimitRange items: default and defaultRequest are quantities, type is not",
	  "{\"spec\": {\"limits\": [{\"type\": \"Container\", \"default\": {\"cpu\": \"500m\"},"
	  " \"defaultRequest\": {\"memory\": \"2048Mi\"}}]}}",
	  "{\"spec\": {\"limits\": [{\"type\": \"Container\", \"default\": {\"cpu\": \"0.5\"},"
	  " \"defaultRequest\": {\"memory\": \"2Gi\"}, \"max\": {\"cpu\": \"4\"}}]}}", true },
	{ "an array of another length",
	  "{\"spec\": {\"policyTypes\": [\"Ingress\", \"Egress\"]}}",
	  "{\"spec\": {\"policyTypes\": [\"Ingress\"]}}", false },
	{ "array elements in another order",
	  "{\"spec\": {\"policyTypes\": [\"Ingress\", \"Egress\"]}}",
	  "{\"spec\": {\"policyTypes\": [\"Egress\", \"Ingress\"]}}", false },
	{ "server defaults inside array elements",
	  "{\"spec\": {\"egress\": [{\"ports\": [{\"port\": 53}]}]}}",
	  "{\"spec\": {\"egress\": [{\"ports\": [{\"port\": 53, \"protocol\": \"UDP\"}]}]}}", true },
	{ "Secret data compares as the base64 text",
	  "{\"data\": {\"pw\": \"YWJj\"}}", "{\"data\": {\"pw\": \"YWJk\"}}", false },
	{ "an empty map the server leaves out (omitempty)",
	  "{\"spec\": {\"podSelector\": {}}}", "{\"spec\": {}}", true },
	{ "a non-empty map missing", "{\"spec\": {\"podSelector\": {\"a\": \"b\"}}}", "{\"spec\": {}}", false },
	{ "a type change", "{\"spec\": {\"x\": {}}}", "{\"spec\": {\"x\": []}}", false },
	{ "a number is not its text outside quantities",
	  "{\"spec\": {\"port\": 53}}", "{\"spec\": {\"port\": \"53\"}}", false },
	{ "a wrong kind would still not matter: apiVersion and kind are not compared",
	  "{\"apiVersion\": \"v1\", \"kind\": \"Secret\"}", "{\"apiVersion\": \"v2\"}", true },
	{ "a quantity that does not parse compares as text",
	  "{\"hard\": {\"x\": \"lots\"}}", "{\"hard\": {\"x\": \"lots\"}}", true },
	{ "a quantity against a non-quantity",
	  "{\"hard\": {\"x\": \"1\"}}", "{\"hard\": {\"x\": true}}", false },
};

START_TEST(subset)
{
	const struct subset_case *c = &subset_cases[_i];
	json_error_t je;
	json_t *d = json_loads(c->desired, 0, &je), *o;

	ck_assert_msg(d != NULL, "%s: desired: %s", c->title, je.text);
	o = json_loads(c->observed, 0, &je);
	ck_assert_msg(o != NULL, "%s: observed: %s", c->title, je.text);
	ck_assert_msg(drift_subset(d, o) == c->same, "%s", c->title);
	json_decref(d);
	json_decref(o);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("drift");
	TCase *quantity = tcase_create("quantity"), *fields = tcase_create("subset");

	tcase_add_loop_test(quantity, quantity_same, 0, ARRAY_SIZE(same));
	tcase_add_loop_test(quantity, quantity_differ, 0, ARRAY_SIZE(differ));
	tcase_add_loop_test(quantity, quantity_bad, 0, ARRAY_SIZE(bad));
	suite_add_tcase(s, quantity);
	tcase_add_loop_test(fields, subset, 0, ARRAY_SIZE(subset_cases));
	suite_add_tcase(s, fields);
	return check_run(s);
}
