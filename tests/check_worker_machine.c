/* The worker's machine (worker-machine.h), walked event by event: a table of
 * every (state, event) pair, then the sequences the table cannot show (what
 * one worker hands to the next, the back-off, a commit while it leaves). */
#include <check.h>

#include "check-run.h"
#include <string.h>

#include "util.h"
#include "worker-machine.h"

#define MS USEC_PER_MSEC
#define NONE WORKER_TIMING_NONE
#define NOW (100000 * MS)

static struct wk_params test_params(void)
{
	return (struct wk_params){
		.timeout = 4000 * MS, .kill_wait = 1000 * MS, .poll_idle = 30000 * MS,
		.poll_busy = 500 * MS, .again = 20 * MS,
		.backoff = { .backoff_base = 100 * MS, .backoff_max = 800 * MS },
	};
}

/* Every (state, event) pair: the next state and the actions. A row with rc
 * -1 is an event that means nothing in that state. The machine is fresh in
 * `from`, its worker last heard at NOW - 1 s (not silent for long). */
struct row {
	enum wk_state from;
	enum wk_event ev;
	int rc;
	enum wk_state to;
	unsigned actions;
	uint64_t timer;
};

#define ARM WK_ACT_ARM_TIMER
static const struct row table[] = {
	{ WK_OFF, WK_EV_K3S_UP, 0, WK_WAITING, ARM, 0 },
	{ WK_OFF, WK_EV_STOP, -1, WK_OFF, 0, 0 },
	{ WK_OFF, WK_EV_CHANGE, 0, WK_OFF, 0, 0 },
	{ WK_OFF, WK_EV_TIMER, -1, WK_OFF, 0, 0 },
	{ WK_OFF, WK_EV_HEARD, -1, WK_OFF, 0, 0 },
	{ WK_OFF, WK_EV_IDLE, -1, WK_OFF, 0, 0 },
	{ WK_OFF, WK_EV_EXIT_OK, -1, WK_OFF, 0, 0 },
	{ WK_OFF, WK_EV_EXIT_FAIL, -1, WK_OFF, 0, 0 },
	{ WK_OFF, WK_EV_SPAWN_FAILED, -1, WK_OFF, 0, 0 },
	{ WK_OFF, WK_EV_UNOBSERVED, -1, WK_OFF, 0, 0 },

	{ WK_WAITING, WK_EV_K3S_UP, 0, WK_WAITING, ARM, 0 },
	{ WK_WAITING, WK_EV_STOP, 0, WK_OFF, WK_ACT_DISARM, 0 },
	{ WK_WAITING, WK_EV_CHANGE, 0, WK_WAITING, ARM, 0 },
	{ WK_WAITING, WK_EV_TIMER, 0, WK_RUNNING, WK_ACT_SPAWN | ARM, 1000 * MS },
	{ WK_WAITING, WK_EV_HEARD, -1, WK_WAITING, 0, 0 },
	{ WK_WAITING, WK_EV_IDLE, -1, WK_WAITING, 0, 0 },
	{ WK_WAITING, WK_EV_EXIT_OK, -1, WK_WAITING, 0, 0 },
	{ WK_WAITING, WK_EV_EXIT_FAIL, -1, WK_WAITING, 0, 0 },
	{ WK_WAITING, WK_EV_SPAWN_FAILED, -1, WK_WAITING, 0, 0 },
	{ WK_WAITING, WK_EV_UNOBSERVED, 0, WK_WAITING, ARM, 20 * MS },

	{ WK_RUNNING, WK_EV_K3S_UP, -1, WK_RUNNING, 0, 0 },
	{ WK_RUNNING, WK_EV_STOP, 0, WK_STOPPING, WK_ACT_TERM | ARM, 1000 * MS },
	{ WK_RUNNING, WK_EV_CHANGE, -1, WK_RUNNING, 0, 0 },
	{ WK_RUNNING, WK_EV_TIMER, 0, WK_RUNNING, ARM, 1000 * MS },
	{ WK_RUNNING, WK_EV_HEARD, 0, WK_RUNNING, 0, 0 },
	{ WK_RUNNING, WK_EV_IDLE, 0, WK_LEAVING, 0, 0 },
	{ WK_RUNNING, WK_EV_EXIT_OK, 0, WK_WAITING, WK_ACT_FAILED | ARM, 100 * MS },
	{ WK_RUNNING, WK_EV_EXIT_FAIL, 0, WK_WAITING, WK_ACT_FAILED | ARM, 100 * MS },
	{ WK_RUNNING, WK_EV_SPAWN_FAILED, 0, WK_WAITING, ARM, 500 * MS },
	{ WK_RUNNING, WK_EV_UNOBSERVED, -1, WK_RUNNING, 0, 0 },

	{ WK_LEAVING, WK_EV_K3S_UP, -1, WK_LEAVING, 0, 0 },
	{ WK_LEAVING, WK_EV_STOP, 0, WK_STOPPING, WK_ACT_TERM | ARM, 1000 * MS },
	{ WK_LEAVING, WK_EV_CHANGE, 0, WK_LEAVING_CHANGED, 0, 0 },
	{ WK_LEAVING, WK_EV_TIMER, 0, WK_LEAVING, ARM, 1000 * MS },
	{ WK_LEAVING, WK_EV_HEARD, 0, WK_LEAVING, 0, 0 },
	{ WK_LEAVING, WK_EV_IDLE, -1, WK_LEAVING, 0, 0 },
	{ WK_LEAVING, WK_EV_EXIT_OK, 0, WK_WAITING, WK_ACT_CHECK_UNOBSERVED | ARM, 30000 * MS },
	{ WK_LEAVING, WK_EV_EXIT_FAIL, 0, WK_WAITING, WK_ACT_FAILED | ARM, 100 * MS },
	{ WK_LEAVING, WK_EV_SPAWN_FAILED, -1, WK_LEAVING, 0, 0 },
	{ WK_LEAVING, WK_EV_UNOBSERVED, -1, WK_LEAVING, 0, 0 },

	{ WK_LEAVING_CHANGED, WK_EV_K3S_UP, -1, WK_LEAVING_CHANGED, 0, 0 },
	{ WK_LEAVING_CHANGED, WK_EV_STOP, 0, WK_STOPPING, WK_ACT_TERM | ARM, 1000 * MS },
	{ WK_LEAVING_CHANGED, WK_EV_CHANGE, 0, WK_LEAVING_CHANGED, 0, 0 },
	{ WK_LEAVING_CHANGED, WK_EV_TIMER, 0, WK_LEAVING_CHANGED, ARM, 1000 * MS },
	{ WK_LEAVING_CHANGED, WK_EV_HEARD, 0, WK_LEAVING_CHANGED, 0, 0 },
	{ WK_LEAVING_CHANGED, WK_EV_IDLE, -1, WK_LEAVING_CHANGED, 0, 0 },
	{ WK_LEAVING_CHANGED, WK_EV_EXIT_OK, 0, WK_WAITING, ARM, 20 * MS },
	{ WK_LEAVING_CHANGED, WK_EV_EXIT_FAIL, 0, WK_WAITING, WK_ACT_FAILED | ARM, 100 * MS },
	{ WK_LEAVING_CHANGED, WK_EV_SPAWN_FAILED, -1, WK_LEAVING_CHANGED, 0, 0 },
	{ WK_LEAVING_CHANGED, WK_EV_UNOBSERVED, -1, WK_LEAVING_CHANGED, 0, 0 },

	{ WK_STOPPING, WK_EV_K3S_UP, 0, WK_STOPPING, 0, 0 },
	{ WK_STOPPING, WK_EV_STOP, 0, WK_STOPPING, 0, 0 },
	{ WK_STOPPING, WK_EV_CHANGE, 0, WK_STOPPING, 0, 0 },
	{ WK_STOPPING, WK_EV_TIMER, 0, WK_KILLED, WK_ACT_KILL | ARM, 1000 * MS },
	{ WK_STOPPING, WK_EV_HEARD, 0, WK_STOPPING, 0, 0 },
	{ WK_STOPPING, WK_EV_IDLE, -1, WK_STOPPING, 0, 0 },
	{ WK_STOPPING, WK_EV_EXIT_OK, 0, WK_OFF, WK_ACT_DISARM, 0 },
	{ WK_STOPPING, WK_EV_EXIT_FAIL, 0, WK_OFF, WK_ACT_DISARM, 0 },
	{ WK_STOPPING, WK_EV_SPAWN_FAILED, -1, WK_STOPPING, 0, 0 },
	{ WK_STOPPING, WK_EV_UNOBSERVED, -1, WK_STOPPING, 0, 0 },

	{ WK_HUNG, WK_EV_K3S_UP, 0, WK_HUNG, 0, 0 },
	{ WK_HUNG, WK_EV_STOP, 0, WK_KILLED, 0, 0 },
	{ WK_HUNG, WK_EV_CHANGE, 0, WK_HUNG, 0, 0 },
	{ WK_HUNG, WK_EV_TIMER, 0, WK_HUNG, WK_ACT_KILL | ARM, 1000 * MS },
	{ WK_HUNG, WK_EV_HEARD, 0, WK_HUNG, 0, 0 },
	{ WK_HUNG, WK_EV_IDLE, -1, WK_HUNG, 0, 0 },
	{ WK_HUNG, WK_EV_EXIT_OK, 0, WK_WAITING, WK_ACT_FAILED | ARM, 100 * MS },
	{ WK_HUNG, WK_EV_EXIT_FAIL, 0, WK_WAITING, WK_ACT_FAILED | ARM, 100 * MS },
	{ WK_HUNG, WK_EV_SPAWN_FAILED, -1, WK_HUNG, 0, 0 },
	{ WK_HUNG, WK_EV_UNOBSERVED, -1, WK_HUNG, 0, 0 },

	{ WK_KILLED, WK_EV_K3S_UP, 0, WK_KILLED, 0, 0 },
	{ WK_KILLED, WK_EV_STOP, 0, WK_KILLED, 0, 0 },
	{ WK_KILLED, WK_EV_CHANGE, 0, WK_KILLED, 0, 0 },
	{ WK_KILLED, WK_EV_TIMER, 0, WK_KILLED, WK_ACT_KILL | ARM, 1000 * MS },
	{ WK_KILLED, WK_EV_HEARD, 0, WK_KILLED, 0, 0 },
	{ WK_KILLED, WK_EV_IDLE, -1, WK_KILLED, 0, 0 },
	{ WK_KILLED, WK_EV_EXIT_OK, 0, WK_OFF, WK_ACT_DISARM, 0 },
	{ WK_KILLED, WK_EV_EXIT_FAIL, 0, WK_OFF, WK_ACT_DISARM, 0 },
	{ WK_KILLED, WK_EV_SPAWN_FAILED, -1, WK_KILLED, 0, 0 },
	{ WK_KILLED, WK_EV_UNOBSERVED, -1, WK_KILLED, 0, 0 },
};

