#include "worker.h"

#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "clock.h"
#include "evloop.h"
#include "log.h"
#include "metrics.h"
#include "platform.h"
#include "supervise-config.h"
#include "reconcile.h"
#include "state.h"
#include "tls.h"
#include "util.h"
#include "worker-msg.h"

struct worker {
	sd_event *ev;
	struct supervise_config cfg;
	supervise_reload_fn reload;
	void *reload_ctx;
	const struct probe *probe;
	struct platform *plat;
	struct reconcile *rec; /* created when the API becomes ready */
	int fd;                /* the report pipe to the supervising process */
	struct worker_timing h; /* from the last worker, through the supervisor */
	bool api_ready, stopping;
	long tenants;
	time_t api_since;
	char last_view[WORKER_MSG_MAX];
	uint64_t last_alive;
	struct err failure;    /* why the loop was left with 2 */

	struct state *st;               /* NULL when the state file could not be opened */
	struct component_status *rows;  /* last written: api, then each component */
	struct component_status *next;  /* the same, being built */
	bool *failed;                   /* per component: Failed at the last poll */

	sd_event_source *poll_timer, *rec_timer;
	sd_event_source *state_watch; /* held, not floating: libsystemd 252 leaks a floating inotify source */
};

/* A line to the supervising process. It reads its end as long as we run; if
 * it is gone, so is our purpose: stop. */
static void tell(struct worker *w, const char *line, size_t len)
{
	while (len > 0) {
		ssize_t n = write(w->fd, line, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_err("report to the supervisor: %s; stopping", n < 0 ? strerror(errno) : "closed");
			sd_event_exit(w->ev, 1);
			return;
		}
		line += n;
		len -= (size_t)n;
	}
	w->last_alive = clock_mono_us();
}

static size_t build_rows(const struct worker *w, struct component_status *rows)
{
	static const char *const pc_phase[PC_STATE_COUNT] = {
		[PC_PENDING] = "Pending", [PC_INSTALLING] = "Installing",
		[PC_STARTING] = "Starting", [PC_READY] = "Ready", [PC_FAILED] = "Failed",
	};
	size_t n = 1;

	state_component_fill(&rows[0], "api", w->api_ready ? "Ready" : "Waiting",
		w->api_ready ? "" : "waiting for /readyz");
	rows[0].started_at = w->api_ready ? w->api_since : 0;
	for (size_t i = 0; w->plat && i < w->plat->n; i++, n++) {
		const struct platform_component *c = &w->plat->c[i];
		state_component_fill(&rows[n], c->name, pc_phase[c->state], c->reason);
	}
	return n;
}

/* After every poll, and between the requests of a long pass: a sign of life
 * at most every few seconds, so the supervisor tells a busy or waiting
 * worker from a hung one. */
static void alive(void *data)
{
	struct worker *w = data;

	if (clock_mono_us() - w->last_alive >= 5 * USEC_PER_SEC)
		tell(w, "alive\n", 6);
}

/* Rows and the supervisor's view follow every poll and pass. */
static void report(struct worker *w)
{
	struct worker_view v = { .api = w->api_ready, .tenants = w->tenants };
	char line[WORKER_MSG_MAX];
	struct err e = { 0 };
	size_t n;

	if (w->st) {
		n = build_rows(w, w->next);
		if (state_component_sync(w->st, w->rows, w->next, n, &e) < 0)
			log_warn("status rows: %s", e.msg);
	}
	if (w->plat) {
		v.plat_n = w->plat->n;
		v.plat_ready = platform_ready_count(w->plat);
		for (size_t k = 0; k < w->plat->n && !v.failed[0]; k++) {
			const struct platform_component *c = &w->plat->c[w->plat->order[k]];
			if (c->state == PC_FAILED) {
				snprintf(v.failed, sizeof(v.failed), "%s", c->name);
				snprintf(v.reason, sizeof(v.reason), "%s", c->reason);
			}
		}
	}
	n = worker_msg_view(line, &v);
	if (strcmp(line, w->last_view)) {
		memcpy(w->last_view, line, n + 1);
		tell(w, line, n);
	} else {
		alive(w);
	}
}

/* Tells the reconciler which platform services are ready, so tenants' parts
 * that need one wait for it; one that just became ready asks for a pass at
 * once rather than at the next fallback poll. */
