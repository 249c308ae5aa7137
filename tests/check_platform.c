/* Platform components: dependency order (pure) and the readiness machines,
 * driven through platform_poll with a scripted probe. */
#include <check.h>

#include "check-run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "util.h"

#define SEC 1000000ULL

static const char *order_names(const struct platform *p, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t k = 0; k < p->n; k++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", k ? " " : "",
					p->c[p->order[k]].name);
	return buf;
}

static struct platform *parse_ok(const char *json)
{
	struct platform *p = NULL;
	struct err e = { 0 };

	ck_assert_msg(platform_parse(json, "test.json", &p, &e) == 0, "%s", e.msg);
	return p;
}

static void parse_fails(const char *json, const char *msg)
{
	struct platform *p = NULL;
	struct err e = { 0 };

	ck_assert_int_lt(platform_parse(json, "test.json", &p, &e), 0);
	ck_assert_ptr_null(p);
	ck_assert_msg(strstr(e.msg, msg) != NULL, "'%s' not in '%s'", msg, e.msg);
}

#define C(name, deps) \
	"{\"name\":\"" name "\",\"helmchart\":\"hc-" name "\",\"namespace\":\"ns\"," \
	"\"workloads\":[{\"kind\":\"Deployment\",\"name\":\"" name "\"}],\"depends\":[" deps "]}"

START_TEST(shipped_file_orders_keycloak_after_postgresql)
{
	struct platform *p = NULL;
	struct err e = { 0 };
	char buf[256], *path = util_path_join(getenv("OUTPOST_DATADIR") ? getenv("OUTPOST_DATADIR")
									 : "charts", "platform.json");

	ck_assert_msg(platform_load(path, &p, &e) == 0, "%s", e.msg);
	order_names(p, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "postgresql"));
	ck_assert_ptr_nonnull(strstr(buf, "keycloak"));
	ck_assert_msg(strstr(buf, "postgresql") < strstr(buf, "keycloak"), "order: %s", buf);
	platform_free(p);
	free(path);
}
END_TEST

START_TEST(order_is_stable_and_respects_depends)
{
	struct platform *p = parse_ok("{\"components\":[" C("d", "\"c\"") "," C("c", "\"a\",\"b\"")
				      "," C("a", "") "," C("b", "\"a\"") "," C("e", "") "]}");
	char buf[64];

	ck_assert_str_eq(order_names(p, buf, sizeof(buf)), "a b c d e");
	platform_free(p);
}
END_TEST

START_TEST(bad_files_are_named)
{
	parse_fails("{\"components\":[" C("a", "\"b\"") "," C("b", "\"c\"") "," C("c", "\"a\"") "]}",
		    "test.json: dependency cycle: a -> b -> c -> a");
	parse_fails("{\"components\":[" C("a", "\"a\"") "]}", "dependency cycle: a -> a");
	parse_fails("{\"components\":[" C("keycloak", "\"postgres\"") "]}",
		    "test.json: component keycloak depends on unknown component \"postgres\"");
	parse_fails("{\"components\":[" C("a", "") "," C("a", "") "]}", "component a is listed twice");
	parse_fails("{\"components\":[{\"name\":\"x\",\"helmchart\":\"x\",\"namespace\":\"n\","
		    "\"workloads\":[{\"kind\":\"DaemonSet\",\"name\":\"x\"}]}]}",
		    "component x: workload kind \"DaemonSet\"");
	parse_fails("{\"components\":[{\"name\":\"x\"}]}", "component x: \"helmchart\" must be");
	parse_fails("{\"components\":[]}", "\"components\" must be a non-empty array");
	parse_fails("{\"components\":\n[,]}", "test.json: line 2 column");
}
END_TEST

/* The scripted cluster: per helmchart a Job phase, per workload ready/want. */
struct fake {
	enum job_phase job[8];
	unsigned ready[8];
	bool down;
	int calls;
};

static int idx(const char *name)
{
	const char *last = strrchr(name, '-');
	return (last ? last[1] : name[0]) - 'a';
}

static int f_readyz(void *ctx, struct err *e)
{
	struct fake *f = ctx;
	return f->down ? err_set(e, 1, "connection refused") : 0;
}

static int f_job(void *ctx, const char *ns, const char *name, enum job_phase *phase, char *reason,
		 size_t len, struct err *e)
{
	struct fake *f = ctx;

	ck_assert_str_eq(ns, PLATFORM_HELMCHART_NAMESPACE);
	ck_assert(!strncmp(name, "helm-install-hc-", 16));
	f->calls++;
	if (f->down)
		return err_set(e, 1, "connection refused");
	*phase = f->job[idx(name)];
	if (*phase == JOB_FAILED)
		snprintf(reason, len, "BackoffLimitExceeded");
	return 0;
}

static int f_workload(void *ctx, const char *ns, const char *kind, const char *name,
		      unsigned *ready, unsigned *want, struct err *e)
{
	struct fake *f = ctx;

	(void)e;
	ck_assert_str_eq(ns, "ns");
	ck_assert_str_eq(kind, "Deployment");
	f->calls++;
	*ready = f->ready[idx(name)];
	*want = 1;
	return 0;
}

static const struct probe_ops fake_ops = { f_readyz, f_job, f_workload };

