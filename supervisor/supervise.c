#include "supervise.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "log.h"
#include "notify.h"
#include "platform.h"
#include "reconcile.h"
#include "state.h"
#include "util.h"

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

/* ---- The daemon ---- */

void supervise_config_free(struct supervise_config *c)
{
	if (!c)
		return;
	free(c->k3s);
	for (char **a = c->k3s_args; a && *a; a++)
		free(*a);
	free(c->k3s_args);
	free(c->kubeconfig);
	free(c->images_dir);
	free(c->images_stamp);
	free(c->platform_file);
	free(c->state_path);
	free(c->datadir);
	memset(c, 0, sizeof(*c));
}

int supervise_exit_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return -1;
}

/* "60 s" for whole seconds, else "250 ms": tests run with millisecond windows. */
static void fmt_duration(char *buf, size_t len, uint64_t usec)
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
		fmt_duration(d, sizeof(d), v->loop_window);
		snprintf(buf, len, "k3s crash loop: %u exits in %s", v->loop_exits, d);
	} else if (v->k3s == SV_BACKOFF) {
		fmt_duration(d, sizeof(d), v->restart_in);
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

/* Signals read through sd-event's signalfd. SIGTERM/SIGINT stop, SIGHUP
 * reloads, SIGCHLD reaps; the rest of these are passed on to k3s. */
static const int forwarded[] = { SIGUSR1, SIGUSR2, SIGQUIT, SIGWINCH };

struct supervisor {
	sd_event *ev;
	struct supervise_config cfg;
	supervise_reload_fn reload;
	void *reload_ctx;
	const struct probe *probe;
	struct sv_machine m;
	struct notify nt;
	struct platform *plat;

	pid_t pid;            /* the k3s process, 0 when none */
	pid_t pgid;           /* its process group, kept after it exits for what it left */
	uint64_t started_at;  /* monotonic, of the current k3s process */
	int last_exit;
	uint64_t restart_in;
	sigset_t orig_mask;   /* restored in k3s */
	char **envp;          /* our environment without the service manager's variables */
	int devnull, out_rd, out_wr;
	char line[4096];
	size_t linelen;
	bool api_ready, importing, stopping;
	long tenants;
	time_t started_wall, api_since;

	struct reconcile *rec;        /* created when the API becomes ready */
	uint64_t last_watchdog;
	struct state *st;             /* NULL when the state file could not be opened */
	struct component_status *rows; /* last written: k3s, api, then each component */
	struct component_status *next; /* the same, being built */

	sd_event_source *sv_timer, *poll_timer, *wd_timer, *extend_timer, *rec_timer;
	sd_event_source *state_watch; /* held, not floating: libsystemd 252 leaks a floating inotify source */
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

static void rearm(sd_event_source *src, uint64_t usec)
{
	sd_event_source_set_time_relative(src, usec);
	sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
}

/* Upserts the rows that changed since the last write, in one transaction. */
static void write_rows(struct supervisor *s, const struct component_status *rows, size_t n)
{
	struct err e = { 0 };
	bool began = false;

	for (size_t i = 0; i < n && s->st; i++) {
		const struct component_status *a = &rows[i], *b = &s->rows[i];
		if (!strcmp(a->phase, b->phase) && !strcmp(a->message, b->message) &&
		    a->pid == b->pid && a->restarts == b->restarts && a->started_at == b->started_at)
			continue;
		if (!began && state_begin(s->st, &e) < 0)
			goto fail;
		began = true;
		if (state_component_upsert(s->st, a, &e) < 0)
			goto fail;
		s->rows[i] = *a;
	}
	if (began && state_commit(s->st, &e) < 0)
		goto fail;
	return;
fail:
	state_rollback(s->st);
	memset(s->rows, 0, n * sizeof(*s->rows)); /* rewrite everything next time */
	log_warn("status rows: %s", e.msg);
}

static void set_row(struct component_status *r, const char *name, const char *phase,
		    const char *message)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->phase, sizeof(r->phase), "%s", phase);
	snprintf(r->message, sizeof(r->message), "%s", message);
}

