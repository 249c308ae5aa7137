#include "drift.h"

#include <stdio.h>
#include <string.h>

#include "quantity.h"
#include "util.h"

/* Maps whose values are resource quantities: a container's resources
 * (limits, requests), a ResourceQuota's hard, a LimitRange item's default,
 * defaultRequest, max, min, maxLimitRequestRatio. */
static bool quantity_map(const char *key)
{
	static const char *const keys[] = {
		"limits", "requests", "hard", "default", "defaultRequest", "max", "min",
		"maxLimitRequestRatio",
	};

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strcmp(key, keys[i]))
			return true;
	return false;
}

/* A scalar as a quantity's text: the server turns a number (a quota's
 * "pods": 10) into a quantity string ("10"). */
static const char *quantity_text(const json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	}
	return NULL;
}

static bool same_quantity(const json_t *d, const json_t *o)
{
	char db[32], ob[32];
	const char *ds = quantity_text(d, db, sizeof(db)), *os = quantity_text(o, ob, sizeof(ob));
	struct quantity dq, oq;

	return ds && os && quantity_parse(ds, &dq) == 0 && quantity_parse(os, &oq) == 0 &&
	       quantity_equal(&dq, &oq);
}

/* An empty value the server may leave out: Go's `omitempty` drops empty
 * maps, lists and strings, false and 0, so their absence is no drift. */
static bool omittable(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return json_object_size(v) == 0;
	case JSON_ARRAY: return json_array_size(v) == 0;
	case JSON_STRING: return json_string_length(v) == 0;
	case JSON_INTEGER: return json_integer_value(v) == 0;
	case JSON_FALSE:
	case JSON_NULL: return true;
	default: return false;
	}
}

/* `quantities`: d is a quantity map (its values are quantities) or one of its values. */
static bool subset(const json_t *d, const json_t *o, bool quantities, bool top)
{
	const char *key;
	json_t *dv;
	size_t i;

	if (json_is_object(d)) {
		if (!json_is_object(o))
			return false;
		json_object_foreach((json_t *)d, key, dv) {
			json_t *ov = json_object_get(o, key);
			if (top && (!strcmp(key, "apiVersion") || !strcmp(key, "kind")))
				continue;
			if (!ov ? !omittable(dv) : !subset(dv, ov, quantities || quantity_map(key), false))
				return false;
		}
		return true;
	}
	if (json_is_array(d)) {
		if (!json_is_array(o) || json_array_size(d) != json_array_size(o))
			return false;
		json_array_foreach(d, i, dv)
			if (!subset(dv, json_array_get(o, i), false, false))
				return false;
		return true;
	}
	return json_equal((json_t *)d, (json_t *)o) || (quantities && same_quantity(d, o));
}

bool drift_subset(const json_t *desired, const json_t *observed)
{
	return subset(desired, observed, false, true);
}
