/* Kubernetes resource quantities ("250m", "1.5Gi", "12345678n"): parsed
 * exactly, compared by value (the API server stores them in canonical form:
 * "1000m" comes back as "1"), and read as a whole number of a unit. */
#ifndef OUTPOST_QUANTITY_H
#define OUTPOST_QUANTITY_H

#include <stdbool.h>
#include <stdint.h>

/* A quantity's exact value: sign * mant * 10^exp10, mant without trailing
 * zeros (0 is sign 0, mant 0, exp10 0), so equal values have equal fields. */
struct quantity {
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
int quantity_parse(const char *s, struct quantity *q);

bool quantity_equal(const struct quantity *a, const struct quantity *b);

/* The value in units of 10^exp10 (-3: milli, 0: whole), rounded up as the
 * API server rounds: "12345678n" is 13 at -3. Returns 0, or -1 for a
 * negative value or one over INT64_MAX units. */
int quantity_scaled(const struct quantity *q, int exp10, int64_t *out);

#endif
