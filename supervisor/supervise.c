/* The supervising process: k3s as a child (the state machine of
 * supervise-machine.c fed with real events), reaping as PID 1 or subreaper,
 * signals, the notify protocol and the watchdog, and the worker (worker.h)
 * started while there is API work to do. Links no HTTP, TLS or archive
 * library: see supervise-main.c. */
#include "supervise.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "clock.h"
#include "evloop.h"
#include "log.h"
#include "metrics-http.h"
#include "notify.h"
#include "state.h"
#include "util.h"
#include "worker-machine.h"
#include "worker-msg.h"


/* Signals read through sd-event's signalfd. SIGTERM/SIGINT stop, SIGHUP
 * reloads, SIGCHLD reaps; the rest of these are passed on to k3s. */
static const int forwarded[] = { SIGUSR1, SIGUSR2, SIGQUIT, SIGWINCH };

/* The running worker's process and pipe; its life cycle is wm's. */
struct worker_child {
	pid_t pid;            /* 0 when none runs */
	int fd;               /* the read end of its report pipe */
	sd_event_source *io;
	char buf[WORKER_MSG_MAX];
	size_t len;
};

struct supervisor {
	sd_event *ev;
	struct supervise_config cfg;
	supervise_reload_fn reload;
	void *reload_ctx;
	char *const *worker_argv;
	struct sv_machine m;
	struct notify nt;

	pid_t pid;            /* the k3s process, 0 when none */
	pid_t pgid;           /* its process group, kept after it exits for what it left */
	uint64_t started_at;  /* monotonic, of the current k3s process */
	int last_exit;
	uint64_t restart_in;
	sigset_t orig_mask;   /* restored in the children */
	char **envp;          /* our environment without the service manager's variables */
	int devnull, out_rd, out_wr;
	char line[4096];
	size_t linelen;
	bool importing, stopping;
	time_t started_wall;

	struct worker_child w;
	struct wk_machine wm;
	struct worker_view view; /* the worker's last view, kept between workers */

	struct state *st;                 /* NULL when the state file could not be opened */
	int64_t data_version;             /* of st: changes when another process commits */
	struct component_status rows[2];  /* last written: k3s, api */

	struct metrics_counters mx;       /* for the metrics endpoint, over our life */
	struct metrics_http *mhttp;       /* NULL when off */

	sd_event_source *sv_timer, *wd_timer, *extend_timer, *wk_timer, *state_timer;
	sd_event_source *state_watch; /* held, not floating: libsystemd 252 leaks a floating inotify source */
};

/* The k3s row is ours; the api and component rows are the worker's while k3s
 * runs. Without k3s there is no API, and no worker to say so. */
static void report_rows(struct supervisor *s, const char *status_text)
{
	struct component_status next[2];
	const char *k3s_phase;
	struct err e = { 0 };
	size_t n = 1;

	if (!s->st)
		return;
	switch (s->m.state) {
	case SV_RUNNING: k3s_phase = "Running"; break;
	case SV_BACKOFF: k3s_phase = s->m.crash_loop ? "CrashLoop" : "Restarting"; break;
	case SV_STOPPING: case SV_KILLING: k3s_phase = "Stopping"; break;
	case SV_DONE: k3s_phase = "Stopped"; break;
	default: k3s_phase = "Pending"; break;
	}
	state_component_fill(&next[0], "k3s", k3s_phase,
		s->m.state != SV_DONE && (s->m.crash_loop || s->m.state == SV_BACKOFF) ? status_text
											: "");
	next[0].pid = s->pid;
	next[0].restarts = s->m.restarts;
	next[0].started_at = s->pid > 0 ? s->started_wall : 0;
	if (s->m.state != SV_RUNNING) {
		state_component_fill(&next[1], "api", "Waiting", "k3s is not running");
		n = 2;
	} else {
		memset(&s->rows[1], 0, sizeof(s->rows[1])); /* the worker's again: write it next time */
	}
	if (state_component_sync(s->st, s->rows, next, n, &e) < 0)
		log_warn("status rows: %s", e.msg);
	/* Our own commits do not move our data_version: no need to re-read it. */
}

