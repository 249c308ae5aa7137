/* Tenant validation: a table of bad inputs, each refused naming its field, and
 * the good ones accepted. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check-run.h"
#include "err.h"
#include "tenant.h"

static const struct plan plans[] = {
	{ .name = "small" }, { .name = "medium" }, { .name = "large" },
};

enum field { NAME, HOST, PLAN, KEY, VALUE, APP };

struct bad {
	enum field field;
	const char *input;  /* for VALUE: the value of key "k"; for APP: CHART[@VERSION] */
	const char *expect; /* a substring of the message */
};

#define S63 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"

static const struct bad bad[] = {
	{ NAME, "", "name '': must not be empty" },
	{ NAME, "Foo", "name 'Foo': must be a DNS-1123 label (lowercase letters, digits, '-')" },
	{ NAME, "ACME", "name 'ACME': must be a DNS-1123 label" },
	{ NAME, "-acme", "name '-acme': must start and end with a letter or digit" },
	{ NAME, "acme-", "name 'acme-': must start and end" },
	{ NAME, "1acme", "name '1acme': must start with a letter" },
	{ NAME, "acme.corp", "name 'acme.corp': must be a DNS-1123 label" },
	{ NAME, "acme..corp", "name 'acme..corp'" },
	{ NAME, "acme_corp", "name 'acme_corp'" },
	{ NAME, "acme corp", "name 'acme corp'" },
	{ NAME, "a'; DROP TABLE tenants;--", "name 'a'; DROP TABLE tenants;--': must be a DNS-1123" },
	{ NAME, "acme\"", "name 'acme\"'" },
	{ NAME, "caf\xc3\xa9", "name 'caf\\xc3\\xa9': must be a DNS-1123 label" },
	{ NAME, "acme\n", "name 'acme\\x0a'" },
	{ NAME, "abcdefghijklmnopqrstuvwxyzabcde", "must be at most 30 characters (is 31)" },
	{ NAME, S63 "x", "must be at most 30 characters" },
	{ NAME, "default", "name 'default': is reserved" },
	{ NAME, "kube-system", "name 'kube-system': names starting with 'kube-' are reserved" },
	{ NAME, "kube-public", "names starting with 'kube-'" },
	{ NAME, "outpost-platform", "names starting with 'outpost-'" },
	{ NAME, "outpost", "name 'outpost': is reserved" },
	{ NAME, "keycloak", "is reserved" },
	{ NAME, "postgresql", "is reserved" },
	{ NAME, "k3s", "is reserved" },
	{ HOST, "", "host '': must not be empty" },
	{ HOST, "localhost", "host 'localhost': must be a fully qualified name" },
	{ HOST, "Acme.example.com", "host 'Acme.example.com': label 1 must be a DNS-1123 label" },
	{ HOST, "acme..example.com", "host 'acme..example.com': must not have an empty label" },
	{ HOST, ".acme.example.com", "must not have an empty label" },
	{ HOST, "acme.example.com.", "must not have an empty label" },
	{ HOST, "-acme.example.com", "label 1 must start and end" },
	{ HOST, "acme-.example.com", "label 1 must start and end" },
	{ HOST, "acme.example.com-", "label 3 must start and end" },
	{ HOST, "acme_1.example.com", "label 1 must be a DNS-1123 label" },
	{ HOST, "*.example.com", "label 1 must be a DNS-1123 label" },
	{ HOST, "10.0.0.1", "host '10.0.0.1': must be a DNS name, not an IP address" },
	{ HOST, "xn--caf-dma.example.com\xc3\xa9", "label 3 must be a DNS-1123 label" },
	{ HOST, S63 "x.example.com", "label 1 is longer than 63 characters" },
	{ HOST, "a.example.com'; DROP TABLE tenants;--", "label 3 must be a DNS-1123 label" },
	{ HOST, "acme.example.com:8080", "label 3 must be a DNS-1123 label" },
	{ HOST, "https://acme.example.com", "label 1 must be a DNS-1123 label" },
	{ PLAN, "", "plan '': must not be empty" },
	{ PLAN, "huge", "plan 'huge': no such plan (plans: small medium large)" },
	{ PLAN, "Small", "plan 'Small': must be a DNS-1123 label" },
	{ PLAN, "small'--", "plan 'small'--'" },
	{ KEY, "", "set key '': must not be empty" },
	{ KEY, "a..b", "set key 'a..b': must be a dotted path" },
	{ KEY, ".a", "set key '.a'" },
	{ KEY, "a.", "set key 'a.'" },
	{ KEY, "a b", "set key 'a b'" },
	{ KEY, "a[0]", "set key 'a[0]'" },
	{ KEY, "a,b", "set key 'a,b'" },
	{ KEY, "a=b", "set key 'a=b'" },
	{ KEY, "caf\xc3\xa9", "set key 'caf\\xc3\\xa9'" },
	{ VALUE, "\x01", "set 'k': value must not contain control characters" },
	{ VALUE, "\xff\xfe", "set 'k': value must be UTF-8 text" },
	{ VALUE, "\xed\xa0\x80", "must be UTF-8 text" },
	{ VALUE, "\xc0\xaf", "must be UTF-8 text" },
	{ APP, "Wordpress", "app chart 'Wordpress': must be a DNS-1123 label" },
	{ APP, "wordpress@latest", "app version 'latest': must be a semantic version" },
	{ APP, "wordpress@1.2", "app version '1.2'" },
	{ APP, "wordpress@01.2.3", "app version '01.2.3'" },
	{ APP, "wordpress@1.2.3-", "app version '1.2.3-'" },
	{ APP, "wordpress@", "app 'wordpress@': '@' must be followed by a version" },
	{ APP, "@1.2.3", "app chart '': must not be empty" },
};

