/* The k3s supervision machine, walked event by event, the STATUS= text, and
 * the worker's report lines. */
#include <check.h>

#include "check-run.h"
#include <stdio.h>
#include <string.h>

#include "supervise-machine.h"
#include "util.h"
#include "worker-msg.h"

#define MS USEC_PER_MSEC

static struct sv_params test_params(void)
{
	struct sv_params p = {
		.backoff_base = 100 * MS, .backoff_max = 800 * MS, .healthy_after = 5000 * MS,
		.grace = 2000 * MS, .kill_wait = 1000 * MS, .loop_exits = 5,
		.loop_window = 10000 * MS,
	};
	return p;
}

/* Every (state, event) pair: the next state and the actions. A row with
 * rc -1 is an event that means nothing in that state. */
struct row {
	enum sv_state from;
	enum sv_event ev;
	int rc;
	enum sv_state to;
	unsigned actions;
	uint64_t timer;
};

static const struct row table[] = {
	{ SV_INIT, SV_EV_START, 0, SV_RUNNING, SV_ACT_SPAWN | SV_ACT_ARM_TIMER, 5000 * MS },
	{ SV_INIT, SV_EV_STOP, 0, SV_DONE, SV_ACT_EXIT, 0 },
	{ SV_INIT, SV_EV_EXITED, -1, SV_INIT, 0, 0 },
	{ SV_INIT, SV_EV_TIMER, -1, SV_INIT, 0, 0 },
	{ SV_RUNNING, SV_EV_EXITED, 0, SV_BACKOFF, SV_ACT_ARM_TIMER, 100 * MS },
	{ SV_RUNNING, SV_EV_TIMER, 0, SV_RUNNING, SV_ACT_HEALTHY, 0 },
	{ SV_RUNNING, SV_EV_STOP, 0, SV_STOPPING, SV_ACT_TERM_GROUP | SV_ACT_ARM_TIMER, 2000 * MS },
	{ SV_RUNNING, SV_EV_START, -1, SV_RUNNING, 0, 0 },
	{ SV_BACKOFF, SV_EV_TIMER, 0, SV_RUNNING, SV_ACT_SPAWN | SV_ACT_ARM_TIMER, 5000 * MS },
	{ SV_BACKOFF, SV_EV_STOP, 0, SV_DONE, SV_ACT_KILL_GROUP | SV_ACT_EXIT, 0 },
	{ SV_BACKOFF, SV_EV_EXITED, -1, SV_BACKOFF, 0, 0 },
	{ SV_BACKOFF, SV_EV_START, -1, SV_BACKOFF, 0, 0 },
	{ SV_STOPPING, SV_EV_EXITED, 0, SV_DONE, SV_ACT_KILL_GROUP | SV_ACT_EXIT, 0 },
	{ SV_STOPPING, SV_EV_TIMER, 0, SV_KILLING, SV_ACT_KILL_GROUP | SV_ACT_ARM_TIMER, 1000 * MS },
	{ SV_STOPPING, SV_EV_STOP, -1, SV_STOPPING, 0, 0 },
	{ SV_STOPPING, SV_EV_START, -1, SV_STOPPING, 0, 0 },
	{ SV_KILLING, SV_EV_EXITED, 0, SV_DONE, SV_ACT_EXIT, 0 },
	{ SV_KILLING, SV_EV_TIMER, 0, SV_DONE, SV_ACT_EXIT, 0 },
	{ SV_KILLING, SV_EV_STOP, -1, SV_KILLING, 0, 0 },
	{ SV_DONE, SV_EV_START, -1, SV_DONE, 0, 0 },
	{ SV_DONE, SV_EV_EXITED, -1, SV_DONE, 0, 0 },
	{ SV_DONE, SV_EV_TIMER, -1, SV_DONE, 0, 0 },
	{ SV_DONE, SV_EV_STOP, -1, SV_DONE, 0, 0 },
};

