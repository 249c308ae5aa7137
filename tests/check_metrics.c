/* Outpost's metrics: the exposition text (pure), the worker's metric lines,
 * the listening address, the request routing, and tenants by phase counted
 * from a real state file. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check-run.h"
#include "metrics-http.h"
#include "metrics.h"
#include "state.h"
#include "util.h"
#include "worker-msg.h"

/* Every family, in order, with HELP and TYPE; histogram buckets cumulative;
 * the seconds sum exact to the millisecond. */
START_TEST(render_every_family)
{
	struct metrics_counters c = { 0 };
	static const struct metrics_pass passes[] = {
		{ .full = true, .ok = true, .elapsed_ms = 2700, .writes = 14, .errors = 0 },
		{ .full = false, .ok = true, .elapsed_ms = 3, .writes = 0 },
		{ .full = false, .ok = false, .elapsed_ms = 45000, .writes = 3, .errors = 2 },
	};
	static const struct metrics_component comps[] = {
		{ "api", true }, { "postgresql", false },
	};
	static const struct tenant_certificate certs[] = {
		{ "acme", "ca", 1796428800 }, { "beta", "operator", 1767225600 },
	};
	struct metrics_view v = { .version = "1.2.3", .c = &c, .k3s_up = true, .k3s_restarts = 2,
				  .k3s_since_restart = 12.5, .state_read = true,
				  .tenants = { 1, 0, 3, 1, 0 }, .components = comps, .ncomponents = 2,
				  .certificates = certs, .ncertificates = 2 };
	static const char want[] =
		"# HELP outpost_build_info The running Outpost's version (the value is always 1).\n"
		"# TYPE outpost_build_info gauge\n"
		"outpost_build_info{version=\"1.2.3\"} 1\n"
		"# HELP outpost_reconcile_passes_total Reconcile passes the workers ran: full (every tenant) or targeted (the changed ones).\n"
		"# TYPE outpost_reconcile_passes_total counter\n"
		"outpost_reconcile_passes_total{kind=\"full\"} 1\n"
		"outpost_reconcile_passes_total{kind=\"targeted\"} 2\n"
		"# HELP outpost_reconcile_pass_duration_seconds How long the reconcile passes took.\n"
		"# TYPE outpost_reconcile_pass_duration_seconds histogram\n"
		"outpost_reconcile_pass_duration_seconds_bucket{le=\"0.005\"} 1\n"
		"outpost_reconcile_pass_duration_seconds_bucket{le=\"0.01\"} 1\n"
		"outpost_reconcile_pass_duration_seconds_bucket{le=\"0.025\"} 1\n"
		"outpost_reconcile_pass_duration_seconds_bucket{le=\"0.05\"} 1\n"
		"outpost_reconcile_pass_duration_seconds_bucket{le=\"0.1\"} 1\n"
		"outpost_reconcile_pass_duration_seconds_bucket{le=\"0.25\"} 1\n"
		"outpost_reconcile_pass_duration_seconds_bucket{le=\"0.5\"} 1\n"
		"outpost_reconcile_pass_duration_seconds_bucket{le=\"1\"} 1\n"
		"outpost_reconcile_pass_duration_seconds_bucket{le=\"2.5\"} 1\n"
		"outpost_reconcile_pass_duration_seconds_bucket{le=\"5\"} 2\n"
		"outpost_reconcile_pass_duration_seconds_bucket{le=\"10\"} 2\n"
		"outpost_reconcile_pass_duration_seconds_bucket{le=\"30\"} 2\n"
		"outpost_reconcile_pass_duration_seconds_bucket{le=\"+Inf\"} 3\n"
		"outpost_reconcile_pass_duration_seconds_sum 47.703\n"
		"outpost_reconcile_pass_duration_seconds_count 3\n"
		"# HELP outpost_reconcile_writes_total Create, apply, patch and delete requests the reconcile passes sent.\n"
		"# TYPE outpost_reconcile_writes_total counter\n"
		"outpost_reconcile_writes_total 17\n"
		"# HELP outpost_failures_total Failures, by reason.\n"
		"# TYPE outpost_failures_total counter\n"
		"outpost_failures_total{reason=\"k3s_exit\"} 2\n"
		"outpost_failures_total{reason=\"k3s_crash_loop\"} 0\n"
		"outpost_failures_total{reason=\"worker_exit\"} 1\n"
		"outpost_failures_total{reason=\"worker_hung\"} 0\n"
		"outpost_failures_total{reason=\"reconcile_pass\"} 1\n"
		"outpost_failures_total{reason=\"reconcile_request\"} 2\n"
		"outpost_failures_total{reason=\"component\"} 0\n"
		"# HELP outpost_worker_runs_total Workers the supervising process started.\n"
		"# TYPE outpost_worker_runs_total counter\n"
		"outpost_worker_runs_total 4\n"
		"# HELP outpost_k3s_up Whether the k3s server process runs.\n"
		"# TYPE outpost_k3s_up gauge\n"
		"outpost_k3s_up 1\n"
		"# HELP outpost_k3s_restarts_total Times k3s was started again after it exited.\n"
		"# TYPE outpost_k3s_restarts_total counter\n"
		"outpost_k3s_restarts_total 2\n"
		"# HELP outpost_k3s_seconds_since_last_restart Seconds since k3s was last started again.\n"
		"# TYPE outpost_k3s_seconds_since_last_restart gauge\n"
		"outpost_k3s_seconds_since_last_restart 12.500\n"
		"# HELP outpost_state_file_readable Whether this scrape could read the state file (tenants and components need it).\n"
		"# TYPE outpost_state_file_readable gauge\n"
		"outpost_state_file_readable 1\n"
		"# HELP outpost_tenants Tenants by phase, as the reconciler last wrote them.\n"
		"# TYPE outpost_tenants gauge\n"
		"outpost_tenants{phase=\"Pending\"} 1\n"
		"outpost_tenants{phase=\"Provisioning\"} 0\n"
		"outpost_tenants{phase=\"Ready\"} 3\n"
		"outpost_tenants{phase=\"Failed\"} 1\n"
		"outpost_tenants{phase=\"Deleting\"} 0\n"
		"# HELP outpost_component_ready Whether each platform component (and the API) is Ready.\n"
		"# TYPE outpost_component_ready gauge\n"
		"outpost_component_ready{component=\"api\"} 1\n"
		"outpost_component_ready{component=\"postgresql\"} 0\n"
		"# HELP outpost_tenant_certificate_expiry_timestamp_seconds When the certificate serving each tenant's host expires (source: ca or operator).\n"
		"# TYPE outpost_tenant_certificate_expiry_timestamp_seconds gauge\n"
		"outpost_tenant_certificate_expiry_timestamp_seconds{tenant=\"acme\",source=\"ca\"} 1796428800\n"
		"outpost_tenant_certificate_expiry_timestamp_seconds{tenant=\"beta\",source=\"operator\"} 1767225600\n";
	size_t len;
	char *got;

	for (size_t i = 0; i < ARRAY_SIZE(passes); i++)
		metrics_observe_pass(&c, &passes[i]);
	c.failures[MX_FAIL_K3S_EXIT] = 2;
	c.failures[MX_FAIL_WORKER_EXIT] = 1;
	c.worker_runs = 4;
	got = metrics_render(&v, &len);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(len, strlen(got));
	ck_assert_str_eq(got, want);
	free(got);
}
END_TEST