static void fresh_in(struct wk_machine *m, enum wk_state state)
{
	struct wk_params p = test_params();

	wk_init(m, &p);
	m->state = state;
	m->last_heard = NOW - 1000 * MS;
}

START_TEST(transition_table)
{
	static const struct worker_timing idle = { 60000 * MS, 540000 * MS, 0 };
	const struct row *r = &table[_i];
	struct wk_machine m, before;
	struct wk_out o;

	fresh_in(&m, r->from);
	before = m;
	ck_assert_msg(wk_step(&m, r->ev, NOW, r->ev == WK_EV_IDLE ? &idle : NULL, &o) == r->rc,
		      "%s + %s: rc", wk_state_name(r->from), wk_event_name(r->ev));
	ck_assert_msg(m.state == r->to, "%s + %s -> %s, wanted %s", wk_state_name(r->from),
		      wk_event_name(r->ev), wk_state_name(m.state), wk_state_name(r->to));
	ck_assert_msg(o.actions == r->actions, "%s + %s: actions %#x, wanted %#x",
		      wk_state_name(r->from), wk_event_name(r->ev), o.actions, r->actions);
	if (r->actions & (WK_ACT_ARM_TIMER | WK_ACT_FAILED))
		ck_assert_msg(o.timer_usec == r->timer, "%s + %s: timer %llu, wanted %llu",
			      wk_state_name(r->from), wk_event_name(r->ev),
			      (unsigned long long)o.timer_usec, (unsigned long long)r->timer);
	if (r->rc < 0)
		ck_assert_msg(!memcmp(&m, &before, sizeof(m)), "%s + %s changed an ignoring machine",
			      wk_state_name(r->from), wk_event_name(r->ev));
}
END_TEST

