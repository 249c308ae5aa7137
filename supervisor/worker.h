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
#include "supervise-config.h"
#include "worker-timing.h"

/* Runs until idle (exit 0 after an `idle` line), SIGTERM, or the pipe `fd`
 * closing. Takes ownership of cfg. h is what it takes over from the last
 * worker's idle line, as the supervising process passes it on
 * (WORKER_TIMING_FRESH for the first). Returns 0, or -1 with e set. */
int worker_run(struct supervise_config *cfg, const struct probe *probe, supervise_reload_fn reload,
	       void *reload_ctx, int fd, const struct worker_timing *h, struct err *e);

#endif
