/* The configuration of `outpost supervise`: defaults < the file
 * (/etc/outpost/supervise.json) < the command line. Read by the supervising
 * process, by its worker, and again on SIGHUP. */
#ifndef OUTPOST_SUPERVISE_CONFIG_H
#define OUTPOST_SUPERVISE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "backup-schedule.h"
#include "cli.h"
#include "err.h"
#include "metrics.h"
#include "supervise-machine.h"
#include "worker-timing.h"

struct probe;

enum ready_level {
	READY_API,      /* READY=1 once the API answers /readyz */
	READY_PLATFORM, /* ... and every platform component is ready */
};

struct supervise_config {
	char *k3s;            /* the k3s binary */
	char **k3s_args;      /* its arguments (NULL-terminated), e.g. {"server", NULL} */
	char *kubeconfig;     /* what k3s writes and the API probes use */
	char *images_dir;     /* k3s's agent/images: archives newer than the stamp mean an import */
	char *images_stamp;   /* touched once the API came up after an import */
	char *platform_file;  /* charts/platform.json */
	char *state_path;     /* the state file the status rows go to */
	enum ready_level ready;
	struct sv_params sv;
	uint64_t poll_busy;   /* API/platform poll while something is not ready */
	uint64_t poll_idle;   /* ... and once everything is */
	uint64_t component_timeout, component_retry;
	uint64_t worker_timeout; /* a worker that reports nothing this long is killed */
	uint64_t extend;      /* EXTEND_TIMEOUT_USEC while images are imported */
	char *datadir;        /* charts, for the reconciler */
	bool reconcile;       /* run the tenant reconciler once the API is ready */
	uint64_t reconcile_check; /* how often to ask the reconciler whether a pass is due */
	uint64_t resync;      /* the reconciler's full pass at least this often */
	struct metrics_listen metrics; /* the metrics endpoint (metrics-http.h); read once per process */
	enum backup_nightly backup_nightly; /* outpost-backup.timer (backup-schedule.h) */
	unsigned backup_keep; /* checked here, used by `outpost backup` */
};

void supervise_config_free(struct supervise_config *c);

/* SIGHUP re-reads the configuration through this callback (file + command line). */
typedef int (*supervise_reload_fn)(void *ctx, struct supervise_config *out, struct err *e);

extern const char supervise_usage[];

struct supervise_args {
	struct cli *cli;
	int argc;
	char **argv;          /* from "supervise" on */
	/* Set by the parse: */
	bool help;
	int worker_fd;        /* --worker-fd: this process is the worker; -1 otherwise */
	struct worker_timing handover; /* --full-in, --due-in, --retry-ms */
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
