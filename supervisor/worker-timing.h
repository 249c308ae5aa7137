/* What one worker hands to the next about the reconciler's schedule: the
 * `idle` line a worker ends with (worker-msg.h), the options the supervising
 * process starts the next one with (--full-in, --due-in, --retry-ms), and
 * the reconciler's first pass (reconcile_config.handover) all carry this,
 * in one unit. */
#ifndef OUTPOST_WORKER_TIMING_H
#define OUTPOST_WORKER_TIMING_H

#include <stdint.h>

/* A deadline that is not set: nothing is scheduled, so whoever runs next
 * does the work at once (due_in: a pass; full_in: a full pass). */
#define WORKER_TIMING_NONE UINT64_MAX

/* Microseconds from the moment the timing is written or read. */
struct worker_timing {
	uint64_t due_in;  /* the next pass (a retry, a poll or the resync), or NONE */
	uint64_t full_in; /* the next full pass; NONE: the next pass is full */
	uint64_t retry;   /* the retry delay the back-off reached; 0: no retry pending */
};

/* The first worker's: a full pass at once, no back-off. */
#define WORKER_TIMING_FRESH ((struct worker_timing){ WORKER_TIMING_NONE, WORKER_TIMING_NONE, 0 })

#endif