/* The table covers every pair exactly once. */
START_TEST(table_is_complete)
{
	unsigned seen[WK_STATE_COUNT][WK_EVENT_COUNT] = { { 0 } };

	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		seen[table[i].from][table[i].ev]++;
	for (int s = 0; s < WK_STATE_COUNT; s++)
		for (int ev = 0; ev < WK_EVENT_COUNT; ev++)
			ck_assert_msg(seen[s][ev] == 1, "%s + %s: %u rows", wk_state_name(s),
				      wk_event_name(ev), seen[s][ev]);
}
END_TEST

static struct wk_out step_ok(struct wk_machine *m, enum wk_event ev, uint64_t now,
			     const struct worker_timing *idle)
{
	struct wk_out o;

	ck_assert_msg(wk_step(m, ev, now, idle, &o) == 0, "%s in %s", wk_event_name(ev),
		      wk_state_name(m->state));
	return o;
}

/* What the idle line says reaches the next worker, counted from when it
 * starts; a worker for a change passes at once but keeps the full-pass time. */
START_TEST(handover_reaches_the_next_worker)
{
	const struct worker_timing idle = { 60000 * MS, 540000 * MS, 8000 * MS };
	struct wk_machine m;
	struct wk_out o;

	fresh_in(&m, WK_OFF);
	step_ok(&m, WK_EV_K3S_UP, NOW, NULL);
	o = step_ok(&m, WK_EV_TIMER, NOW, NULL);
	ck_assert(o.actions & WK_ACT_SPAWN);
	ck_assert(o.handover.due_in == NONE && o.handover.full_in == NONE && o.handover.retry == 0);

	step_ok(&m, WK_EV_IDLE, NOW + 5000 * MS, &idle);
	o = step_ok(&m, WK_EV_EXIT_OK, NOW + 5000 * MS, NULL);
	ck_assert_uint_eq(o.timer_usec, 30000 * MS); /* the health check is before the deadline */
	o = step_ok(&m, WK_EV_TIMER, NOW + 35000 * MS, NULL);
	ck_assert_uint_eq(o.handover.due_in, 30000 * MS);
	ck_assert_uint_eq(o.handover.full_in, 510000 * MS);
	ck_assert_uint_eq(o.handover.retry, 8000 * MS);

	/* This one leaves, then a commit: the next one starts soon and passes at once. */
	step_ok(&m, WK_EV_IDLE, NOW + 36000 * MS, &idle);
	step_ok(&m, WK_EV_CHANGE, NOW + 36000 * MS, NULL);
	ck_assert_int_eq(m.state, WK_LEAVING_CHANGED);
	o = step_ok(&m, WK_EV_EXIT_OK, NOW + 36000 * MS, NULL);
	ck_assert_uint_eq(o.timer_usec, 20 * MS);
	ck_assert(!(o.actions & WK_ACT_CHECK_UNOBSERVED));
	o = step_ok(&m, WK_EV_TIMER, NOW + 36020 * MS, NULL);
	ck_assert_uint_eq(o.handover.due_in, NONE);
	ck_assert_uint_eq(o.handover.full_in, 540000 * MS - 20 * MS);
}
END_TEST