START_TEST(components_become_ready_in_dependency_order)
{
	/* b needs a; c is independent. */
	struct platform *p = parse_ok("{\"components\":[" C("a", "") "," C("b", "\"a\"") ","
				      C("c", "") "]}");
	struct fake f = { 0 };
	struct probe probe = { &fake_ops, &f };
	uint64_t now = 0;

	/* b is installed and running already: it still waits for a. */
	f.job[1] = JOB_SUCCEEDED;
	f.ready[1] = 1;
	platform_poll(p, &probe, now += SEC);
	ck_assert_int_eq(p->c[0].state, PC_INSTALLING);
	ck_assert_int_eq(p->c[1].state, PC_PENDING);
	ck_assert_int_eq(p->c[2].state, PC_INSTALLING);
	ck_assert_str_eq(p->c[0].reason, "helm-install-hc-a absent");

	f.job[0] = JOB_SUCCEEDED;
	platform_poll(p, &probe, now += SEC);
	ck_assert_int_eq(p->c[0].state, PC_STARTING);
	ck_assert_str_eq(p->c[0].reason, "waiting for Deployment/a 0/1");
	ck_assert_int_eq(p->c[1].state, PC_PENDING);

	f.ready[0] = 1;
	platform_poll(p, &probe, now += SEC);
	ck_assert_int_eq(p->c[0].state, PC_READY);
	ck_assert_int_eq(p->c[1].state, PC_INSTALLING); /* asked about in the next poll */
	platform_poll(p, &probe, now += SEC);
	ck_assert_int_eq(p->c[1].state, PC_READY);
	ck_assert(platform_is_ready(p, "b"));
	ck_assert_uint_eq(platform_ready_count(p), 2);
	platform_free(p);
}
END_TEST

START_TEST(a_failure_is_reported_and_blocks_only_dependents)
{
	struct platform *p = parse_ok("{\"components\":[" C("a", "") "," C("b", "\"a\"") ","
				      C("c", "") "]}");
	struct fake f = { 0 };
	struct probe probe = { &fake_ops, &f };
	uint64_t now = 0;

	p->timeout = 100 * SEC;
	p->retry = 30 * SEC;
	f.job[0] = JOB_FAILED;
	f.job[2] = JOB_SUCCEEDED;
	f.ready[2] = 1;
	ck_assert_uint_eq(platform_poll(p, &probe, now += SEC), 2);
	ck_assert_int_eq(p->c[0].state, PC_FAILED);
	ck_assert_str_eq(p->c[0].reason, "helm-install-hc-a Job failed: BackoffLimitExceeded");
	ck_assert_int_eq(p->c[1].state, PC_PENDING);
	ck_assert_int_eq(p->c[2].state, PC_READY);

	/* Before the retry delay nothing changes; after it, a fresh attempt
	 * that the still-failed Job fails again. */
	ck_assert_uint_eq(platform_poll(p, &probe, now += 10 * SEC), 0);
	platform_poll(p, &probe, now += 25 * SEC);
	ck_assert_int_eq(p->c[0].state, PC_FAILED);
	ck_assert_uint_eq(p->c[0].retry_at, now + 30 * SEC);

	/* helm-controller re-ran the install: the next poll sees it. */
	f.job[0] = JOB_SUCCEEDED;
	f.ready[0] = 1;
	platform_poll(p, &probe, now += SEC);
	ck_assert_int_eq(p->c[0].state, PC_READY);
	platform_free(p);
}
END_TEST

START_TEST(not_ready_after_timeout_fails_with_the_workload)
{
	struct platform *p = parse_ok("{\"components\":[" C("a", "") "]}");
	struct fake f = { 0 };
	struct probe probe = { &fake_ops, &f };
	uint64_t now = 0;

	p->timeout = 60 * SEC;
	f.job[0] = JOB_RUNNING;
	platform_poll(p, &probe, now += SEC);
	ck_assert_str_eq(p->c[0].reason, "helm-install-hc-a running");
	platform_poll(p, &probe, now += 60 * SEC);
	ck_assert_int_eq(p->c[0].state, PC_FAILED);
	ck_assert_str_eq(p->c[0].reason, "helm-install-hc-a not complete after 60 s");

	p->c[0].state = PC_INSTALLING;
	p->c[0].since = now;
	f.job[0] = JOB_SUCCEEDED;
	platform_poll(p, &probe, now += SEC);
	ck_assert_int_eq(p->c[0].state, PC_STARTING);
	platform_poll(p, &probe, now += 61 * SEC);
	ck_assert_int_eq(p->c[0].state, PC_FAILED);
	ck_assert_str_eq(p->c[0].reason, "not ready after 61 s: Deployment/a 0/1");
	platform_free(p);
}
END_TEST

START_TEST(api_errors_keep_the_state_and_pending_costs_nothing)
{
	struct platform *p = parse_ok("{\"components\":[" C("a", "") "," C("b", "\"a\"") "]}");
	struct fake f = { .down = true };
	struct probe probe = { &fake_ops, &f };

	platform_poll(p, &probe, 1 * SEC);
	ck_assert_int_eq(p->c[0].state, PC_INSTALLING);
	ck_assert_int_eq(p->c[1].state, PC_PENDING);
	ck_assert_int_eq(f.calls, 1); /* a's Job only; b is not asked about */
	platform_free(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("platform");
	TCase *tc = tcase_create("platform");

	tcase_add_test(tc, shipped_file_orders_keycloak_after_postgresql);
	tcase_add_test(tc, order_is_stable_and_respects_depends);
	tcase_add_test(tc, bad_files_are_named);
	tcase_add_test(tc, components_become_ready_in_dependency_order);
	tcase_add_test(tc, a_failure_is_reported_and_blocks_only_dependents);
	tcase_add_test(tc, not_ready_after_timeout_fails_with_the_workload);
	tcase_add_test(tc, api_errors_keep_the_state_and_pending_costs_nothing);
	suite_add_tcase(s, tc);
	return check_run(s);
}
