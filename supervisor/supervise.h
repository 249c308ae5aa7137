/* Supervision of the k3s server process: the supervising process feeds the
 * pure k3s machine (supervise-machine.h) and the worker's machine
 * (worker-machine.h) real events (child exits, signals, timers), carries out
 * their actions and runs the worker (worker.h) for the API work. */
#ifndef OUTPOST_SUPERVISE_H
#define OUTPOST_SUPERVISE_H

#include "err.h"
#include "supervise-config.h"

/* The supervising process (supervise.c): runs until SIGTERM/SIGINT; returns 0
 * after an orderly shutdown, -1 with e set when it could not start. Takes
 * ownership of cfg. worker_argv (NULL-terminated, kept) starts the worker
 * (worker.h), to which --worker-fd and --full-in are appended; NULL runs k3s
 * alone. */
int supervise_run(struct supervise_config *cfg, char *const *worker_argv,
		  supervise_reload_fn reload, void *reload_ctx, struct err *e);

#endif