static void share_readiness(struct worker *w)
{
	bool woken = false;

	for (size_t i = 0; w->rec && w->plat && i < w->plat->n; i++)
		woken |= reconcile_set_ready(w->rec, w->plat->c[i].name, w->plat->c[i].state == PC_READY);
	if (woken && w->api_ready && !w->stopping)
		evloop_rearm(w->rec_timer, 20 * USEC_PER_MSEC);
}

static void reconcile_start(struct worker *w)
{
	char ca_dir[PATH_MAX];
	struct reconcile_config rc = {
		.state_path = w->cfg.state_path, .kubeconfig_path = w->cfg.kubeconfig,
		.datadir = w->cfg.datadir, .progress = alive, .progress_ud = w,
		/* What is left after this is picked up by the next pass; a
		 * SIGTERM waits for the pass, inside the unit's stop timeout. */
		.pass_budget_ms = 30000, .resync = w->cfg.resync,
		.readiness_by_caller = w->plat != NULL,
		.handover = &w->h,
		.ca_dir = ca_dir,
	};

	tls_ca_dir_for_state(w->cfg.state_path, ca_dir, sizeof(ca_dir));
	reconcile_free(w->rec);
	w->rec = NULL;
	if (!w->cfg.reconcile)
		return;
	if (reconcile_new(&rc, &w->rec, &w->failure) < 0) {
		/* A fresh worker tries again, after the supervisor's back-off. */
		err_prefix(&w->failure, "reconciler");
		sd_event_exit(w->ev, 2);
		return;
	}
	share_readiness(w);
	evloop_rearm(w->rec_timer, 1);
}

static void set_api_ready(struct worker *w, bool ready)
{
	if (ready == w->api_ready)
		return;
	w->api_ready = ready;
	/* Ready since the last worker saw it so, as far as anyone knows; and
	 * the log says what changed, not what each health check found. */
	if (ready && w->st && !strcmp(w->rows[0].phase, "Ready") && w->rows[0].started_at) {
		w->api_since = (time_t)w->rows[0].started_at;
	} else {
		w->api_since = ready ? time(NULL) : 0;
		log_emit(LOG_INFO, "api", NULL, ready ? "API is ready" : "API is not ready");
	}
	/* A new k3s may have written a new kubeconfig. */
	if (ready)
		reconcile_start(w);
}

/* Nothing to do before the next health check: say when work is due, and go.
 * The supervising process starts a worker again then, or at once when the
 * state file changes. */
static bool leave_if_idle(struct worker *w)
{
	struct worker_timing idle = WORKER_TIMING_FRESH;
	char line[WORKER_MSG_MAX];
	uint64_t now;

	if (!w->api_ready || (w->plat && platform_ready_count(w->plat) < w->plat->n))
		return false;
	if (w->cfg.reconcile) {
		if (!w->rec)
			return false;
		now = clock_mono_us();
		if (reconcile_wants_pass(w->rec, now))
			return false;
		idle = reconcile_handover(w->rec, now);
		if (idle.due_in <= w->cfg.poll_idle)
			return false;
	}
	tell(w, line, worker_msg_idle(line, &idle));
	sd_event_exit(w->ev, 0);
	return true;
}

/* The desired tenants, for STATUS=: a targeted pass only counts those it
 * looked at, so the state file says how many there are (read only after a
 * pass, which is when it can have changed). */
static long count_tenants(struct worker *w, const struct reconcile_summary *sum)
{
	struct err e = { 0 };
	int64_t n;

	if (!w->st || state_tenant_count(w->st, &n, &e) < 0)
		return sum->full ? (long)sum->tenants : w->tenants;
	return (long)n;
}

/* The fallback poll, or sooner when the reconciler has a retry due. */
static uint64_t next_check(const struct worker *w)
{
	uint64_t due = reconcile_next_deadline(w->rec), now = clock_mono_us();
	uint64_t wait = due > now ? due - now : 0;

	return wait + 1 < w->cfg.reconcile_check ? wait + 1 : w->cfg.reconcile_check;
}

