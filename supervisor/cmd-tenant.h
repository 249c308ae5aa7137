/* Shared by the tenant sub-command files (cmd-tenant*.c). */
#ifndef OUTPOST_CMD_TENANT_H
#define OUTPOST_CMD_TENANT_H

#include <jansson.h>

#include "admission.h"
#include "cli.h"
#include "jsonout.h"
#include "state.h"

/* Opens the store for a tenant command; `create` for the writing commands. The
 * error names the sub-command. */
int tenant_cmd_open(struct cli *cli, const char *cmd, bool create, struct state **st);
/* admission_load for the CLI's data directory, profile and state path. */
int tenant_cmd_admission(struct cli *cli, const char *cmd, struct admission *a);

int cmd_tenant_add(struct cli *cli, int argc, char **argv);
int cmd_tenant_set(struct cli *cli, int argc, char **argv);
int cmd_tenant_rm(struct cli *cli, int argc, char **argv);
int cmd_tenant_suspend(struct cli *cli, int argc, char **argv);
int cmd_tenant_resume(struct cli *cli, int argc, char **argv);
int cmd_tenant_list(struct cli *cli, int argc, char **argv);
int cmd_tenant_show(struct cli *cli, int argc, char **argv);
int cmd_tenant_import(struct cli *cli, int argc, char **argv);
int cmd_tenant_export(struct cli *cli, int argc, char **argv);

#endif
