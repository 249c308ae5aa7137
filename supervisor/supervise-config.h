/* The configuration of `outpost supervise`: defaults < the file
 * (/etc/outpost/supervise.json) < the command line. Read by the supervising
 * process, by its worker, and again on SIGHUP. */
#ifndef OUTPOST_SUPERVISE_CONFIG_H
#define OUTPOST_SUPERVISE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "supervise.h"
#include "worker.h"

struct probe;

extern const char supervise_usage[];

struct supervise_args {
	struct cli *cli;
	int argc;
	char **argv;          /* from "supervise" on */
	/* Set by the parse: */
	bool help;
	int worker_fd;        /* --worker-fd: this process is the worker; -1 otherwise */
	struct worker_handover handover; /* --full-in, --due-in, --retry-ms */
	const char *outpost;  /* --outpost: the outpost program, for the supervising process */
	struct probe *probe;  /* the worker's, retargeted on reload */
};

/* Parses a->argv and the file it names into c (which the caller frees with
 * supervise_config_free). Returns 0, or -1 with e set (exit class usage). */
int supervise_config_build(struct supervise_args *a, struct supervise_config *c, struct err *e);

/* SIGHUP: the configuration again through `reload`, into *cur, keeping
 * cur's state path and platform file. On failure *cur is unchanged. */
int supervise_config_reload(supervise_reload_fn reload, void *ctx, struct supervise_config *cur,
			    struct err *e);

#endif