static void report_rows(struct supervisor *s, const char *status_text)
{
	static const char *const pc_phase[PC_STATE_COUNT] = {
		[PC_PENDING] = "Pending", [PC_INSTALLING] = "Installing",
		[PC_STARTING] = "Starting", [PC_READY] = "Ready", [PC_FAILED] = "Failed",
	};
	struct component_status *rows = s->next;
	const char *k3s_phase;
	size_t n = 2;

	if (!s->st)
		return;
	switch (s->m.state) {
	case SV_RUNNING: k3s_phase = "Running"; break;
	case SV_BACKOFF: k3s_phase = s->m.crash_loop ? "CrashLoop" : "Restarting"; break;
	case SV_STOPPING: case SV_KILLING: k3s_phase = "Stopping"; break;
	case SV_DONE: k3s_phase = "Stopped"; break;
	default: k3s_phase = "Pending"; break;
	}
	set_row(&rows[0], "k3s", k3s_phase,
		s->m.state != SV_DONE && (s->m.crash_loop || s->m.state == SV_BACKOFF) ? status_text
											: "");
	rows[0].pid = s->pid;
	rows[0].restarts = s->m.restarts;
	rows[0].started_at = s->pid > 0 ? s->started_wall : 0;
	set_row(&rows[1], "api", s->api_ready ? "Ready" : "Waiting",
		s->api_ready ? "" : "waiting for /readyz");
	rows[1].started_at = s->api_ready ? s->api_since : 0;
	for (size_t i = 0; s->plat && i < s->plat->n; i++, n++) {
		const struct platform_component *c = &s->plat->c[i];
		set_row(&rows[n], c->name, pc_phase[c->state], c->reason);
	}
	write_rows(s, rows, n);
}

static void update_status(struct supervisor *s)
{
	struct status_view v = {
		.k3s = s->m.state, .crash_loop = s->m.crash_loop, .importing = s->importing,
		.api_ready = s->api_ready, .stopping = s->stopping, .loop_exits = s->m.loop_count,
		.loop_window = s->m.p.loop_window, .restart_in = s->restart_in,
		.last_exit = s->last_exit, .plat_n = s->plat ? s->plat->n : 0,
		.tenants = s->tenants,
	};
	char text[256];

	if (s->plat) {
		v.plat_ready = platform_ready_count(s->plat);
		for (size_t k = 0; k < s->plat->n && !v.failed; k++) {
			const struct platform_component *c = &s->plat->c[s->plat->order[k]];
			if (c->state == PC_FAILED) {
				v.failed = c->name;
				v.failed_reason = c->reason;
			}
		}
	}
	supervise_status_text(&v, text, sizeof(text));
	notify_status(&s->nt, "%s", text);
	report_rows(s, text);
}

/* The environment k3s runs with: ours minus the service manager's per-process
 * variables. NOTIFY_SOCKET is removed rather than replaced by a private
 * socket: systemd would reject k3s's messages on ours (NotifyAccess=main), and
 * its READY=1 adds nothing to the /readyz probe that gates our own READY=1. */
static char **child_environment(void)
{
	static const char *const drop[] = { "NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=",
					    "LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=" };
	extern char **environ;
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool keep = true;
		for (size_t d = 0; d < ARRAY_SIZE(drop) && keep; d++)
			keep = strncmp(environ[i], drop[d], strlen(drop[d])) != 0;
		if (keep)
			env[k++] = environ[i];
	}
	return env;
}

/* fork + exec k3s in its own process group. Only async-signal-safe calls
 * between fork and exec: libcurl may have started resolver threads. */
