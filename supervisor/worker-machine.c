/* The worker's life cycle as a pure machine (worker-machine.h). */
#include "worker-machine.h"

#include <string.h>

void wk_init(struct wk_machine *m, const struct wk_params *p)
{
	memset(m, 0, sizeof(*m));
	m->p = *p;
	m->state = WK_OFF;
	m->due_at = m->full_at = WORKER_TIMING_NONE;
	m->idle = WORKER_TIMING_FRESH;
}

uint64_t wk_check_interval(const struct wk_params *p)
{
	return p->timeout / 4;
}

static void arm(struct wk_out *out, uint64_t usec)
{
	out->actions |= WK_ACT_ARM_TIMER;
	out->timer_usec = usec;
}

/* An absolute deadline as a delay from now; NONE stays NONE. */
static uint64_t from_now(uint64_t at, uint64_t now)
{
	if (at == WORKER_TIMING_NONE)
		return WORKER_TIMING_NONE;
	return at > now ? at - now : 0;
}

static uint64_t at_from_now(uint64_t in, uint64_t now)
{
	return in == WORKER_TIMING_NONE ? WORKER_TIMING_NONE : now + in;
}

static void spawn(struct wk_machine *m, uint64_t now, struct wk_out *out)
{
	out->actions |= WK_ACT_SPAWN;
	/* A worker for a change looks at once, whatever was scheduled. */
	out->handover = (struct worker_timing){
		.due_in = m->change ? WORKER_TIMING_NONE : from_now(m->due_at, now),
		.full_in = from_now(m->full_at, now),
		.retry = m->retry,
	};
	m->change = false;
	m->last_heard = now;
	m->idle = WORKER_TIMING_FRESH;
	m->state = WK_RUNNING;
	arm(out, wk_check_interval(&m->p));
}

/* An exit without an idle line, or a crash: what it did is unknown, so the
 * next one passes at once, after a back-off that never exceeds the health
 * check. */
static void failed(struct wk_machine *m, struct wk_out *out)
{
	uint64_t delay = sv_backoff_delay(&m->p.backoff, ++m->failures);

	if (delay > m->p.poll_idle)
		delay = m->p.poll_idle;
	m->due_at = WORKER_TIMING_NONE;
	m->state = WK_WAITING;
	out->actions |= WK_ACT_FAILED;
	arm(out, delay);
}

/* The normal end: its idle line is the schedule of the next one, which
 * starts at the schedule's deadline or the health check, or soon when the
 * state file changed after the worker last looked. */
static void left(struct wk_machine *m, uint64_t now, bool changed, struct wk_out *out)
{
	uint64_t delay = m->p.poll_idle;

	m->failures = 0;
	m->due_at = at_from_now(m->idle.due_in, now);
	m->full_at = at_from_now(m->idle.full_in, now);
	m->retry = m->idle.retry;
	if (m->idle.due_in < delay)
		delay = m->idle.due_in;
	m->state = WK_WAITING;
	if (changed) {
		m->change = true;
		delay = m->p.again;
	} else if (m->rerun) {
		/* A commit may land between the worker's last look and its idle
		 * line. Asked once: what the follow-up leaves unobserved waits
		 * for the health check rather than start a loop. */
		m->rerun = false;
	} else {
		out->actions |= WK_ACT_CHECK_UNOBSERVED;
	}
	arm(out, delay);
}

static void terminate(struct wk_machine *m, struct wk_out *out)
{
	m->state = WK_STOPPING;
	out->actions |= WK_ACT_TERM;
	arm(out, m->p.kill_wait);
}

/* RUNNING, LEAVING and LEAVING_CHANGED: a worker that may still talk. */
static int step_alive(struct wk_machine *m, enum wk_event ev, uint64_t now,
		      const struct worker_timing *idle, struct wk_out *out)
{
	switch (ev) {
	case WK_EV_HEARD:
		m->last_heard = now;
		return 0;
	case WK_EV_IDLE:
		if (m->state != WK_RUNNING || !idle)
			return -1;
		m->last_heard = now;
		m->idle = *idle;
		m->state = WK_LEAVING;
		return 0;
	case WK_EV_CHANGE:
		/* A running worker watches the state file for itself. */
		if (m->state == WK_RUNNING)
			return -1;
		m->state = WK_LEAVING_CHANGED;
		return 0;
	case WK_EV_TIMER:
		if (now - m->last_heard >= m->p.timeout) {
			/* Every request it makes is bounded well inside the
			 * timeout, and it reports between them: it is hung. */
			m->state = WK_HUNG;
			out->actions |= WK_ACT_KILL;
			arm(out, m->p.kill_wait);
		} else {
			arm(out, wk_check_interval(&m->p));
		}
		return 0;
	case WK_EV_EXIT_OK:
		if (m->state == WK_RUNNING)
			failed(m, out); /* gone without a word: not the normal end */
		else
			left(m, now, m->state == WK_LEAVING_CHANGED, out);
		return 0;
	case WK_EV_EXIT_FAIL:
		failed(m, out);
		return 0;
	case WK_EV_STOP:
		terminate(m, out);
		return 0;
	case WK_EV_SPAWN_FAILED:
		if (m->state != WK_RUNNING)
			return -1;
		m->change = true; /* whatever it was started for is still to do */
		m->state = WK_WAITING;
		arm(out, m->p.poll_busy);
		return 0;
	default:
		return -1; /* a new k3s: the running worker's next /readyz says so */
	}
}

