/* Render goldens: tests/golden/<case>.json is the exact rendering of each case.
 * To regenerate them deliberately after a change to render.c, run
 *   OUTPOST_REGEN_GOLDEN=1 make check TESTS=tests/check_render
 * and review the diff before committing it. */
#include <check.h>

#include "check-run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quantity.h"
#include "render.h"
#include "state.h"
#include "util.h"

static const struct render_plan small = {
	.name = "small", .cpu_request_m = 250, .cpu_limit_m = 1000,
	.memory_request_mib = 256, .memory_limit_mib = 512, .storage_gib = 5, .max_pods = 10,
	.max_replicas = 1,
};
static const struct render_set sets[] = {
	{ "theme.color", "teal" },
	{ "replicas", "5" },           /* must not wake or scale the app */
	{ "resources.limits.cpu", "8" },/* must not lift the plan */
};
static const struct render_credentials cred = {
	.password = {
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"2123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"3123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	},
};

static const struct render_set secure_sets[] = {
	{ "ingress.tlsSecretName", "elsewhere" }, /* Outpost names the Secret */
};
/* Render does not parse PEM: any text shows where it goes. */
static const struct render_tls tls = {
	.cert_pem = "-----BEGIN CERTIFICATE-----\nleaf\n-----END CERTIFICATE-----\n"
		    "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n",
	.key_pem = "-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n",
};

static const struct render_tenant cases[] = {
	{ .name = "acme", .app = "site", .app_version = "0.1.0", .host = "acme.example.org",
	  .generation = 3, .set = sets, .nset = 3, .plan = &small },
	{ .name = "sleepy", .app = "webapp", .app_version = "0.2.0", .host = "sleepy.example.org",
	  .suspended = true, .generation = 1, .plan = &small },
	{ .name = "secure", .app = "site", .app_version = "0.1.0", .host = "secure.example.org",
	  .generation = 2, .set = secure_sets, .nset = 1, .plan = &small, .tls = &tls },
};

static json_t *render_case(const struct render_tenant *t)
{
	struct err e = { 0 };
	json_t *out = json_array();

	ck_assert_int_eq(render_tenant(&render_config_default, t, &cred, out, &e), 0);
	return out;
}

START_TEST(matches_golden)
{
	const struct render_tenant *t = &cases[_i];
	const char *srcdir = getenv("top_srcdir");
	char path[1024], *want = NULL, *got;
	struct err e = { 0 };
	json_t *out = render_case(t);

	snprintf(path, sizeof(path), "%s/tests/golden/render-%s.json", srcdir ? srcdir : ".", t->name);
	got = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS);
	ck_assert_ptr_nonnull(got);
	if (getenv("OUTPOST_REGEN_GOLDEN")) {
		size_t n = strlen(got);
		got = realloc(got, n + 2);
		strcpy(got + n, "\n");
		ck_assert_int_eq(util_write_atomic(path, got, n + 1, 0644, &e), 0);
	} else {
		ck_assert_msg(util_read_file(path, 1 << 20, &want, NULL, &e) == 0, "%s", e.msg);
		size_t n = strlen(want);
		if (n && want[n - 1] == '\n')
			want[n - 1] = '\0';
		ck_assert_msg(!strcmp(got, want), "rendering of %s differs from %s "
			      "(OUTPOST_REGEN_GOLDEN=1 regenerates it)", t->name, path);
	}
	free(want);
	free(got);
	json_decref(out);
}
END_TEST

START_TEST(deterministic_and_labelled)
{
	json_t *a = render_case(&cases[0]), *b = render_case(&cases[0]), *obj;
	char *da = render_dump(a), *db = render_dump(b), hash[RENDER_HASH_LEN + 1];
	size_t i;

	ck_assert_str_eq(da, db);
	json_array_foreach(a, i, obj) {
		json_t *md = json_object_get(obj, "metadata");
		json_t *labels = json_object_get(md, "labels");
		ck_assert_str_eq(json_string_value(json_object_get(labels, RENDER_LABEL_MANAGED_BY)), "outpost");
		ck_assert_str_eq(json_string_value(json_object_get(labels, RENDER_LABEL_TENANT)), "acme");
		ck_assert_int_eq(render_hash(obj, hash), 0);
		ck_assert_str_eq(json_string_value(json_object_get(json_object_get(md, "annotations"),
								   RENDER_ANNOTATION_HASH)), hash);
	}
	/* The Namespace comes first: everything after may live in it. */
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "kind")), "Namespace");
	free(da);
	free(db);
	json_decref(a);
	json_decref(b);
}
END_TEST

static const char *values_of(json_t *objs)
{
	json_t *obj;
	size_t i;

	json_array_foreach(objs, i, obj)
		if (!strcmp(json_string_value(json_object_get(obj, "kind")), "HelmChart"))
			return json_string_value(json_object_get(json_object_get(obj, "spec"), "valuesContent"));
	ck_abort_msg("no HelmChart");
	return NULL;
}