/* A deadline before the health check starts the next worker at it. */
START_TEST(deadline_before_health_check)
{
	const struct worker_timing idle = { 7000 * MS, NONE, 0 };
	struct wk_machine m;
	struct wk_out o;

	fresh_in(&m, WK_RUNNING);
	step_ok(&m, WK_EV_IDLE, NOW, &idle);
	o = step_ok(&m, WK_EV_EXIT_OK, NOW, NULL);
	ck_assert_uint_eq(o.timer_usec, 7000 * MS);
	o = step_ok(&m, WK_EV_TIMER, NOW + 7000 * MS, NULL);
	ck_assert_uint_eq(o.handover.due_in, 0);
	ck_assert_uint_eq(o.handover.full_in, NONE);
}
END_TEST

/* Failed workers back off by doubling, capped, and a clean end resets it;
 * the one after a failure passes at once. */
START_TEST(failures_back_off_and_reset)
{
	static const uint64_t delays[] = { 100, 200, 400, 800, 800 };
	const struct worker_timing idle = { 60000 * MS, NONE, 0 };
	struct wk_machine m;
	struct wk_out o;
	uint64_t now = NOW;

	fresh_in(&m, WK_WAITING);
	m.due_at = NOW + 50000 * MS;
	for (size_t i = 0; i < ARRAY_SIZE(delays); i++) {
		step_ok(&m, WK_EV_TIMER, now, NULL);
		o = step_ok(&m, WK_EV_EXIT_FAIL, now, NULL);
		ck_assert_uint_eq(o.timer_usec, delays[i] * MS);
		ck_assert_uint_eq(m.failures, i + 1);
		now += o.timer_usec;
	}
	o = step_ok(&m, WK_EV_TIMER, now, NULL);
	ck_assert_uint_eq(o.handover.due_in, NONE);
	step_ok(&m, WK_EV_IDLE, now, &idle);
	step_ok(&m, WK_EV_EXIT_OK, now, NULL);
	ck_assert_uint_eq(m.failures, 0);
}
END_TEST