/* What is not known is left out, not made up: no restart yet means no age
 * of the last one; an unreadable state file means no tenant or component
 * series (and says so). */
START_TEST(render_leaves_out_the_unknown)
{
	struct metrics_counters c = { 0 };
	struct metrics_view v = { .c = &c };
	size_t len;
	char *got = metrics_render(&v, &len);

	ck_assert_ptr_nonnull(got);
	ck_assert_ptr_null(strstr(got, "outpost_k3s_seconds_since_last_restart"));
	ck_assert_ptr_null(strstr(got, "outpost_build_info"));
	ck_assert_ptr_nonnull(strstr(got, "\noutpost_k3s_up 0\n"));
	ck_assert_ptr_nonnull(strstr(got, "\noutpost_state_file_readable 0\n"));
	ck_assert_ptr_null(strstr(got, "outpost_tenants"));
	ck_assert_ptr_null(strstr(got, "outpost_component_ready"));
	free(got);
}
END_TEST

/* A label value keeps to one line and its quotes, whatever a component is called. */
START_TEST(render_escapes_label_values)
{
	struct metrics_counters c = { 0 };
	static const struct metrics_component comps[] = { { "a\"b\\c\nd", true } };
	struct metrics_view v = { .c = &c, .state_read = true, .components = comps, .ncomponents = 1 };
	size_t len;
	char *got = metrics_render(&v, &len);

	ck_assert_ptr_nonnull(strstr(got, "\noutpost_component_ready{component=\"a\\\"b\\\\c\\nd\"} 1\n"));
	free(got);
}
END_TEST

