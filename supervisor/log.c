#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

/* The logger is process-wide configuration set once at start-up, like syslog's openlog(). */
static struct {
	const char *ident;
	int verbosity;
	int journal;
} log_cfg = { "outpost", LOG_INFO, 0 };

/* systemd sets JOURNAL_STREAM=<dev>:<ino> for a service whose stderr is the
 * journal; checking the inode avoids using the journal when stderr was redirected. */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *ident, int verbosity)
{
	log_cfg.ident = ident ? ident : "outpost";
	log_cfg.verbosity = verbosity;
	log_cfg.journal = stderr_is_journal();
}

static const char *priority_name(int priority)
{
	switch (priority) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_NOTICE: case LOG_INFO: return "info";
	default: return "debug";
	}
}

void log_emit(int priority, const char *component, const char *tenant, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (priority > log_cfg.verbosity)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (log_cfg.journal) {
		sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", priority,
				"SYSLOG_IDENTIFIER=%s", log_cfg.ident,
				"OUTPOST_COMPONENT=%s", component ? component : "",
				"OUTPOST_TENANT=%s", tenant ? tenant : "", NULL);
		return;
	}
	fprintf(stderr, "%s: %s: %s%s%s%s%s%s%s\n", log_cfg.ident, priority_name(priority),
		component ? "[" : "", component ? component : "", component ? "] " : "",
		tenant ? "tenant " : "", tenant ? tenant : "", tenant ? ": " : "", msg);
}