START_TEST(suspended_scales_to_zero_and_set_cannot_override)
{
	json_t *objs = render_case(&cases[0]), *v;
	json_error_t je;

	v = json_loads(values_of(objs), 0, &je);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "replicas")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(v, "resources"),
						"limits"), "cpu")), "1000m");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(v, "theme"), "color")), "teal");
	json_decref(v);
	json_decref(objs);

	objs = render_case(&cases[1]);
	v = json_loads(values_of(objs), 0, &je);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "replicas")), 0);
	json_decref(v);
	json_decref(objs);
}
END_TEST

static json_t *object_of_kind(json_t *objs, const char *kind)
{
	json_t *obj;
	size_t i;

	json_array_foreach(objs, i, obj)
		if (!strcmp(json_string_value(json_object_get(obj, "kind")), kind))
			return obj;
	ck_abort_msg("no %s", kind);
	return NULL;
}

/* A quantity the renderer wrote, in units of 10^exp10. */
static int64_t quantity_at(json_t *parent, const char *key, int exp10)
{
	const char *s = json_string_value(json_object_get(parent, key));
	struct quantity q;
	int64_t v;

	ck_assert_msg(s && quantity_parse(s, &q) == 0 && quantity_scaled(&q, exp10, &v) == 0,
		      "%s: %s", key, s ? s : "missing");
	return v;
}

/* For every plan a new state file seeds: the app's HPA (on only for a plan
 * that scales out, 1..max_replicas at RENDER_HPA_CPU_PERCENT), and
 * max_replicas pods of the rendered size within the rendered quota, for
 * requests and limits alike; suspended, no HPA. */
START_TEST(every_plan_fits_its_quota)
{
	char dir[] = "/tmp/check_render.XXXXXX", path[64];
	struct state *st = NULL;
	struct plan *plans = NULL;
	struct err e = { 0 };
	size_t n = 0, scaling = 0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.db", dir);
	ck_assert_msg(state_open(path, STATE_OPEN_CREATE, &st, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(state_plan_list(st, &plans, &n, &e), 0);
	ck_assert_uint_ge(n, 3);
	for (size_t i = 0; i < n; i++) {
		const struct plan *p = &plans[i];
		struct render_plan rp = {
			.name = p->name, .cpu_request_m = (int)p->cpu_request_m,
			.cpu_limit_m = (int)p->cpu_limit_m, .memory_request_mib = (int)p->memory_request_mib,
			.memory_limit_mib = (int)p->memory_limit_mib, .storage_gib = (int)p->storage_gib,
			.max_pods = (int)p->pods, .max_replicas = (int)p->max_replicas,
		};
		struct render_tenant t = cases[0];
		json_t *objs, *v, *hard, *res, *hpa;
		json_error_t je;

		t.plan = &rp;
		objs = render_case(&t);
		v = json_loads(values_of(objs), 0, &je);
		hard = json_object_get(json_object_get(object_of_kind(objs, "ResourceQuota"), "spec"), "hard");
		res = json_object_get(v, "resources");
		hpa = json_object_get(v, "autoscaling");
		ck_assert_msg(json_is_true(json_object_get(hpa, "enabled")) == (p->max_replicas > 1),
			      "plan %s: autoscaling %s with max_replicas %lld", p->name,
			      json_is_true(json_object_get(hpa, "enabled")) ? "on" : "off",
			      (long long)p->max_replicas);
		if (p->max_replicas > 1) {
			scaling++;
			ck_assert_int_eq(json_integer_value(json_object_get(hpa, "minReplicas")), 1);
			ck_assert_int_eq(json_integer_value(json_object_get(hpa, "maxReplicas")), p->max_replicas);
			ck_assert_int_eq(json_integer_value(json_object_get(hpa, "targetCPUUtilizationPercentage")),
					 RENDER_HPA_CPU_PERCENT);
		}
		static const struct { const char *side, *res, *quota; int exp10; } fig[] = {
			{ "requests", "cpu", "requests.cpu", -3 }, { "requests", "memory", "requests.memory", 0 },
			{ "limits", "cpu", "limits.cpu", -3 }, { "limits", "memory", "limits.memory", 0 },
		};
		for (size_t k = 0; k < ARRAY_SIZE(fig); k++) {
			int64_t pod = quantity_at(json_object_get(res, fig[k].side), fig[k].res, fig[k].exp10);
			int64_t quota = quantity_at(hard, fig[k].quota, fig[k].exp10);
			ck_assert_msg(pod > 0 && pod * p->max_replicas <= quota,
				      "plan %s: %lld pods of %s %s %lld exceed the quota's %lld", p->name,
				      (long long)p->max_replicas, fig[k].side, fig[k].res, (long long)pod,
				      (long long)quota);
		}
		ck_assert_int_le(p->max_replicas, quantity_at(hard, "pods", 0));
		json_decref(v);
		json_decref(objs);

		t.suspended = true;
		objs = render_case(&t);
		v = json_loads(values_of(objs), 0, &je);
		ck_assert(json_is_false(json_object_get(json_object_get(v, "autoscaling"), "enabled")));
		ck_assert_int_eq(json_integer_value(json_object_get(v, "replicas")), 0);
		json_decref(v);
		json_decref(objs);
	}
	ck_assert_uint_ge(scaling, 2); /* medium and large scale out */
	free(plans);
	state_close(st);
	unlink(path);
	ck_assert_int_eq(nftw(dir, check_remove_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
}
END_TEST

START_TEST(hash_follows_content)
{
	struct render_tenant t = cases[0];
	struct render_plan bigger = small;
	json_t *a = render_case(&t), *b;

	bigger.memory_limit_mib = 1024;
	t.plan = &bigger;
	b = render_case(&t);
	/* Namespace unchanged; ResourceQuota changed. */
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(
		json_array_get(a, 0), "metadata"), "annotations"), RENDER_ANNOTATION_HASH)),
		json_string_value(json_object_get(json_object_get(json_object_get(
		json_array_get(b, 0), "metadata"), "annotations"), RENDER_ANNOTATION_HASH)));
	ck_assert_str_ne(json_string_value(json_object_get(json_object_get(json_object_get(
		json_array_get(a, 1), "metadata"), "annotations"), RENDER_ANNOTATION_HASH)),
		json_string_value(json_object_get(json_object_get(json_object_get(
		json_array_get(b, 1), "metadata"), "annotations"), RENDER_ANNOTATION_HASH)));
	json_decref(a);
	json_decref(b);
}
END_TEST