/* The pass's figures, for the metrics endpoint of the supervising process. */
static void tell_pass(struct worker *w, const struct reconcile_summary *sum, bool ok, uint64_t ms)
{
	struct metrics_pass p = { .full = sum->full, .ok = ok, .elapsed_ms = ms,
				  .writes = sum->writes, .errors = sum->action_errors };
	char line[WORKER_MSG_MAX];

	tell(w, line, metrics_msg_pass(line, &p));
}

/* Each component that has just become Failed is one failure to count. */
static void tell_failures(struct worker *w)
{
	char line[WORKER_MSG_MAX];

	for (size_t i = 0; w->plat && w->failed && i < w->plat->n; i++) {
		bool failed = w->plat->c[i].state == PC_FAILED;
		if (failed && !w->failed[i])
			tell(w, line, metrics_msg_failure(line, MX_FAIL_COMPONENT));
		w->failed[i] = failed;
	}
}

static int on_reconcile(sd_event_source *src, uint64_t usec, void *data)
{
	struct worker *w = data;
	struct reconcile_summary sum = { 0 };
	struct err e = { 0 };
	uint64_t start;
	bool ok;

	(void)usec;
	if (!w->rec || w->stopping || !w->api_ready)
		return 0; /* re-armed by reconcile_start */
	alive(w);
	if (reconcile_wants_pass(w->rec, start = clock_mono_us())) {
		ok = reconcile_pass(w->rec, &sum, &e) == 0;
		tell_pass(w, &sum, ok, (clock_mono_us() - start) / USEC_PER_MSEC);
		if (!ok) {
			log_emit(LOG_WARNING, "reconcile", NULL, "%s", e.msg);
		} else {
			w->tenants = count_tenants(w, &sum);
			if (sum.failed)
				log_emit(LOG_WARNING, "reconcile", NULL, "%zu of %zu tenants failed; first: %s",
					 sum.failed, sum.tenants, sum.first_failure);
			report(w);
		}
	}
	if (!leave_if_idle(w))
		evloop_rearm(src, next_check(w));
	return 0;
}

/* A commit to the state file (tenant add/change from the CLI): ask the
 * reconciler soon, instead of polling often. Writes in a burst are folded
 * into one check. */
static void on_state_write(void *data)
{
	struct worker *w = data;

	if (w->rec && w->api_ready && !w->stopping)
		evloop_rearm(w->rec_timer, 20 * USEC_PER_MSEC);
}

static int on_poll(sd_event_source *src, uint64_t usec, void *data)
{
	struct worker *w = data;
	struct err e = { 0 };
	bool busy = true;

	(void)usec;
	if (w->stopping)
		return 0;
	if (w->probe->ops->readyz(w->probe->ctx, &e) < 0) {
		log_emit(LOG_DEBUG, "api", NULL, "/readyz: %s", e.msg);
		set_api_ready(w, false);
	} else {
		set_api_ready(w, true);
		if (w->plat && platform_poll(w->plat, w->probe, clock_mono_us())) {
			share_readiness(w);
			tell_failures(w);
		}
		busy = w->plat && platform_ready_count(w->plat) < w->plat->n;
	}
	report(w);
	if (!leave_if_idle(w))
		evloop_rearm(src, busy ? w->cfg.poll_busy : w->cfg.poll_idle);
	return 0;
}

static void reload(struct worker *w)
{
	struct err e = { 0 };

	/* The platform file is read once per worker: the next one reads the new one. */
	if (supervise_config_reload(w->reload, w->reload_ctx, &w->cfg, &e) < 0) {
		log_err("reload: %s; keeping the running configuration", e.msg);
		return;
	}
	if (w->plat) {
		w->plat->timeout = w->cfg.component_timeout;
		w->plat->retry = w->cfg.component_retry;
	}
}

static int on_signal(sd_event_source *src, const struct signalfd_siginfo *si, void *data)
{
	struct worker *w = data;

	(void)src;
	if (si->ssi_signo == SIGHUP) {
		reload(w);
		return 0;
	}
	w->stopping = true;
	sd_event_exit(w->ev, 0);
	return 0;
}

/* Status rows are a report, not a duty: without the state file the worker
 * still brings the platform up, and the failure is logged once. */
