/* Errors travel up as a return code plus one message; only the CLI (or the
 * daemon's main loop) decides what the user sees. */
#ifndef OUTPOST_ERR_H
#define OUTPOST_ERR_H

#include <stddef.h>

/* Process exit codes, shared by every command. */
enum outpost_exit {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1, /* something failed while doing the work */
	EXIT_USAGE = 2,   /* the command line is wrong */
	EXIT_REFUSED = 3, /* validation or capacity said no; nothing was written */
};

struct err {
	int exit_code;  /* one of enum outpost_exit */
	char msg[1024]; /* "<what>: <why>", no trailing newline */
};

/* Sets the message and exit class; returns -1 so callers can `return err_set(...)`. */
int err_set(struct err *e, int exit_code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like err_set with EXIT_RUNTIME, appending ": strerror(errnum)"; returns -errnum
 * (or -1 when errnum is 0). */
int err_errno(struct err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepends "<context>: " to the message already set (the caller adds what it
 * was doing); the exit class is kept. Returns -1. */
int err_prefix(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void err_clear(struct err *e);

#endif
