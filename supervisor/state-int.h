/* Private to the state store's files (state*.c): the handle and SQLite helpers. */
#ifndef OUTPOST_STATE_INT_H
#define OUTPOST_STATE_INT_H

#include <sqlite3.h>

#include "state.h"

struct state {
	sqlite3 *db;
	char *path;
};

/* The migrations: migration[i] takes user_version i to i + 1. */
extern const char *const state_migrations[STATE_SCHEMA_VERSION];

/* Fills `e` from the connection's last error: "<what>: <sqlite message>". A
 * constraint violation is EXIT_REFUSED (the schema's CHECKs are the second line
 * of validation); anything else EXIT_RUNTIME. Returns -1. */
int state_sql_fail(struct state *st, struct err *e, const char *what);

/* Prepares `sql`; on failure fills `e` and returns NULL. */
sqlite3_stmt *state_prepare(struct state *st, const char *sql, struct err *e);

/* Steps a statement that returns no rows, finalizes it. 0 or -1 with `e`. */
int state_exec_stmt(struct state *st, sqlite3_stmt *s, const char *what, struct err *e);

/* sqlite3_column_text as a C string, "" for NULL; copy into a fixed buffer. */
void state_col_copy(sqlite3_stmt *s, int col, char *out, size_t size);

/* Steps `s` to the end, collecting each row into a growing array of `size`-byte
 * zeroed records filled by `row`; finalizes `s`. free(*out). */
int state_collect(struct state *st, sqlite3_stmt *s, size_t size,
		  void (*row)(sqlite3_stmt *, void *), void **out, size_t *n, const char *what,
		  struct err *e);

/* "tenant '<name>': <why>" (the name quoted), EXIT_REFUSED; returns -ENOENT. */
int state_no_row(struct err *e, const char *name, const char *why);

int64_t state_now(void);

#endif