START_TEST(transition_table)
{
	const struct row *r = &table[_i];
	struct sv_params p = test_params();
	struct sv_machine m;
	struct sv_out o;

	sv_init(&m, &p);
	m.state = r->from;
	ck_assert_msg(sv_step(&m, r->ev, 1000 * MS, &o) == r->rc, "%s + %s: rc",
		      sv_state_name(r->from), sv_event_name(r->ev));
	ck_assert_msg(m.state == r->to, "%s + %s -> %s, wanted %s", sv_state_name(r->from),
		      sv_event_name(r->ev), sv_state_name(m.state), sv_state_name(r->to));
	ck_assert_msg(o.actions == r->actions, "%s + %s: actions %#x, wanted %#x",
		      sv_state_name(r->from), sv_event_name(r->ev), o.actions, r->actions);
	if (r->actions & SV_ACT_ARM_TIMER)
		ck_assert_uint_eq(o.timer_usec, r->timer);
}
END_TEST

START_TEST(backoff_doubles_and_caps)
{
	struct sv_params p = test_params();

	ck_assert_uint_eq(sv_backoff_delay(&p, 1), 100 * MS);
	ck_assert_uint_eq(sv_backoff_delay(&p, 2), 200 * MS);
	ck_assert_uint_eq(sv_backoff_delay(&p, 3), 400 * MS);
	ck_assert_uint_eq(sv_backoff_delay(&p, 4), 800 * MS);
	ck_assert_uint_eq(sv_backoff_delay(&p, 5), 800 * MS);
	ck_assert_uint_eq(sv_backoff_delay(&p, 1000), 800 * MS);
	sv_params_default(&p);
	ck_assert_uint_eq(sv_backoff_delay(&p, 1), 1 * USEC_PER_SEC);
	ck_assert_uint_eq(sv_backoff_delay(&p, 7), 60 * USEC_PER_SEC);
}
END_TEST

/* Exits spaced further apart than the window never make a crash loop, but
 * the back-off still grows until a healthy period resets it. */
static uint64_t crash(struct sv_machine *m, uint64_t *now, uint64_t run, struct sv_out *o)
{
	*now += run;
	ck_assert_int_eq(sv_step(m, SV_EV_EXITED, *now, o), 0);
	ck_assert(o->actions & SV_ACT_ARM_TIMER);
	*now += o->timer_usec;
	{
		struct sv_out o2;
		ck_assert_int_eq(sv_step(m, SV_EV_TIMER, *now, &o2), 0);
		ck_assert(o2.actions & SV_ACT_SPAWN);
	}
	return o->timer_usec;
}

START_TEST(crash_loop_detected_and_rate_slows)
{
	struct sv_params p = test_params();
	struct sv_machine m;
	struct sv_out o;
	uint64_t now = 0;
	static const uint64_t want[] = { 100, 200, 400, 800, 800, 800, 800 };

	sv_init(&m, &p);
	ck_assert_int_eq(sv_step(&m, SV_EV_START, now, &o), 0);
	for (unsigned i = 0; i < ARRAY_SIZE(want); i++) {
		ck_assert_uint_eq(crash(&m, &now, 10 * MS, &o), want[i] * MS);
		/* the 5th exit inside 10 s is the crash loop, reported once */
		ck_assert_int_eq(!!(o.actions & SV_ACT_CRASH_LOOP), i == 4);
		ck_assert_int_eq(m.crash_loop, i >= 4);
	}
	ck_assert_uint_eq(m.restarts, ARRAY_SIZE(want));
	ck_assert_uint_eq(m.loop_count, 5);
	/* A healthy period clears both. */
	ck_assert_int_eq(sv_step(&m, SV_EV_TIMER, now + p.healthy_after, &o), 0);
	ck_assert_uint_eq(o.actions, SV_ACT_HEALTHY);
	ck_assert(!m.crash_loop);
	ck_assert_uint_eq(crash(&m, &now, 6000 * MS, &o), 100 * MS);
}
END_TEST

START_TEST(slow_exits_are_not_a_loop)
{
	struct sv_params p = test_params();
	struct sv_machine m;
	struct sv_out o;
	uint64_t now = 0;

	p.healthy_after = 60000 * MS; /* never reached: runs of 3 s */
	sv_init(&m, &p);
	sv_step(&m, SV_EV_START, now, &o);
	for (int i = 0; i < 10; i++) {
		crash(&m, &now, 3000 * MS, &o);
		ck_assert_msg(!(o.actions & SV_ACT_CRASH_LOOP), "exit %d", i);
	}
	ck_assert(!m.crash_loop);
	ck_assert_uint_lt(m.loop_count, 5);
}
END_TEST

