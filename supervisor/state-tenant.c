/* The plans and tenants tables. */
#include "state-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_COLS "name, cpu_request_m, cpu_limit_m, memory_request_mib, memory_limit_mib, " \
	"storage_gib, pods, max_replicas"
#define TENANT_COLS "name, host, plan, app_chart, app_version, values_json, suspended, " \
	"generation, created_at, updated_at"

static void plan_row(sqlite3_stmt *s, void *row)
{
	struct plan *p = row;

	state_col_copy(s, 0, p->name, sizeof(p->name));
	p->cpu_request_m = sqlite3_column_int64(s, 1);
	p->cpu_limit_m = sqlite3_column_int64(s, 2);
	p->memory_request_mib = sqlite3_column_int64(s, 3);
	p->memory_limit_mib = sqlite3_column_int64(s, 4);
	p->storage_gib = sqlite3_column_int64(s, 5);
	p->pods = sqlite3_column_int64(s, 6);
	p->max_replicas = sqlite3_column_int64(s, 7);
}

int state_plan_get(struct state *st, const char *name, struct plan *out, struct err *e)
{
	sqlite3_stmt *s = state_prepare(st, "SELECT " PLAN_COLS " FROM plans WHERE name = ?", e);
	int rc;

	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		plan_row(s, out);
	}
	else if (rc == SQLITE_DONE)
		err_set(e, EXIT_REFUSED, "plan '%s': no such plan", name);
	else
		state_sql_fail(st, e, "state: read plan");
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -1;
}

int state_plan_list(struct state *st, struct plan **out, size_t *n, struct err *e)
{
	sqlite3_stmt *s = state_prepare(
		st, "SELECT " PLAN_COLS " FROM plans ORDER BY cpu_request_m, name", e);

	if (!s)
		return -1;
	return state_collect(st, s, sizeof(**out), plan_row, (void **)out, n, "state: read plans", e);
}

static const char *col_str(sqlite3_stmt *s, int col)
{
	return (const char *)sqlite3_column_text(s, col);
}

/* The values column as --set pairs; a shape error becomes the tenant's
 * `invalid` reason rather than a load failure. */
static int values_from_json(struct tenant *t, const char *text)
{
	json_error_t jerr;
	json_t *obj = json_loads(text ? text : "{}", JSON_REJECT_DUPLICATES, &jerr);
	const char *key;
	json_t *v;
	int rc = 0;

	if (!obj || !json_is_object(obj)) {
		json_decref(obj);
		return tenant_set_str(&t->invalid, "values: not a JSON object");
	}
	json_object_foreach(obj, key, v) {
		if (!json_is_string(v)) {
			char why[TENANT_KEY_MAX + 64];
			snprintf(why, sizeof(why), "values: key '%.*s': value must be a string",
				 TENANT_KEY_MAX, key);
			rc = tenant_set_str(&t->invalid, why);
			break;
		}
		if ((rc = tenant_value_put(t, key, json_string_value(v))) < 0)
			break;
	}
	json_decref(obj);
	return rc;
}

static int tenant_row(sqlite3_stmt *s, struct tenant *t)
{
	memset(t, 0, sizeof(*t));
	if (tenant_set_str(&t->name, col_str(s, 0)) < 0 || tenant_set_str(&t->host, col_str(s, 1)) < 0 ||
	    tenant_set_str(&t->plan, col_str(s, 2)) < 0 ||
	    tenant_set_str(&t->app_chart, col_str(s, 3)) < 0 ||
	    tenant_set_str(&t->app_version, col_str(s, 4)) < 0 || values_from_json(t, col_str(s, 5)) < 0)
		return -ENOMEM;
	t->suspended = sqlite3_column_int64(s, 6) != 0;
	t->generation = sqlite3_column_int64(s, 7);
	t->created_at = sqlite3_column_int64(s, 8);
	t->updated_at = sqlite3_column_int64(s, 9);
	return 0;
}

/* Re-applies tenant_validate to a loaded row and keeps the reason. */
static int flag_invalid(struct tenant *t, const struct plan *plans, size_t nplans)
{
	struct err why = { 0 };

	if (t->invalid || tenant_validate(t, plans, nplans, &why) == 0)
		return 0;
	return tenant_set_str(&t->invalid, why.msg);
}

static int load_tenants(struct state *st, const char *where, const char *name,
			struct tenant_list *out, struct err *e)
{
	char sql[256];
	struct plan *plans = NULL;
	size_t nplans = 0, cap = 0;
	sqlite3_stmt *s;
	int rc = SQLITE_DONE;

