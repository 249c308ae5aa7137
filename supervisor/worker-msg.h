/* What the worker tells the supervising process, one text line at a time on
 * a pipe (pure formatting and parsing; see worker.c and supervise.c):
 *
 *   view <api 0|1> <platform ready> <platform total> <tenants|-1> <failed|-> <reason>
 *   alive
 *   idle <next pass µs|-> <next full pass µs|-> <retry delay µs>
 *   metric ...
 *
 * `view` whenever the worker's view changes: the supervising process makes
 * STATUS= and READY=1 from it. `alive` while a long poll or pass goes on, so
 * that a hung worker is told from a busy one. `idle` last, before the worker
 * exits because nothing is due before its next health check. `metric` lines
 * carry the figures of the metrics endpoint (metrics.h formats and reads them). */
#ifndef OUTPOST_WORKER_MSG_H
#define OUTPOST_WORKER_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "worker-timing.h"

#define WORKER_MSG_MAX 512 /* a line, newline included, is never longer */

struct worker_view {
	bool api;
	size_t plat_ready, plat_n;
	long tenants;     /* -1: not known yet */
	char failed[64];  /* the first failed component, or "" */
	char reason[256]; /* why it failed */
};

enum worker_msg { WORKER_MSG_BAD, WORKER_MSG_VIEW, WORKER_MSG_ALIVE, WORKER_MSG_IDLE, WORKER_MSG_METRIC };

/* Format one line (with its newline) into buf[WORKER_MSG_MAX]; return its length. */
size_t worker_msg_view(char *buf, const struct worker_view *v);
/* The idle line: what the next worker takes over; "-" is WORKER_TIMING_NONE. */
size_t worker_msg_idle(char *buf, const struct worker_timing *idle);

/* Parses one line (without its newline) into *v or *idle, whichever it is;
 * a `metric` line is only recognised (its words start at line + 7). */
enum worker_msg worker_msg_parse(const char *line, struct worker_view *v, struct worker_timing *idle);

#endif
