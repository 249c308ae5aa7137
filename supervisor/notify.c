#include "notify.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "log.h"

/* libsystemd's sd_notify handles path and abstract (@name) sockets and passes
 * our credentials, which NotifyAccess=main checks. unset_environment stays 0:
 * the variables are needed for every later message; k3s gets an environment
 * without them instead (supervise.c). */
static void send_msg(const char *msg)
{
	int r = sd_notify(0, msg);

	if (r < 0)
		log_debug("sd_notify(%s): %s", msg, strerror(-r));
}

void notify_init(struct notify *n)
{
	uint64_t usec = 0;

	memset(n, 0, sizeof(*n));
	/* > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID is unset or ours. */
	if (sd_watchdog_enabled(0, &usec) > 0)
		n->watchdog_usec = usec;
}

void notify_ready(struct notify *n)
{
	if (n->ready_sent)
		return;
	n->ready_sent = true;
	send_msg("READY=1");
}

void notify_status(struct notify *n, const char *fmt, ...)
{
	char text[sizeof(n->status)], msg[sizeof(n->status) + 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (!strcmp(text, n->status))
		return;
	memcpy(n->status, text, sizeof(text));
	snprintf(msg, sizeof(msg), "STATUS=%s", text);
	send_msg(msg);
}

void notify_watchdog(struct notify *n)
{
	(void)n;
	send_msg("WATCHDOG=1");
}

void notify_extend_timeout(struct notify *n, uint64_t usec)
{
	char msg[64];

	(void)n;
	snprintf(msg, sizeof(msg), "EXTEND_TIMEOUT_USEC=%" PRIu64, usec);
	send_msg(msg);
}

void notify_stopping(struct notify *n)
{
	(void)n;
	send_msg("STOPPING=1");
}