static int k3s_spawn(struct supervisor *s)
{
	size_t nargs = 0;
	char **argv;
	pid_t pid, parent;

	while (s->cfg.k3s_args && s->cfg.k3s_args[nargs])
		nargs++;
	argv = calloc(nargs + 2, sizeof(*argv));
	if (!argv)
		return -ENOMEM;
	argv[0] = s->cfg.k3s;
	for (size_t i = 0; i < nargs; i++)
		argv[i + 1] = s->cfg.k3s_args[i];

	parent = getpid();
	pid = fork();
	if (pid < 0) {
		int err = errno;
		free(argv);
		return -err;
	}
	if (pid == 0) {
		static const char msg[] = "outpost: exec k3s failed\n";
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		setpgid(0, 0);
		/* If the supervisor dies (a watchdog abort, SIGKILL), k3s must not
		 * outlive it under KillMode=process: the restarted supervisor would
		 * start a second one. The shims (the pods) are not affected. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
			_exit(127);
		for (int sig = 1; sig < NSIG; sig++)
			sigaction(sig, &dfl, NULL); /* SIGKILL/SIGSTOP and RT gaps just fail */
		sigprocmask(SIG_SETMASK, &s->orig_mask, NULL);
		if (dup2(s->devnull, 0) < 0 || dup2(s->out_wr, 1) < 0 || dup2(s->out_wr, 2) < 0)
			_exit(127);
		close_range(3, ~0U, 0);
		execve(argv[0], argv, s->envp);
		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(127);
		_exit(127);
	}
	/* Also here, so no signal to the group can race the child's own setpgid. */
	setpgid(pid, pid);
	free(argv);
	s->pid = s->pgid = pid;
	s->started_at = now_usec();
	s->started_wall = time(NULL);
	log_emit(LOG_INFO, "k3s", NULL, "started %s (pid %d, restart %u)", s->cfg.k3s, (int)pid,
		 s->m.restarts);
	return 0;
}

static void apply(struct supervisor *s, const struct sv_out *o);

static void step(struct supervisor *s, enum sv_event ev)
{
	struct sv_out o;

	if (sv_step(&s->m, ev, now_usec(), &o) < 0) {
		log_debug("k3s machine: event %s ignored in state %s", sv_event_name(ev),
			  sv_state_name(s->m.state));
		return;
	}
	apply(s, &o);
}

static void reap_all(struct supervisor *s)
{
	int wstatus;
	pid_t r;

	/* As PID 1 or a subreaper, every orphan below us ends up here. */
	while ((r = waitpid(-1, &wstatus, WNOHANG)) > 0) {
		if (r != s->pid) {
			log_debug("reaped pid %d (status %d)", (int)r, supervise_exit_code(wstatus));
			continue;
		}
		s->pid = 0;
		s->last_exit = supervise_exit_code(wstatus);
		log_emit(s->stopping ? LOG_INFO : LOG_WARNING, "k3s", NULL,
			 "pid %d exited with status %d after %" PRIu64 " ms", (int)r, s->last_exit,
			 (now_usec() - s->started_at) / USEC_PER_MSEC);
		step(s, SV_EV_EXITED);
	}
	if (r < 0 && errno != ECHILD)
		log_warn("waitpid: %s", strerror(errno));
}

static void reconcile_start(struct supervisor *s);

static void set_api_ready(struct supervisor *s, bool ready)
{
	if (ready == s->api_ready)
		return;
	s->api_ready = ready;
	s->api_since = ready ? time(NULL) : 0;
	log_emit(LOG_INFO, "api", NULL, ready ? "API is ready" : "API is not ready");
	if (ready)
		reconcile_start(s);
	if (ready && s->importing) {
		struct err e = { 0 };
		/* The API came up, so k3s is past its image import: the next start
		 * is not a first start. */
		if (util_write_atomic(s->cfg.images_stamp, "", 0, 0644, &e) < 0)
			log_warn("%s", e.msg);
		s->importing = false;
		sd_event_source_set_enabled(s->extend_timer, SD_EVENT_OFF);
	}
}

/* Shutdown: what was SIGKILLed in k3s's group dies asynchronously, and its
 * orphans come to us; wait (bounded) until the group is empty, reaping, so
 * nothing is left behind for init. Blocking is fine: the loop is ending. */
static void drain_group(struct supervisor *s)
{
	uint64_t deadline = now_usec() + s->m.p.kill_wait;
	const struct timespec tick = { 0, 10 * 1000 * 1000 };

	reap_all(s);
	while (s->pgid > 0 && kill(-s->pgid, 0) == 0 && now_usec() < deadline) {
		nanosleep(&tick, NULL);
		reap_all(s);
	}
	if (s->pgid > 0 && kill(-s->pgid, 0) == 0)
		log_emit(LOG_ERR, "k3s", NULL, "process group %d still has members", (int)s->pgid);
}

