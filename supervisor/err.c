#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct err *e, int exit_code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	e->exit_code = exit_code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int err_errno(struct err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!e)
		return errnum ? -errnum : -1;
	e->exit_code = EXIT_RUNTIME;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	if (errnum && n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(errnum));
	return errnum ? -errnum : -1;
}

int err_prefix(struct err *e, const char *fmt, ...)
{
	char prefix[512];
	size_t plen, keep, cap;
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	plen = strlen(prefix) + 2; /* "<prefix>: " */
	cap = sizeof(e->msg) - 1;
	keep = strlen(e->msg);
	if (keep > cap - plen)
		keep = cap - plen; /* the tail of an overlong message is what gets cut */
	memmove(e->msg + plen, e->msg, keep);
	e->msg[plen + keep] = '\0';
	memcpy(e->msg, prefix, plen - 2);
	memcpy(e->msg + plen - 2, ": ", 2);
	return -1;
}

void err_clear(struct err *e)
{
	if (!e)
		return;
	e->exit_code = EXIT_OK;
	e->msg[0] = '\0';
}
