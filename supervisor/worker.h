/* The supervisor's worker: the part of `outpost supervise` that talks to the
 * Kubernetes API. It waits for /readyz, brings the platform up in dependency
 * order, runs the tenant reconciler and writes the api and component status
 * rows; it tells the supervising process what it sees on a pipe
 * (worker-msg.h), and exits once nothing is due before the next health check.
 *
 * Why a separate process: the supervising process (supervise.c) may be PID 1
 * and must stay small, responsive and alive. HTTP, TLS, JSON and YAML run
 * here, in a process that may block, crash or be killed without touching k3s
 * or the notify protocol, and whose memory is returned when it exits, so the
 * idle appliance costs only the supervising process. */
#ifndef OUTPOST_WORKER_H
#define OUTPOST_WORKER_H

#include <stdint.h>

#include "err.h"
#include "probe.h"
#include "supervise.h"

/* What a worker takes over from the last one's idle line, as the supervising
 * process passes it on (--full-in, --due-in, --retry-ms): see
 * reconcile_config's first_full_in_ms, first_due_in_ms and retry_ms. All 0
 * for the first worker: a full pass at once. */
struct worker_handover {
	uint64_t full_in_ms, due_in_ms;
	unsigned retry_ms;
};

/* Runs until idle (exit 0 after an `idle` line), SIGTERM, or the pipe `fd`
 * closing. Takes ownership of cfg. Returns 0, or -1 with e set. */
int worker_run(struct supervise_config *cfg, const struct probe *probe, supervise_reload_fn reload,
	       void *reload_ctx, int fd, const struct worker_handover *h, struct err *e);

#endif