static void apply(struct supervisor *s, const struct sv_out *o)
{
	if (o->actions & SV_ACT_ARM_TIMER)
		rearm(s->sv_timer, o->timer_usec);
	if (o->actions & SV_ACT_SPAWN) {
		int r = k3s_spawn(s);
		if (r < 0) {
			log_emit(LOG_ERR, "k3s", NULL, "fork: %s", strerror(-r));
			s->last_exit = -1;
			step(s, SV_EV_EXITED);
			return;
		}
		/* The next /readyz answer is about this k3s: ask soon. */
		rearm(s->poll_timer, s->cfg.poll_busy);
	}
	if (s->m.state == SV_BACKOFF) {
		s->restart_in = o->timer_usec;
		set_api_ready(s, false);
		log_emit(LOG_INFO, "k3s", NULL, "restart in %" PRIu64 " ms", o->timer_usec / 1000);
	}
	if (o->actions & SV_ACT_CRASH_LOOP) {
		char d[32];
		fmt_duration(d, sizeof(d), s->m.p.loop_window);
		log_emit(LOG_ERR, "k3s", NULL, "crash loop: %u exits in %s; retrying every %" PRIu64
			 " ms", s->m.loop_count, d, s->m.p.backoff_max / 1000);
	}
	if (o->actions & SV_ACT_HEALTHY)
		log_emit(LOG_INFO, "k3s", NULL, "running for %" PRIu64 " ms: back-off reset",
			 s->m.p.healthy_after / 1000);
	if ((o->actions & SV_ACT_TERM_GROUP) && s->pid > 0) {
		log_emit(LOG_INFO, "k3s", NULL, "sending SIGTERM to process group %d", (int)s->pid);
		kill(-s->pid, SIGTERM);
	}
	if ((o->actions & SV_ACT_KILL_GROUP) && s->pgid > 0 && kill(-s->pgid, SIGKILL) == 0)
		log_emit(LOG_WARNING, "k3s", NULL, "%s: sent SIGKILL to process group %d",
			 s->pid > 0 ? "still running after the grace period"
				    : "processes left in its group", (int)s->pgid);
	if (o->actions & SV_ACT_EXIT) {
		if (s->pid > 0)
			log_emit(LOG_ERR, "k3s", NULL, "pid %d did not exit after SIGKILL", (int)s->pid);
		drain_group(s);
		sd_event_exit(s->ev, 0);
	}
	update_status(s);
}

static int on_sv_timer(sd_event_source *src, uint64_t usec, void *data)
{
	(void)src;
	(void)usec;
	step(data, SV_EV_TIMER);
	return 0;
}

static int on_watchdog(sd_event_source *src, uint64_t usec, void *data)
{
	struct supervisor *s = data;

	(void)usec;
	notify_watchdog(&s->nt);
	s->last_watchdog = now_usec();
	rearm(src, s->nt.watchdog_usec / 2);
	return 0;
}

/* A reconcile pass blocks the loop for up to its budget: it calls this
 * between requests, so a long pass still keeps the watchdog fed. */
static void reconcile_progress(void *data)
{
	struct supervisor *s = data;
	uint64_t now = now_usec();

	if (s->nt.watchdog_usec && now - s->last_watchdog >= s->nt.watchdog_usec / 2) {
		notify_watchdog(&s->nt);
		s->last_watchdog = now;
		rearm(s->wd_timer, s->nt.watchdog_usec / 2);
	}
}

/* Tells the reconciler which platform services are ready, so tenants' parts
 * that need one wait for it; one that just became ready asks for a pass at
 * once rather than at the next fallback poll. */
static void share_readiness(struct supervisor *s)
{
	bool woken = false;

	for (size_t i = 0; s->rec && s->plat && i < s->plat->n; i++)
		woken |= reconcile_set_ready(s->rec, s->plat->c[i].name, s->plat->c[i].state == PC_READY);
	if (woken && s->api_ready && !s->stopping)
		rearm(s->rec_timer, 20 * USEC_PER_MSEC);
}

