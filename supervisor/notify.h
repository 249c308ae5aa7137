/* The service manager's notification protocol (sd_notify): readiness, status
 * text, watchdog keep-alives, start-up extensions and stopping. Every call is
 * a no-op when $NOTIFY_SOCKET is unset, so the daemon runs the same outside
 * systemd (e.g. as PID 1 in a container). */
#ifndef OUTPOST_NOTIFY_H
#define OUTPOST_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

struct notify {
	bool ready_sent;
	char status[256];        /* last STATUS= sent: repeated texts are not re-sent */
	uint64_t watchdog_usec;  /* WATCHDOG_USEC when it applies to this process, else 0 */
};

/* Reads WATCHDOG_USEC/WATCHDOG_PID (sd_watchdog_enabled). */
void notify_init(struct notify *n);
/* READY=1, once: later calls are no-ops. */
void notify_ready(struct notify *n);
/* STATUS=<text>, only when the text changed. */
void notify_status(struct notify *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void notify_watchdog(struct notify *n);
void notify_extend_timeout(struct notify *n, uint64_t usec);
void notify_stopping(struct notify *n);

#endif
