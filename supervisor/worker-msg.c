#include "worker-msg.h"

#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t worker_msg_view(char *buf, const struct worker_view *v)
{
	int n = snprintf(buf, WORKER_MSG_MAX - 1, "view %d %zu %zu %ld %s %s", v->api ? 1 : 0,
			 v->plat_ready, v->plat_n, v->tenants < 0 ? -1L : v->tenants,
			 v->failed[0] ? v->failed : "-", v->reason);
	size_t len = n < 0 ? 0 : (size_t)n < WORKER_MSG_MAX - 1 ? (size_t)n : WORKER_MSG_MAX - 2;

	/* A reason is free text: it must not end the line early. */
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\n' || buf[i] == '\r')
			buf[i] = ' ';
	buf[len++] = '\n';
	buf[len] = '\0';
	return len;
}

static void put_deadline(char *buf, size_t len, uint64_t usec)
{
	if (usec == WORKER_TIMING_NONE)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%" PRIu64, usec);
}

size_t worker_msg_idle(char *buf, const struct worker_timing *idle)
{
	char due[24], full[24];

	put_deadline(due, sizeof(due), idle->due_in);
	put_deadline(full, sizeof(full), idle->full_in);
	return (size_t)snprintf(buf, WORKER_MSG_MAX, "idle %s %s %" PRIu64 "\n", due, full,
				idle->retry);
}

/* The next space-separated word of *p as a number; "-" is `none`. */
static int take_u64(const char **p, uint64_t none, uint64_t *out)
{
	char *end;

	if (**p == '-' && ((*p)[1] == ' ' || !(*p)[1])) {
		*out = none;
		*p += 1;
	} else {
		if (**p < '0' || **p > '9')
			return -1;
		errno = 0;
		*out = strtoull(*p, &end, 10);
		if (errno)
			return -1;
		*p = end;
	}
	if (**p == ' ')
		(*p)++;
	else if (**p)
		return -1;
	return 0;
}

enum worker_msg worker_msg_parse(const char *line, struct worker_view *v, struct worker_timing *idle)
{
	uint64_t api, ready, total, tenants;
	const char *p, *sp;
	size_t n;

	if (!strcmp(line, "alive"))
		return WORKER_MSG_ALIVE;
	if (!strncmp(line, "metric ", 7))
		return WORKER_MSG_METRIC;
	if (!strncmp(line, "idle ", 5)) {
		p = line + 5;
		if (take_u64(&p, WORKER_TIMING_NONE, &idle->due_in) < 0 ||
		    take_u64(&p, WORKER_TIMING_NONE, &idle->full_in) < 0 ||
		    take_u64(&p, WORKER_TIMING_NONE, &idle->retry) < 0 ||
		    idle->retry == WORKER_TIMING_NONE || *p)
			return WORKER_MSG_BAD;
		return WORKER_MSG_IDLE;
	}
	if (strncmp(line, "view ", 5))
		return WORKER_MSG_BAD;
	p = line + 5;
	/* tenants is -1 when not known: that word is "-1", read as `none`. */
	if (take_u64(&p, 0, &api) < 0 || api > 1 || take_u64(&p, 0, &ready) < 0 ||
	    take_u64(&p, 0, &total) < 0 || ready > total)
		return WORKER_MSG_BAD;
	if (!strncmp(p, "-1 ", 3)) {
		tenants = UINT64_MAX;
		p += 3;
	} else if (take_u64(&p, 0, &tenants) < 0 || tenants > LONG_MAX) {
		return WORKER_MSG_BAD;
	}
	if (!(sp = strchr(p, ' ')) || (n = (size_t)(sp - p)) == 0 || n >= sizeof(v->failed))
		return WORKER_MSG_BAD;
	memset(v, 0, sizeof(*v));
	v->api = api;
	v->plat_ready = (size_t)ready;
	v->plat_n = (size_t)total;
	v->tenants = tenants == UINT64_MAX ? -1 : (long)tenants;
	if (n != 1 || *p != '-')
		memcpy(v->failed, p, n);
	snprintf(v->reason, sizeof(v->reason), "%s", sp + 1);
	return WORKER_MSG_VIEW;
}
