/* The nightly backup's settings in supervise.json: "backup-nightly" ("on"
 * or "off") switches outpost-backup.timer, which the supervising process
 * enables or disables with systemctl at its start and on SIGHUP (absent, the
 * timer is left as an administrator set it with systemctl); "backup-keep"
 * (a count) is the retention `outpost backup` uses when given no --keep,
 * which is how the timer's service runs it. */
#ifndef OUTPOST_BACKUP_SCHEDULE_H
#define OUTPOST_BACKUP_SCHEDULE_H

#include "err.h"

#define BACKUP_KEEP_DEFAULT 7
#define BACKUP_KEEP_MAX 1000
#define BACKUP_TIMER "outpost-backup.timer"

enum backup_nightly { NIGHTLY_UNSET = -1, NIGHTLY_OFF = 0, NIGHTLY_ON = 1 };

/* "on" or "off"; `what` names the setting in the message. */
int backup_schedule_parse_nightly(const char *what, const char *val, enum backup_nightly *out,
				  struct err *e);
/* A count from 1 to BACKUP_KEEP_MAX. */
int backup_schedule_parse_keep(const char *what, const char *val, unsigned *out, struct err *e);

/* systemctl enable --now / disable --now outpost-backup.timer. */
int backup_schedule_apply(enum backup_nightly n, struct err *e);

/* "backup-keep" from the supervise.json at `path`; *keep is left as it is
 * when the file or the key is not there. */
int backup_schedule_keep(const char *path, unsigned *keep, struct err *e);

#endif
