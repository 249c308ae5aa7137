/* Unit tests of the pure parts of the bundle area: manifest rules, Ed25519
 * signing, the k3s renderers, preflight verdicts and the progress line. */
#include <check.h>

#include "check-run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capacity.h"
#include "err.h"
#include "k3s.h"
#include "manifest.h"
#include "preflight.h"
#include "progress.h"
#include "sign.h"
#include "util.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define KEYID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char *manifest_text(const char *files, const char *links)
{
	char *s = NULL;
	ck_assert_int_ge(asprintf(&s,
				  "{\"format\":1,\"bundle_version\":\"1.0.0\",\"k3s_version\":\"v1.31.4+k3s1\","
				  "\"created\":\"2026-01-01T00:00:00Z\",\"key_id\":\"" KEYID "\","
				  "\"files\":[%s]%s%s}",
				  files, links ? ",\"links\":" : "", links ? links : ""),
			 0);
	return s;
}

#define FILE_K3S "{\"path\":\"k3s/k3s\",\"role\":\"k3s-binary\",\"size\":3,\"mode\":\"0755\",\"sha256\":\"" SHA_A "\"}"

static int parse(const char *files, const char *links, struct manifest *m, struct err *e)
{
	char *t = manifest_text(files, links);
	int rc = manifest_parse(t, strlen(t), m, e);
	free(t);
	return rc;
}

START_TEST(manifest_valid_and_lookup)
{
	struct manifest m;
	struct err e = { 0 };
	const char *files = "{\"path\":\"charts/a-1.0.0.tgz\",\"role\":\"chart\",\"size\":0,\"mode\":\"0644\",\"sha256\":\"" SHA_A "\"}," FILE_K3S;

	ck_assert_int_eq(parse(files, "[{\"path\":\"k3s/alias\",\"type\":\"symlink\",\"target\":\"k3s\"}]", &m, &e), 0);
	ck_assert_uint_eq(m.nfiles, 2);
	ck_assert_ptr_nonnull(manifest_find(&m, "k3s/k3s"));
	ck_assert_ptr_null(manifest_find(&m, "k3s/k3"));
	ck_assert_uint_eq(manifest_find(&m, "k3s/k3s")->mode, 0755);
	ck_assert_ptr_nonnull(manifest_find_link(&m, "k3s/alias"));
	ck_assert(manifest_is_dir(&m, "k3s"));
	ck_assert(manifest_is_dir(&m, "charts"));
	ck_assert(!manifest_is_dir(&m, "k3"));
	ck_assert(!manifest_is_dir(&m, "k3s/k3s"));
	ck_assert_str_eq(manifest_find_role(&m, "k3s-binary")->path, "k3s/k3s");

	/* The canonical serialisation parses back to the same manifest. */
	size_t len;
	char *again = manifest_serialize(&m, &len);
	struct manifest m2;
	ck_assert_int_eq(manifest_parse(again, len, &m2, &e), 0);
	ck_assert_uint_eq(m2.nfiles, 2);
	ck_assert_uint_eq(m2.nlinks, 1);
	ck_assert_int_eq(memcmp(m2.files[1].sha256, m.files[1].sha256, 32), 0);
	free(again);
	manifest_free(&m2);
	manifest_free(&m);
}
END_TEST