static void good_tenant(struct tenant *t)
{
	memset(t, 0, sizeof(*t));
	ck_assert_int_eq(tenant_set_str(&t->name, "acme"), 0);
	ck_assert_int_eq(tenant_set_str(&t->host, "acme.example.com"), 0);
	ck_assert_int_eq(tenant_set_str(&t->plan, "small"), 0);
}

START_TEST(bad_input_is_refused_naming_the_field)
{
	const struct bad *b = &bad[_i];
	struct tenant t;
	struct err e = { 0 };
	int rc = 0;

	good_tenant(&t);
	switch (b->field) {
	case NAME: ck_assert_int_eq(tenant_set_str(&t.name, b->input), 0); break;
	case HOST: ck_assert_int_eq(tenant_set_str(&t.host, b->input), 0); break;
	case PLAN: ck_assert_int_eq(tenant_set_str(&t.plan, b->input), 0); break;
	case KEY: ck_assert_int_eq(tenant_value_put(&t, b->input, "v"), 0); break;
	case VALUE: ck_assert_int_eq(tenant_value_put(&t, "k", b->input), 0); break;
	case APP: rc = tenant_parse_app(&t, b->input, &e); break;
	}
	if (rc == 0)
		rc = tenant_validate(&t, plans, 3, &e);
	ck_assert_msg(rc < 0, "accepted: %s", b->input);
	ck_assert_int_eq(e.exit_code, EXIT_REFUSED);
	ck_assert_msg(strstr(e.msg, b->expect), "for '%s': got '%s', wanted '%s'", b->input, e.msg,
		      b->expect);
	ck_assert_ptr_null(strchr(e.msg, '\n'));
	tenant_clear(&t);
}
END_TEST

START_TEST(good_input_is_accepted)
{
	static const char *const names[] = { "a", "acme", "acme-2", "a1", "abcdefghijklmnopqrstuvwxyzabcd",
					     "kube", "defaults" };
	static const char *const hosts[] = { "a.b", "acme.example.com", "1.example.com",
					     S63 ".example.com", "xn--caf-dma.example.com" };
	static const char *const apps[] = { "wordpress", "wordpress@6.4.2", "app@v1.2.3",
					    "app@1.0.0-rc.1+build.5" };
	struct tenant t;
	struct err e = { 0 };

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		ck_assert_msg(tenant_check_name(names[i], &e) == 0, "%s", e.msg);
	for (size_t i = 0; i < sizeof(hosts) / sizeof(*hosts); i++)
		ck_assert_msg(tenant_check_host(hosts[i], &e) == 0, "%s", e.msg);
	for (size_t i = 0; i < sizeof(apps) / sizeof(*apps); i++) {
		good_tenant(&t);
		ck_assert_int_eq(tenant_parse_app(&t, apps[i], &e), 0);
		ck_assert_msg(tenant_validate(&t, plans, 3, &e) == 0, "%s", e.msg);
		tenant_clear(&t);
	}
	good_tenant(&t);
	ck_assert_int_eq(tenant_value_put(&t, "ingress.annotations.x-y_z", "caf\xc3\xa9\tline\n"), 0);
	ck_assert_msg(tenant_validate(&t, plans, 3, &e) == 0, "%s", e.msg);
	tenant_clear(&t);
}
END_TEST