static void update_status(struct supervisor *s)
{
	struct status_view v = {
		.k3s = s->m.state, .crash_loop = s->m.crash_loop, .importing = s->importing,
		.api_ready = s->view.api && s->m.state == SV_RUNNING, .stopping = s->stopping,
		.loop_exits = s->m.loop_count, .loop_window = s->m.p.loop_window,
		.restart_in = s->restart_in, .last_exit = s->last_exit,
		.plat_ready = s->view.plat_ready, .plat_n = s->view.plat_n,
		.failed = s->view.failed[0] ? s->view.failed : NULL,
		.failed_reason = s->view.reason, .tenants = s->view.tenants,
	};
	char text[256];

	supervise_status_text(&v, text, sizeof(text));
	notify_status(&s->nt, "%s", text);
	report_rows(s, text);
}

/* The environment of k3s and the worker: ours minus the service manager's
 * per-process variables. NOTIFY_SOCKET is removed rather than replaced by a
 * private socket: systemd would reject their messages on ours
 * (NotifyAccess=main), and k3s's READY=1 adds nothing to the /readyz probe
 * that gates our own READY=1. */
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

/* The child's side of a fork: default signal dispositions and our original
 * mask, stdin from /dev/null, `out` (if >= 0) as stdout and stderr, `report`
 * (if >= 0) as descriptor 3, nothing else open, then exec. Dies with the
 * supervisor (PR_SET_PDEATHSIG): under KillMode=process a restarted
 * supervisor would otherwise start a second k3s; the shims (the pods) are
 * not affected. Only async-signal-safe calls. */
static void __attribute__((noreturn))
child_exec(const struct supervisor *s, pid_t parent, int out, int report, char *const *argv)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(127);
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL); /* SIGKILL/SIGSTOP and RT gaps just fail */
	sigprocmask(SIG_SETMASK, &s->orig_mask, NULL);
	if (dup2(s->devnull, 0) < 0)
		_exit(127);
	if (out >= 0 && (dup2(out, 1) < 0 || dup2(out, 2) < 0))
		_exit(127);
	/* dup2 onto itself would keep O_CLOEXEC. */
	if (report >= 0 && (report == 3 ? fcntl(3, F_SETFD, 0) : dup2(report, 3)) < 0)
		_exit(127);
	close_range(report >= 0 ? 4 : 3, ~0U, 0);
	execve(argv[0], argv, s->envp);
	/* Name the path and the error, or a wrong --k3s reads as a crash loop.
	 * strerrordesc_np only indexes a static table: safe after fork. */
	const char *why = strerrordesc_np(errno);
	if (!why)
		why = "unknown error";
	struct iovec line[] = {
		{ .iov_base = (char *)"outpost: exec ", .iov_len = 14 },
		{ .iov_base = argv[0], .iov_len = strlen(argv[0]) },
		{ .iov_base = (char *)": ", .iov_len = 2 },
		{ .iov_base = (char *)why, .iov_len = strlen(why) },
		{ .iov_base = (char *)"\n", .iov_len = 1 },
	};
	if (writev(2, line, ARRAY_SIZE(line)) < 0)
		_exit(127);
	_exit(127);
}

/* fork + exec k3s in its own process group, its output to our log. */
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
		setpgid(0, 0);
		child_exec(s, parent, s->out_wr, -1, argv);
	}
	/* Also here, so no signal to the group can race the child's own setpgid. */
	setpgid(pid, pid);
	free(argv);
	s->pid = s->pgid = pid;
	s->started_at = clock_mono_us();
	s->started_wall = time(NULL);
	log_emit(LOG_INFO, "k3s", NULL, "started %s (pid %d, restart %u)", s->cfg.k3s, (int)pid,
		 s->m.restarts);
	return 0;
}

/* ---- the worker ---- */

static bool ready_to_notify(const struct supervisor *s)
{
	if (!s->view.api)
		return false;
	return s->cfg.ready == READY_API || s->view.plat_ready == s->view.plat_n;
}

