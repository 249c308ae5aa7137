/* The worker's life cycle, as the supervising process sees it: a pure state
 * machine beside the k3s one (supervise-machine.h), in the same manner. No
 * I/O and no clock reads: supervise.c feeds it events (a new k3s, a commit
 * to the state file, the worker's lines, its exit, the timer) and carries
 * out what it asks for; tests/check_worker_machine.c walks every (state,
 * event) pair.
 *
 * A worker runs while there is API work, says `idle` with the reconciler's
 * schedule (worker-timing.h) and exits; the next one starts at that
 * schedule's deadline or the next health check, whichever is first, or at
 * once for a change to the state file. */
#ifndef OUTPOST_WORKER_MACHINE_H
#define OUTPOST_WORKER_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "supervise-machine.h"
#include "worker-timing.h"

enum wk_state {
	WK_OFF,            /* no worker, none wanted: k3s is not running */
	WK_WAITING,        /* no worker; the timer starts the next */
	WK_RUNNING,        /* a worker runs; the timer checks that it still talks */
	WK_LEAVING,        /* it said idle: its exit is the normal end */
	WK_LEAVING_CHANGED, /* ... and the state file changed since it looked */
	WK_STOPPING,       /* SIGTERM sent, no worker wanted; the timer is the kill wait */
	WK_HUNG,           /* SIGKILL sent for its silence; its exit is a failure */
	WK_KILLED,         /* SIGKILL sent after it ignored SIGTERM */
	WK_STATE_COUNT
};

enum wk_event {
	WK_EV_K3S_UP,      /* a new k3s process: its /readyz is news, a worker is wanted now */
	WK_EV_STOP,        /* k3s went away or the daemon stops: no worker is wanted */
	WK_EV_CHANGE,      /* another process committed to the state file */
	WK_EV_TIMER,       /* the one timer fired (its meaning depends on the state) */
	WK_EV_HEARD,       /* the worker wrote a line */
	WK_EV_IDLE,        /* ... and it was its idle line (with the timing) */
	WK_EV_EXIT_OK,     /* the worker was reaped with status 0 */
	WK_EV_EXIT_FAIL,   /* ... with any other status, or a signal */
	WK_EV_SPAWN_FAILED, /* the SPAWN action could not start one */
	WK_EV_UNOBSERVED,  /* the state file holds a commit no pass has seen (CHECK_UNOBSERVED) */
	WK_EVENT_COUNT
};

enum wk_action {
	WK_ACT_SPAWN = 1 << 0,     /* start a worker with wk_out.handover */
	WK_ACT_ARM_TIMER = 1 << 1, /* (re)arm the one timer to wk_out.timer_usec from now */
	WK_ACT_DISARM = 1 << 2,    /* turn the timer off */
	WK_ACT_TERM = 1 << 3,      /* SIGTERM the worker */
	WK_ACT_KILL = 1 << 4,      /* SIGKILL the worker (the new state says why) */
	WK_ACT_FAILED = 1 << 5,    /* it ended abnormally: report it; the next in timer_usec */
	WK_ACT_CHECK_UNOBSERVED = 1 << 6, /* ask the state file; answer with WK_EV_UNOBSERVED */
};

/* Tunables (microseconds), from the supervise configuration. */
struct wk_params {
	uint64_t timeout;     /* a worker silent this long is hung */
	uint64_t kill_wait;   /* SIGTERM -> SIGKILL */
	uint64_t poll_idle;   /* the health check: a new worker at least this often */
	uint64_t poll_busy;   /* after a failed start */
	uint64_t again;       /* a follow-up worker for a change: soon, not in a spin */
	struct sv_params backoff; /* its backoff_base and backoff_max space failed workers */
};

struct wk_machine {
	struct wk_params p;
	enum wk_state state;
	uint64_t last_heard;  /* when the worker last wrote */
	unsigned failures;    /* consecutive abnormal ends */
	bool change;          /* the next worker is for a change: it passes at once */
	bool rerun;           /* the next (or running) worker is for what its predecessor left unobserved */
	bool wanted;          /* stopping one, but a new k3s wants a worker once it is gone */
	struct worker_timing idle; /* the running worker's idle line */
	/* The schedule handed from worker to worker, in absolute time
	 * (WORKER_TIMING_NONE: not set): */
	uint64_t due_at, full_at, retry;
};

struct wk_out {
	unsigned actions;              /* enum wk_action bits */
	uint64_t timer_usec;           /* with WK_ACT_ARM_TIMER or WK_ACT_FAILED */
	struct worker_timing handover; /* with WK_ACT_SPAWN */
};

void wk_init(struct wk_machine *m, const struct wk_params *p);

/* The transition function: `now` is given; `idle` is the timing of a
 * WK_EV_IDLE and NULL otherwise. Returns 0 and fills `out`, or -1 when the
 * event means nothing in the current state (the machine is unchanged and
 * `out` is empty). */
int wk_step(struct wk_machine *m, enum wk_event ev, uint64_t now, const struct worker_timing *idle,
	    struct wk_out *out);

/* How often a running worker's silence is checked. */
uint64_t wk_check_interval(const struct wk_params *p);

const char *wk_state_name(enum wk_state s);
const char *wk_event_name(enum wk_event ev);

#endif