/* A worker that stops talking is killed after the timeout, its exit is a
 * failure, and the next one starts after the back-off. */
START_TEST(hung_worker_is_killed)
{
	struct wk_machine m;
	struct wk_out o;

	fresh_in(&m, WK_WAITING);
	step_ok(&m, WK_EV_TIMER, NOW, NULL);
	o = step_ok(&m, WK_EV_TIMER, NOW + 3999 * MS, NULL);
	ck_assert_uint_eq(o.actions, WK_ACT_ARM_TIMER);
	step_ok(&m, WK_EV_HEARD, NOW + 3999 * MS, NULL);
	o = step_ok(&m, WK_EV_TIMER, NOW + 7998 * MS, NULL);
	ck_assert_uint_eq(o.actions, WK_ACT_ARM_TIMER);
	o = step_ok(&m, WK_EV_TIMER, NOW + 7999 * MS, NULL);
	ck_assert_uint_eq(o.actions, WK_ACT_KILL | WK_ACT_ARM_TIMER);
	ck_assert_int_eq(m.state, WK_HUNG);
	o = step_ok(&m, WK_EV_EXIT_FAIL, NOW + 8000 * MS, NULL);
	ck_assert_uint_eq(o.actions, WK_ACT_FAILED | WK_ACT_ARM_TIMER);
	ck_assert_int_eq(m.state, WK_WAITING);
}
END_TEST

/* k3s goes away while a worker runs and comes back before it is gone: the
 * next worker starts as soon as the old one is reaped, not before. */
START_TEST(k3s_back_while_stopping)
{
	struct wk_machine m;
	struct wk_out o;

	fresh_in(&m, WK_RUNNING);
	o = step_ok(&m, WK_EV_STOP, NOW, NULL);
	ck_assert(o.actions & WK_ACT_TERM);
	step_ok(&m, WK_EV_K3S_UP, NOW + 10 * MS, NULL);
	o = step_ok(&m, WK_EV_EXIT_FAIL, NOW + 20 * MS, NULL);
	ck_assert_int_eq(m.state, WK_WAITING);
	ck_assert_uint_eq(o.actions, WK_ACT_ARM_TIMER);
	ck_assert_uint_eq(o.timer_usec, 0);
	ck_assert_uint_eq(m.failures, 0);

	/* The daemon stops instead: nothing follows. */
	fresh_in(&m, WK_RUNNING);
	step_ok(&m, WK_EV_STOP, NOW, NULL);
	step_ok(&m, WK_EV_K3S_UP, NOW, NULL);
	step_ok(&m, WK_EV_STOP, NOW, NULL);
	o = step_ok(&m, WK_EV_EXIT_OK, NOW, NULL);
	ck_assert_int_eq(m.state, WK_OFF);
}
END_TEST

