#include "debver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The weight of one character of a non-digit run; the end of the string (and
 * a digit, which ends the run) weighs 0. */
static int weight(char c)
{
	if (c == '\0' || is_digit(c))
		return 0;
	if (is_alpha(c))
		return (unsigned char)c;
	if (c == '~')
		return -1;
	return (unsigned char)c + 256;
}

/* Compares [a, a_end) and [b, b_end): alternating non-digit and digit runs. */
static int cmp_part(const char *a, const char *a_end, const char *b, const char *b_end)
{
	while (a < a_end || b < b_end) {
		int diff = 0;

		while ((a < a_end && !is_digit(*a)) || (b < b_end && !is_digit(*b))) {
			int wa = a < a_end ? weight(*a) : 0, wb = b < b_end ? weight(*b) : 0;
			if (wa != wb)
				return wa - wb;
			a++;
			b++;
		}
		while (a < a_end && *a == '0')
			a++;
		while (b < b_end && *b == '0')
			b++;
		while (a < a_end && is_digit(*a) && b < b_end && is_digit(*b)) {
			if (!diff)
				diff = *a - *b;
			a++;
			b++;
		}
		if (a < a_end && is_digit(*a))
			return 1; /* more significant digits */
		if (b < b_end && is_digit(*b))
			return -1;
		if (diff)
			return diff;
	}
	return 0;
}

struct parts {
	unsigned long epoch;
	const char *up, *up_end, *rev, *rev_end;
};

static void split(const char *v, struct parts *p)
{
	const char *colon = strchr(v, ':'), *dash, *end = v + strlen(v);

	p->epoch = 0;
	if (colon) {
		p->epoch = strtoul(v, NULL, 10);
		v = colon + 1;
	}
	dash = strrchr(v, '-');
	p->up = v;
	p->up_end = dash ? dash : end;
	p->rev = dash ? dash + 1 : end;
	p->rev_end = end;
}

int debver_cmp(const char *a, const char *b)
{
	struct parts pa, pb;
	int c;

	split(a, &pa);
	split(b, &pb);
	if (pa.epoch != pb.epoch)
		return pa.epoch < pb.epoch ? -1 : 1;
	c = cmp_part(pa.up, pa.up_end, pb.up, pb.up_end);
	if (c)
		return c;
	return cmp_part(pa.rev, pa.rev_end, pb.rev, pb.rev_end);
}

int debver_of_package_file(const char *path, const char *package, char version[DEBVER_MAX])
{
	static const char suffix[] = ".deb";
	const char *base = strrchr(path, '/'), *v, *arch, *end;
	size_t plen = strlen(package);

	base = base ? base + 1 : path;
	end = base + strlen(base);
	if (strncmp(base, package, plen) || base[plen] != '_' ||
	    (size_t)(end - base) < plen + 1 + strlen(suffix) ||
	    strcmp(end - strlen(suffix), suffix))
		return -EINVAL;
	v = base + plen + 1;
	end -= strlen(suffix);
	arch = memchr(v, '_', (size_t)(end - v));
	/* A version and an architecture, both non-empty, no third '_'. */
	if (!arch || arch == v || arch + 1 >= end || memchr(arch + 1, '_', (size_t)(end - arch - 1)) ||
	    (size_t)(arch - v) >= DEBVER_MAX)
		return -EINVAL;
	memcpy(version, v, (size_t)(arch - v));
	version[arch - v] = '\0';
	return 0;
}