START_TEST(params_are_checked)
{
	struct sv_params p = test_params();
	struct err e = { 0 };

	ck_assert_int_eq(sv_params_check(&p, &e), 0);
	p.backoff_max = 10 * MS;
	ck_assert_int_lt(sv_params_check(&p, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "below the base"));
	p = test_params();
	p.loop_exits = SV_LOOP_MAX + 1;
	ck_assert_int_lt(sv_params_check(&p, &e), 0);
}
END_TEST

START_TEST(status_text_per_phase)
{
	char buf[256];
	struct status_view v = { .k3s = SV_RUNNING, .plat_n = 5, .tenants = -1 };

	supervise_status_text(&v, buf, sizeof(buf));
	ck_assert_str_eq(buf, "waiting for API");
	v.importing = true;
	supervise_status_text(&v, buf, sizeof(buf));
	ck_assert_str_eq(buf, "importing images");
	v.api_ready = true;
	v.plat_ready = 3;
	supervise_status_text(&v, buf, sizeof(buf));
	ck_assert_str_eq(buf, "platform 3/5 ready");
	v.failed = "keycloak";
	v.failed_reason = "helm-install-outpost-keycloak Job failed: BackoffLimitExceeded";
	supervise_status_text(&v, buf, sizeof(buf));
	ck_assert_str_eq(buf, "platform 3/5 ready; keycloak failed: "
			      "helm-install-outpost-keycloak Job failed: BackoffLimitExceeded");
	v.failed = NULL;
	v.plat_ready = 5;
	supervise_status_text(&v, buf, sizeof(buf));
	ck_assert_str_eq(buf, "platform 5/5 ready");
	v.plat_n = v.plat_ready = 0;
	supervise_status_text(&v, buf, sizeof(buf));
	ck_assert_str_eq(buf, "API ready");
	v.tenants = 120;
	supervise_status_text(&v, buf, sizeof(buf));
	ck_assert_str_eq(buf, "reconciling 120 tenants");
	v.k3s = SV_BACKOFF;
	v.restart_in = 4 * USEC_PER_SEC;
	v.last_exit = 137;
	supervise_status_text(&v, buf, sizeof(buf));
	ck_assert_str_eq(buf, "k3s exited (status 137), restarting in 4 s");
	v.crash_loop = true;
	v.loop_exits = 5;
	v.loop_window = 60 * USEC_PER_SEC;
	supervise_status_text(&v, buf, sizeof(buf));
	ck_assert_str_eq(buf, "k3s crash loop: 5 exits in 60 s");
	v.loop_window = 2500 * MS;
	supervise_status_text(&v, buf, sizeof(buf));
	ck_assert_str_eq(buf, "k3s crash loop: 5 exits in 2500 ms");
	v.stopping = true;
	supervise_status_text(&v, buf, sizeof(buf));
	ck_assert_str_eq(buf, "stopping");
}
END_TEST

/* What the worker writes, the supervising process reads back unchanged. */
START_TEST(worker_view_round_trip)
{
	static const struct worker_view views[] = {
		{ .api = false, .tenants = -1 },
		{ .api = true, .plat_ready = 3, .plat_n = 6, .tenants = 0 },
		{ .api = true, .plat_ready = 5, .plat_n = 6, .tenants = 1200, .failed = "redis",
		  .reason = "helm-install-outpost-redis Job failed: BackoffLimitExceeded" },
	};
	char line[WORKER_MSG_MAX];
	struct worker_view got;
	struct worker_timing idle;

	for (size_t i = 0; i < ARRAY_SIZE(views); i++) {
		size_t n = worker_msg_view(line, &views[i]);
		ck_assert_uint_eq(n, strlen(line));
		ck_assert_int_eq(line[n - 1], '\n');
		line[n - 1] = '\0';
		ck_assert_int_eq(worker_msg_parse(line, &got, &idle), WORKER_MSG_VIEW);
		ck_assert_int_eq(got.api, views[i].api);
		ck_assert_uint_eq(got.plat_ready, views[i].plat_ready);
		ck_assert_uint_eq(got.plat_n, views[i].plat_n);
		ck_assert_int_eq(got.tenants, views[i].tenants);
		ck_assert_str_eq(got.failed, views[i].failed);
		ck_assert_str_eq(got.reason, views[i].reason);
	}
}
END_TEST