/* A commit no pass saw starts one follow-up; what that one leaves
 * unobserved waits for the health check, so there is no loop. */
START_TEST(unobserved_commit_reruns_once)
{
	const struct worker_timing idle = { NONE, NONE, 0 };
	struct wk_machine m;
	struct wk_out o;

	fresh_in(&m, WK_RUNNING);
	step_ok(&m, WK_EV_IDLE, NOW, &idle);
	o = step_ok(&m, WK_EV_EXIT_OK, NOW, NULL);
	ck_assert(o.actions & WK_ACT_CHECK_UNOBSERVED);
	o = step_ok(&m, WK_EV_UNOBSERVED, NOW, NULL);
	ck_assert_uint_eq(o.timer_usec, 20 * MS);
	o = step_ok(&m, WK_EV_TIMER, NOW + 20 * MS, NULL);
	ck_assert_uint_eq(o.handover.due_in, NONE);
	step_ok(&m, WK_EV_IDLE, NOW + 40 * MS, &idle);
	o = step_ok(&m, WK_EV_EXIT_OK, NOW + 40 * MS, NULL);
	ck_assert(!(o.actions & WK_ACT_CHECK_UNOBSERVED));
	ck_assert_uint_eq(o.timer_usec, 30000 * MS);
	/* The one after asks again. */
	step_ok(&m, WK_EV_TIMER, NOW + 30040 * MS, NULL);
	step_ok(&m, WK_EV_IDLE, NOW + 30050 * MS, &idle);
	o = step_ok(&m, WK_EV_EXIT_OK, NOW + 30050 * MS, NULL);
	ck_assert(o.actions & WK_ACT_CHECK_UNOBSERVED);
}
END_TEST

/* A commit while k3s is down is not lost: the first worker of the next k3s
 * passes at once instead of waiting for the handed-over deadline. */
START_TEST(change_while_off_is_kept)
{
	struct wk_machine m;
	struct wk_out o;

	fresh_in(&m, WK_OFF);
	m.due_at = NOW + 50000 * MS;
	step_ok(&m, WK_EV_CHANGE, NOW, NULL);
	step_ok(&m, WK_EV_K3S_UP, NOW, NULL);
	o = step_ok(&m, WK_EV_TIMER, NOW, NULL);
	ck_assert_uint_eq(o.handover.due_in, NONE);
}
END_TEST

/* A failed start tries again after the busy poll, for the same reason. */
START_TEST(spawn_failure_retries)
{
	struct wk_machine m;
	struct wk_out o;

	fresh_in(&m, WK_WAITING);
	m.change = true;
	step_ok(&m, WK_EV_TIMER, NOW, NULL);
	o = step_ok(&m, WK_EV_SPAWN_FAILED, NOW, NULL);
	ck_assert_uint_eq(o.timer_usec, 500 * MS);
	o = step_ok(&m, WK_EV_TIMER, NOW + 500 * MS, NULL);
	ck_assert_uint_eq(o.handover.due_in, NONE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("worker-machine");
	TCase *tc = tcase_create("machine");

	tcase_add_loop_test(tc, transition_table, 0, (int)ARRAY_SIZE(table));
	tcase_add_test(tc, table_is_complete);
	tcase_add_test(tc, handover_reaches_the_next_worker);
	tcase_add_test(tc, deadline_before_health_check);
	tcase_add_test(tc, failures_back_off_and_reset);
	tcase_add_test(tc, hung_worker_is_killed);
	tcase_add_test(tc, k3s_back_while_stopping);
	tcase_add_test(tc, unobserved_commit_reruns_once);
	tcase_add_test(tc, change_while_off_is_kept);
	tcase_add_test(tc, spawn_failure_retries);
	suite_add_tcase(s, tc);
	return check_run(s);
}
