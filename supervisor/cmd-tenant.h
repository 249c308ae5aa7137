/* Shared by the tenant sub-command files (cmd-tenant*.c). */
#ifndef OUTPOST_CMD_TENANT_H
#define OUTPOST_CMD_TENANT_H

#include <limits.h>
#include <stdbool.h>

#include <jansson.h>

#include "admission.h"
#include "cli.h"
#include "jsonout.h"
#include "state.h"

/* Opens the existing store for a tenant command; the error names the sub-command. */
int tenant_cmd_open(struct cli *cli, const char *cmd, struct state **st);
/* Opens the store for a command that may create it. A store that does not
 * exist yet is built at <state>.new.<pid> (named in `fresh`) and linked into
 * place by tenant_cmd_finish only after a commit, so a refused command
 * leaves no file; link() never replaces a store created meanwhile. */
int tenant_cmd_open_write(struct cli *cli, const char *cmd, struct state **st,
			  char fresh[PATH_MAX]);
/* Closes `st` (NULL is fine) and, for a fresh store, puts it in place when
 * `committed`, removing the fresh file either way. -EEXIST when another
 * command created the store meanwhile: nothing changed, run again. */
int tenant_cmd_finish(struct cli *cli, const char *cmd, struct state *st, char fresh[PATH_MAX],
		      bool committed);
/* Runs `once`, and once more when it returned -EEXIST (see tenant_cmd_finish). */
int tenant_cmd_retry(struct cli *cli, cli_fn once, int argc, char **argv);
/* admission_load for the CLI's data directory, profile and state path. */
int tenant_cmd_admission(struct cli *cli, const char *cmd, struct admission *a);

int cmd_tenant_add(struct cli *cli, int argc, char **argv);
int cmd_tenant_set(struct cli *cli, int argc, char **argv);
int cmd_tenant_rm(struct cli *cli, int argc, char **argv);
int cmd_tenant_suspend(struct cli *cli, int argc, char **argv);
int cmd_tenant_resume(struct cli *cli, int argc, char **argv);
int cmd_tenant_sync(struct cli *cli, int argc, char **argv);
int cmd_tenant_list(struct cli *cli, int argc, char **argv);
int cmd_tenant_show(struct cli *cli, int argc, char **argv);
int cmd_tenant_import(struct cli *cli, int argc, char **argv);
int cmd_tenant_export(struct cli *cli, int argc, char **argv);

#endif
