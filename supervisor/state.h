/* The desired-state store: one SQLite file (default /var/lib/outpost/state.db).
 *
 * Who writes what: the CLI (or an operator's own tool) writes tenants; the
 * daemon writes tenant_status, component_status and most events. Anything read
 * back is re-validated, because another tool may have written the file.
 *
 * Concurrency: WAL mode, so readers never block the writer; busy_timeout waits
 * for the lock instead of failing with "database is locked"; writers should take
 * the lock up front with state_begin() (BEGIN IMMEDIATE) so a read-then-write
 * transaction can never deadlock into SQLITE_BUSY. A single call outside an
 * explicit transaction is its own transaction.
 *
 * Errors: every function returns 0 or negative and fills `e` ("<what>: <why>");
 * -ENOENT means "no such row" (the message says which), with EXIT_REFUSED.
 * Times are Unix seconds (UTC).
 *
 * Change detection for the daemon: poll state_data_version() (cheap: no I/O
 * beyond the WAL index); it changes whenever ANOTHER connection committed, so
 * the daemon's own status writes do not wake it up. */
#ifndef OUTPOST_STATE_H
#define OUTPOST_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "tenant.h"

/* The schema version this code writes (PRAGMA user_version). */
#define STATE_SCHEMA_VERSION 4
/* Events kept per tenant; older ones are dropped on insert (by a trigger, so any
 * writer obeys it). */
#define STATE_EVENTS_PER_TENANT 100
#define STATE_BUSY_TIMEOUT_MS 15000

struct state;

enum state_open_flags {
	STATE_OPEN_EXISTING = 0, /* fail with a clear message if the file is missing */
	STATE_OPEN_CREATE = 1,   /* create the directory (0700) and the file (0600) */
};

/* Opens (and migrates to STATE_SCHEMA_VERSION) the store at `path`. A file of a
 * newer schema than this code knows is refused. */
int state_open(const char *path, enum state_open_flags flags, struct state **out, struct err *e);
void state_close(struct state *st); /* NULL is fine; rolls back an open transaction */
const char *state_path(const struct state *st);

/* Transactions. state_begin takes the write lock now (BEGIN IMMEDIATE);
 * state_begin_read gives a consistent snapshot for several reads. */
int state_begin(struct state *st, struct err *e);
int state_begin_read(struct state *st, struct err *e);
int state_commit(struct state *st, struct err *e);
void state_rollback(struct state *st); /* no-op outside a transaction */

/* PRAGMA data_version: changes when another connection commits. */
int state_data_version(struct state *st, int64_t *out, struct err *e);
/* Whether the desired state holds what no reconcile pass has looked at yet:
 * a tenant without a status row or with a generation newer than observed,
 * or the row of a removed tenant not yet Deleting. By content, so unlike
 * data_version it cannot be missed by a process that looks late. */
int state_desired_unobserved(struct state *st, bool *out, struct err *e);

/* ---- plans ---- */
int state_plan_get(struct state *st, const char *name, struct plan *out, struct err *e);
/* All plans, ordered by cpu request then name; free(*out). */
int state_plan_list(struct state *st, struct plan **out, size_t *n, struct err *e);

/* ---- tenants (desired) ---- */
/* Loads one tenant (validated: t->invalid set if the row breaks the rules).
 * -ENOENT if there is none. `out` is cleared first. */
int state_tenant_get(struct state *st, const char *name, struct tenant *out, struct err *e);
/* Every tenant, ordered by name. A row that breaks validation is returned with
 * `invalid` naming the field instead of failing the load (the daemon marks that
 * tenant Failed and carries on). */
int state_tenant_list(struct state *st, struct tenant_list *out, struct err *e);
/* How many desired tenants there are, without reading them. */
int state_tenant_count(struct state *st, int64_t *out, struct err *e);
/* Inserts a new tenant: generation 1, created_at = updated_at = now (written back
 * into `t`). The caller validates first; a duplicate name or host is refused
 * (EXIT_REFUSED) as a second line of defence. */
int state_tenant_insert(struct state *st, struct tenant *t, struct err *e);
/* Replaces the desired fields of an existing tenant and bumps its generation
 * (written back into `t`). -ENOENT if it does not exist. */
int state_tenant_update(struct state *st, struct tenant *t, struct err *e);
/* Deletes the desired row (status and events stay: the daemon still has to tear
 * the tenant down and report it). -ENOENT if it does not exist. */
int state_tenant_delete(struct state *st, const char *name, struct err *e);
/* The tenant other than `except` (may be NULL) that uses `host`: *owner is set to
 * a malloc'd name, or NULL when the host is free. */