static void on_view(struct supervisor *s, const struct worker_view *v)
{
	long tenants = s->view.tenants;

	s->view = *v;
	/* A new worker knows the count after its first pass. */
	if (v->tenants < 0)
		s->view.tenants = tenants;
	if (v->api && s->importing) {
		struct err e = { 0 };
		/* The API came up, so k3s is past its image import: the next start
		 * is not a first start. */
		if (util_write_atomic(s->cfg.images_stamp, "", 0, 0644, &e) < 0)
			log_warn("%s", e.msg);
		s->importing = false;
		sd_event_source_set_enabled(s->extend_timer, SD_EVENT_OFF);
	}
	if (ready_to_notify(s)) {
		if (!s->nt.ready_sent)
			log_info("ready (level %s)", s->cfg.ready == READY_API ? "api" : "platform");
		notify_ready(&s->nt);
	}
	update_status(s);
}

/* The worker machine's tunables, from the configuration. */
static struct wk_params wk_params_of(const struct supervise_config *c)
{
	return (struct wk_params){
		.timeout = c->worker_timeout, .kill_wait = c->sv.kill_wait,
		.poll_idle = c->poll_idle, .poll_busy = c->poll_busy,
		.again = 20 * USEC_PER_MSEC, .backoff = c->sv,
	};
}

static void wk_apply(struct supervisor *s, const struct wk_out *o, int status);

/* Feeds the worker's machine and carries out what it asks. `status` is the
 * exit status of a WK_EV_EXIT_*. */
static void wk_event(struct supervisor *s, enum wk_event ev, const struct worker_timing *idle,
		     int status)
{
	enum wk_state from = s->wm.state;
	struct wk_out o;

	if (!s->worker_argv)
		return;
	if (wk_step(&s->wm, ev, clock_mono_us(), idle, &o) < 0) {
		if (ev != WK_EV_HEARD)
			log_debug("worker machine: event %s ignored in state %s", wk_event_name(ev),
				  wk_state_name(from));
		return;
	}
	if (s->wm.state != from)
		log_debug("worker: %s + %s -> %s", wk_state_name(from), wk_event_name(ev),
			  wk_state_name(s->wm.state));
	wk_apply(s, &o, status);
}

static void worker_line(struct supervisor *s, const char *line)
{
	struct worker_timing idle;
	struct worker_view v;

	switch (worker_msg_parse(line, &v, &idle)) {
	case WORKER_MSG_VIEW:
		on_view(s, &v);
		break;
	case WORKER_MSG_IDLE:
		wk_event(s, WK_EV_IDLE, &idle, 0);
		break;
	case WORKER_MSG_ALIVE:
		break;
	case WORKER_MSG_METRIC:
		if (metrics_msg_apply(&s->mx, line + 7) == 0)
			break;
		/* fall through */
	case WORKER_MSG_BAD:
		log_warn("worker: unexpected message \"%.80s\"", line);
		break;
	}
}

/* Reads what the worker wrote, line by line. */
static void worker_read(struct supervisor *s)
{
	for (;;) {
		ssize_t n = read(s->w.fd, s->w.buf + s->w.len, sizeof(s->w.buf) - 1 - s->w.len);
		char *start = s->w.buf, *nl;

		if (n == 0) /* it is gone: SIGCHLD follows; until then EOF is no news */
			sd_event_source_set_enabled(s->w.io, SD_EVENT_OFF);
		if (n <= 0)
			return;
		wk_event(s, WK_EV_HEARD, NULL, 0);
		s->w.len += (size_t)n;
		s->w.buf[s->w.len] = '\0';
		while ((nl = strchr(start, '\n'))) {
			*nl = '\0';
			worker_line(s, start);
			start = nl + 1;
		}
		s->w.len -= (size_t)(start - s->w.buf);
		memmove(s->w.buf, start, s->w.len);
		if (s->w.len == sizeof(s->w.buf) - 1) {
			log_warn("worker: over-long message dropped");
			s->w.len = 0;
		}
	}
}

static int on_worker_output(sd_event_source *src, int fd, uint32_t revents, void *data)
{
	(void)src;
	(void)fd;
	(void)revents;
	worker_read(data);
	return 0;
}

/* A deadline option for the worker, in the milliseconds of its command line. */
static void deadline_opt(char *buf, size_t len, const char *name, uint64_t usec)
{
	if (usec == WORKER_TIMING_NONE)
		snprintf(buf, len, "--%s=none", name);
	else
		snprintf(buf, len, "--%s=%" PRIu64, name, usec / USEC_PER_MSEC);
}

/* The worker's command: ours (the outpost program and the same options), plus
 * the report descriptor and what it takes over. */