START_TEST(manifest_refusals)
{
	static const struct {
		const char *files, *links, *why;
	} cases[] = {
		{ "", NULL, "no file with role k3s-binary" },
		{ FILE_K3S "," FILE_K3S, NULL, "listed twice" },
		{ "{\"path\":\"z\",\"role\":\"doc\",\"size\":1,\"mode\":\"0644\",\"sha256\":\"" SHA_A "\"}," FILE_K3S, NULL, "out of order" },
		{ "{\"path\":\"/abs\",\"role\":\"doc\",\"size\":1,\"mode\":\"0644\",\"sha256\":\"" SHA_A "\"}", NULL, "absolute path" },
		{ "{\"path\":\"a//b\",\"role\":\"doc\",\"size\":1,\"mode\":\"0644\",\"sha256\":\"" SHA_A "\"}", NULL, "empty path component" },
		{ "{\"path\":\"a b\",\"role\":\"doc\",\"size\":1,\"mode\":\"0644\",\"sha256\":\"" SHA_A "\"}", NULL, "character outside" },
		{ "{\"path\":\"manifest.json\",\"role\":\"doc\",\"size\":1,\"mode\":\"0644\",\"sha256\":\"" SHA_A "\"}", NULL, "reserved name" },
		{ "{\"path\":\"k3s\",\"role\":\"doc\",\"size\":1,\"mode\":\"0644\",\"sha256\":\"" SHA_A "\"}," FILE_K3S, NULL, "both a file and a directory" },
		{ "{\"path\":\"x\",\"role\":\"evil\",\"size\":1,\"mode\":\"0644\",\"sha256\":\"" SHA_A "\"}", NULL, "bad 'role'" },
		{ "{\"path\":\"x\",\"role\":\"doc\",\"size\":-1,\"mode\":\"0644\",\"sha256\":\"" SHA_A "\"}", NULL, "bad 'size'" },
		{ "{\"path\":\"x\",\"role\":\"doc\",\"size\":1,\"mode\":\"1644\",\"sha256\":\"" SHA_A "\"}", NULL, "not 0000-0777" },
		{ "{\"path\":\"x\",\"role\":\"doc\",\"size\":1,\"mode\":\"0644\",\"sha256\":\"AB\"}", NULL, "sha256 is not" },
		{ "{\"path\":\"x\",\"role\":\"doc\",\"size\":1,\"mode\":\"0644\",\"sha256\":\"" SHA_A "\",\"extra\":1}", NULL, "unknown key 'extra'" },
		{ FILE_K3S, "[{\"path\":\"l\",\"type\":\"symlink\",\"target\":\"../k3s/k3s\"}]", "leaves the bundle" },
		{ FILE_K3S, "[{\"path\":\"l\",\"type\":\"symlink\",\"target\":\"k3s/nope\"}]", "not a file of the bundle" },
		{ FILE_K3S, "[{\"path\":\"l\",\"type\":\"fifo\",\"target\":\"k3s/k3s\"}]", "not symlink or hardlink" },
		{ FILE_K3S, "[{\"path\":\"k3s/k3s\",\"type\":\"hardlink\",\"target\":\"k3s/k3s\"}]", "also listed as a file" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct manifest m;
		struct err e = { 0 };
		ck_assert_msg(parse(cases[i].files, cases[i].links, &m, &e) < 0, "case %zu accepted", i);
		ck_assert_msg(strstr(e.msg, cases[i].why), "case %zu: '%s' lacks '%s'", i, e.msg, cases[i].why);
		ck_assert_int_eq(e.exit_code, EXIT_REFUSED);
	}
}
END_TEST

START_TEST(manifest_text_level)
{
	struct manifest m;
	struct err e = { 0 };
	char id[65];
	const char *dup = "{\"key_id\":\"" KEYID "\",\"key_id\":\"" KEYID "\"}";

	ck_assert_int_lt(manifest_parse("[1]", 3, &m, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "not a JSON object"));
	ck_assert_int_lt(manifest_key_id(dup, strlen(dup), id, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "duplicate"));
	ck_assert_int_eq(manifest_key_id(dup + 0, 0, id, &e), -1);
	ck_assert(manifest_version_ok("v1.31.4+k3s1"));
	ck_assert(!manifest_version_ok("../x"));
	ck_assert(!manifest_version_ok(".hidden"));
	ck_assert(!manifest_version_ok(""));
}
END_TEST

static char dir[64];

static void setup(void)
{
	check_tmpdir_make(dir, sizeof(dir), "bundle");
}

static void teardown(void)
{
	check_tmpdir_remove(dir);
}

START_TEST(sign_roundtrip)
{
	struct err e = { 0 };
	char id[65], id2[65], path[512];
	unsigned char sig[64];
	EVP_PKEY *priv, *pub;
	struct sign_keyring ring;
	struct stat st;

	ck_assert_int_eq(sign_keygen(dir, id, &e), 0);
	ck_assert_int_lt(sign_keygen(dir, id2, &e), 0); /* never overwrites */
	snprintf(path, sizeof(path), "%s/bundle-signing.key", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(sign_load_private(path, &priv, &e), 0);
	snprintf(path, sizeof(path), "%s/bundle-signing.pub", dir);
	ck_assert_int_eq(sign_load_public(path, &pub, &e), 0);
	ck_assert_int_eq(sign_key_id(pub, id2, &e), 0);
	ck_assert_str_eq(id, id2);
	ck_assert_int_eq(sign_data(priv, "hello", 5, sig, &e), 0);
	ck_assert_int_eq(sign_verify(pub, "hello", 5, sig, 64), 0);
	ck_assert_int_lt(sign_verify(pub, "hellO", 5, sig, 64), 0);
	ck_assert_int_lt(sign_verify(pub, "hello", 5, sig, 63), 0);
	sig[0] ^= 1;
	ck_assert_int_lt(sign_verify(pub, "hello", 5, sig, 64), 0);
	ck_assert_int_eq(sign_keyring_load(&ring, dir, &e), 0);
	ck_assert_uint_eq(ring.n, 1);
	ck_assert_ptr_nonnull(sign_keyring_find(&ring, id));
	ck_assert_ptr_null(sign_keyring_find(&ring, KEYID));
	sign_keyring_free(&ring);
	/* A private key is not accepted where a public one is expected. */
	snprintf(path, sizeof(path), "%s/bundle-signing.key", dir);
	EVP_PKEY *bad = NULL;
	ck_assert_int_lt(sign_load_public(path, &bad, &e), 0);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
}
END_TEST

static void load_capacity(struct capacity_budget *c)
{
	struct err e = { 0 };

	ck_assert_int_eq(capacity_budget_load(getenv("OUTPOST_DATADIR") ?: "charts", c, &e), 0);
}

START_TEST(k3s_renders)
{
	struct capacity_budget c;
	struct k3s_rendered *r;
	struct err e = { 0 };
	size_t n;
	char *cfg;
	const char *plat = "{\"components\":[{\"name\":\"postgresql\",\"helmchart\":\"outpost-postgresql\","
			   "\"chart\":\"postgresql\",\"namespace\":\"outpost-platform\"},"
			   "{\"name\":\"ingress\",\"helmchart\":\"traefik\",\"chart\":null,\"namespace\":\"kube-system\"}]}";
	const char *charts[] = { "postgresql-1.2.3.tgz", "postgresql-extra-0.1.0.tgz", "redis-1.0.0.tgz" };

	load_capacity(&c);
	cfg = k3s_render_config(&c);
	ck_assert_ptr_nonnull(strstr(cfg, "kube-reserved=cpu=750m,memory=1792Mi"));
	ck_assert_ptr_nonnull(strstr(cfg, "  - servicelb\n"));
	ck_assert_ptr_null(strstr(cfg, "metrics-server")); /* tenant usage needs it */
	free(cfg);
	ck_assert_int_eq(k3s_render_platform(plat, strlen(plat), &c, charts, 3, &r, &n, &e), 0);
	ck_assert_uint_eq(n, 1); /* the ingress is k3s's own chart */
	ck_assert_str_eq(r[0].name, "outpost-postgresql.yaml");
	ck_assert_ptr_nonnull(strstr(r[0].yaml, "/static/charts/postgresql-1.2.3.tgz\n"));
	k3s_rendered_free(r, n);
	ck_assert_int_lt(k3s_render_platform(plat, strlen(plat), &c, charts + 2, 1, &r, &n, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "no chart postgresql-<version>.tgz"));
	const char *evil = "{\"components\":[{\"name\":\"x\\ny\",\"helmchart\":\"h\",\"chart\":\"c\",\"namespace\":\"n\"}]}";
	ck_assert_int_lt(k3s_render_platform(evil, strlen(evil), &c, charts, 3, &r, &n, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "DNS-1123"));
}
END_TEST

static const struct preflight_result *find(const struct preflight_result *r, size_t n, const char *check)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(r[i].check, check))
			return &r[i];
	ck_abort_msg("no check %s", check);
	return NULL;
}

