/* outpost support-bundle: what a support engineer needs from a box, in one
 * tar.gz, with credentials redacted (redact.h). Each part is collected on
 * its own, bounded in time; a part that fails is listed in parts.txt with
 * its reason and the others are still written. */
#ifndef OUTPOST_SUPPORT_H
#define OUTPOST_SUPPORT_H

#include <stddef.h>

#include "err.h"

struct support_opts {
	const char *out_dir;         /* where the archive goes */
	const char *root;            /* prefix of the files read (os-release, install record) */
	const char *state_path;      /* the tenants' state file */
	const char *supervise_json;  /* supervise.json */
	const char *kubeconfig;      /* the cluster; NULL: KUBECONFIG_DEFAULT */
	const char *self;            /* this program, for `status --json` and `tenant export` */
	const char *datadir;         /* charts: the capacity budget the preflight table judges by */
	unsigned part_timeout_s;     /* each part's bound */
};

/* Writes outpost-support-<host>-<time>.tar.gz (0600, whole or not at all)
 * into o->out_dir; `path` gets its path and *failed the number of parts
 * that could not be collected. Returns 0, or -1 with `e` set when no
 * archive could be written. */
int support_bundle_write(const struct support_opts *o, char *path, size_t cap, int *failed,
			 struct err *e);

/* Parts made in this process (support-local.c): the preflight table, the
 * state file's events as JSON lines, and the last 64 KiB of each container
 * log of the platform's and tenants' pods under <root>/var/log/pods (16 MiB
 * in all). *data is the caller's to free. */
int support_preflight(const struct support_opts *o, char **data, size_t *len, struct err *e);
int support_events(const struct support_opts *o, char **data, size_t *len, struct err *e);
int support_pod_logs(const struct support_opts *o, char **data, size_t *len, struct err *e);

#endif