int state_tenant_host_owner(struct state *st, const char *host, const char *except,
			    char **owner, struct err *e);

/* ---- tenant status (observed; written by the daemon) ---- */
enum tenant_phase {
	TENANT_PHASE_PENDING,
	TENANT_PHASE_PROVISIONING,
	TENANT_PHASE_READY,
	TENANT_PHASE_FAILED,
	TENANT_PHASE_DELETING,
};
const char *tenant_phase_name(enum tenant_phase p);
/* Returns 0 and sets *p, or -1 for an unknown name. */
int tenant_phase_parse(const char *s, enum tenant_phase *p);

struct tenant_status {
	char name[256];
	enum tenant_phase phase;
	char message[1024]; /* longer messages are cut when written */
	int64_t observed_generation;
	int64_t updated_at; /* set by state_status_upsert */
};

/* Inserts or replaces the status row of s->name; updated_at = now. */
int state_status_upsert(struct state *st, const struct tenant_status *s, struct err *e);
/* -ENOENT when the tenant has no status yet. */
int state_status_get(struct state *st, const char *name, struct tenant_status *out,
		     struct err *e);
int state_status_delete(struct state *st, const char *name, struct err *e);
/* All status rows ordered by name; free(*out). */
int state_status_list(struct state *st, struct tenant_status **out, size_t *n, struct err *e);
/* Tenants by phase (counts[phase], TENANT_PHASE_DELETING + 1 of them), as
 * `outpost status` shows them: a desired tenant without a status row is
 * Pending. One query, nothing else read (state-count.c). */
int state_status_count(struct state *st, uint64_t *counts, struct err *e);

/* ---- tenant certificates (schema v3; written by the daemon) ---- */
struct tenant_certificate {
	char name[256];
	char source[16];   /* "ca" (the appliance CA's) or "operator" (tls import) */
	int64_t not_after; /* Unix time */
};

/* Records the certificate tenant c->name's host is served with: 1 when the
 * row changed, 0 when it already said so, -1 with e set. The row goes when
 * the tenant's status row does. */
int state_certificate_set(struct state *st, const struct tenant_certificate *c, struct err *e);
/* All rows ordered by name; free(*out). */
int state_certificate_list(struct state *st, struct tenant_certificate **out, size_t *n,
			   struct err *e);

/* ---- events (append-only, newest STATE_EVENTS_PER_TENANT kept per tenant) ---- */
struct state_event {
	int64_t id;         /* increasing */
	char tenant[256];   /* "" for events about the appliance itself */
	int64_t at;
	char type[16];      /* "Normal" or "Warning" */
	char reason[64];    /* CamelCase, e.g. "Created", "ApplyFailed" */
	char message[1024];
};

/* `tenant` may be NULL (appliance-wide); `warning` picks the type. */
int state_event_append(struct state *st, const char *tenant, bool warning, const char *reason,
		       struct err *e, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* The newest `limit` events (of `tenant`, or of all when NULL), oldest first; free(*out). */
int state_event_list(struct state *st, const char *tenant, size_t limit,
		     struct state_event **out, size_t *n, struct err *e);

/* ---- component status (schema v2; written by the supervisor) ---- */
struct component_status {
	char name[64];      /* "k3s", "api", "postgresql", ... */
	char phase[32];     /* free text, e.g. Pending, Starting, Ready, Failed, Stopped */
	char message[1024];
	int64_t pid;        /* 0 when not a child process or not running */
	int64_t restarts;
	int64_t started_at; /* 0 when not started */
	int64_t updated_at; /* set by state_component_upsert */
};

int state_component_upsert(struct state *st, const struct component_status *c, struct err *e);
/* A row with these texts and every number 0. */
void state_component_fill(struct component_status *r, const char *name, const char *phase,
			  const char *message);
/* Writes the rows of next[] that differ from last[] (the rows this process
 * wrote before) in one transaction, and copies them into last[]. On failure
 * last[] is cleared, so that everything is written the next time. */
int state_component_sync(struct state *st, struct component_status *last,
			 const struct component_status *next, size_t n, struct err *e);
/* Fills last[i] from the row named last[i].name where the file has one (and
 * clears it where not), so a process that takes over rows from an earlier
 * one writes only changes. */
int state_component_seed(struct state *st, struct component_status *last, size_t n,
			 struct err *e);
/* All rows ordered by name; free(*out). */
int state_component_list(struct state *st, struct component_status **out, size_t *n,
			 struct err *e);

#endif
