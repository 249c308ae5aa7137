/* The pure half of supervising k3s: an explicit state machine (no I/O, no
 * clock reads; supervise-machine.c, walked event by event in
 * tests/check_supervise.c) and the STATUS= text made from the daemon's view.
 * supervise.c feeds it real events and carries out its actions. */
#ifndef OUTPOST_SUPERVISE_MACHINE_H
#define OUTPOST_SUPERVISE_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "err.h"

/* Where k3s is in its life cycle, as far as the supervisor is concerned. */
enum sv_state {
	SV_INIT,     /* not started yet */
	SV_RUNNING,  /* a k3s process exists; the timer is the "healthy period" */
	SV_BACKOFF,  /* k3s exited; the timer is the restart delay */
	SV_STOPPING, /* SIGTERM sent to k3s's process group; the timer is the grace period */
	SV_KILLING,  /* SIGKILL sent; the timer bounds the wait for the exit */
	SV_DONE,     /* the supervisor may exit */
	SV_STATE_COUNT
};

enum sv_event {
	SV_EV_START,  /* the daemon is up: start k3s */
	SV_EV_EXITED, /* the k3s process (not a grandchild) was reaped */
	SV_EV_TIMER,  /* the state's one timer fired (meaning depends on the state) */
	SV_EV_STOP,   /* SIGTERM/SIGINT: orderly shutdown */
	SV_EVENT_COUNT
};

/* What the loop must do after a step; several may be set at once. */
enum sv_action {
	SV_ACT_SPAWN = 1 << 0,          /* fork/exec k3s */
	SV_ACT_ARM_TIMER = 1 << 1,      /* (re)arm the one timer to sv_out.timer_usec from now */
	SV_ACT_TERM_GROUP = 1 << 2,     /* SIGTERM k3s's process group */
	SV_ACT_KILL_GROUP = 1 << 3,     /* SIGKILL k3s's process group */
	SV_ACT_EXIT = 1 << 4,           /* leave the loop */
	SV_ACT_CRASH_LOOP = 1 << 5,     /* a crash loop was just detected: report it */
	SV_ACT_HEALTHY = 1 << 6,        /* k3s ran long enough: back-off and crash loop were reset */
};

/* Tunables (microseconds). Production defaults in sv_params_default(). */
struct sv_params {
	uint64_t backoff_base;  /* first restart delay */
	uint64_t backoff_max;   /* cap of the doubling; also the crash-loop rate */
	uint64_t healthy_after; /* running this long resets the back-off */
	uint64_t grace;         /* SIGTERM -> SIGKILL */
	uint64_t kill_wait;     /* SIGKILL -> give up waiting for the exit */
	unsigned loop_exits;    /* this many exits ... */
	uint64_t loop_window;   /* ... within this window is a crash loop */
};

#define SV_LOOP_MAX 64 /* upper bound of loop_exits */

struct sv_machine {
	struct sv_params p;
	enum sv_state state;
	unsigned failures;          /* consecutive exits since the last healthy period */
	unsigned restarts;          /* total restarts since the daemon started */
	bool crash_loop;
	uint64_t exits[SV_LOOP_MAX]; /* ring of the latest exit times (for the window) */
	unsigned nexits;             /* exits recorded in the ring (saturates at loop_exits) */
	unsigned loop_count;         /* exits inside the window at the last exit */
};

struct sv_out {
	unsigned actions;    /* enum sv_action bits */
	uint64_t timer_usec; /* with SV_ACT_ARM_TIMER */
};

void sv_params_default(struct sv_params *p);
/* Rejects parameters the machine cannot honour (zero base, max < base, ...). */
int sv_params_check(const struct sv_params *p, struct err *e);
void sv_init(struct sv_machine *m, const struct sv_params *p);

/* The transition function: no I/O, no clock reads (`now` is given). Returns 0
 * and fills `out`, or -1 when the event means nothing in the current state
 * (the machine is unchanged and `out` is empty). */
int sv_step(struct sv_machine *m, enum sv_event ev, uint64_t now, struct sv_out *out);

/* The restart delay for the n-th consecutive failure (n >= 1): base doubling, capped. */
uint64_t sv_backoff_delay(const struct sv_params *p, unsigned n);

const char *sv_state_name(enum sv_state s);
const char *sv_event_name(enum sv_event ev);

/* What STATUS= says, from the daemon's view of things. Pure. */
struct status_view {
	enum sv_state k3s;
	bool crash_loop, importing, api_ready, stopping;
	unsigned loop_exits;       /* exits inside the window when in a crash loop */
	uint64_t loop_window;
	uint64_t restart_in;       /* SV_BACKOFF: the delay */
	int last_exit;             /* as reported by supervise_exit_code() */
	size_t plat_ready, plat_n;
	const char *failed, *failed_reason; /* the first failed component, if any */
	long tenants;              /* -1: not known */
};
void supervise_status_text(const struct status_view *v, char *buf, size_t len);

/* A wait status as a shell would report it: the exit code, or 128+signal. */
int supervise_exit_code(int wstatus);

/* "60 s" for whole seconds, else "250 ms" (tests run with millisecond windows). */
void supervise_fmt_duration(char *buf, size_t len, uint64_t usec);

#endif
