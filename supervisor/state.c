/* Opening the store: files and permissions, connection settings, migrations,
 * transactions and change detection. The tables' own code is in state-*.c. */
#include "state-int.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int64_t state_now(void)
{
	return (int64_t)time(NULL);
}

int state_no_row(struct err *e, const char *name, const char *why)
{
	char q[TENANT_QUOTE_SIZE];

	err_set(e, EXIT_REFUSED, "tenant '%s': %s", tenant_quote(name, q), why);
	return -ENOENT;
}

int state_sql_fail(struct state *st, struct err *e, const char *what)
{
	int code = sqlite3_extended_errcode(st->db);

	if ((code & 0xff) == SQLITE_BUSY)
		return err_set(e, EXIT_RUNTIME,
			       "%s: the state file stayed locked by another writer for %d s",
			       what, STATE_BUSY_TIMEOUT_MS / 1000);
	return err_set(e, (code & 0xff) == SQLITE_CONSTRAINT ? EXIT_REFUSED : EXIT_RUNTIME,
		       "%s: %s", what, sqlite3_errmsg(st->db));
}

sqlite3_stmt *state_prepare(struct state *st, const char *sql, struct err *e)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		state_sql_fail(st, e, "state: prepare");
		return NULL;
	}
	return s;
}

int state_exec_stmt(struct state *st, sqlite3_stmt *s, const char *what, struct err *e)
{
	int rc = sqlite3_step(s);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		state_sql_fail(st, e, what);
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	return 0;
}

void state_col_copy(sqlite3_stmt *s, int col, char *out, size_t size)
{
	const unsigned char *v = sqlite3_column_text(s, col);

	snprintf(out, size, "%s", v ? (const char *)v : "");
}

/* Collects every row of `s` into a growing array of `size`-byte records filled
 * by `row`; the statement is finalized. */
int state_collect(struct state *st, sqlite3_stmt *s, size_t size,
		   void (*row)(sqlite3_stmt *, void *), void **out, size_t *n, const char *what,
		   struct err *e)
{
	char *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			char *nv = realloc(v, cap * size);
			if (!nv) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = nv;
		}
		memset(v + cnt * size, 0, size);
		row(s, v + cnt * size);
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		if (rc == SQLITE_NOMEM)
			err_errno(e, ENOMEM, "%s", what);
		else
			state_sql_fail(st, e, what);
		sqlite3_finalize(s);
		free(v);
		return -1;
	}
	sqlite3_finalize(s);
	*out = v;
	*n = cnt;
	return 0;
}

static int exec(struct state *st, const char *sql, const char *what, struct err *e)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return state_sql_fail(st, e, what);
	return 0;
}

static int get_int(struct state *st, const char *sql, int64_t *out, struct err *e)
{
	sqlite3_stmt *s = state_prepare(st, sql, e);
	int rc;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		state_sql_fail(st, e, sql);
		sqlite3_finalize(s);
		return -1;
	}
	*out = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return 0;
}

/* Runs the migrations the file lacks, each in its own write transaction that
 * re-reads the version under the lock, so two processes opening an old file at
 * once migrate it exactly once. */
static int migrate(struct state *st, struct err *e)
{
	int64_t v;

	/* The common case, an up-to-date file, takes no write lock. */
	if (get_int(st, "PRAGMA user_version", &v, e) < 0)
		return err_prefix(e, "state %s", st->path);
	if (v == STATE_SCHEMA_VERSION)
		return 0;
	for (;;) {
		if (state_begin(st, e) < 0)
			return -1;
		if (get_int(st, "PRAGMA user_version", &v, e) < 0)
			goto fail;
		if (v > STATE_SCHEMA_VERSION) {
			err_set(e, EXIT_RUNTIME,
				"state %s: schema version %lld is newer than this outpost knows (%d); "
				"upgrade outpost", st->path, (long long)v, STATE_SCHEMA_VERSION);
			goto fail;
		}
		if (v < 0) {
			err_set(e, EXIT_RUNTIME, "state %s: bad schema version %lld", st->path,
				(long long)v);
			goto fail;
		}
		if (v == STATE_SCHEMA_VERSION) {
			state_rollback(st);
			return 0;
		}
		char bump[64];
		snprintf(bump, sizeof(bump), "PRAGMA user_version = %lld", (long long)v + 1);
		if (exec(st, state_migrations[v], "state: migrate schema", e) < 0 ||
		    exec(st, bump, "state: migrate schema", e) < 0 || state_commit(st, e) < 0)
			goto fail;
	}
fail:
	state_rollback(st);
	return err_prefix(e, "state %s", st->path);
}

static int make_parent(const char *path, struct err *e)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (!slash || slash == path)
		return 0;
	if ((size_t)(slash - path) >= sizeof(dir))
		return err_set(e, EXIT_RUNTIME, "state %s: path too long", path);
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return util_mkdir_p(dir, 0700, e);
}