/* Keys render.c writes after --set: refused as new input, not as a stored value. */
START_TEST(owned_keys_are_refused_as_input)
{
	static const char *const owned[] = { "replicas", "resources.limits.cpu", "host", "tenant",
					     "secretName", "serviceAccountName.x", "autoscaling.maxReplicas",
					     "autoscaling", "ingress.tlsSecretName" };
	static const char *const apps[] = { "hostAliases", "replicasNote.x", "image.tag", "autoscalingNote" };
	struct err e = { 0 };
	char want[128];

	for (size_t i = 0; i < sizeof(owned) / sizeof(*owned); i++) {
		e = (struct err){ 0 };
		ck_assert_int_lt(tenant_check_set_key(owned[i], &e), 0);
		ck_assert_int_eq(e.exit_code, EXIT_REFUSED);
		snprintf(want, sizeof(want), "set key '%s': Outpost sets it", owned[i]);
		ck_assert_msg(strstr(e.msg, want), "got '%s'", e.msg);
	}
	for (size_t i = 0; i < sizeof(apps) / sizeof(*apps); i++)
		ck_assert_msg(tenant_check_set_key(apps[i], &e) == 0, "%s refused", apps[i]);
}
END_TEST

START_TEST(long_host_and_value_limits)
{
	char host[300], value[TENANT_VALUE_MAX + 2];
	struct err e = { 0 };
	struct tenant t;

	/* 4 labels of 63 plus 3 dots = 255 > 253 */
	snprintf(host, sizeof(host), "%s.%s.%s.%s", S63, S63, S63, S63);
	ck_assert_int_lt(tenant_check_host(host, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "must be at most 253 characters (is 255)"));
	ck_assert_ptr_nonnull(strstr(e.msg, "...")); /* the echo is shortened */
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	ck_assert_int_lt(tenant_check_value("k", value, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "set 'k': value must be at most 1024 bytes (is 1025)"));
	good_tenant(&t);
	for (int i = 0; i <= TENANT_VALUES_MAX; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i);
		ck_assert_int_eq(tenant_value_put(&t, k, "v"), 0);
	}
	ck_assert_int_lt(tenant_validate(&t, plans, 3, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "at most 64 values"));
	tenant_clear(&t);
}
END_TEST

START_TEST(derived_names_stay_valid)
{
	char ns[64], name[TENANT_NAME_MAX + 1];
	struct err e = { 0 };

	memset(name, 'a', TENANT_NAME_MAX);
	name[TENANT_NAME_MAX] = '\0';
	ck_assert_int_eq(tenant_check_name(name, &e), 0);
	tenant_namespace(name, ns, sizeof(ns));
	ck_assert_uint_eq(strlen(ns), 32);
	/* the longest suffix we derive still fits a Helm release name */
	ck_assert_uint_le(strlen(ns) + strlen("-credentials"), 53);
}
END_TEST

START_TEST(values_are_sorted_and_replaced)
{
	struct tenant t;

	good_tenant(&t);
	ck_assert_int_eq(tenant_value_put(&t, "b", "1"), 0);
	ck_assert_int_eq(tenant_value_put(&t, "a", "2"), 0);
	ck_assert_int_eq(tenant_value_put(&t, "c", "3"), 0);
	ck_assert_int_eq(tenant_value_put(&t, "a", "4"), 0);
	ck_assert_uint_eq(t.nvalues, 3);
	ck_assert_str_eq(t.values[0].key, "a");
	ck_assert_str_eq(t.values[0].value, "4");
	ck_assert_str_eq(t.values[2].key, "c");
	tenant_clear(&t);
}
END_TEST