/* The reconciler is built when the API (re)appears: a new k3s may have
 * written a new kubeconfig. */
static void reconcile_start(struct supervisor *s)
{
	struct reconcile_config rc = {
		.state_path = s->cfg.state_path, .kubeconfig_path = s->cfg.kubeconfig,
		.datadir = s->cfg.datadir, .progress = reconcile_progress, .progress_ud = s,
		/* A pass blocks the loop, SIGTERM included: keep it well inside the
		 * unit's stop timeout. What is left is picked up by the next pass. */
		.pass_budget_ms = 30000,
		.readiness_by_caller = s->plat != NULL,
	};
	struct err e = { 0 };

	reconcile_free(s->rec);
	s->rec = NULL;
	if (!s->cfg.reconcile)
		return;
	if (reconcile_new(&rc, &s->rec, &e) < 0) {
		log_emit(LOG_ERR, "reconcile", NULL, "%s", e.msg);
		return;
	}
	share_readiness(s);
	rearm(s->rec_timer, 1);
}

/* The desired tenants, for STATUS=: a targeted pass only counts those it
 * looked at, so the state file says how many there are (read only after a
 * pass, which is when it can have changed). */
static long count_tenants(struct supervisor *s, const struct reconcile_summary *sum)
{
	struct tenant_list tl = { 0 };
	struct err e = { 0 };
	long n;

	if (!s->st || state_tenant_list(s->st, &tl, &e) < 0)
		return sum->full ? (long)sum->tenants : s->tenants;
	n = (long)tl.n;
	tenant_list_free(&tl);
	return n;
}

/* The fallback poll, or sooner when the reconciler has a retry due. */
static uint64_t next_check(const struct supervisor *s)
{
	uint64_t due = reconcile_next_deadline(s->rec), now = reconcile_now_ms();
	uint64_t wait = due > now ? (due - now) * USEC_PER_MSEC : 0;

	return wait + 1 < s->cfg.reconcile_check ? wait + 1 : s->cfg.reconcile_check;
}

static int on_reconcile(sd_event_source *src, uint64_t usec, void *data)
{
	struct supervisor *s = data;
	struct reconcile_summary sum;
	struct err e = { 0 };

	(void)usec;
	if (!s->rec || s->stopping || !s->api_ready)
		return 0; /* re-armed by reconcile_start */
	if (reconcile_wants_pass(s->rec, reconcile_now_ms())) {
		if (reconcile_pass(s->rec, &sum, &e) < 0) {
			log_emit(LOG_WARNING, "reconcile", NULL, "%s", e.msg);
		} else {
			s->tenants = count_tenants(s, &sum);
			if (sum.failed)
				log_emit(LOG_WARNING, "reconcile", NULL, "%zu of %zu tenants failed; first: %s",
					 sum.failed, sum.tenants, sum.first_failure);
			update_status(s);
		}
	}
	rearm(src, next_check(s));
	return 0;
}

/* A commit to the state file (tenant add/change from the CLI) shows up as a
 * write to it or its WAL: ask the reconciler soon, instead of polling often.
 * Writes in a burst are folded into one check. */
static int on_state_write(sd_event_source *src, const struct inotify_event *ev, void *data)
{
	struct supervisor *s = data;
	const char *base = strrchr(s->cfg.state_path, '/');

	(void)src;
	base = base ? base + 1 : s->cfg.state_path;
	if (!ev->len || strncmp(ev->name, base, strlen(base)))
		return 0;
	if (s->rec && s->api_ready && !s->stopping)
		rearm(s->rec_timer, 20 * USEC_PER_MSEC);
	return 0;
}

static int on_extend(sd_event_source *src, uint64_t usec, void *data)
{
	struct supervisor *s = data;

	(void)usec;
	notify_extend_timeout(&s->nt, s->cfg.extend);
	rearm(src, s->cfg.extend / 2);
	return 0;
}

static bool ready_to_notify(const struct supervisor *s)
{
	if (!s->api_ready)
		return false;
	return s->cfg.ready == READY_API || !s->plat || platform_ready_count(s->plat) == s->plat->n;
}

