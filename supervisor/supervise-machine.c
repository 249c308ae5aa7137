/* The pure half of supervision: the k3s state machine and the STATUS= text.
 * No I/O, no clock reads; walked event by event in tests/check_supervise.c. */
#include "supervise-machine.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

/* k3s's own unit restarts it after 5 s; a supervisor that owns the whole
 * appliance restarts faster at first and slows down to a minute, so a broken
 * node does not spin but a transient failure costs one second. */
void sv_params_default(struct sv_params *p)
{
	*p = (struct sv_params){
		.backoff_base = 1 * USEC_PER_SEC,
		.backoff_max = 60 * USEC_PER_SEC,
		.healthy_after = 120 * USEC_PER_SEC,
		.grace = 90 * USEC_PER_SEC,
		.kill_wait = 10 * USEC_PER_SEC,
		.loop_exits = 5,
		.loop_window = 300 * USEC_PER_SEC,
	};
}

int sv_params_check(const struct sv_params *p, struct err *e)
{
	if (p->backoff_base == 0)
		return err_set(e, EXIT_USAGE, "back-off base must be positive");
	if (p->backoff_max < p->backoff_base)
		return err_set(e, EXIT_USAGE, "back-off maximum is below the base");
	if (p->loop_exits < 2 || p->loop_exits > SV_LOOP_MAX)
		return err_set(e, EXIT_USAGE, "crash-loop exit count must be between 2 and %d", SV_LOOP_MAX);
	if (p->loop_window == 0 || p->healthy_after == 0)
		return err_set(e, EXIT_USAGE, "crash-loop window and healthy period must be positive");
	return 0;
}

void sv_init(struct sv_machine *m, const struct sv_params *p)
{
	memset(m, 0, sizeof(*m));
	m->p = *p;
	m->state = SV_INIT;
}

uint64_t sv_backoff_delay(const struct sv_params *p, unsigned n)
{
	uint64_t d = p->backoff_base;

	for (unsigned i = 1; i < n && d < p->backoff_max; i++)
		d *= 2;
	return d < p->backoff_max ? d : p->backoff_max;
}

/* Records an exit and counts the exits inside the window ending now. */
static unsigned record_exit(struct sv_machine *m, uint64_t now)
{
	unsigned cap = m->p.loop_exits, count = 0;

	memmove(m->exits + 1, m->exits, (cap - 1) * sizeof(m->exits[0]));
	m->exits[0] = now;
	if (m->nexits < cap)
		m->nexits++;
	for (unsigned i = 0; i < m->nexits; i++)
		if (now - m->exits[i] <= m->p.loop_window)
			count++;
	return count;
}

static void arm(struct sv_out *out, uint64_t usec)
{
	out->actions |= SV_ACT_ARM_TIMER;
	out->timer_usec = usec;
}

int sv_step(struct sv_machine *m, enum sv_event ev, uint64_t now, struct sv_out *out)
{
	memset(out, 0, sizeof(*out));
	switch (m->state) {
	case SV_INIT:
		if (ev == SV_EV_START) {
			m->state = SV_RUNNING;
			out->actions = SV_ACT_SPAWN;
			arm(out, m->p.healthy_after);
			return 0;
		}
		if (ev == SV_EV_STOP) {
			m->state = SV_DONE;
			out->actions = SV_ACT_EXIT;
			return 0;
		}
		return -1;
	case SV_RUNNING:
		if (ev == SV_EV_EXITED) {
			m->failures++;
			m->loop_count = record_exit(m, now);
			if (m->loop_count >= m->p.loop_exits && !m->crash_loop) {
				m->crash_loop = true;
				out->actions |= SV_ACT_CRASH_LOOP;
			}
			m->state = SV_BACKOFF;
			/* In a crash loop retries go on, at the slowest rate. */
			arm(out, m->crash_loop ? m->p.backoff_max : sv_backoff_delay(&m->p, m->failures));
			return 0;
		}
		if (ev == SV_EV_TIMER) {
			m->failures = 0;
			m->nexits = 0;
			m->loop_count = 0;
			m->crash_loop = false;
			out->actions = SV_ACT_HEALTHY;
			return 0;
		}
		if (ev == SV_EV_STOP) {
			m->state = SV_STOPPING;
			out->actions = SV_ACT_TERM_GROUP;
			arm(out, m->p.grace);
			return 0;
		}
		return -1;
	case SV_BACKOFF:
		if (ev == SV_EV_TIMER) {
			m->state = SV_RUNNING;
			m->restarts++;
			out->actions = SV_ACT_SPAWN;
			arm(out, m->p.healthy_after);
			return 0;
		}
		if (ev == SV_EV_STOP) {
			/* No k3s, but what the last one left in its group goes. */
			m->state = SV_DONE;
			out->actions = SV_ACT_KILL_GROUP | SV_ACT_EXIT;
			return 0;
		}
		return -1;
	case SV_STOPPING:
		if (ev == SV_EV_EXITED) {
			/* k3s is gone; anything it left in its group goes with it. */
			m->state = SV_DONE;
			out->actions = SV_ACT_KILL_GROUP | SV_ACT_EXIT;
			return 0;
		}
		if (ev == SV_EV_TIMER) {
			m->state = SV_KILLING;
			out->actions = SV_ACT_KILL_GROUP;
			arm(out, m->p.kill_wait);
			return 0;
		}
		return -1;
	case SV_KILLING:
		if (ev == SV_EV_EXITED || ev == SV_EV_TIMER) {
			m->state = SV_DONE;
			out->actions = SV_ACT_EXIT;
			return 0;
		}
		return -1;
	case SV_DONE:
	case SV_STATE_COUNT:
		break;
	}
	return -1;
}