/* STOPPING, HUNG and KILLED: a worker on its way out. */
static int step_ending(struct wk_machine *m, enum wk_event ev, struct wk_out *out)
{
	switch (ev) {
	case WK_EV_TIMER:
		out->actions |= WK_ACT_KILL;
		arm(out, m->p.kill_wait);
		if (m->state == WK_STOPPING)
			m->state = WK_KILLED;
		return 0;
	case WK_EV_EXIT_OK:
	case WK_EV_EXIT_FAIL:
		if (m->state == WK_HUNG) {
			failed(m, out);
		} else if (m->wanted) {
			m->wanted = false;
			m->state = WK_WAITING;
			arm(out, 0); /* stopped for a k3s that is gone; this is a new one */
		} else {
			m->state = WK_OFF;
			out->actions |= WK_ACT_DISARM;
		}
		return 0;
	case WK_EV_K3S_UP:
		m->wanted = true;
		return 0;
	case WK_EV_STOP:
		m->wanted = false;
		if (m->state == WK_HUNG)
			m->state = WK_KILLED; /* its exit ends it; no next one */
		return 0;
	case WK_EV_CHANGE:
		m->change = true;
		return 0;
	case WK_EV_HEARD:
		return 0;
	default:
		return -1;
	}
}

int wk_step(struct wk_machine *m, enum wk_event ev, uint64_t now, const struct worker_timing *idle,
	    struct wk_out *out)
{
	memset(out, 0, sizeof(*out));
	switch (m->state) {
	case WK_OFF:
		if (ev == WK_EV_K3S_UP) {
			m->state = WK_WAITING;
			arm(out, 0);
			return 0;
		}
		if (ev == WK_EV_CHANGE) {
			m->change = true; /* the first worker for the next k3s looks at once */
			return 0;
		}
		return -1;
	case WK_WAITING:
		switch (ev) {
		case WK_EV_TIMER:
			spawn(m, now, out);
			return 0;
		case WK_EV_CHANGE:
			m->change = true;
			arm(out, 0);
			return 0;
		case WK_EV_K3S_UP:
			arm(out, 0);
			return 0;
		case WK_EV_UNOBSERVED:
			m->change = m->rerun = true;
			arm(out, m->p.again);
			return 0;
		case WK_EV_STOP:
			m->state = WK_OFF;
			out->actions |= WK_ACT_DISARM;
			return 0;
		default:
			return -1;
		}
	case WK_RUNNING:
	case WK_LEAVING:
	case WK_LEAVING_CHANGED:
		return step_alive(m, ev, now, idle, out);
	case WK_STOPPING:
	case WK_HUNG:
	case WK_KILLED:
		return step_ending(m, ev, out);
	default:
		return -1;
	}
}

const char *wk_state_name(enum wk_state s)
{
	static const char *const names[WK_STATE_COUNT] = {
		[WK_OFF] = "off", [WK_WAITING] = "waiting", [WK_RUNNING] = "running",
		[WK_LEAVING] = "leaving", [WK_LEAVING_CHANGED] = "leaving-changed",
		[WK_STOPPING] = "stopping", [WK_HUNG] = "hung", [WK_KILLED] = "killed",
	};
	return (unsigned)s < WK_STATE_COUNT ? names[s] : "?";
}

const char *wk_event_name(enum wk_event ev)
{
	static const char *const names[WK_EVENT_COUNT] = {
		[WK_EV_K3S_UP] = "k3s-up", [WK_EV_STOP] = "stop", [WK_EV_CHANGE] = "change",
		[WK_EV_TIMER] = "timer", [WK_EV_HEARD] = "heard", [WK_EV_IDLE] = "idle",
		[WK_EV_EXIT_OK] = "exit-ok", [WK_EV_EXIT_FAIL] = "exit-fail",
		[WK_EV_SPAWN_FAILED] = "spawn-failed", [WK_EV_UNOBSERVED] = "unobserved",
	};
	return (unsigned)ev < WK_EVENT_COUNT ? names[ev] : "?";
}