static int on_poll(sd_event_source *src, uint64_t usec, void *data)
{
	struct supervisor *s = data;
	struct err e = { 0 };
	bool busy = true;

	(void)usec;
	if (s->stopping || s->m.state != SV_RUNNING)
		return 0; /* re-armed when k3s is started again */
	if (s->probe->ops->readyz(s->probe->ctx, &e) < 0) {
		log_emit(LOG_DEBUG, "api", NULL, "/readyz: %s", e.msg);
		set_api_ready(s, false);
	} else {
		set_api_ready(s, true);
		if (s->plat && platform_poll(s->plat, s->probe, now_usec()))
			share_readiness(s);
		if (ready_to_notify(s)) {
			if (!s->nt.ready_sent)
				log_info("ready (level %s)", s->cfg.ready == READY_API ? "api" : "platform");
			notify_ready(&s->nt);
		}
		busy = s->plat && platform_ready_count(s->plat) < s->plat->n;
	}
	update_status(s);
	rearm(src, busy ? s->cfg.poll_busy : s->cfg.poll_idle);
	return 0;
}

static void flush_line(struct supervisor *s)
{
	if (s->linelen == 0)
		return;
	s->line[s->linelen] = '\0';
	log_emit(LOG_INFO, "k3s", NULL, "%s", s->line);
	s->linelen = 0;
}

/* k3s's stdout and stderr, logged line by line; an over-long line is split. */
static int on_output(sd_event_source *src, int fd, uint32_t revents, void *data)
{
	struct supervisor *s = data;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	(void)src;
	(void)revents;
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			flush_line(s);
			continue;
		}
		s->line[s->linelen++] = buf[i];
		if (s->linelen == sizeof(s->line) - 1)
			flush_line(s);
	}
	return 0;
}

static void reload(struct supervisor *s)
{
	struct supervise_config c = { 0 };
	struct err e = { 0 };

	if (!s->reload || s->reload(s->reload_ctx, &c, &e) < 0) {
		log_err("reload: %s; keeping the running configuration", e.msg[0] ? e.msg : "not supported");
		supervise_config_free(&c);
		return;
	}
	/* The platform file and state path are read once: swapping them under
	 * components being brought up would lose their progress. */
	free(c.platform_file);
	c.platform_file = s->cfg.platform_file;
	s->cfg.platform_file = NULL;
	supervise_config_free(&s->cfg);
	s->cfg = c;
	s->m.p = c.sv;
	if (s->plat) {
		s->plat->timeout = c.component_timeout;
		s->plat->retry = c.component_retry;
	}
	log_info("configuration reloaded; k3s's path and arguments apply at its next start");
}