static int worker_spawn(struct supervisor *s, const struct worker_timing *h)
{
	char fd_opt[] = "--worker-fd=3", full_opt[48], due_opt[48], retry_opt[48];
	size_t n = 0;
	char **argv;
	int pfd[2], r;
	pid_t pid, parent = getpid();

	while (s->worker_argv[n])
		n++;
	if (!(argv = calloc(n + 5, sizeof(*argv))))
		return -ENOMEM;
	memcpy(argv, s->worker_argv, n * sizeof(*argv));
	deadline_opt(full_opt, sizeof(full_opt), "full-in", h->full_in);
	deadline_opt(due_opt, sizeof(due_opt), "due-in", h->due_in);
	snprintf(retry_opt, sizeof(retry_opt), "--retry-ms=%" PRIu64, h->retry / USEC_PER_MSEC);
	argv[n] = fd_opt;
	argv[n + 1] = full_opt;
	argv[n + 2] = due_opt;
	argv[n + 3] = retry_opt;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		r = -errno;
		free(argv);
		return r;
	}
	pid = fork();
	if (pid == 0)
		child_exec(s, parent, -1, pfd[1], argv);
	r = pid < 0 ? -errno : 0;
	free(argv);
	close(pfd[1]);
	if (r < 0) {
		close(pfd[0]);
		return r;
	}
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	if ((r = sd_event_add_io(s->ev, &s->w.io, pfd[0], EPOLLIN, on_worker_output, s)) < 0) {
		/* It exits when it finds nobody reading. */
		close(pfd[0]);
		kill(pid, SIGTERM);
		return r;
	}
	s->w = (struct worker_child){ .pid = pid, .fd = pfd[0], .io = s->w.io };
	s->mx.worker_runs++;
	log_debug("worker started (pid %d)", (int)pid);
	return 0;
}

/* Whether the state file holds a commit no pass has seen: one that landed
 * after the worker last looked and before we read its idle line was
 * neither its news nor ours. */
static bool desired_unobserved(struct supervisor *s)
{
	bool unobserved = false;
	struct err e = { 0 };

	if (s->cfg.reconcile && s->st && state_desired_unobserved(s->st, &unobserved, &e) < 0)
		log_warn("%s", e.msg);
	return unobserved;
}

static void wk_apply(struct supervisor *s, const struct wk_out *o, int status)
{
	if (o->actions & WK_ACT_ARM_TIMER)
		evloop_rearm(s->wk_timer, o->timer_usec);
	if (o->actions & WK_ACT_DISARM)
		sd_event_source_set_enabled(s->wk_timer, SD_EVENT_OFF);
	if ((o->actions & WK_ACT_TERM) && s->w.pid > 0)
		kill(s->w.pid, SIGTERM);
	if ((o->actions & WK_ACT_KILL) && s->w.pid > 0) {
		if (s->wm.state == WK_HUNG) {
			log_emit(LOG_ERR, "worker", NULL, "pid %d silent for %" PRIu64 " ms: killing it",
				 (int)s->w.pid, (clock_mono_us() - s->wm.last_heard) / USEC_PER_MSEC);
			s->mx.failures[MX_FAIL_WORKER_HUNG]++;
		} else {
			log_emit(LOG_ERR, "worker", NULL, "pid %d ignored SIGTERM: killing it", (int)s->w.pid);
		}
		kill(s->w.pid, SIGKILL);
	}
	if (o->actions & WK_ACT_FAILED) {
		s->mx.failures[MX_FAIL_WORKER_EXIT]++;
		log_emit(LOG_WARNING, "worker", NULL, "exited with status %d; again in %" PRIu64 " ms",
			 status, o->timer_usec / USEC_PER_MSEC);
	}
	if ((o->actions & WK_ACT_CHECK_UNOBSERVED) && desired_unobserved(s))
		wk_event(s, WK_EV_UNOBSERVED, NULL, 0);
	if (o->actions & WK_ACT_SPAWN) {
		int r = worker_spawn(s, &o->handover);
		if (r < 0) {
			log_emit(LOG_ERR, "worker", NULL, "cannot start: %s", strerror(-r));
			wk_event(s, WK_EV_SPAWN_FAILED, NULL, 0);
		}
	}
}

