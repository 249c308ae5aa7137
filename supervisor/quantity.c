/* Kubernetes resource quantities (quantity.h). */
#include "quantity.h"

#include <stdint.h>
#include <string.h>

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

int quantity_parse(const char *s, struct quantity *q)
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
		*q = (struct quantity){ 0, 0, 0 };
		return 0;
	}
	while (m % 10 == 0) {
		m /= 10;
		exp10++;
	}
	*q = (struct quantity){ sign, m, exp10 };
	return 0;
}

bool quantity_equal(const struct quantity *a, const struct quantity *b)
{
	return a->sign == b->sign && a->mant == b->mant && a->exp10 == b->exp10;
}

int quantity_scaled(const struct quantity *q, int exp10, int64_t *out)
{
	unsigned __int128 v = q->mant;
	int e = q->exp10 - exp10;

	if (q->sign < 0)
		return -1;
	for (; e > 0; e--) {
		if (v > (unsigned __int128)INT64_MAX / 10)
			return -1;
		v *= 10;
	}
	/* Finer than the unit: round up, as the API server does. */
	for (bool rest = false; e < 0; e++) {
		rest |= v % 10 != 0;
		v /= 10;
		if (e == -1 && rest)
			v++;
	}
	if (v > INT64_MAX)
		return -1;
	*out = (int64_t)v;
	return 0;
}
