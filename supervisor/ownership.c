#include "ownership.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* An entry of `manager` with `operation` on the main resource: a write
 * through a subresource (status, scale) is an entry of its own. */
static bool is_entry(const json_t *e, const char *manager, const char *operation)
{
	const char *m = json_string_value(json_object_get(e, "manager"));
	const char *op = json_string_value(json_object_get(e, "operation"));
	const char *sub = json_string_value(json_object_get(e, "subresource"));

	return m && op && !strcmp(m, manager) && !strcmp(op, operation) && (!sub || !*sub);
}

/* fieldsV1 is a trie of objects ("f:name", "k:{...}", "."): the union of two
 * sets is the union of their keys, level by level. */
static int fields_union(json_t *into, const json_t *from)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)from, key, v) {
		json_t *have = json_object_get(into, key);
		if (json_is_object(have) && json_is_object(v)) {
			if (fields_union(have, v) < 0)
				return -1;
		} else if (!have && json_object_set_new(into, key, json_deep_copy(v)) < 0) {
			return -1;
		}
	}
	return 0;
}

static int add_op(json_t *ops, const char *op, const char *path, json_t *value)
{
	json_t *o = json_pack("{s:s, s:s}", "op", op, "path", path);

	if (!o) {
		json_decref(value);
		return -1;
	}
	if (value && json_object_set_new(o, "value", value) < 0) {
		json_decref(o);
		return -1;
	}
	return json_array_append_new(ops, o);
}

int ownership_patch(const json_t *metadata, const char *manager, char **patch)
{
	const json_t *mf = json_object_get(metadata, "managedFields"), *e;
	const char *rv = json_string_value(json_object_get(metadata, "resourceVersion"));
	size_t i, update = SIZE_MAX, apply = SIZE_MAX;
	char path[96];
	json_t *ops;
	int rc = -1;

	*patch = NULL;
	json_array_foreach(mf, i, e) {
		if (update == SIZE_MAX && is_entry(e, manager, "Update"))
			update = i;
		else if (apply == SIZE_MAX && is_entry(e, manager, "Apply"))
			apply = i;
	}
	if (update == SIZE_MAX || !rv)
		return 0;
	if (!(ops = json_array()) || add_op(ops, "test", "/metadata/resourceVersion", json_string(rv)) < 0)
		goto out;
	if (apply == SIZE_MAX) {
		snprintf(path, sizeof(path), "/metadata/managedFields/%zu/operation", update);
		if (add_op(ops, "replace", path, json_string("Apply")) < 0)
			goto out;
	} else {
		json_t *fields = json_deep_copy(json_object_get(json_array_get(mf, apply), "fieldsV1"));
		if (!json_is_object(fields)) {
			json_decref(fields);
			fields = json_object();
		}
		if (!fields || fields_union(fields, json_object_get(json_array_get(mf, update), "fieldsV1")) < 0) {
			json_decref(fields);
			goto out;
		}
		/* Replace first: the removal shifts the indexes after it. */
		snprintf(path, sizeof(path), "/metadata/managedFields/%zu/fieldsV1", apply);
		if (add_op(ops, "replace", path, fields) < 0)
			goto out;
		snprintf(path, sizeof(path), "/metadata/managedFields/%zu", update);
		if (add_op(ops, "remove", path, NULL) < 0)
			goto out;
	}
	*patch = json_dumps(ops, JSON_COMPACT);
	rc = *patch ? 1 : -1;
out:
	json_decref(ops);
	return rc;
}