static unsigned needs_of(json_t *obj)
{
	json_t *md = json_object_get(obj, "metadata");

	return render_needs(json_string_value(json_object_get(obj, "kind")),
			    json_string_value(json_object_get(json_object_get(md, "labels"), RENDER_LABEL_ROLE)),
			    json_string_value(json_object_get(md, "name")));
}

START_TEST(deprovision_jobs)
{
	struct err e = { 0 };
	json_t *out = json_array(), *obj;
	size_t i;

	ck_assert_int_eq(render_deprovision(&render_config_default, "acme", out, &e), 0);
	ck_assert_uint_eq(json_array_size(out), RENDER_NSERVICES);
	json_array_foreach(out, i, obj) {
		json_t *md = json_object_get(obj, "metadata");
		ck_assert_str_eq(json_string_value(json_object_get(md, "namespace")), "outpost-platform");
		ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(md, "name")), "deprovision-acme-"));
		/* In service order: the data of each waits for that service. */
		ck_assert_uint_eq(needs_of(obj), 1u << i | RENDER_NEED_SCRIPTS);
	}
	json_decref(out);
}
END_TEST

/* Only the Jobs and their copy of the passwords wait for the platform;
 * everything else is scaffolding. A
 * tenant whose name ends like a service still needs only what its Jobs do. */
START_TEST(needs_only_the_jobs)
{
	struct render_tenant t = cases[0];
	json_t *out, *obj;
	unsigned all = 0;
	size_t i, jobs = 0;

	t.name = "a-redis";
	out = render_case(&t);
	json_array_foreach(out, i, obj) {
		const char *kind = json_string_value(json_object_get(obj, "kind"));
		const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
		unsigned n = needs_of(obj);
		if (!strcmp(name, "outpost-tenant-a-redis")) {
			ck_assert_uint_eq(n, RENDER_NEED_SCRIPTS); /* the Jobs' copy of the passwords */
			continue;
		}
		if (strcmp(kind, "Job")) {
			ck_assert_uint_eq(n, 0);
			continue;
		}
		ck_assert_uint_eq(n & RENDER_NEED_SCRIPTS, RENDER_NEED_SCRIPTS);
		ck_assert_uint_eq(__builtin_popcount(n), 2);
		all |= n;
		jobs++;
	}
	ck_assert_uint_eq(jobs, RENDER_NSERVICES);
	ck_assert_uint_eq(all, RENDER_NEED_ALL);
	ck_assert_str_eq(render_need_component[RENDER_KEYCLOAK], "keycloak");
	json_decref(out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("render");
	TCase *tc = tcase_create("render");

	tcase_add_loop_test(tc, matches_golden, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, deterministic_and_labelled);
	tcase_add_test(tc, suspended_scales_to_zero_and_set_cannot_override);
	tcase_add_test(tc, hash_follows_content);
	tcase_add_test(tc, every_plan_fits_its_quota);
	tcase_add_test(tc, deprovision_jobs);
	tcase_add_test(tc, needs_only_the_jobs);
	suite_add_tcase(s, tc);
	return check_run(s);
}