START_TEST(preflight_verdicts)
{
	struct capacity_budget c;
	struct preflight_facts f = { .cpus = 8, .mem_mib = 16384, .disk_free_gib = 200, .cgroup2 = 1,
				     .overlay = 1, .br_netfilter = 1, .default_route = 1,
				     .now = 1800000000 };
	struct preflight_result r[PREFLIGHT_MAX_RESULTS];
	size_t n;

	load_capacity(&c);
	n = preflight_evaluate(&f, &c, r, PREFLIGHT_MAX_RESULTS);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(r[i].status == PREFLIGHT_PASS, "%s: %s", r[i].check, r[i].detail);
	f.cpus = 4; /* the budget fits, the profile does not */
	f.mem_mib = 4096;
	f.swap_kib = 1 << 20;
	f.default_route = 0;
	f.port_busy[0] = 1;
	f.cgroup2 = 0;
	f.now = 1000000000;
	n = preflight_evaluate(&f, &c, r, PREFLIGHT_MAX_RESULTS);
	ck_assert_int_eq(find(r, n, "cpu")->status, PREFLIGHT_WARN);
	ck_assert_int_eq(find(r, n, "memory")->status, PREFLIGHT_FAIL);
	ck_assert_int_eq(find(r, n, "swap")->status, PREFLIGHT_WARN);
	ck_assert_int_eq(find(r, n, "default route")->status, PREFLIGHT_FAIL);
	ck_assert_ptr_nonnull(strstr(find(r, n, "default route")->detail, "dummy"));
	ck_assert_int_eq(find(r, n, "port 6443")->status, PREFLIGHT_FAIL);
	ck_assert_int_eq(find(r, n, "port 80")->status, PREFLIGHT_PASS);
	ck_assert_int_eq(find(r, n, "cgroup v2")->status, PREFLIGHT_FAIL);
	ck_assert_int_eq(find(r, n, "clock")->status, PREFLIGHT_FAIL);
	f.now = 1800000000;
	f.not_before = 1800000000 + 3 * 86400;
	n = preflight_evaluate(&f, &c, r, PREFLIGHT_MAX_RESULTS);
	ck_assert_int_eq(find(r, n, "clock")->status, PREFLIGHT_WARN);
	f.cpus = 2;
	n = preflight_evaluate(&f, &c, r, PREFLIGHT_MAX_RESULTS);
	ck_assert_int_eq(find(r, n, "cpu")->status, PREFLIGHT_FAIL);
}
END_TEST

START_TEST(progress_line)
{
	char buf[256];

	progress_format(buf, sizeof(buf), 512ull << 20, 2048ull << 20, 2.0, 0);
	ck_assert_str_eq(buf, " 25%  512.0 MiB / 2.0 GiB  256.0 MiB/s  ETA 0:06");
	progress_format(buf, sizeof(buf), 1024, 2048, 1.0, 4);
	ck_assert_str_eq(buf, "[##..]  50%  1.0 KiB / 2.0 KiB  1.0 KiB/s  ETA 0:01");
	progress_format(buf, sizeof(buf), 0, 100, 0.0, 0);
	ck_assert_ptr_nonnull(strstr(buf, "ETA --:--"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bundle");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, manifest_valid_and_lookup);
	tcase_add_test(tc, manifest_refusals);
	tcase_add_test(tc, manifest_text_level);
	tcase_add_test(tc, sign_roundtrip);
	tcase_add_test(tc, k3s_renders);
	tcase_add_test(tc, preflight_verdicts);
	tcase_add_test(tc, progress_line);
	suite_add_tcase(s, tc);
	return check_run(s);
}