/* A bucket's bound is inclusive (le: less than or equal). */
START_TEST(pass_buckets_are_inclusive)
{
	static const struct { uint64_t ms; size_t bucket; } cases[] = {
		{ 0, 0 }, { 5, 0 }, { 6, 1 }, { 1000, 7 }, { 1001, 8 }, { 30000, 11 }, { 30001, 12 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct metrics_counters c = { 0 };
		struct metrics_pass p = { .ok = true, .elapsed_ms = cases[i].ms };
		metrics_observe_pass(&c, &p);
		ck_assert_msg(c.buckets[cases[i].bucket] == 1, "%llu ms not in bucket %zu",
			      (unsigned long long)cases[i].ms, cases[i].bucket);
	}
}
END_TEST

/* The worker's lines reach the counters unchanged; anything else is refused
 * and counts nothing. */
START_TEST(metric_lines_round_trip)
{
	struct metrics_pass p = { .full = true, .ok = false, .elapsed_ms = 1234, .writes = 7, .errors = 3 };
	static const char *const bad[] = {
		"pass", "pass 1 1 1 1", "pass 2 1 1 1 1", "pass 1 1 1 1 1 1", "pass 1 1 -1 1 1",
		"pass 1 1 x 1 1", "pass 1 1 1 1 1 ", "failure", "failure nosuch", "failure component ",
		"hello",
	};
	struct metrics_counters c = { 0 }, zero = { 0 };
	char line[WORKER_MSG_MAX];
	struct worker_view v;
	struct worker_timing idle;
	size_t n = metrics_msg_pass(line, &p);

	ck_assert_str_eq(line, "metric pass 1 0 1234 7 3\n");
	line[n - 1] = '\0';
	ck_assert_int_eq(worker_msg_parse(line, &v, &idle), WORKER_MSG_METRIC);
	ck_assert_int_eq(metrics_msg_apply(&c, line + 7), 0);
	ck_assert_uint_eq(c.passes[1], 1);
	ck_assert_uint_eq(c.pass_ms, 1234);
	ck_assert_uint_eq(c.writes, 7);
	ck_assert_uint_eq(c.failures[MX_FAIL_REQUEST], 3);
	ck_assert_uint_eq(c.failures[MX_FAIL_PASS], 1);
	n = metrics_msg_failure(line, MX_FAIL_COMPONENT);
	ck_assert_str_eq(line, "metric failure component\n");
	line[n - 1] = '\0';
	ck_assert_int_eq(metrics_msg_apply(&c, line + 7), 0);
	ck_assert_uint_eq(c.failures[MX_FAIL_COMPONENT], 1);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_msg(metrics_msg_apply(&zero, bad[i]) < 0, "accepted \"%s\"", bad[i]);
		ck_assert_msg(!memcmp(&zero, &(struct metrics_counters){ 0 }, sizeof(zero)),
			      "\"%s\" counted something", bad[i]);
	}
}
END_TEST

START_TEST(listen_addresses)
{
	static const struct { const char *spec; enum metrics_listen_kind kind; uint16_t port; } good[] = {
		{ "off", MX_LISTEN_OFF, 0 },
		{ "unix:/run/outpost/metrics.sock", MX_LISTEN_UNIX, 0 },
		{ "127.0.0.1:9464", MX_LISTEN_INET, 9464 },
		{ "127.1.2.3:1", MX_LISTEN_INET, 1 },
		{ "[::1]:65535", MX_LISTEN_INET6, 65535 },
	};
	static const char *const bad[] = {
		"", "on", "unix:", "unix:relative.sock", "9464", ":9464", "127.0.0.1", "127.0.0.1:",
		"127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:80x", "0.0.0.0:9464",
		"10.0.0.1:9464", "[::]:9464", "[::2]:9464", "::1:9464", "localhost:9464",
		"[127.0.0.1]:9464",
	};
	struct metrics_listen l;
	struct err e = { 0 };
	char longpath[200] = "unix:/";

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		char back[160];
		ck_assert_msg(metrics_listen_parse(good[i].spec, &l, &e) == 0, "%s: %s", good[i].spec, e.msg);
		ck_assert_int_eq(l.kind, good[i].kind);
		ck_assert_uint_eq(l.port, good[i].port);
		metrics_listen_format(&l, back, sizeof(back));
		ck_assert_str_eq(back, good[i].spec);
	}
	ck_assert_str_eq(l.path, "");
	ck_assert_int_eq(metrics_listen_parse("unix:/a/b.sock", &l, &e), 0);
	ck_assert_str_eq(l.path, "/a/b.sock");
	ck_assert_int_eq(metrics_listen_parse("127.0.0.1:9464", &l, &e), 0);
	ck_assert(l.addr[0] == 127 && l.addr[1] == 0 && l.addr[2] == 0 && l.addr[3] == 1);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err_clear(&e);
		ck_assert_msg(metrics_listen_parse(bad[i], &l, &e) < 0, "accepted \"%s\"", bad[i]);
		ck_assert_int_eq(e.exit_code, EXIT_USAGE);
		ck_assert_msg(!strncmp(e.msg, "--metrics: ", 11), "%s", e.msg);
	}
	memset(longpath + 6, 'x', sizeof(longpath) - 7);
	ck_assert_int_lt(metrics_listen_parse(longpath, &l, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "longer than"));
	ck_assert_int_lt(metrics_listen_parse("0.0.0.0:9464", &l, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "only a loopback address"));
}
END_TEST

