/* Drift inside an object: does what the cluster holds still carry every field
 * the rendering sets, with the same value? The reconciler's hash annotation
 * only says the rendering has not changed; an operator's `kubectl edit` or
 * `kubectl patch` keeps the annotation and changes the fields. Pure: no I/O.
 *
 * The comparison is a subset one: every key of the desired object must be in
 * the observed one with a matching value (recursively; arrays element by
 * element, same length); keys only the observed object has (server defaults,
 * other managers' labels and fields, metadata the server owns) are fine.
 * Resource quantities are compared by value, because the API server stores
 * them in canonical form ("1000m" comes back as "1", "1024Mi" as "1Gi"). */
#ifndef OUTPOST_DRIFT_H
#define OUTPOST_DRIFT_H

#include <jansson.h>
#include <stdbool.h>

/* A quantity's exact value: sign * mant * 10^exp10, mant without trailing
 * zeros (0 is sign 0, mant 0, exp10 0), so equal values have equal fields. */
struct drift_quantity {
	int sign;
	unsigned __int128 mant;
	int exp10;
};

/* Parses a Kubernetes quantity: [+-]digits[.digits] then a binary suffix
 * (Ki..Ei), a decimal one (n, u, m, k, M, G, T, P, E) or an exponent (e3,
 * E-2). Exact: no rounding. The server rounds values finer than it keeps
 * up (its docs: 0.1m becomes 1m) and caps them at 2^63-1; a rendering never
 * holds such a value. Returns 0, or -1 when `s` is not a quantity or too
 * large to hold exactly. */
int drift_quantity_parse(const char *s, struct drift_quantity *q);

bool drift_quantity_equal(const struct drift_quantity *a, const struct drift_quantity *b);

/* Whether `observed` carries every field of `desired` (above). The top-level
 * apiVersion and kind are not compared: a list's items may omit them. */
bool drift_subset(const json_t *desired, const json_t *observed);

#endif
