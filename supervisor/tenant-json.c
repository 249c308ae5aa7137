/* The tenant's JSON form: one line of `tenant import`/`export`, and the core of
 * `tenant show --json` and `tenant list --json`. */
#include "tenant.h"

#include <errno.h>
#include <string.h>

json_t *tenant_to_json(const struct tenant *t)
{
	json_t *o = json_object(), *values = json_object(), *app = json_null();
	bool ok = o && values;

	if (ok && t->app_chart)
		app = json_pack("{s:s, s:s?}", "chart", t->app_chart, "version", t->app_version);
	for (size_t i = 0; ok && i < t->nvalues; i++)
		ok = json_object_set_new(values, t->values[i].key,
					 json_string(t->values[i].value)) == 0;
	ok = ok && app &&
	     json_object_set_new(o, "name", json_string(t->name)) == 0 &&
	     json_object_set_new(o, "host", json_string(t->host)) == 0 &&
	     json_object_set_new(o, "plan", json_string(t->plan)) == 0 &&
	     json_object_set(o, "app", app) == 0 &&
	     json_object_set(o, "values", values) == 0 &&
	     json_object_set_new(o, "suspended", json_boolean(t->suspended)) == 0;
	json_decref(app);
	json_decref(values);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int want_string(json_t *v, const char *field, char **out, struct err *e)
{
	if (!json_is_string(v))
		return err_set(e, EXIT_REFUSED, "%s: must be a string", field);
	/* A "\u0000" inside would silently cut the name; refuse it instead. */
	if (strlen(json_string_value(v)) != json_string_length(v))
		return err_set(e, EXIT_REFUSED, "%s: must not contain NUL", field);
	if (tenant_set_str(out, json_string_value(v)) < 0)
		return err_errno(e, ENOMEM, "%s", field);
	return 0;
}

static int app_from_json(json_t *app, struct tenant *t, struct err *e)
{
	const char *key;
	json_t *v;

	if (json_is_null(app))
		return 0;
	if (!json_is_object(app))
		return err_set(e, EXIT_REFUSED, "app: must be an object {\"chart\", \"version\"} or null");
	json_object_foreach(app, key, v) {
		if (!strcmp(key, "chart")) {
			if (want_string(v, "app.chart", &t->app_chart, e) < 0)
				return -1;
		} else if (!strcmp(key, "version")) {
			if (!json_is_null(v) && want_string(v, "app.version", &t->app_version, e) < 0)
				return -1;
		} else {
			return err_set(e, EXIT_REFUSED, "app: unknown field '%.64s' (expected chart, version)",
				       key);
		}
	}
	if (!t->app_chart)
		return err_set(e, EXIT_REFUSED, "app.chart: missing");
	return 0;
}

static int values_from_json(json_t *values, struct tenant *t, struct err *e)
{
	const char *key;
	json_t *v;

	if (!json_is_object(values))
		return err_set(e, EXIT_REFUSED, "values: must be an object of strings");
	json_object_foreach(values, key, v) {
		if (!json_is_string(v))
			return err_set(e, EXIT_REFUSED, "values: key '%.64s': value must be a string", key);
		if (tenant_value_put(t, key, json_string_value(v)) < 0)
			return err_errno(e, ENOMEM, "values");
	}
	return 0;
}

int tenant_from_json(json_t *obj, struct tenant *t, struct err *e)
{
	const char *key;
	json_t *v;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	if (!json_is_object(obj))
		return err_set(e, EXIT_REFUSED, "must be a JSON object");
	json_object_foreach(obj, key, v) {
		if (!strcmp(key, "name"))
			rc = want_string(v, "name", &t->name, e);
		else if (!strcmp(key, "host"))
			rc = want_string(v, "host", &t->host, e);
		else if (!strcmp(key, "plan"))
			rc = want_string(v, "plan", &t->plan, e);
		else if (!strcmp(key, "app"))
			rc = app_from_json(v, t, e);
		else if (!strcmp(key, "values"))
			rc = values_from_json(v, t, e);
		else if (!strcmp(key, "suspended")) {
			if (!json_is_boolean(v))
				rc = err_set(e, EXIT_REFUSED, "suspended: must be true or false");
			t->suspended = json_is_true(v);
		} else
			rc = err_set(e, EXIT_REFUSED,
				     "field '%.64s': unknown (expected name, host, plan, app, values, "
				     "suspended)", key);
		if (rc < 0)
			return -1;
	}
	if (!t->name)
		return err_set(e, EXIT_REFUSED, "name: missing");
	if (!t->host)
		return err_set(e, EXIT_REFUSED, "host: missing");
	if (!t->plan && tenant_set_str(&t->plan, TENANT_DEFAULT_PLAN) < 0)
		return err_errno(e, ENOMEM, "plan");
	return 0;
}