START_TEST(http_routes)
{
	static const struct { const char *head; int status; } cases[] = {
		{ "", 0 },
		{ "GET /metrics HTTP/1.1\r\n", 0 },
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n", 0 },
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200 },
		{ "GET /metrics HTTP/1.0\n\n", 200 },
		{ "GET /metrics?name[]=x HTTP/1.1\r\n\r\n", 200 },
		{ "GET / HTTP/1.1\r\n\r\n", 404 },
		{ "GET /metricsx HTTP/1.1\r\n\r\n", 404 },
		{ "GET /metric HTTP/1.1\r\n\r\n", 404 },
		{ "POST /metrics HTTP/1.1\r\n\r\n", 405 },
		{ "HEAD /metrics HTTP/1.1\r\n\r\n", 405 },
		{ "GET /metrics\r\n\r\n", 400 },
		{ "GET /metrics HTTP/2.0\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1 x\r\n\r\n", 400 },
		{ "\r\n\r\n", 400 },
		{ "hello\n\n", 400 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		ck_assert_msg(metrics_http_route(cases[i].head, strlen(cases[i].head)) == cases[i].status,
			      "\"%s\": %d, wanted %d", cases[i].head,
			      metrics_http_route(cases[i].head, strlen(cases[i].head)), cases[i].status);
}
END_TEST

/* Against a real state file: status rows by phase, and desired tenants
 * without a row (not reconciled yet) as Pending. */
START_TEST(tenants_by_phase_from_the_state_file)
{
	static const char *const names[] = { "alpha", "beta", "gamma", "delta" };
	char dir[64], path[128], host[64];
	struct state *st = NULL;
	struct err e = { 0 };
	uint64_t counts[MX_PHASES];
	struct tenant_status ts = { .phase = TENANT_PHASE_READY };

	check_tmpdir_make(dir, sizeof(dir), "metrics");
	snprintf(path, sizeof(path), "%s/state.db", dir);
	ck_assert_msg(state_open(path, STATE_OPEN_CREATE, &st, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(state_status_count(st, counts, &e), 0);
	for (size_t p = 0; p < MX_PHASES; p++)
		ck_assert_uint_eq(counts[p], 0);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct tenant t = { 0 };
		snprintf(host, sizeof(host), "%s.example.test", names[i]);
		ck_assert_int_eq(tenant_set_str(&t.name, names[i]), 0);
		ck_assert_int_eq(tenant_set_str(&t.host, host), 0);
		ck_assert_int_eq(tenant_set_str(&t.plan, "small"), 0);
		ck_assert_msg(state_tenant_insert(st, &t, &e) == 0, "%s", e.msg);
		tenant_clear(&t);
	}
	snprintf(ts.name, sizeof(ts.name), "alpha");
	ck_assert_int_eq(state_status_upsert(st, &ts, &e), 0);
	snprintf(ts.name, sizeof(ts.name), "beta");
	ck_assert_int_eq(state_status_upsert(st, &ts, &e), 0);
	snprintf(ts.name, sizeof(ts.name), "gamma");
	ts.phase = TENANT_PHASE_FAILED;
	ck_assert_int_eq(state_status_upsert(st, &ts, &e), 0);
	/* A removed tenant whose teardown goes on. */
	snprintf(ts.name, sizeof(ts.name), "gone");
	ts.phase = TENANT_PHASE_DELETING;
	ck_assert_int_eq(state_status_upsert(st, &ts, &e), 0);
	ck_assert_msg(state_status_count(st, counts, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(counts[TENANT_PHASE_READY], 2);
	ck_assert_uint_eq(counts[TENANT_PHASE_FAILED], 1);
	ck_assert_uint_eq(counts[TENANT_PHASE_DELETING], 1);
	ck_assert_uint_eq(counts[TENANT_PHASE_PENDING], 1); /* delta */
	ck_assert_uint_eq(counts[TENANT_PHASE_PROVISIONING], 0);
	state_close(st);
	check_tmpdir_remove(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, render_every_family);
	tcase_add_test(tc, render_leaves_out_the_unknown);
	tcase_add_test(tc, render_escapes_label_values);
	tcase_add_test(tc, pass_buckets_are_inclusive);
	tcase_add_test(tc, metric_lines_round_trip);
	tcase_add_test(tc, listen_addresses);
	tcase_add_test(tc, http_routes);
	tcase_add_test(tc, tenants_by_phase_from_the_state_file);
	suite_add_tcase(s, tc);
	return check_run(s);
}
