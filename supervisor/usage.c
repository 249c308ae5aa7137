/* Tenant usage: the pure half (usage.h). */
#include "usage.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quantity.h"

static int by_name(const void *key, const void *elem)
{
	return strcmp(key, ((const struct tenant *)elem)->name);
}

/* One quantity of a container's usage, in units of 10^exp10. */
static int usage_value(const json_t *usage, const char *key, int exp10, int64_t *out)
{
	const char *s = json_string_value(json_object_get(usage, key));
	struct quantity q;

	if (!s)
		return -1;
	return quantity_parse(s, &q) == 0 && quantity_scaled(&q, exp10, out) == 0 ? 0 : -1;
}

/* Adds one PodMetrics item to its tenant's row, if it has one. */
static int add_pod(const struct tenant_list *l, struct usage_row *rows, const json_t *item,
		   struct err *e)
{
	const json_t *meta = json_object_get(item, "metadata"), *containers, *c;
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *pod = json_string_value(json_object_get(meta, "name"));
	const struct tenant *t;
	size_t plen = strlen(TENANT_NAMESPACE_PREFIX), i;
	struct usage_row *r;

	if (!ns || strncmp(ns, TENANT_NAMESPACE_PREFIX, plen) ||
	    !(t = bsearch(ns + plen, l->v, l->n, sizeof(*l->v), by_name)))
		return 0;
	r = &rows[t - l->v];
	containers = json_object_get(item, "containers");
	json_array_foreach(containers, i, c) {
		const json_t *usage = json_object_get(c, "usage");
		int64_t cpu, mem;
		if (usage_value(usage, "cpu", -3, &cpu) < 0 || usage_value(usage, "memory", 0, &mem) < 0 ||
		    cpu > INT64_MAX - r->cpu_m || mem > INT64_MAX - r->memory_bytes)
			return err_set(e, EXIT_RUNTIME, "pod %s/%s: usage is not a CPU and memory quantity",
				       ns, pod ? pod : "?");
		r->cpu_m += cpu;
		r->memory_bytes += mem;
	}
	r->pods++;
	return 0;
}

int usage_rows(const struct tenant_list *l, const struct plan *plans, size_t nplans,
	       const json_t *items, struct usage_row **out, struct err *e)
{
	struct usage_row *rows = calloc(l->n + 1, sizeof(*rows));
	const json_t *item;
	size_t i;

	*out = NULL;
	if (!rows)
		return err_errno(e, ENOMEM, "usage");
	for (i = 0; i < l->n; i++) {
		rows[i].tenant = &l->v[i];
		rows[i].plan = plan_find(plans, nplans, l->v[i].plan);
	}
	json_array_foreach(items, i, item) {
		if (add_pod(l, rows, item, e) < 0) {
			free(rows);
			return -1;
		}
	}
	*out = rows;
	return 0;
}

static int by_use(const void *a, const void *b)
{
	const struct usage_row *x = a, *y = b;

	if (x->cpu_m != y->cpu_m)
		return x->cpu_m > y->cpu_m ? -1 : 1;
	if (x->memory_bytes != y->memory_bytes)
		return x->memory_bytes > y->memory_bytes ? -1 : 1;
	return strcmp(x->tenant->name, y->tenant->name);
}

void usage_sort(struct usage_row *rows, size_t n)
{
	if (n) /* qsort's base must not be NULL, even for no rows */
		qsort(rows, n, sizeof(*rows), by_use);
}

int usage_percent(int64_t used, int64_t of)
{
	__int128 p;

	if (of <= 0)
		return -1;
	p = (__int128)used * 100 / of;
	return p > INT_MAX ? INT_MAX : (int)p;
}

void usage_shares(const struct usage_row *r, int *cpu_pct, int *mem_pct)
{
	const struct plan *p = r->plan;

	*cpu_pct = usage_percent(r->cpu_m, p ? p->cpu_limit_m : 0);
	*mem_pct = usage_percent(r->memory_bytes, p ? p->memory_limit_mib << 20 : 0);
}

int64_t usage_mib(int64_t bytes)
{
	return (bytes + (1 << 20) - 1) >> 20;
}

void usage_describe(const struct usage_row *r, char *out, size_t size)
{
	long long used = (long long)usage_mib(r->memory_bytes);
	int cpu, mem;

	if (!r->plan) {
		snprintf(out, size, "CPU %lldm, memory %lld MiB, %zu pod%s (plan %s unknown)",
			 (long long)r->cpu_m, used, r->pods, r->pods == 1 ? "" : "s", r->tenant->plan);
		return;
	}
	usage_shares(r, &cpu, &mem);
	snprintf(out, size, "CPU %lldm of %lldm (%d%%), memory %lld MiB of %lld MiB (%d%%), %zu pod%s",
		 (long long)r->cpu_m, (long long)r->plan->cpu_limit_m, cpu, used,
		 (long long)r->plan->memory_limit_mib, mem, r->pods, r->pods == 1 ? "" : "s");
}

/* A percentage, or null when there is nothing to compare with. */
static json_t *percent_json(int pct)
{
	return pct < 0 ? json_null() : json_integer(pct);
}

json_t *usage_json(const struct usage_row *r)
{
	const struct plan *p = r->plan;
	int cpu, mem;

	usage_shares(r, &cpu, &mem);
	return json_pack("{s:s, s:s, s:I, s:o, s:o, s:I, s:o, s:o, s:I}", "name", r->tenant->name,
			 "plan", r->tenant->plan, "cpu_millicores", (json_int_t)r->cpu_m,
			 "cpu_limit_millicores", p ? json_integer(p->cpu_limit_m) : json_null(),
			 "cpu_percent", percent_json(cpu),
			 "memory_bytes", (json_int_t)r->memory_bytes,
			 "memory_limit_bytes", p ? json_integer(p->memory_limit_mib << 20) : json_null(),
			 "memory_percent", percent_json(mem),
			 "pods", (json_int_t)r->pods);
}
