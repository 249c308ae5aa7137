/* Supervision of the k3s server process: an explicit state machine (pure,
 * supervise-machine.c, walked event by event in tests) and the supervising
 * process that feeds it real events (child exits, signals, timers), carries
 * out its actions and runs the worker (worker.h) for the API work. */
#ifndef OUTPOST_SUPERVISE_H
#define OUTPOST_SUPERVISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backup-schedule.h"
#include "err.h"
#include "metrics.h"

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC UINT64_C(1000000)

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

/* ---- The daemon ---- */

enum ready_level {
	READY_API,      /* READY=1 once the API answers /readyz */
	READY_PLATFORM, /* ... and every platform component is ready */
};

struct supervise_config {
	char *k3s;            /* the k3s binary */
	char **k3s_args;      /* its arguments (NULL-terminated), e.g. {"server", NULL} */
	char *kubeconfig;     /* what k3s writes and the API probes use */
	char *images_dir;     /* k3s's agent/images: archives newer than the stamp mean an import */
	char *images_stamp;   /* touched once the API came up after an import */
	char *platform_file;  /* charts/platform.json */
	char *state_path;     /* the state file the status rows go to */
	enum ready_level ready;
	struct sv_params sv;
	uint64_t poll_busy;   /* API/platform poll while something is not ready */
	uint64_t poll_idle;   /* ... and once everything is */
	uint64_t component_timeout, component_retry;
	uint64_t worker_timeout; /* a worker that reports nothing this long is killed */
	uint64_t extend;      /* EXTEND_TIMEOUT_USEC while images are imported */
	char *datadir;        /* charts, for the reconciler */
	bool reconcile;       /* run the tenant reconciler once the API is ready */
	uint64_t reconcile_check; /* how often to ask the reconciler whether a pass is due */
	struct metrics_listen metrics; /* the metrics endpoint (metrics-http.h); read once per process */
	enum backup_nightly backup_nightly; /* outpost-backup.timer (backup-schedule.h) */
	unsigned backup_keep; /* checked here, used by `outpost backup` */
};

void supervise_config_free(struct supervise_config *c);

/* SIGHUP re-reads the configuration through this callback (file + command line). */
typedef int (*supervise_reload_fn)(void *ctx, struct supervise_config *out, struct err *e);

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

/* The supervising process (supervise.c): runs until SIGTERM/SIGINT; returns 0
 * after an orderly shutdown, -1 with e set when it could not start. Takes
 * ownership of cfg. worker_argv (NULL-terminated, kept) starts the worker
 * (worker.h), to which --worker-fd and --full-in are appended; NULL runs k3s
 * alone. */
int supervise_run(struct supervise_config *cfg, char *const *worker_argv,
		  supervise_reload_fn reload, void *reload_ctx, struct err *e);

#endif
