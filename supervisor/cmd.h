/* The top-level commands, one file each (cmd-<name>.c). */
#ifndef OUTPOST_CMD_H
#define OUTPOST_CMD_H

#include "cli.h"

int cmd_version(struct cli *cli, int argc, char **argv);
int cmd_reconcile(struct cli *cli, int argc, char **argv);
int cmd_tenant(struct cli *cli, int argc, char **argv);
int cmd_capacity(struct cli *cli, int argc, char **argv);
int cmd_bundle(struct cli *cli, int argc, char **argv);
int cmd_supervise(struct cli *cli, int argc, char **argv);
int cmd_install(struct cli *cli, int argc, char **argv);
int cmd_rollback(struct cli *cli, int argc, char **argv);
int cmd_ca(struct cli *cli, int argc, char **argv);
int cmd_tls(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_reset(struct cli *cli, int argc, char **argv);
int cmd_support_bundle(struct cli *cli, int argc, char **argv);
int cmd_backup(struct cli *cli, int argc, char **argv);
int cmd_restore(struct cli *cli, int argc, char **argv);
int cmd_top(struct cli *cli, int argc, char **argv);

#endif