static void worker_exited(struct supervisor *s, int status)
{
	int64_t v;
	struct err e = { 0 };

	worker_read(s); /* the last lines may still be in the pipe */
	s->w.io = sd_event_source_disable_unref(s->w.io);
	close(s->w.fd);
	s->w.fd = -1;
	s->w.pid = 0;
	/* What the worker itself committed is not news. */
	if (s->st && state_data_version(s->st, &v, &e) == 0)
		s->data_version = v;
	wk_event(s, status == 0 ? WK_EV_EXIT_OK : WK_EV_EXIT_FAIL, NULL, status);
}

/* No worker is wanted: k3s went away, or we stop. */
static void worker_stop(struct supervisor *s)
{
	s->view.api = false;
	wk_event(s, WK_EV_STOP, NULL, 0);
}

static int on_worker_timer(sd_event_source *src, uint64_t usec, void *data)
{
	(void)src;
	(void)usec;
	wk_event(data, WK_EV_TIMER, NULL, 0);
	return 0;
}

/* ---- k3s ---- */

static void apply(struct supervisor *s, const struct sv_out *o);

static void step(struct supervisor *s, enum sv_event ev)
{
	struct sv_out o;

	if (sv_step(&s->m, ev, clock_mono_us(), &o) < 0) {
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
		if (r == s->w.pid) {
			worker_exited(s, supervise_exit_code(wstatus));
			continue;
		}
		if (r != s->pid) {
			log_debug("reaped pid %d (status %d)", (int)r, supervise_exit_code(wstatus));
			continue;
		}
		s->pid = 0;
		s->last_exit = supervise_exit_code(wstatus);
		if (!s->stopping)
			s->mx.failures[MX_FAIL_K3S_EXIT]++;
		log_emit(s->stopping ? LOG_INFO : LOG_WARNING, "k3s", NULL,
			 "pid %d exited with status %d after %" PRIu64 " ms", (int)r, s->last_exit,
			 (clock_mono_us() - s->started_at) / USEC_PER_MSEC);
		step(s, SV_EV_EXITED);
	}
	if (r < 0 && errno != ECHILD)
		log_warn("waitpid: %s", strerror(errno));
}

/* Shutdown: what was SIGKILLed in k3s's group dies asynchronously, and its
 * orphans come to us; wait (bounded) until the group and the worker are
 * gone, reaping, so nothing is left behind for init. Blocking is fine: the
 * loop is ending. */
static void drain(struct supervisor *s)
{
	uint64_t deadline = clock_mono_us() + s->m.p.kill_wait;
	const struct timespec tick = { 0, 10 * 1000 * 1000 };

	reap_all(s);
	while (((s->pgid > 0 && kill(-s->pgid, 0) == 0) || s->w.pid > 0) && clock_mono_us() < deadline) {
		nanosleep(&tick, NULL);
		reap_all(s);
	}
	if (s->pgid > 0 && kill(-s->pgid, 0) == 0)
		log_emit(LOG_ERR, "k3s", NULL, "process group %d still has members", (int)s->pgid);
	if (s->w.pid > 0) {
		log_emit(LOG_ERR, "worker", NULL, "pid %d did not stop: killing it", (int)s->w.pid);
		kill(s->w.pid, SIGKILL);
		waitpid(s->w.pid, NULL, 0);
	}
}