/* A reason is free text: a newline in it cannot start a forged line, and a
 * long one is cut, never split across two lines. */
START_TEST(worker_view_reason_stays_on_its_line)
{
	struct worker_view v = { .api = true, .plat_ready = 1, .plat_n = 2, .tenants = -1,
				 .failed = "keycloak" };
	char line[WORKER_MSG_MAX];
	size_t n;

	snprintf(v.reason, sizeof(v.reason), "bad\nidle 0 0\r");
	n = worker_msg_view(line, &v);
	ck_assert_ptr_eq(strchr(line, '\n'), line + n - 1);
	ck_assert_str_eq(line, "view 1 1 2 -1 keycloak bad idle 0 0 \n");
	memset(v.reason, 'x', sizeof(v.reason) - 1);
	v.reason[sizeof(v.reason) - 1] = '\0';
	n = worker_msg_view(line, &v);
	ck_assert_uint_lt(n, WORKER_MSG_MAX);
	ck_assert_ptr_eq(strchr(line, '\n'), line + n - 1);
}
END_TEST

START_TEST(worker_idle_round_trip)
{
	static const struct worker_timing cases[] = {
		{ 600000, 540000, 0 }, { 5, WORKER_TIMING_NONE, 8000 }, { WORKER_TIMING_NONE, WORKER_TIMING_NONE, 0 },
		{ 0, 0, 60000 },
	};
	char line[WORKER_MSG_MAX];
	struct worker_view v;
	struct worker_timing got;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t n = worker_msg_idle(line, &cases[i]);
		line[n - 1] = '\0';
		ck_assert_int_eq(worker_msg_parse(line, &v, &got), WORKER_MSG_IDLE);
		ck_assert(got.due_in == cases[i].due_in && got.full_in == cases[i].full_in &&
			  got.retry == cases[i].retry);
	}
	ck_assert_int_eq(worker_msg_parse("alive", &v, &got), WORKER_MSG_ALIVE);
}
END_TEST

START_TEST(worker_bad_lines_are_refused)
{
	static const char *const bad[] = {
		"", "alive ", "hello", "view", "view 1 2 3", "view 2 0 0 -1 - x", "view 1 4 3 0 - x",
		"view 1 1 x 0 - x", "view 1 0 0 -2 - x", "view 1 0 0 0 x", "view 1 0 0 0  x",
		"view 1 0 0 99999999999999999999 - x", "idle", "idle 1", "idle 1 2", "idle 1 2 3 4", "idle x 2 0",
		"idle -1 2 0", "idle 1 2x 0", "idle 1 2 -",
	};
	struct worker_view v;
	struct worker_timing idle;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(worker_msg_parse(bad[i], &v, &idle) == WORKER_MSG_BAD, "accepted \"%s\"",
			      bad[i]);
}
END_TEST

START_TEST(exit_codes_like_a_shell)
{
	ck_assert_int_eq(supervise_exit_code(3 << 8), 3);
	ck_assert_int_eq(supervise_exit_code(9), 128 + 9);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("supervise");
	TCase *tc = tcase_create("machine");

	tcase_add_loop_test(tc, transition_table, 0, (int)ARRAY_SIZE(table));
	tcase_add_test(tc, backoff_doubles_and_caps);
	tcase_add_test(tc, crash_loop_detected_and_rate_slows);
	tcase_add_test(tc, slow_exits_are_not_a_loop);
	tcase_add_test(tc, params_are_checked);
	tcase_add_test(tc, status_text_per_phase);
	tcase_add_test(tc, exit_codes_like_a_shell);
	tcase_add_test(tc, worker_view_round_trip);
	tcase_add_test(tc, worker_view_reason_stays_on_its_line);
	tcase_add_test(tc, worker_idle_round_trip);
	tcase_add_test(tc, worker_bad_lines_are_refused);
	suite_add_tcase(s, tc);
	return check_run(s);
}
