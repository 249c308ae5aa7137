#include <check.h>

#include "check-run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubeconfig.h"

/* "-----BEGIN CERTIFICATE-----\nCA\n" etc. in base64: the parser does not
 * interpret PEM (libcurl does), it only decodes. */
#define CA_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBCg=="
#define CERT_B64 "Q0VSVA=="
#define KEY_B64 "S0VZ"

static const char k3s_yaml[] =
	"apiVersion: v1\n"
	"clusters:\n"
	"- cluster:\n"
	"    certificate-authority-data: " CA_B64 "\n"
	"    server: https://127.0.0.1:6443\n"
	"  name: default\n"
	"- cluster:\n"
	"    certificate-authority-data: " CA_B64 "\n"
	"    server: https://other:6443\n"
	"  name: other\n"
	"contexts:\n"
	"- context:\n"
	"    cluster: default\n"
	"    user: default\n"
	"  name: default\n"
	"current-context: default\n"
	"kind: Config\n"
	"preferences: {}\n"
	"users:\n"
	"- name: default\n"
	"  user:\n"
	"    client-certificate-data: " CERT_B64 "\n"
	"    client-key-data: " KEY_B64 "\n";

/* k3s_yaml with the first occurrence of `from` replaced by `to`. */
static char *variant(const char *from, const char *to)
{
	const char *at = strstr(k3s_yaml, from);
	size_t n = strlen(k3s_yaml) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);

	ck_assert_ptr_nonnull(at);
	snprintf(out, n, "%.*s%s%s", (int)(at - k3s_yaml), k3s_yaml, to, at + strlen(from));
	return out;
}

static void expect_error(const char *text, const char *want)
{
	struct kubeconfig *kc = (void *)1;
	struct err e = { 0 };

	ck_assert_int_lt(kubeconfig_parse(text, strlen(text), "k3s.yaml", &kc, &e), 0);
	ck_assert_ptr_null(kc);
	if (!strstr(e.msg, want))
		ck_abort_msg("error '%s' does not contain '%s'", e.msg, want);
	ck_assert_ptr_nonnull(strstr(e.msg, "k3s.yaml: "));
}

START_TEST(parses_k3s_kubeconfig)
{
	struct kubeconfig *kc = NULL;
	struct err e = { 0 };

	ck_assert_int_eq(kubeconfig_parse(k3s_yaml, strlen(k3s_yaml), "k3s.yaml", &kc, &e), 0);
	ck_assert_str_eq(kc->server, "https://127.0.0.1:6443");
	ck_assert_uint_eq(kc->ca_len, strlen("-----BEGIN CERTIFICATE-----\nCA\n"));
	ck_assert_mem_eq(kc->ca, "-----BEGIN CERTIFICATE-----\nCA\n", kc->ca_len);
	ck_assert_uint_eq(kc->cert_len, 4);
	ck_assert_mem_eq(kc->cert, "CERT", 4);
	ck_assert_uint_eq(kc->key_len, 3);
	ck_assert_mem_eq(kc->key, "KEY", 3);
	ck_assert_ptr_null(kc->token);
	kubeconfig_free(kc);
}
END_TEST

START_TEST(follows_current_context)
{
	char *text = variant("    cluster: default\n", "    cluster: other\n");
	struct kubeconfig *kc = NULL;
	struct err e = { 0 };

	ck_assert_int_eq(kubeconfig_parse(text, strlen(text), "k3s.yaml", &kc, &e), 0);
	ck_assert_str_eq(kc->server, "https://other:6443");
	kubeconfig_free(kc);
	free(text);
}
END_TEST

START_TEST(token_user)
{
	char *text = variant("    client-certificate-data: " CERT_B64 "\n    client-key-data: " KEY_B64 "\n",
			     "    token: abc.def\n");
	struct kubeconfig *kc = NULL;
	struct err e = { 0 };

	ck_assert_int_eq(kubeconfig_parse(text, strlen(text), "k3s.yaml", &kc, &e), 0);
	ck_assert_str_eq(kc->token, "abc.def");
	ck_assert_ptr_null(kc->cert);
	ck_assert_ptr_null(kc->key);
	kubeconfig_free(kc);
	free(text);
}
END_TEST

static const struct {
	const char *from, *to, *want;
} missing[] = {
	{ "current-context: default\n", "", "current-context: missing" },
	{ "current-context: default\n", "current-context: nope\n", "no context named 'nope'" },
	{ "    server: https://127.0.0.1:6443\n", "", "clusters[default].cluster.server: missing" },
	{ "    server: https://127.0.0.1:6443\n", "    server: http://127.0.0.1:6443\n", "is not https://" },
	{ "    certificate-authority-data: " CA_B64 "\n", "",
	  "clusters[default].cluster.certificate-authority-data: missing" },
	{ "    certificate-authority-data: " CA_B64 "\n", "    certificate-authority-data: '!!!'\n",
	  "certificate-authority-data: not valid base64" },
	{ "    client-key-data: " KEY_B64 "\n", "", "users[default].user.client-key-data: missing" },
	{ "    client-certificate-data: " CERT_B64 "\n", "",
	  "users[default].user.client-certificate-data: missing" },
	{ "    user: default\n", "", "contexts[default].context.user: missing" },
	{ "- name: default\n  user:", "- name: someone\n  user:", "no user named 'default'" },
	{ "apiVersion: v1\n", "apiVersion: [v1\n", "k3s.yaml: line" },
};

START_TEST(missing_fields_are_named)
{
	char *text = variant(missing[_i].from, missing[_i].to);
	expect_error(text, missing[_i].want);
	free(text);
}
END_TEST

START_TEST(load_names_missing_file)
{
	struct kubeconfig *kc = NULL;
	struct err e = { 0 };

	ck_assert_int_lt(kubeconfig_load("/nonexistent/k3s.yaml", &kc, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/k3s.yaml"));
}
END_TEST

START_TEST(not_a_mapping)
{
	expect_error("- a\n- b\n", "not a kubeconfig");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kubeconfig");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, parses_k3s_kubeconfig);
	tcase_add_test(tc, follows_current_context);
	tcase_add_test(tc, token_user);
	tcase_add_loop_test(tc, missing_fields_are_named, 0, sizeof(missing) / sizeof(missing[0]));
	tcase_add_test(tc, load_names_missing_file);
	tcase_add_test(tc, not_a_mapping);
	suite_add_tcase(s, tc);
	return check_run(s);
}
