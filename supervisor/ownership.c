#include "ownership.h"

#include <stdbool.h>
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

struct ownership ownership_find(const json_t *metadata, const char *manager)
{
	struct ownership o = { -1, -1 };
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(metadata, "managedFields"), i, e) {
		if (o.update < 0 && is_entry(e, manager, "Update"))
			o.update = (long)i;
		else if (o.apply < 0 && is_entry(e, manager, "Apply"))
			o.apply = (long)i;
	}
	return o;
}

static json_t *rv_test(const char *rv)
{
	json_t *ops = json_array();

	if (ops && add_op(ops, "test", "/metadata/resourceVersion", json_string(rv)) < 0) {
		json_decref(ops);
		return NULL;
	}
	return ops;
}

static char *dump(json_t *ops)
{
	char *text = ops ? json_dumps(ops, JSON_COMPACT) : NULL;

	json_decref(ops);
	return text;
}

char *ownership_rename_patch(const char *resource_version, size_t update)
{
	json_t *ops = rv_test(resource_version);
	char path[96];

	snprintf(path, sizeof(path), "/metadata/managedFields/%zu/operation", update);
	if (ops && add_op(ops, "replace", path, json_string("Apply")) < 0) {
		json_decref(ops);
		return NULL;
	}
	return dump(ops);
}

/* Both entries: the Apply entry gets the union of the two sets, the Update
 * entry goes. */
static char *merge_patch(const json_t *metadata, struct ownership at)
{
	const json_t *mf = json_object_get(metadata, "managedFields");
	json_t *ops = rv_test(json_string_value(json_object_get(metadata, "resourceVersion")));
	json_t *fields = json_deep_copy(json_object_get(json_array_get(mf, (size_t)at.apply), "fieldsV1"));
	char path[96];

	if (!json_is_object(fields)) {
		json_decref(fields);
		fields = json_object();
	}
	if (!ops || !fields ||
	    fields_union(fields, json_object_get(json_array_get(mf, (size_t)at.update), "fieldsV1")) < 0) {
		json_decref(fields);
		json_decref(ops);
		return NULL;
	}
	/* Replace first: the removal shifts the indexes after it. */
	snprintf(path, sizeof(path), "/metadata/managedFields/%ld/fieldsV1", at.apply);
	if (add_op(ops, "replace", path, fields) < 0) {
		json_decref(ops);
		return NULL;
	}
	snprintf(path, sizeof(path), "/metadata/managedFields/%ld", at.update);
	if (add_op(ops, "remove", path, NULL) < 0) {
		json_decref(ops);
		return NULL;
	}
	return dump(ops);
}

int ownership_patch(const json_t *metadata, const char *manager, char **patch)
{
	struct ownership at = ownership_find(metadata, manager);
	const char *rv = json_string_value(json_object_get(metadata, "resourceVersion"));

	*patch = NULL;
	if (at.update < 0 || !rv)
		return 0;
	*patch = at.apply < 0 ? ownership_rename_patch(rv, (size_t)at.update) : merge_patch(metadata, at);
	return *patch ? 1 : -1;
}
