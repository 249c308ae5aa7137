/* Shared by outpost install and outpost rollback (cmd-install.c, cmd-rollback.c). */
#ifndef OUTPOST_CMD_INSTALL_H
#define OUTPOST_CMD_INSTALL_H

#include "cli.h"

/* The bundle's Outpost package, if the live release under root has one,
 * becomes dpkg's installed outpost; *changed says whether dpkg ran. Rollback
 * passes allow_downgrade: going back is the point. */
int install_cmd_sync_package(struct cli *cli, const char *root, int allow_downgrade, int *changed);
/* Last of all, so the service starts on the new k3s files and the new Outpost
 * together: a restart, because enable --now leaves a running service on the
 * old binary. */
int install_cmd_restart_service(struct cli *cli);

#endif
