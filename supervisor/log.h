/* One small logging API for the whole program: journald (with structured
 * fields) when stderr is connected to the journal, plain stderr otherwise. */
#ifndef OUTPOST_LOG_H
#define OUTPOST_LOG_H

#include <syslog.h>

/* Chooses the sink: journald when $JOURNAL_STREAM names our stderr, else stderr.
 * `verbosity` is the highest syslog priority emitted (LOG_INFO by default). */
void log_init(const char *ident, int verbosity);

/* component and tenant may be NULL; they become OUTPOST_COMPONENT= and
 * OUTPOST_TENANT= journal fields, or a "[component] tenant:" prefix on stderr. */
void log_emit(int priority, const char *component, const char *tenant, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_err(...) log_emit(LOG_ERR, NULL, NULL, __VA_ARGS__)
#define log_warn(...) log_emit(LOG_WARNING, NULL, NULL, __VA_ARGS__)
#define log_info(...) log_emit(LOG_INFO, NULL, NULL, __VA_ARGS__)
#define log_debug(...) log_emit(LOG_DEBUG, NULL, NULL, __VA_ARGS__)

#endif
