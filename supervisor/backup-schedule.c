/* See backup-schedule.h. */
#include "backup-schedule.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

int backup_schedule_parse_nightly(const char *what, const char *val, enum backup_nightly *out,
				  struct err *e)
{
	if (!strcmp(val, "on"))
		*out = NIGHTLY_ON;
	else if (!strcmp(val, "off"))
		*out = NIGHTLY_OFF;
	else
		return err_set(e, EXIT_USAGE, "%s: \"%s\" is not on or off", what, val);
	return 0;
}

int backup_schedule_parse_keep(const char *what, const char *val, unsigned *out, struct err *e)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(val, &end, 10);
	if (errno || end == val || *end || val[0] == '-' || v == 0 || v > BACKUP_KEEP_MAX)
		return err_set(e, EXIT_USAGE, "%s '%s': a count from 1 to %d", what, val, BACKUP_KEEP_MAX);
	*out = (unsigned)v;
	return 0;
}

int backup_schedule_apply(enum backup_nightly n, struct err *e)
{
	char *const argv[] = { "systemctl", n == NIGHTLY_ON ? "enable" : "disable", "--now", BACKUP_TIMER,
			       NULL };

	return n == NIGHTLY_UNSET ? 0 : run_argv(argv, NULL, 0, NULL, e);
}

int backup_schedule_keep(const char *path, unsigned *keep, struct err *e)
{
	json_error_t jerr;
	json_t *root, *v;
	char num[32];
	int rc = 0;

	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	if (!(root = json_load_file(path, 0, &jerr)))
		return err_set(e, EXIT_USAGE, "%s: line %d column %d: %s", path, jerr.line, jerr.column,
			       jerr.text);
	if ((v = json_object_get(root, "backup-keep"))) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		rc = json_is_integer(v) ? backup_schedule_parse_keep("\"backup-keep\"", num, keep, e)
					: err_set(e, EXIT_USAGE, "\"backup-keep\" is not a count");
		if (rc < 0)
			err_prefix(e, "%s", path);
	}
	json_decref(root);
	return rc;
}