static void open_state(struct worker *w)
{
	size_t n = 1 + (w->plat ? w->plat->n : 0);
	struct err e = { 0 };

	if (!(w->rows = calloc(n, sizeof(*w->rows))) || !(w->next = calloc(n, sizeof(*w->next))) ||
	    state_open(w->cfg.state_path, STATE_OPEN_CREATE, &w->st, &e) < 0) {
		log_err("status rows disabled: %s", e.msg[0] ? e.msg : "out of memory");
		w->st = NULL;
		return;
	}
	/* Take the rows over from the last worker: rewrite only what changes,
	 * and start from the components it saw ready. */
	build_rows(w, w->rows);
	if (state_component_seed(w->st, w->rows, n, &e) < 0) {
		log_warn("status rows: %s", e.msg);
		return;
	}
	for (size_t i = 1; i < n; i++)
		if (!strcmp(w->rows[i].phase, "Ready"))
			platform_assume_ready(w->plat, w->rows[i].name, clock_mono_us());
}

static void watch_state(struct worker *w)
{
	int r = evloop_watch_file(w->ev, &w->state_watch, w->cfg.state_path, on_state_write, w);

	if (r < 0)
		log_warn("cannot watch %s (%s): tenant changes are noticed by polling only",
			 w->cfg.state_path, strerror(-r));
}

static int setup(struct worker *w, struct err *e)
{
	static const int handled[] = { SIGTERM, SIGINT, SIGHUP };
	sigset_t mask;
	int r;

	signal(SIGPIPE, SIG_IGN); /* a gone supervisor is a write error, see tell() */
	sigemptyset(&mask);
	for (size_t i = 0; i < ARRAY_SIZE(handled); i++)
		sigaddset(&mask, handled[i]);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return err_errno(e, errno, "sigprocmask");
	if ((r = sd_event_new(&w->ev)) < 0)
		return err_errno(e, -r, "sd_event_new");
	for (size_t i = 0; i < ARRAY_SIZE(handled); i++)
		if ((r = sd_event_add_signal(w->ev, NULL, handled[i], on_signal, w)) < 0)
			return err_errno(e, -r, "signal %d", handled[i]);
	if ((r = sd_event_add_time_relative(w->ev, &w->poll_timer, CLOCK_MONOTONIC, 0, 0, on_poll,
					   w)) < 0 ||
	    (r = sd_event_add_time_relative(w->ev, &w->rec_timer, CLOCK_MONOTONIC, UINT64_MAX / 2,
					   0, on_reconcile, w)) < 0)
		return err_errno(e, -r, "sd_event_add_time");
	sd_event_source_set_enabled(w->poll_timer, SD_EVENT_ONESHOT);
	sd_event_source_set_enabled(w->rec_timer, SD_EVENT_OFF);
	return 0;
}

int worker_run(struct supervise_config *cfg, const struct probe *probe, supervise_reload_fn reload_fn,
	       void *reload_ctx, int fd, const struct worker_timing *h, struct err *e)
{
	struct worker w = { .cfg = *cfg, .probe = probe, .reload = reload_fn,
			    .reload_ctx = reload_ctx, .fd = fd, .h = *h, .tenants = -1 };
	int rc = -1, r;

	memset(cfg, 0, sizeof(*cfg));
	if (w.cfg.platform_file && platform_load(w.cfg.platform_file, &w.plat, e) < 0)
		goto out;
	if (w.plat) {
		w.plat->timeout = w.cfg.component_timeout;
		w.plat->retry = w.cfg.component_retry;
		if (!(w.failed = calloc(w.plat->n + 1, sizeof(*w.failed)))) {
			err_errno(e, ENOMEM, "worker");
			goto out;
		}
	}
	if (setup(&w, e) < 0)
		goto out;
	open_state(&w);
	watch_state(&w);
	if ((r = sd_event_loop(w.ev)) < 0) {
		err_errno(e, -r, "event loop");
		goto out;
	}
	if (r == 2)
		*e = w.failure;
	rc = r == 0 ? 0 : r == 2 ? -1 : err_set(e, EXIT_RUNTIME, "the supervisor is gone");
out:
	sd_event_source_unref(w.poll_timer);
	sd_event_source_unref(w.rec_timer);
	sd_event_source_unref(w.state_watch);
	reconcile_free(w.rec);
	sd_event_unref(w.ev);
	platform_free(w.plat);
	free(w.rows);
	free(w.next);
	free(w.failed);
	state_close(w.st);
	supervise_config_free(&w.cfg);
	return rc;
}
