#include "drift.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

#define U128_MAX (~(unsigned __int128)0)
/* Exponents beyond this are no resource anyone renders; refusing them keeps
 * the arithmetic in range. */
#define EXP_MAX 1000

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int push_digit(unsigned __int128 *m, char c)
{
	if (*m > (U128_MAX - 9) / 10)
		return -1;
	*m = *m * 10 + (unsigned)(c - '0');
	return 0;
}

/* The suffix after the number: a power of ten into *exp10, of two into *shift. */
static int suffix(const char *p, int *exp10, unsigned *shift)
{
	static const char binary[] = "KMGTPE";    /* Ki = 2^10 ... Ei = 2^60 */
	static const char decimal[] = "numkMGTPE"; /* 10^-9 ... 10^18 */
	static const int decimal_exp[] = { -9, -6, -3, 3, 6, 9, 12, 15, 18 };
	const char *b, *d;
	int sign = 1, e = 0;

	if (!*p)
		return 0;
	if (p[1] == 'i' && !p[2] && (b = strchr(binary, *p))) {
		*shift = 10 * (unsigned)(b - binary + 1);
		return 0;
	}
	/* "E" alone is exa; "E" or "e" followed by a number is an exponent. */
	if (!p[1] && (d = strchr(decimal, *p))) {
		*exp10 += decimal_exp[d - decimal];
		return 0;
	}
	if (*p != 'e' && *p != 'E')
		return -1;
	p++;
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (!*p)
		return -1;
	for (; *p; p++) {
		if (!is_digit(*p) || (e = e * 10 + (*p - '0')) > EXP_MAX)
			return -1;
	}
	*exp10 += sign * e;
	return 0;
}

int drift_quantity_parse(const char *s, struct drift_quantity *q)
{
	unsigned __int128 m = 0;
	int sign = 1, exp10 = 0, digits = 0;
	unsigned shift = 0;
	const char *p = s;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	for (; is_digit(*p); p++, digits++)
		if (push_digit(&m, *p) < 0)
			return -1;
	if (*p == '.')
		for (p++; is_digit(*p); p++, digits++, exp10--)
			if (push_digit(&m, *p) < 0)
				return -1;
	if (!digits || suffix(p, &exp10, &shift) < 0)
		return -1;
	if (shift && m >> (128 - shift))
		return -1;
	m <<= shift;
	if (!m) {
		*q = (struct drift_quantity){ 0, 0, 0 };
		return 0;
	}
	while (m % 10 == 0) {
		m /= 10;
		exp10++;
	}
	*q = (struct drift_quantity){ sign, m, exp10 };
	return 0;
}

bool drift_quantity_equal(const struct drift_quantity *a, const struct drift_quantity *b)
{
	return a->sign == b->sign && a->mant == b->mant && a->exp10 == b->exp10;
}

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
	struct drift_quantity dq, oq;

	return ds && os && drift_quantity_parse(ds, &dq) == 0 && drift_quantity_parse(os, &oq) == 0 &&
	       drift_quantity_equal(&dq, &oq);
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
