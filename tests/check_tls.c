/* The appliance CA, the certificates it issues (checked by the openssl
 * command, not only by the code that made them), the renewal rule, and the
 * checks on operator certificates made with the openssl command. */
#include <check.h>

#include "check-run.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tls.h"
#include "util.h"

#define DAY 86400

static char *slurp(const char *dir, const char *file)
{
	char path[512], *text = NULL;
	size_t len;
	struct err e = { 0 };

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	ck_assert_msg(util_read_file(path, 1 << 20, &text, &len, &e) == 0, "%s", e.msg);
	return text;
}

static void spill(const char *dir, const char *file, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static int sh(const char *dir, const char *cmd)
{
	char line[PATH_MAX + 8192];

	snprintf(line, sizeof(line), "cd '%s' && (\n%s\n) >>openssl.log 2>&1", dir, cmd);
	return system(line);
}

START_TEST(ca_created_once_and_kept)
{
	char dir[64], ca[128];
	struct stat st;
	struct err e = { 0 };
	int created;
	char *first, *again;

	check_tmpdir_make(dir, sizeof(dir), "tls");
	snprintf(ca, sizeof(ca), "%s/ca", dir);
	ck_assert_msg(tls_ca_ensure(ca, "box", &created, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(stat(ca, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	first = slurp(ca, TLS_CA_CERT);
	{
		char path[256];

		snprintf(path, sizeof(path), "%s/%s", ca, TLS_CA_KEY);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(st.st_mode & 0777, 0600);
	}
	ck_assert_int_eq(sh(ca, "openssl x509 -in ca.crt -noout -text | grep -q 'CA:TRUE, pathlen:0'"), 0);
	ck_assert_int_eq(sh(ca, "openssl x509 -in ca.crt -noout -subject | grep -q 'Outpost appliance CA (box)'"),
			 0);
	ck_assert_int_eq(sh(ca, "openssl pkey -in ca.key -noout -text | grep -q 'ASN1 OID: prime256v1'"), 0);
	/* A second install keeps it byte for byte. */
	ck_assert_msg(tls_ca_ensure(ca, "box", &created, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(created, 0);
	again = slurp(ca, TLS_CA_CERT);
	ck_assert_str_eq(first, again);
	free(first);
	free(again);
	check_tmpdir_remove(dir);
}
END_TEST

START_TEST(ca_with_a_foreign_key_is_refused)
{
	char dir[64], a[128], b[128];
	struct err e = { 0 };
	struct tls_ca ca;
	int created;

	check_tmpdir_make(dir, sizeof(dir), "tls");
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	ck_assert(tls_ca_ensure(a, "a", &created, &e) == 0 && tls_ca_ensure(b, "b", &created, &e) == 0);
	ck_assert_int_eq(sh(dir, "cp b/ca.key a/ca.key"), 0);
	ck_assert_int_lt(tls_ca_load(a, &ca, &e), 0);
	ck_assert_msg(strstr(e.msg, "does not match"), "%s", e.msg);
	ck_assert_int_lt(tls_ca_ensure(a, "a", &created, &e), 0);
	check_tmpdir_remove(dir);
}
END_TEST

START_TEST(leaf_verifies_with_openssl)
{
	char dir[64], ca_dir[128];
	struct err e = { 0 };
	struct tls_ca ca;
	struct tls_pair p;
	int created;
	time_t now = time(NULL);

	check_tmpdir_make(dir, sizeof(dir), "tls");
	snprintf(ca_dir, sizeof(ca_dir), "%s/ca", dir);
	ck_assert(tls_ca_ensure(ca_dir, "box", &created, &e) == 0);
	ck_assert_msg(tls_ca_load(ca_dir, &ca, &e) == 0, "%s", e.msg);
	ck_assert_msg(tls_issue(&ca, "acme.example.test", now, &p, &e) == 0, "%s", e.msg);
	spill(dir, "leaf.pem", p.cert_pem);
	spill(dir, "leaf.key", p.key_pem);
	ck_assert_int_eq(sh(dir, "openssl verify -CAfile ca/ca.crt -purpose sslserver "
				 "-verify_hostname acme.example.test leaf.pem"),
			 0);
	ck_assert_int_ne(sh(dir, "openssl verify -CAfile ca/ca.crt -verify_hostname other.example.test "
				 "leaf.pem"),
			 0);
	ck_assert_int_eq(sh(dir, "openssl x509 -in leaf.pem -noout -ext subjectAltName | "
				 "grep -qx ' *DNS:acme.example.test'"),
			 0);
	/* The key in the pair is the certificate's. */
	ck_assert_int_eq(sh(dir, "test \"$(openssl x509 -in leaf.pem -noout -pubkey)\" = "
				 "\"$(openssl pkey -in leaf.key -pubout)\""),
			 0);
	/* 90 days, starting a few minutes back. */
	ck_assert_int_le(p.not_before, now);
	ck_assert_int_ge(p.not_before, now - 600);
	ck_assert_int_eq(p.not_after - now, (time_t)TLS_LEAF_DAYS * DAY);
	/* The second certificate in the PEM is the CA's, so clients get the chain. */
	ck_assert_int_eq(sh(dir, "test $(grep -c 'BEGIN CERTIFICATE' leaf.pem) -eq 2"), 0);
	tls_pair_free(&p);
	ck_assert_int_lt(tls_issue(&ca, "bad host,DNS:evil.test", now, &p, &e), 0);
	ck_assert_int_eq(e.exit_code, EXIT_REFUSED);
	tls_ca_free(&ca);
	check_tmpdir_remove(dir);
}
END_TEST

START_TEST(renewal_at_two_thirds)
{
	const time_t nb = 1000000, na = nb + 90 * DAY;

	ck_assert_int_eq(tls_needs_renewal(nb, na, nb), 0);
	ck_assert_int_eq(tls_needs_renewal(nb, na, nb + 59 * DAY), 0);
	ck_assert_int_eq(tls_needs_renewal(nb, na, nb + 60 * DAY - 1), 0);
	ck_assert_int_eq(tls_needs_renewal(nb, na, nb + 60 * DAY), 1);
	ck_assert_int_eq(tls_needs_renewal(nb, na, na + DAY), 1);
	ck_assert_int_eq(tls_needs_renewal(na, nb, nb), 1); /* nonsense dates: renew */
	ck_assert_int_eq(tls_needs_renewal(nb, nb, nb), 1);
}
END_TEST

static int check_files(const char *dir, const char *chain, const char *key, const char *host,
		       const char *domain, const char *trusted, time_t now, struct err *e)
{
	char *c = slurp(dir, chain), *k = slurp(dir, key), *t = trusted ? slurp(dir, trusted) : NULL;
	struct tls_subject s = { .host = host, .domain = domain };
	time_t na = 0;
	int rc = tls_check_operator(c, k, &s, t, now, &na, e);

	free(c);
	free(k);
	free(t);
	return rc;
}

static void refused(const char *dir, const char *chain, const char *key, const char *host, const char *domain,
		    const char *trusted, time_t now, const char *why)
{
	struct err e = { 0 };

	ck_assert_msg(check_files(dir, chain, key, host, domain, trusted, now, &e) < 0, "%s + %s accepted", chain,
		      key);
	ck_assert_int_eq(e.exit_code, EXIT_REFUSED);
	ck_assert_msg(strstr(e.msg, why), "%s + %s: '%s' does not say '%s'", chain, key, e.msg, why);
}

START_TEST(operator_certificates)
{
	char dir[64];
	struct err e = { 0 };
	time_t now;

	check_tmpdir_make(dir, sizeof(dir), "tls");
	{
		char cmd[PATH_MAX + 64], *src = realpath(getenv("top_srcdir") ? getenv("top_srcdir") : ".", NULL);

		/* The same PKI as the shell tests use (tests/tls-pki.sh). */
		ck_assert_ptr_nonnull(src);
		snprintf(cmd, sizeof(cmd), "sh '%s/tests/tls-pki.sh' .", src);
		free(src);
		ck_assert_msg(sh(dir, cmd) == 0, "the openssl command could not make the test PKI");
	}
	now = time(NULL); /* after the certificates' notBefore */
	/* Accepted: the full chain; the chain without the root when the root is trusted. */
	ck_assert_msg(check_files(dir, "host-full.pem", "host.key", "shop.example.com", NULL, NULL, now, &e) == 0,
		      "%s", e.msg);
	ck_assert_msg(check_files(dir, "host-noroot.pem", "host.key", "shop.example.com", NULL, "root.pem", now,
				  &e) == 0,
		      "%s", e.msg);
	ck_assert_msg(check_files(dir, "wild-full.pem", "wild.key", NULL, "example.com", NULL, now, &e) == 0, "%s",
		      e.msg);
	ck_assert_msg(check_files(dir, "wild-full.pem", "wild.key", "any.example.com", NULL, NULL, now, &e) == 0,
		      "%s", e.msg);
	/* Refused, each for its reason. */
	refused(dir, "host-full.pem", "wild.key", "shop.example.com", NULL, NULL, now, "does not match");
	refused(dir, "host-full.pem", "host.key", "other.example.com", NULL, NULL, now,
		"does not cover other.example.com");
	refused(dir, "host-full.pem", "host.key", NULL, "example.com", NULL, now,
		"does not cover every host under example.com");
	refused(dir, "host-full.pem", "host.key", "shop.example.com", NULL, NULL, now + 400 * DAY, "has expired");
	refused(dir, "host-full.pem", "host.key", "shop.example.com", NULL, NULL, now - 2 * DAY,
		"not valid yet");
	refused(dir, "soon-full.pem", "soon.key", "shop.example.com", NULL, NULL, now,
		"expires in less than 7 days");
	refused(dir, "self.pem", "self.key", "shop.example.com", NULL, NULL, now, "self-signed");
	refused(dir, "host.pem", "host.key", "shop.example.com", NULL, NULL, now, "chain is incomplete");
	refused(dir, "host-noroot.pem", "host.key", "shop.example.com", NULL, NULL, now, "chain is incomplete");
	refused(dir, "host.key", "host.key", "shop.example.com", NULL, NULL, now, "no PEM certificate");
	refused(dir, "host-full.pem", "host.pem", "shop.example.com", NULL, NULL, now, "no PEM private key");
	check_tmpdir_remove(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("tls");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, ca_created_once_and_kept);
	tcase_add_test(tc, ca_with_a_foreign_key_is_refused);
	tcase_add_test(tc, leaf_verifies_with_openssl);
	tcase_add_test(tc, renewal_at_two_thirds);
	tcase_add_test(tc, operator_certificates);
	suite_add_tcase(s, tc);
	return check_run(s);
}