	memset(out, 0, sizeof(*out));
	snprintf(sql, sizeof(sql), "SELECT " TENANT_COLS " FROM tenants %s ORDER BY name", where);
	if (state_plan_list(st, &plans, &nplans, e) < 0)
		return -1;
	if (!(s = state_prepare(st, sql, e))) {
		free(plans);
		return -1;
	}
	if (name)
		sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (out->n == cap) {
			cap = cap ? cap * 2 : 16;
			struct tenant *nv = realloc(out->v, cap * sizeof(*nv));
			if (!nv) {
				rc = SQLITE_NOMEM;
				break;
			}
			out->v = nv;
		}
		struct tenant *t = &out->v[out->n++];
		if (tenant_row(s, t) < 0 || flag_invalid(t, plans, nplans) < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	free(plans);
	if (rc != SQLITE_DONE) {
		if (rc == SQLITE_NOMEM)
			err_errno(e, ENOMEM, "state: read tenants");
		else
			state_sql_fail(st, e, "state: read tenants");
		sqlite3_finalize(s);
		tenant_list_free(out);
		return -1;
	}
	sqlite3_finalize(s);
	return 0;
}

int state_tenant_list(struct state *st, struct tenant_list *out, struct err *e)
{
	return load_tenants(st, "", NULL, out, e);
}

int state_tenant_get(struct state *st, const char *name, struct tenant *out, struct err *e)
{
	struct tenant_list l;

	memset(out, 0, sizeof(*out));
	if (load_tenants(st, "WHERE name = ?", name, &l, e) < 0)
		return -1;
	if (l.n == 0) {
		tenant_list_free(&l);
		return state_no_row(e, name, "no such tenant");
	}
	*out = l.v[0];
	free(l.v);
	return 0;
}

/* The --set pairs as the values column (a JSON object, keys in sorted order). */
static char *values_to_json(const struct tenant *t)
{
	json_t *obj = json_object();
	char *text = NULL;

	if (!obj)
		return NULL;
	for (size_t i = 0; i < t->nvalues; i++)
		if (json_object_set_new(obj, t->values[i].key, json_string(t->values[i].value)) < 0)
			goto out;
	text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
out:
	json_decref(obj);
	return text;
}

static void bind_opt(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

/* A UNIQUE/PRIMARY KEY clash names the field the user has to change. */
static int write_fail(struct state *st, const struct tenant *t, struct err *e)
{
	int code = sqlite3_extended_errcode(st->db);

	if (code == SQLITE_CONSTRAINT_PRIMARYKEY)
		return err_set(e, EXIT_REFUSED, "name '%s': a tenant of that name exists", t->name);
	if (code == SQLITE_CONSTRAINT_UNIQUE)
		return err_set(e, EXIT_REFUSED, "host '%s': already used by another tenant", t->host);
	if (code == SQLITE_CONSTRAINT_FOREIGNKEY)
		return err_set(e, EXIT_REFUSED, "plan '%s': no such plan", t->plan);
	return state_sql_fail(st, e, "state: write tenant");
}

/* Binds the six desired fields (host, plan, app_chart, app_version,
 * values_json, suspended) from parameter `first` on, in that order. */
static void bind_desired(sqlite3_stmt *s, int first, const struct tenant *t, const char *values)
{
	sqlite3_bind_text(s, first, t->host, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, first + 1, t->plan, -1, SQLITE_STATIC);
	bind_opt(s, first + 2, t->app_chart);
	bind_opt(s, first + 3, t->app_version);
	sqlite3_bind_text(s, first + 4, values, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, first + 5, t->suspended);
}

int state_tenant_insert(struct state *st, struct tenant *t, struct err *e)
{
	char *values = values_to_json(t);
	int64_t now = state_now();
	sqlite3_stmt *s;
	int rc;

	if (!values)
		return err_errno(e, ENOMEM, "state: write tenant");
	s = state_prepare(st, "INSERT INTO tenants (" TENANT_COLS ") "
			  "VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)", e);
	if (!s) {
		free(values);
		return -1;
	}
	sqlite3_bind_text(s, 1, t->name, -1, SQLITE_STATIC);
	bind_desired(s, 2, t, values);
	sqlite3_bind_int64(s, 8, now);
	sqlite3_bind_int64(s, 9, now);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		write_fail(st, t, e);
	sqlite3_finalize(s);
	free(values);
	if (rc != SQLITE_DONE)
		return -1;
	t->generation = 1;
	t->created_at = t->updated_at = now;
	return 0;
}

int state_tenant_update(struct state *st, struct tenant *t, struct err *e)
{
	char *values = values_to_json(t);
	int64_t now = state_now();
	sqlite3_stmt *s;
	int rc;

	if (!values)
		return err_errno(e, ENOMEM, "state: write tenant");
	s = state_prepare(st, "UPDATE tenants SET host = ?, plan = ?, app_chart = ?, "
			  "app_version = ?, values_json = ?, suspended = ?, "
			  "generation = generation + 1, updated_at = ? WHERE name = ? "
			  "RETURNING generation, created_at", e);
	if (!s) {
		free(values);
		return -1;
	}
	bind_desired(s, 1, t, values);
	sqlite3_bind_int64(s, 7, now);
	sqlite3_bind_text(s, 8, t->name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		t->generation = sqlite3_column_int64(s, 0);
		t->created_at = sqlite3_column_int64(s, 1);
		t->updated_at = now;
		rc = sqlite3_step(s);
	} else if (rc == SQLITE_DONE) {
		rc = state_no_row(e, t->name, "no such tenant");
	}
	if (rc != SQLITE_DONE && rc != -ENOENT)
		write_fail(st, t, e);
	sqlite3_finalize(s);
	free(values);
	return rc == SQLITE_DONE ? 0 : rc == -ENOENT ? -ENOENT : -1;
}

int state_tenant_delete(struct state *st, const char *name, struct err *e)
{
	sqlite3_stmt *s = state_prepare(st, "DELETE FROM tenants WHERE name = ?", e);

	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if (state_exec_stmt(st, s, "state: delete tenant", e) < 0)
		return -1;
	if (sqlite3_changes(st->db) == 0)
		return state_no_row(e, name, "no such tenant");
	return 0;
}

int state_tenant_host_owner(struct state *st, const char *host, const char *except,
			    char **owner, struct err *e)
{
	sqlite3_stmt *s = state_prepare(
		st, "SELECT name FROM tenants WHERE host = ? AND name IS NOT ? LIMIT 1", e);
	int rc;

	*owner = NULL;
	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, host, -1, SQLITE_STATIC);
	bind_opt(s, 2, except);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && !(*owner = strdup(col_str(s, 0))))
		rc = SQLITE_NOMEM;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		if (rc == SQLITE_NOMEM)
			err_errno(e, ENOMEM, "state: read tenants");
		else
			state_sql_fail(st, e, "state: read tenants");
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	return 0;
}
