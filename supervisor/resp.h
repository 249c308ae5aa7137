/* A small blocking client for Redis's protocol (RESP2), enough for the
 * backup: commands are arrays of binary-safe strings, replies are parsed
 * into a tree. Commands may be queued and their replies read later
 * (pipelining), which is what makes a DUMP per key affordable. */
#ifndef OUTPOST_RESP_H
#define OUTPOST_RESP_H

#include <stddef.h>

#include "err.h"

struct resp_reply {
	char type;           /* '+' status, '-' error, ':' integer, '$' bulk, '*' array */
	int nil;             /* a nil bulk or array */
	long long integer;   /* ':' */
	char *str;           /* '+', '-', '$': NUL-terminated, len bytes before it */
	size_t len;
	size_t n;            /* '*': elements */
	struct resp_reply *elem;
};

struct resp;

/* `addr` is a socket path (starting with '/') or HOST:PORT. A non-NULL
 * password is sent with AUTH (the default user) before anything else. */
int resp_connect(const char *addr, const char *password, struct resp **out, struct err *e);
/* The same protocol in a file (the Redis part of a backup is a stream of
 * commands): resp_send writes commands to it, resp_read reads them back as
 * arrays. Takes ownership of fd. */
int resp_open_file(int fd, struct resp **out, struct err *e);
/* 1 when a file stream has nothing more to read, 0 when it has, or -1. */
int resp_at_end(struct resp *r, struct err *e);
void resp_close(struct resp *r);

/* Queues one command; nothing is sent before resp_read or resp_flush. */
int resp_send(struct resp *r, size_t argc, const char *const argv[], const size_t lens[], struct err *e);
/* Like resp_send for NUL-terminated words. */
int resp_sendv(struct resp *r, struct err *e, const char *first, ...) __attribute__((sentinel));
int resp_flush(struct resp *r, struct err *e);

/* Reads the next reply (flushing first); free it with resp_reply_free. */
int resp_read(struct resp *r, struct resp_reply **out, struct err *e);
void resp_reply_free(struct resp_reply *rep);

/* resp_sendv and resp_read in one; a '-' reply is an error naming `first`. */
int resp_cmd(struct resp *r, struct resp_reply **out, struct err *e, const char *first, ...)
	__attribute__((sentinel));

#endif