START_TEST(json_round_trip_and_refusals)
{
	static const struct { const char *json, *expect; } badj[] = {
		{ "[]", "must be a JSON object" },
		{ "{\"host\":\"a.b\"}", "name: missing" },
		{ "{\"name\":\"a\"}", "host: missing" },
		{ "{\"name\":1,\"host\":\"a.b\"}", "name: must be a string" },
		{ "{\"name\":\"a\",\"host\":\"a.b\",\"color\":\"red\"}", "field 'color': unknown" },
		{ "{\"name\":\"a\",\"host\":\"a.b\",\"suspended\":\"yes\"}", "suspended: must be true or false" },
		{ "{\"name\":\"a\",\"host\":\"a.b\",\"values\":{\"k\":1}}", "values: key 'k': value must be a string" },
		{ "{\"name\":\"a\",\"host\":\"a.b\",\"app\":\"wp\"}", "app: must be an object" },
		{ "{\"name\":\"a\",\"host\":\"a.b\",\"app\":{\"version\":\"1.0.0\"}}", "app.chart: missing" },
		{ "{\"name\":\"a\\u0000b\",\"host\":\"a.b\"}", "name: must not contain NUL" },
	};
	struct tenant t, back;
	struct err e = { 0 };
	json_t *j;
	char *text;

	good_tenant(&t);
	ck_assert_int_eq(tenant_parse_app(&t, "wordpress@6.4.2", &e), 0);
	ck_assert_int_eq(tenant_value_put(&t, "image.tag", "1.2"), 0);
	t.suspended = true;
	j = tenant_to_json(&t);
	text = json_dumps(j, JSON_COMPACT);
	ck_assert_str_eq(text, "{\"name\":\"acme\",\"host\":\"acme.example.com\",\"plan\":\"small\","
			 "\"app\":{\"chart\":\"wordpress\",\"version\":\"6.4.2\"},"
			 "\"values\":{\"image.tag\":\"1.2\"},\"suspended\":true}");
	ck_assert_int_eq(tenant_from_json(j, &back, &e), 0);
	ck_assert_str_eq(back.app_version, "6.4.2");
	ck_assert(back.suspended);
	ck_assert_str_eq(back.values[0].value, "1.2");
	free(text);
	json_decref(j);
	tenant_clear(&back);
	tenant_clear(&t);

	for (size_t i = 0; i < sizeof(badj) / sizeof(*badj); i++) {
		json_error_t jerr;
		j = json_loads(badj[i].json, JSON_ALLOW_NUL, &jerr);
		ck_assert_ptr_nonnull(j);
		ck_assert_int_lt(tenant_from_json(j, &back, &e), 0);
		ck_assert_int_eq(e.exit_code, EXIT_REFUSED);
		ck_assert_msg(strstr(e.msg, badj[i].expect), "%s: got '%s'", badj[i].json, e.msg);
		tenant_clear(&back);
		json_decref(j);
	}
}
END_TEST

/* Every platform component and namespace in charts/platform.json is reserved. */
START_TEST(platform_names_are_reserved)
{
	char path[512];
	json_error_t jerr;
	json_t *root, *c;
	struct err e = { 0 };
	size_t i;

	snprintf(path, sizeof(path), "%s/charts/platform.json", getenv("top_srcdir"));
	root = json_load_file(path, 0, &jerr);
	ck_assert_msg(root != NULL, "%s: %s", path, jerr.text);
	ck_assert_int_lt(tenant_check_name(json_string_value(json_object_get(root, "namespace")), &e), 0);
	json_array_foreach(json_object_get(root, "components"), i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *ns = json_string_value(json_object_get(c, "namespace"));
		ck_assert_msg(tenant_check_name(name, &e) < 0, "%s is not reserved", name);
		ck_assert_msg(tenant_check_name(ns, &e) < 0, "%s is not reserved", ns);
	}
	json_decref(root);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tenant");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, bad_input_is_refused_naming_the_field, 0, (int)(sizeof(bad) / sizeof(*bad)));
	tcase_add_test(tc, good_input_is_accepted);
	tcase_add_test(tc, owned_keys_are_refused_as_input);
	tcase_add_test(tc, long_host_and_value_limits);
	tcase_add_test(tc, derived_names_stay_valid);
	tcase_add_test(tc, values_are_sorted_and_replaced);
	tcase_add_test(tc, json_round_trip_and_refusals);
	tcase_add_test(tc, platform_names_are_reserved);
	suite_add_tcase(s, tc);
	return check_run(s);
}
