/* What the daemon observes: tenant status, component status and events. */
#include "state-int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const phase_names[] = {
	[TENANT_PHASE_PENDING] = "Pending",     [TENANT_PHASE_PROVISIONING] = "Provisioning",
	[TENANT_PHASE_READY] = "Ready",         [TENANT_PHASE_FAILED] = "Failed",
	[TENANT_PHASE_DELETING] = "Deleting",
};

const char *tenant_phase_name(enum tenant_phase p)
{
	return (unsigned)p < sizeof(phase_names) / sizeof(phase_names[0]) ? phase_names[p] : "Unknown";
}

int tenant_phase_parse(const char *s, enum tenant_phase *p)
{
	for (size_t i = 0; i < sizeof(phase_names) / sizeof(phase_names[0]); i++)
		if (!strcmp(s, phase_names[i])) {
			*p = (enum tenant_phase)i;
			return 0;
		}
	return -1;
}

/* ---- tenant status ---- */

static void status_row(sqlite3_stmt *s, void *p)
{
	struct tenant_status *ts = p;
	const char *phase = (const char *)sqlite3_column_text(s, 1);

	state_col_copy(s, 0, ts->name, sizeof(ts->name));
	/* The CHECK constraint keeps phase to the five names. */
	if (!phase || tenant_phase_parse(phase, &ts->phase) < 0)
		ts->phase = TENANT_PHASE_FAILED;
	state_col_copy(s, 2, ts->message, sizeof(ts->message));
	ts->observed_generation = sqlite3_column_int64(s, 3);
	ts->updated_at = sqlite3_column_int64(s, 4);
}

#define STATUS_SELECT "SELECT name, phase, message, observed_generation, updated_at " \
	"FROM tenant_status "

int state_status_upsert(struct state *st, const struct tenant_status *ts, struct err *e)
{
	sqlite3_stmt *s = state_prepare(
		st, "INSERT OR REPLACE INTO tenant_status VALUES (?, ?, substr(?, 1, 1023), ?, ?)", e);

	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, ts->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, tenant_phase_name(ts->phase), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, ts->message, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, ts->observed_generation);
	sqlite3_bind_int64(s, 5, state_now());
	return state_exec_stmt(st, s, "state: write tenant status", e);
}

int state_status_get(struct state *st, const char *name, struct tenant_status *out,
		     struct err *e)
{
	sqlite3_stmt *s = state_prepare(st, STATUS_SELECT "WHERE name = ?", e);
	struct tenant_status *v;
	size_t n;

	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if (state_collect(st, s, sizeof(*v), status_row, (void **)&v, &n, "state: read tenant status",
		    e) < 0)
		return -1;
	if (n == 0)
		return state_no_row(e, name, "no status yet");
	*out = v[0];
	free(v);
	return 0;
}

int state_status_delete(struct state *st, const char *name, struct err *e)
{
	sqlite3_stmt *s = state_prepare(st, "DELETE FROM tenant_status WHERE name = ?", e);

	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	return state_exec_stmt(st, s, "state: delete tenant status", e);
}

int state_status_list(struct state *st, struct tenant_status **out, size_t *n, struct err *e)
{
	sqlite3_stmt *s = state_prepare(st, STATUS_SELECT "ORDER BY name", e);

	if (!s)
		return -1;
	return state_collect(st, s, sizeof(**out), status_row, (void **)out, n,
		       "state: read tenant status", e);
}

/* ---- tenant certificates ---- */

int state_certificate_set(struct state *st, const struct tenant_certificate *c, struct err *e)
{
	/* The WHERE keeps a pass in sync from writing (or waking anyone). */
	sqlite3_stmt *s = state_prepare(
		st, "INSERT INTO tenant_certificates VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE "
		    "SET source = excluded.source, not_after = excluded.not_after, "
		    "updated_at = excluded.updated_at "
		    "WHERE source != excluded.source OR not_after != excluded.not_after", e);

	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, c->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, c->source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, c->not_after);
	sqlite3_bind_int64(s, 4, state_now());
	if (state_exec_stmt(st, s, "state: write tenant certificate", e) < 0)
		return -1;
	return sqlite3_changes(st->db) > 0;
}

static void certificate_row(sqlite3_stmt *s, void *p)
{
	struct tenant_certificate *c = p;

	state_col_copy(s, 0, c->name, sizeof(c->name));
	state_col_copy(s, 1, c->source, sizeof(c->source));
	c->not_after = sqlite3_column_int64(s, 2);
}

int state_certificate_list(struct state *st, struct tenant_certificate **out, size_t *n,
			   struct err *e)
{
	sqlite3_stmt *s = state_prepare(
		st, "SELECT name, source, not_after FROM tenant_certificates ORDER BY name", e);

	if (!s)
		return -1;
	return state_collect(st, s, sizeof(**out), certificate_row, (void **)out, n,
			     "state: read tenant certificates", e);
}

/* ---- events ---- */