const char *sv_state_name(enum sv_state s)
{
	static const char *const names[SV_STATE_COUNT] = {
		[SV_INIT] = "init", [SV_RUNNING] = "running", [SV_BACKOFF] = "backoff",
		[SV_STOPPING] = "stopping", [SV_KILLING] = "killing", [SV_DONE] = "done",
	};
	return (unsigned)s < SV_STATE_COUNT ? names[s] : "?";
}

const char *sv_event_name(enum sv_event ev)
{
	static const char *const names[SV_EVENT_COUNT] = {
		[SV_EV_START] = "start", [SV_EV_EXITED] = "exited",
		[SV_EV_TIMER] = "timer", [SV_EV_STOP] = "stop",
	};
	return (unsigned)ev < SV_EVENT_COUNT ? names[ev] : "?";
}

/* ---- What the daemon reports ---- */

int supervise_exit_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return -1;
}

/* "60 s" for whole seconds, else "250 ms": tests run with millisecond windows. */
void supervise_fmt_duration(char *buf, size_t len, uint64_t usec)
{
	if (usec % USEC_PER_SEC == 0)
		snprintf(buf, len, "%" PRIu64 " s", usec / USEC_PER_SEC);
	else
		snprintf(buf, len, "%" PRIu64 " ms", usec / USEC_PER_MSEC);
}

void supervise_status_text(const struct status_view *v, char *buf, size_t len)
{
	char d[32];

	if (v->stopping) {
		snprintf(buf, len, "stopping");
	} else if (v->crash_loop) {
		supervise_fmt_duration(d, sizeof(d), v->loop_window);
		snprintf(buf, len, "k3s crash loop: %u exits in %s", v->loop_exits, d);
	} else if (v->k3s == SV_BACKOFF) {
		supervise_fmt_duration(d, sizeof(d), v->restart_in);
		snprintf(buf, len, "k3s exited (status %d), restarting in %s", v->last_exit, d);
	} else if (v->k3s != SV_RUNNING) {
		snprintf(buf, len, "starting k3s");
	} else if (!v->api_ready) {
		snprintf(buf, len, "%s", v->importing ? "importing images" : "waiting for API");
	} else if (v->plat_ready < v->plat_n && v->failed) {
		snprintf(buf, len, "platform %zu/%zu ready; %s failed: %s", v->plat_ready, v->plat_n,
			 v->failed, v->failed_reason);
	} else if (v->plat_ready < v->plat_n) {
		snprintf(buf, len, "platform %zu/%zu ready", v->plat_ready, v->plat_n);
	} else if (v->tenants >= 0) {
		snprintf(buf, len, "reconciling %ld tenants", v->tenants);
	} else if (v->plat_n) {
		snprintf(buf, len, "platform %zu/%zu ready", v->plat_ready, v->plat_n);
	} else {
		snprintf(buf, len, "API ready");
	}
}