static void apply(struct supervisor *s, const struct sv_out *o)
{
	if (o->actions & SV_ACT_ARM_TIMER)
		evloop_rearm(s->sv_timer, o->timer_usec);
	if (o->actions & SV_ACT_SPAWN) {
		int r = k3s_spawn(s);
		if (r < 0) {
			log_emit(LOG_ERR, "k3s", NULL, "fork: %s", strerror(-r));
			s->last_exit = -1;
			step(s, SV_EV_EXITED);
			return;
		}
		/* The next /readyz answer is about this k3s. */
		wk_event(s, WK_EV_K3S_UP, NULL, 0);
	}
	if (s->m.state == SV_BACKOFF) {
		s->restart_in = o->timer_usec;
		worker_stop(s);
		log_emit(LOG_INFO, "k3s", NULL, "restart in %" PRIu64 " ms", o->timer_usec / 1000);
	}
	if (o->actions & SV_ACT_CRASH_LOOP) {
		char d[32];
		s->mx.failures[MX_FAIL_K3S_CRASH_LOOP]++;
		supervise_fmt_duration(d, sizeof(d), s->m.p.loop_window);
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
		drain(s);
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

/* From the loop itself, which blocks on nothing: a hung loop misses it. */
static int on_watchdog(sd_event_source *src, uint64_t usec, void *data)
{
	struct supervisor *s = data;

	(void)usec;
	notify_watchdog(&s->nt);
	evloop_rearm(src, s->nt.watchdog_usec / 2);
	return 0;
}

/* Whether another process committed to the state file (a tenant added from
 * the CLI): data_version tells its commits from our own status writes and
 * from readers. A running worker watches for itself. */
static int on_state_check(sd_event_source *src, uint64_t usec, void *data)
{
	struct supervisor *s = data;
	struct err e = { 0 };
	int64_t v;

	(void)src;
	(void)usec;
	if (state_data_version(s->st, &v, &e) < 0 || v == s->data_version)
		return 0;
	s->data_version = v;
	wk_event(s, WK_EV_CHANGE, NULL, 0);
	return 0;
}

/* Written: look once the burst is over (a commit is visible only after its
 * last write, to the -shm index). */
static void on_state_write(void *data)
{
	struct supervisor *s = data;

	if (s->cfg.reconcile)
		evloop_rearm(s->state_timer, 20 * USEC_PER_MSEC);
}

static int on_extend(sd_event_source *src, uint64_t usec, void *data)
{
	struct supervisor *s = data;

	(void)usec;
	notify_extend_timeout(&s->nt, s->cfg.extend);
	evloop_rearm(src, s->cfg.extend / 2);
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

/* Blocks the loop for one systemctl call: only at start and on SIGHUP. */
static void apply_backup_nightly(enum backup_nightly n)
{
	struct err e = { 0 };

	if (n == NIGHTLY_UNSET)
		return;
	if (backup_schedule_apply(n, &e) < 0)
		log_err("backup-nightly: %s", e.msg);
	else
		log_info("backup-nightly: " BACKUP_TIMER " %s", n == NIGHTLY_ON ? "enabled" : "disabled");
}

static void reload(struct supervisor *s)
{
	struct err e = { 0 };

	if (supervise_config_reload(s->reload, s->reload_ctx, &s->cfg, &e) < 0) {
		log_err("reload: %s; keeping the running configuration", e.msg);
		return;
	}
	s->m.p = s->cfg.sv;
	s->wm.p = wk_params_of(&s->cfg);
	apply_backup_nightly(s->cfg.backup_nightly);
	if (s->w.pid > 0)
		kill(s->w.pid, SIGHUP);
	log_info("configuration reloaded; k3s's path and arguments apply at its next start, "
		 "the platform file at the next worker, the metrics address at the next start");
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
		/* Stop the API work before k3s goes away. */
		worker_stop(s);
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

static char *metrics_body(void *ud, size_t *len)
{
	struct supervisor *s = ud;
	struct metrics_k3s k = { .up = s->m.state == SV_RUNNING, .restarts = s->m.restarts,
				 .since_start_usec = clock_mono_us() - s->started_at };

	return metrics_scrape(s->st, &s->mx, &k, len);
}

/* Metrics are a report too: an address that cannot be bound is logged,
 * and k3s is supervised all the same. */
static void serve_metrics(struct supervisor *s)
{
	struct err e = { 0 };
	char where[160];

	if (s->cfg.metrics.kind == MX_LISTEN_OFF)
		return;
	metrics_listen_format(&s->cfg.metrics, where, sizeof(where));
	if (metrics_http_start(s->ev, &s->cfg.metrics, metrics_body, s, &s->mhttp, &e) < 0)
		log_err("metrics endpoint disabled: %s", e.msg);
	else
		log_info("metrics: GET /metrics on %s", where);
}

/* Status rows are a report, not a duty: without the state file k3s is still
 * supervised, and the failure is logged once. */
static void open_state(struct supervisor *s)
{
	struct err e = { 0 };

	if (state_open(s->cfg.state_path, STATE_OPEN_CREATE, &s->st, &e) < 0 ||
	    state_data_version(s->st, &s->data_version, &e) < 0) {
		log_err("status rows disabled: %s", e.msg);
		state_close(s->st);
		s->st = NULL;
	}
}

static void watch_state(struct supervisor *s)
{
	int r;

	if (!s->st)
		return;
	if ((r = evloop_watch_file(s->ev, &s->state_watch, s->cfg.state_path, on_state_write, s)) < 0)
		log_warn("cannot watch %s (%s): tenant changes wait for the next health check",
			 s->cfg.state_path, strerror(-r));
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
	    (r = sd_event_add_time_relative(s->ev, &s->wd_timer, CLOCK_MONOTONIC, UINT64_MAX / 2,
					   USEC_PER_MSEC, on_watchdog, s)) < 0 ||
	    (r = sd_event_add_time_relative(s->ev, &s->extend_timer, CLOCK_MONOTONIC,
					   UINT64_MAX / 2, 0, on_extend, s)) < 0 ||
	    (r = sd_event_add_time_relative(s->ev, &s->wk_timer, CLOCK_MONOTONIC,
					   UINT64_MAX / 2, 0, on_worker_timer, s)) < 0 ||
	    (r = sd_event_add_time_relative(s->ev, &s->state_timer, CLOCK_MONOTONIC,
					   UINT64_MAX / 2, 0, on_state_check, s)) < 0)
		return err_errno(e, -r, "sd_event_add_time");
	sd_event_source_set_enabled(s->sv_timer, SD_EVENT_OFF);
	sd_event_source_set_enabled(s->wd_timer, SD_EVENT_OFF);
	sd_event_source_set_enabled(s->extend_timer, SD_EVENT_OFF);
	sd_event_source_set_enabled(s->wk_timer, SD_EVENT_OFF);
	sd_event_source_set_enabled(s->state_timer, SD_EVENT_OFF);

	if (!(s->envp = child_environment()))
		return err_errno(e, ENOMEM, "environment");
	return 0;
}

int supervise_run(struct supervise_config *cfg, char *const *worker_argv,
		  supervise_reload_fn reload_fn, void *reload_ctx, struct err *e)
{
	struct supervisor s = { .cfg = *cfg, .worker_argv = worker_argv, .reload = reload_fn,
				.reload_ctx = reload_ctx, .devnull = -1, .out_rd = -1, .out_wr = -1,
				.w = { .fd = -1 }, .view = { .tenants = -1 } };
	struct wk_params wp = wk_params_of(cfg);
	int rc = -1, r;

	memset(cfg, 0, sizeof(*cfg));
	if (sv_params_check(&s.cfg.sv, e) < 0)
		goto out;
	sv_init(&s.m, &s.cfg.sv);
	wk_init(&s.wm, &wp);
	notify_init(&s.nt);
	open_state(&s);
	if (setup(&s, e) < 0)
		goto out;
	watch_state(&s);
	serve_metrics(&s);
	apply_backup_nightly(s.cfg.backup_nightly);
	reap_all(&s); /* as PID 1 we may have inherited zombies */

	if (s.nt.watchdog_usec) {
		log_info("watchdog: WATCHDOG=1 every %" PRIu64 " ms", s.nt.watchdog_usec / 2000);
		evloop_rearm(s.wd_timer, s.nt.watchdog_usec / 2);
	}
	s.importing = images_pending(&s.cfg);
	if (s.importing) {
		log_info("images in %s not imported yet: extending the start-up timeout",
			 s.cfg.images_dir);
		notify_extend_timeout(&s.nt, s.cfg.extend);
		evloop_rearm(s.extend_timer, s.cfg.extend / 2);
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
	sd_event_source_unref(s.wd_timer);
	sd_event_source_unref(s.extend_timer);
	sd_event_source_unref(s.wk_timer);
	sd_event_source_unref(s.state_timer);
	sd_event_source_unref(s.state_watch);
	sd_event_source_unref(s.w.io);
	metrics_http_free(s.mhttp);
	sd_event_unref(s.ev);
	free(s.envp);
	if (s.devnull >= 0)
		close(s.devnull);
	if (s.out_rd >= 0)
		close(s.out_rd);
	if (s.out_wr >= 0)
		close(s.out_wr);
	if (s.w.fd >= 0)
		close(s.w.fd);
	state_close(s.st);
	supervise_config_free(&s.cfg);
	return rc;
}