static void event_row(sqlite3_stmt *s, void *p)
{
	struct state_event *ev = p;

	ev->id = sqlite3_column_int64(s, 0);
	state_col_copy(s, 1, ev->tenant, sizeof(ev->tenant));
	ev->at = sqlite3_column_int64(s, 2);
	state_col_copy(s, 3, ev->type, sizeof(ev->type));
	state_col_copy(s, 4, ev->reason, sizeof(ev->reason));
	state_col_copy(s, 5, ev->message, sizeof(ev->message));
}

int state_event_append(struct state *st, const char *tenant, bool warning, const char *reason,
		       struct err *e, const char *fmt, ...)
{
	char msg[1024];
	sqlite3_stmt *s;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s = state_prepare(st, "INSERT INTO events (tenant, at, type, reason, message) "
			  "VALUES (?, ?, ?, ?, ?)", e);
	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, tenant ? tenant : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, state_now());
	sqlite3_bind_text(s, 3, warning ? "Warning" : "Normal", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, msg, -1, SQLITE_STATIC);
	return state_exec_stmt(st, s, "state: append event", e);
}

int state_event_list(struct state *st, const char *tenant, size_t limit,
		     struct state_event **out, size_t *n, struct err *e)
{
	sqlite3_stmt *s = state_prepare(
		st, "SELECT * FROM (SELECT id, tenant, at, type, reason, message FROM events "
		    "WHERE ?1 IS NULL OR tenant = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id", e);

	if (!s)
		return -1;
	if (tenant)
		sqlite3_bind_text(s, 1, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	return state_collect(st, s, sizeof(**out), event_row, (void **)out, n, "state: read events", e);
}

/* ---- component status ---- */

static void component_row(sqlite3_stmt *s, void *p)
{
	struct component_status *c = p;

	state_col_copy(s, 0, c->name, sizeof(c->name));
	state_col_copy(s, 1, c->phase, sizeof(c->phase));
	state_col_copy(s, 2, c->message, sizeof(c->message));
	c->pid = sqlite3_column_int64(s, 3);
	c->restarts = sqlite3_column_int64(s, 4);
	c->started_at = sqlite3_column_int64(s, 5);
	c->updated_at = sqlite3_column_int64(s, 6);
}

int state_component_upsert(struct state *st, const struct component_status *c, struct err *e)
{
	sqlite3_stmt *s = state_prepare(
		st, "INSERT OR REPLACE INTO component_status "
		    "VALUES (?, ?, substr(?, 1, 1023), ?, ?, ?, ?)", e);

	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, c->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, c->phase, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, c->message, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, c->pid);
	sqlite3_bind_int64(s, 5, c->restarts);
	sqlite3_bind_int64(s, 6, c->started_at);
	sqlite3_bind_int64(s, 7, state_now());
	return state_exec_stmt(st, s, "state: write component status", e);
}

int state_component_list(struct state *st, struct component_status **out, size_t *n,
			 struct err *e)
{
	sqlite3_stmt *s = state_prepare(
		st, "SELECT name, phase, message, pid, restarts, started_at, updated_at "
		    "FROM component_status ORDER BY name", e);

	if (!s)
		return -1;
	return state_collect(st, s, sizeof(**out), component_row, (void **)out, n,
		       "state: read component status", e);
}

void state_component_fill(struct component_status *r, const char *name, const char *phase,
			  const char *message)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->phase, sizeof(r->phase), "%s", phase);
	snprintf(r->message, sizeof(r->message), "%s", message);
}

static bool component_same(const struct component_status *a, const struct component_status *b)
{
	return !strcmp(a->name, b->name) && !strcmp(a->phase, b->phase) &&
	       !strncmp(a->message, b->message, 1023) && a->pid == b->pid &&
	       a->restarts == b->restarts && a->started_at == b->started_at;
}

int state_component_sync(struct state *st, struct component_status *last,
			 const struct component_status *next, size_t n, struct err *e)
{
	bool began = false;

	for (size_t i = 0; i < n; i++) {
		if (component_same(&last[i], &next[i]))
			continue;
		if (!began && state_begin(st, e) < 0)
			goto fail;
		began = true;
		if (state_component_upsert(st, &next[i], e) < 0)
			goto fail;
	}
	if (began && state_commit(st, e) < 0)
		goto fail;
	memcpy(last, next, n * sizeof(*last));
	return 0;
fail:
	if (began)
		state_rollback(st);
	memset(last, 0, n * sizeof(*last)); /* rewrite everything next time */
	return -1;
}

int state_component_seed(struct state *st, struct component_status *last, size_t n,
			 struct err *e)
{
	struct component_status *rows;
	size_t nrows;

	if (state_component_list(st, &rows, &nrows, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t j = 0;
		while (j < nrows && strcmp(last[i].name, rows[j].name))
			j++;
		if (j < nrows)
			last[i] = rows[j];
		else
			memset(&last[i], 0, sizeof(last[i])); /* no row yet: write it */
	}
	free(rows);
	return 0;
}