static int on_signal(sd_event_source *src, const struct signalfd_siginfo *si, void *data)
{
	struct supervisor *s = data;
	int sig = (int)si->ssi_signo;

	(void)src;
	switch (sig) {
	case SIGCHLD:
		reap_all(s);
		break;
	case SIGTERM:
	case SIGINT:
		if (s->stopping)
			break;
		log_info("%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		s->stopping = true;
		notify_stopping(&s->nt);
		/* Stop reconciling and probing before k3s goes away. */
		sd_event_source_set_enabled(s->poll_timer, SD_EVENT_OFF);
		sd_event_source_set_enabled(s->rec_timer, SD_EVENT_OFF);
		sd_event_source_set_enabled(s->extend_timer, SD_EVENT_OFF);
		step(s, SV_EV_STOP);
		break;
	case SIGHUP:
		reload(s);
		break;
	default:
		if (s->pid > 0)
			kill(s->pid, sig);
		break;
	}
	return 0;
}

/* Archives k3s imports at agent start that are newer than the stamp we touch
 * once the API has come up: a first start, or a bundle with new images. */
static bool images_pending(const struct supervise_config *c)
{
	static const char *const exts[] = { ".tar", ".tar.gz", ".tgz", ".tar.zst", ".tzst",
					    ".tar.lz4", ".tar.bz2" };
	struct stat stamp, st;
	bool stamped, pending = false;
	struct dirent *d;
	DIR *dir;

	if (!c->images_dir || !(dir = opendir(c->images_dir)))
		return false;
	stamped = c->images_stamp && stat(c->images_stamp, &stamp) == 0;
	while (!pending && (d = readdir(dir))) {
		size_t n = strlen(d->d_name);
		bool archive = false;
		for (size_t i = 0; i < ARRAY_SIZE(exts) && !archive; i++) {
			size_t x = strlen(exts[i]);
			archive = n > x && !strcmp(d->d_name + n - x, exts[i]);
		}
		if (!archive || fstatat(dirfd(dir), d->d_name, &st, 0) < 0)
			continue;
		pending = !stamped || st.st_mtim.tv_sec > stamp.st_mtim.tv_sec ||
			  (st.st_mtim.tv_sec == stamp.st_mtim.tv_sec &&
			   st.st_mtim.tv_nsec > stamp.st_mtim.tv_nsec);
	}
	closedir(dir);
	return pending;
}

/* Status rows are a report, not a duty: without the state file k3s is still
 * supervised, and the failure is logged once. */
static void open_state(struct supervisor *s)
{
	size_t n = 2 + (s->plat ? s->plat->n : 0);
	struct err e = { 0 };

	if (!s->cfg.state_path)
		return;
	if (!(s->rows = calloc(n, sizeof(*s->rows))) || !(s->next = calloc(n, sizeof(*s->next))) ||
	    state_open(s->cfg.state_path, STATE_OPEN_CREATE, &s->st, &e) < 0) {
		log_err("status rows disabled: %s", e.msg[0] ? e.msg : "out of memory");
		s->st = NULL;
	}
}

static void watch_state(struct supervisor *s)
{
	char *dir, *slash;
	int r;

	if (!s->cfg.state_path || !(dir = strdup(s->cfg.state_path)))
		return;
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	r = sd_event_add_inotify(s->ev, &s->state_watch, slash ? dir : ".",
				 IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO, on_state_write, s);
	if (r < 0)
		log_warn("cannot watch %s (%s): tenant changes are noticed by polling only",
			 slash ? dir : ".", strerror(-r));
	free(dir);
}

static int setup(struct supervisor *s, struct err *e)
{
	static const int handled[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	sigset_t mask;
	int pfd[2], r;

	if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return err_errno(e, errno, "PR_SET_CHILD_SUBREAPER");
	/* A vanished reader of some pipe must not kill the supervisor. */
	signal(SIGPIPE, SIG_IGN);

	sigemptyset(&mask);
	for (size_t i = 0; i < ARRAY_SIZE(handled); i++)
		sigaddset(&mask, handled[i]);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&mask, forwarded[i]);
	if (sigprocmask(SIG_BLOCK, &mask, &s->orig_mask) < 0)
		return err_errno(e, errno, "sigprocmask");

	if ((r = sd_event_new(&s->ev)) < 0)
		return err_errno(e, -r, "sd_event_new");
	for (size_t i = 0; i < ARRAY_SIZE(handled); i++)
		if ((r = sd_event_add_signal(s->ev, NULL, handled[i], on_signal, s)) < 0)
			return err_errno(e, -r, "signal %d", handled[i]);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		if ((r = sd_event_add_signal(s->ev, NULL, forwarded[i], on_signal, s)) < 0)
			return err_errno(e, -r, "signal %d", forwarded[i]);

	if ((s->devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return err_errno(e, errno, "open /dev/null");
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_errno(e, errno, "pipe");
	/* One pipe for every k3s generation: its write end stays open here, so
	 * the reader never sees EOF between restarts. */
	s->out_rd = pfd[0];
	s->out_wr = pfd[1];
	fcntl(s->out_rd, F_SETFL, O_NONBLOCK);
	if ((r = sd_event_add_io(s->ev, NULL, s->out_rd, EPOLLIN, on_output, s)) < 0)
		return err_errno(e, -r, "sd_event_add_io");

	/* Accuracy 1 ms: restart delays are measured in tests. */
	if ((r = sd_event_add_time_relative(s->ev, &s->sv_timer, CLOCK_MONOTONIC, UINT64_MAX / 2,
					   USEC_PER_MSEC, on_sv_timer, s)) < 0 ||
	    (r = sd_event_add_time_relative(s->ev, &s->poll_timer, CLOCK_MONOTONIC, UINT64_MAX / 2,
					   0, on_poll, s)) < 0 ||
	    (r = sd_event_add_time_relative(s->ev, &s->wd_timer, CLOCK_MONOTONIC, UINT64_MAX / 2,
					   USEC_PER_MSEC, on_watchdog, s)) < 0 ||
	    (r = sd_event_add_time_relative(s->ev, &s->extend_timer, CLOCK_MONOTONIC,
					   UINT64_MAX / 2, 0, on_extend, s)) < 0 ||
	    (r = sd_event_add_time_relative(s->ev, &s->rec_timer, CLOCK_MONOTONIC,
					   UINT64_MAX / 2, 0, on_reconcile, s)) < 0)
		return err_errno(e, -r, "sd_event_add_time");
	sd_event_source_set_enabled(s->sv_timer, SD_EVENT_OFF);
	sd_event_source_set_enabled(s->poll_timer, SD_EVENT_OFF);
	sd_event_source_set_enabled(s->wd_timer, SD_EVENT_OFF);
	sd_event_source_set_enabled(s->extend_timer, SD_EVENT_OFF);
	sd_event_source_set_enabled(s->rec_timer, SD_EVENT_OFF);

	if (!(s->envp = child_environment()))
		return err_errno(e, ENOMEM, "environment");
	return 0;
}

int supervise_run(struct supervise_config *cfg, const struct probe *probe,
		  supervise_reload_fn reload_fn, void *reload_ctx, struct err *e)
{
	struct supervisor s = { .cfg = *cfg, .probe = probe, .reload = reload_fn,
				.reload_ctx = reload_ctx, .devnull = -1, .out_rd = -1, .out_wr = -1,
				.tenants = -1 };
	int rc = -1, r;

	memset(cfg, 0, sizeof(*cfg));
	if (sv_params_check(&s.cfg.sv, e) < 0)
		goto out;
	if (s.cfg.platform_file && platform_load(s.cfg.platform_file, &s.plat, e) < 0)
		goto out;
	if (s.plat) {
		s.plat->timeout = s.cfg.component_timeout;
		s.plat->retry = s.cfg.component_retry;
	}
	sv_init(&s.m, &s.cfg.sv);
	notify_init(&s.nt);
	open_state(&s);
	if (setup(&s, e) < 0)
		goto out;
	watch_state(&s);
	reap_all(&s); /* as PID 1 we may have inherited zombies */

	if (s.nt.watchdog_usec) {
		log_info("watchdog: WATCHDOG=1 every %" PRIu64 " ms", s.nt.watchdog_usec / 2000);
		rearm(s.wd_timer, s.nt.watchdog_usec / 2);
	}
	s.importing = images_pending(&s.cfg);
	if (s.importing) {
		log_info("images in %s not imported yet: extending the start-up timeout",
			 s.cfg.images_dir);
		notify_extend_timeout(&s.nt, s.cfg.extend);
		rearm(s.extend_timer, s.cfg.extend / 2);
	}
	step(&s, SV_EV_START);
	if ((r = sd_event_loop(s.ev)) < 0) {
		err_errno(e, -r, "event loop");
		goto out;
	}
	log_info("stopped");
	rc = 0;
out:
	sd_event_source_unref(s.sv_timer);
	sd_event_source_unref(s.poll_timer);
	sd_event_source_unref(s.wd_timer);
	sd_event_source_unref(s.extend_timer);
	sd_event_source_unref(s.rec_timer);
	sd_event_source_unref(s.state_watch);
	reconcile_free(s.rec);
	sd_event_unref(s.ev);
	free(s.envp);
	if (s.devnull >= 0)
		close(s.devnull);
	if (s.out_rd >= 0)
		close(s.out_rd);
	if (s.out_wr >= 0)
		close(s.out_wr);
	platform_free(s.plat);
	free(s.rows);
	free(s.next);
	state_close(s.st);
	supervise_config_free(&s.cfg);
	return rc;
}