static int configure(struct state *st, struct err *e)
{
	int64_t fk;
	sqlite3_stmt *s;
	int rc;

	sqlite3_busy_timeout(st->db, STATE_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(st->db, 1);
	/* journal_mode answers with the mode now in force; anything but "wal" means
	 * the file is somewhere WAL cannot work (e.g. a network file system). */
	s = state_prepare(st, "PRAGMA journal_mode = WAL", e);
	if (!s)
		return -1;
	/* Switching a new file to WAL needs an exclusive lock, and SQLite answers
	 * SQLITE_BUSY at once instead of calling the busy handler when another
	 * process is creating the same file: wait for it here. */
	for (int waited = 0;; waited += 10) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_BUSY || waited >= STATE_BUSY_TIMEOUT_MS)
			break;
		sqlite3_reset(s);
		usleep(10 * 1000);
	}
	if (rc != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(s, 0), "wal") != 0) {
		if (rc != SQLITE_ROW)
			state_sql_fail(st, e, "state: enable WAL");
		else
			err_set(e, EXIT_RUNTIME, "state: cannot use WAL mode (journal mode is '%s')",
				sqlite3_column_text(s, 0));
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	/* FULL: a commit is on disk when the CLI says so, also across power loss. */
	if (exec(st, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", "state: configure",
		 e) < 0)
		return -1;
	if (get_int(st, "PRAGMA foreign_keys", &fk, e) < 0)
		return -1;
	if (fk != 1)
		return err_set(e, EXIT_RUNTIME, "state: this SQLite cannot enforce foreign keys");
	return 0;
}

int state_open(const char *path, enum state_open_flags flags, struct state **out, struct err *e)
{
	struct state *st;
	struct stat sb;
	bool created = false;
	mode_t old_umask;
	int rc;

	*out = NULL;
	if (stat(path, &sb) < 0) {
		if (errno != ENOENT)
			return err_errno(e, errno, "state %s", path);
		if (!(flags & STATE_OPEN_CREATE))
			return err_set(e, EXIT_RUNTIME,
				       "state %s: does not exist (no tenant has been added yet, or "
				       "--state/OUTPOST_STATE points elsewhere)", path);
		if (make_parent(path, e) < 0)
			return err_prefix(e, "state %s", path);
		created = true;
	} else if (!S_ISREG(sb.st_mode)) {
		return err_set(e, EXIT_RUNTIME, "state %s: not a regular file", path);
	}
	st = calloc(1, sizeof(*st));
	if (!st || !(st->path = strdup(path))) {
		free(st);
		return err_errno(e, ENOMEM, "state %s", path);
	}
	/* SQLite creates the file with 0644 & ~umask and gives -wal/-shm the main
	 * file's mode; a tight umask here makes all three 0600 from their first byte. */
	old_umask = umask(077);
	rc = sqlite3_open_v2(path, &st->db,
			     SQLITE_OPEN_READWRITE | (created ? SQLITE_OPEN_CREATE : 0) |
				     SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_FULLMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		/* "unable to open database file" says less than the errno behind it
		 * (permission denied, read-only file system). */
		int sys = st->db ? sqlite3_system_errno(st->db) : 0;
		umask(old_umask);
		if (sys)
			err_errno(e, sys, "state %s: open", path);
		else
			err_set(e, EXIT_RUNTIME, "state %s: open: %s", path,
				st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		state_close(st);
		return -1;
	}
	rc = configure(st, e);
	umask(old_umask);
	if (rc < 0) {
		err_prefix(e, "state %s", path);
		state_close(st);
		return -1;
	}
	if (migrate(st, e) < 0) {
		state_close(st);
		return -1;
	}
	*out = st;
	return 0;
}

void state_close(struct state *st)
{
	if (!st)
		return;
	state_rollback(st);
	sqlite3_close_v2(st->db);
	free(st->path);
	free(st);
}

const char *state_path(const struct state *st)
{
	return st->path;
}

int state_begin(struct state *st, struct err *e)
{
	return exec(st, "BEGIN IMMEDIATE", "state: begin write transaction", e);
}

int state_begin_read(struct state *st, struct err *e)
{
	return exec(st, "BEGIN DEFERRED", "state: begin transaction", e);
}

int state_commit(struct state *st, struct err *e)
{
	if (exec(st, "COMMIT", "state: commit", e) < 0) {
		state_rollback(st);
		return -1;
	}
	return 0;
}

void state_rollback(struct state *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

int state_data_version(struct state *st, int64_t *out, struct err *e)
{
	return get_int(st, "PRAGMA data_version", out, e);
}

int state_tenant_count(struct state *st, int64_t *out, struct err *e)
{
	return get_int(st, "SELECT count(*) FROM tenants", out, e);
}

int state_desired_unobserved(struct state *st, bool *out, struct err *e)
{
	int64_t v;

	if (get_int(st, "SELECT EXISTS (SELECT 1 FROM tenants t LEFT JOIN tenant_status s "
			"ON s.name = t.name WHERE s.name IS NULL OR s.observed_generation < t.generation) "
			"OR EXISTS (SELECT 1 FROM tenant_status s WHERE s.phase != 'Deleting' "
			"AND NOT EXISTS (SELECT 1 FROM tenants t WHERE t.name = s.name))", &v, e) < 0)
		return -1;
	*out = v != 0;
	return 0;
}
