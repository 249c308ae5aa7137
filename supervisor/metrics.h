/* Outpost's own metrics, in Prometheus's text exposition format 0.0.4: what
 * the supervising process counts over its life (reconcile passes as its
 * workers report them, k3s restarts, worker runs, failures) and what it reads
 * from the state file at each scrape (tenants by phase, components Ready).
 * Everything here is pure: counters in, text out (metrics-http.c serves it).
 *
 * Names follow Prometheus's rules: the `outpost_` prefix, base units
 * (seconds), `_total` for counters. Label values come from fixed sets (phase,
 * failure reason, pass kind) or from charts/platform.json (component names),
 * never from free text, so the number of series stays bounded. */
#ifndef OUTPOST_METRICS_H
#define OUTPOST_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "state.h"

/* Why something failed: outpost_failures_total{reason="..."}. */
enum metrics_failure {
	MX_FAIL_K3S_EXIT,       /* k3s exited while it was meant to run */
	MX_FAIL_K3S_CRASH_LOOP, /* ... often enough to be a crash loop */
	MX_FAIL_WORKER_EXIT,    /* a worker exited abnormally (crash, OOM kill, reconciler setup) */
	MX_FAIL_WORKER_HUNG,    /* a worker silent past --worker-timeout was killed */
	MX_FAIL_PASS,           /* a reconcile pass could not run (state file, a list failed) */
	MX_FAIL_REQUEST,        /* a write request of a pass failed (the tenant is Failed) */
	MX_FAIL_COMPONENT,      /* a platform component became Failed */
	MX_FAIL_COUNT
};

const char *metrics_failure_name(enum metrics_failure f);
/* Returns 0 and sets *f, or -1 for a name that is none of them. */
int metrics_failure_parse(const char *name, enum metrics_failure *f);

/* Upper bounds (seconds) of the pass-duration histogram's buckets, +Inf
 * aside: a targeted no-op pass takes milliseconds, a full one over 1,000
 * tenants tens of seconds, and a pass stops submitting work after 30 s. */
#define MX_BUCKETS 12
extern const double metrics_buckets[MX_BUCKETS];

#define MX_PHASES (TENANT_PHASE_DELETING + 1)

/* One reconcile pass, as the worker reports it. */
struct metrics_pass {
	bool full;           /* a full pass, else a targeted one */
	bool ok;             /* false: the pass could not run */
	uint64_t elapsed_ms;
	uint64_t writes;     /* create/apply/patch/delete requests */
	uint64_t errors;     /* of which failed */
};

/* What the supervising process counts for its whole life. */
struct metrics_counters {
	uint64_t passes[2];              /* [0] targeted, [1] full */
	uint64_t buckets[MX_BUCKETS + 1]; /* passes per bucket (not cumulative); the last is +Inf */
	uint64_t pass_ms;                /* the sum of their durations */
	uint64_t writes;
	uint64_t failures[MX_FAIL_COUNT];
	uint64_t worker_runs;
};

void metrics_observe_pass(struct metrics_counters *c, const struct metrics_pass *p);

/* The worker's figures reach the supervising process as lines on its report
 * pipe (worker-msg.h), after the word "metric":
 *
 *   metric pass <full 0|1> <ok 0|1> <elapsed ms> <writes> <failed writes>
 *   metric failure <reason>      (outpost_failures_total's reason)
 *
 * Format one (with its newline) into buf[WORKER_MSG_MAX]; return its length. */
size_t metrics_msg_pass(char *buf, const struct metrics_pass *p);
size_t metrics_msg_failure(char *buf, enum metrics_failure f);
/* Counts one line (what follows "metric ", without the newline) into c.
 * Returns 0, or -1 (c unchanged) when it is no such line. */
int metrics_msg_apply(struct metrics_counters *c, const char *line);

struct metrics_component {
	char name[64];
	bool ready;
};

/* One scrape: the counters and what was read for it. */
struct metrics_view {
	const char *version;      /* outpost_build_info's label; NULL: left out */
	const struct metrics_counters *c;
	bool k3s_up;
	uint64_t k3s_restarts;
	double k3s_since_restart; /* seconds; only when k3s_restarts > 0 */
	bool state_read;          /* false: the state file could not be read, so
				   * tenants and components are left out */
	uint64_t tenants[MX_PHASES];
	const struct metrics_component *components;
	size_t ncomponents;
	const struct tenant_certificate *certificates; /* by tenant */
	size_t ncertificates;
};

/* The exposition text (malloc'd, NUL-terminated, *len without the NUL), or
 * NULL when out of memory. */
char *metrics_render(const struct metrics_view *v, size_t *len);

/* Where the endpoint listens (supervise.json's "metrics", --metrics):
 *   off                   nothing (the default)
 *   unix:/ABSOLUTE/PATH   a Unix socket, mode 0600
 *   127.0.0.1:PORT        a loopback TCP port (any of 127.0.0.0/8)
 *   [::1]:PORT            the IPv6 loopback
 * Anything else, a non-loopback address in particular, is refused. Pure. */
enum metrics_listen_kind { MX_LISTEN_OFF, MX_LISTEN_UNIX, MX_LISTEN_INET, MX_LISTEN_INET6 };
struct metrics_listen {
	enum metrics_listen_kind kind;
	char path[108];          /* MX_LISTEN_UNIX: sun_path's size */
	unsigned char addr[16];  /* network order: 4 bytes for INET, 16 for INET6 */
	uint16_t port;
};
int metrics_listen_parse(const char *spec, struct metrics_listen *out, struct err *e);
/* The address back as text, as metrics_listen_parse reads it. */
void metrics_listen_format(const struct metrics_listen *l, char *buf, size_t len);

#endif
