/* The capacity arithmetic (see capacity.h for the rules). */
#include "capacity.h"

#include <stdio.h>
#include <string.h>

static void add(struct capacity_res *a, const struct capacity_res *b)
{
	a->cpu_m += b->cpu_m;
	a->memory_mib += b->memory_mib;
	a->disk_gib += b->disk_gib;
}

static struct capacity_res sub(struct capacity_res a, const struct capacity_res *b)
{
	a.cpu_m -= b->cpu_m;
	a.memory_mib -= b->memory_mib;
	a.disk_gib -= b->disk_gib;
	return a;
}

/* ratio x v, rounded down; nothing when v is not positive. */
static int64_t scaled(int64_t v, double ratio)
{
	return v > 0 ? (int64_t)((double)v * ratio) : 0;
}

void capacity_add_tenant(struct capacity_report *r, const struct plan *p)
{
	struct capacity_res req = { p->cpu_request_m, p->memory_request_mib, p->storage_gib };
	struct capacity_res lim = { p->cpu_limit_m, p->memory_limit_mib, p->storage_gib };

	add(&r->tenant_request, &req);
	add(&r->tenant_limit, &lim);
	r->tenants++;
}

void capacity_compute(const struct capacity_budget *b, const struct capacity_res *total,
		      struct capacity_report *r)
{
	r->total = *total;
	r->reserved_system = b->system;
	r->reserved_k3s = b->k3s;
	r->reserved_eviction = (struct capacity_res){
		0, b->eviction_memory_mib,
		/* the kubelet evicts below this share of the disk: round the reserve up */
		(total->disk_gib * b->eviction_disk_percent + 99) / 100,
	};
	r->allocatable = sub(sub(sub(*total, &b->system), &b->k3s), &r->reserved_eviction);
	memset(&r->platform_request, 0, sizeof(r->platform_request));
	memset(&r->platform_limit, 0, sizeof(r->platform_limit));
	for (size_t i = 0; i < b->nplatform; i++) {
		add(&r->platform_request, &b->platform[i].request);
		add(&r->platform_limit, &b->platform[i].limit);
	}
	r->free_request = sub(sub(r->allocatable, &r->platform_request), &r->tenant_request);
	/* Only CPU and memory limits can be overcommitted; disk cannot. */
	r->limit_budget = (struct capacity_res){
		scaled(r->allocatable.cpu_m, b->limits_ratio),
		scaled(r->allocatable.memory_mib, b->limits_ratio),
		r->allocatable.disk_gib,
	};
	r->free_limit = sub(sub(r->limit_budget, &r->platform_limit), &r->tenant_limit);
}

void capacity_tenants(const struct capacity_budget *b, const struct capacity_res *total,
		      const struct tenant *v, size_t n, const struct plan *plans, size_t nplans,
		      struct capacity_report *r)
{
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < n; i++) {
		const struct plan *p = v[i].plan ? plan_find(plans, nplans, v[i].plan) : NULL;
		if (p && !v[i].suspended)
			capacity_add_tenant(r, p);
	}
	capacity_compute(b, total, r);
}

/* `need` is what the tenants ask for, `free` what is left after them. */
static int over(struct err *e, const char *what, int64_t need, int64_t free, const char *unit)
{
	int64_t have = need + free;

	if (have < 0)
		return err_set(e, EXIT_REFUSED,
			       "capacity: the platform alone needs %lld%s more %s than the box has "
			       "(see 'outpost capacity')", (long long)-have, unit, what);
	return err_set(e, EXIT_REFUSED,
		       "capacity: tenants' %s would need %lld%s, %lld%s is available to tenants "
		       "(see 'outpost capacity')", what, (long long)need, unit, (long long)have, unit);
}

int capacity_admit(const struct capacity_report *r, struct err *e)
{
	const struct capacity_res *fr = &r->free_request, *fl = &r->free_limit;
	const struct capacity_res *tr = &r->tenant_request, *tl = &r->tenant_limit;

	if (fr->cpu_m < 0)
		return over(e, "CPU requests", tr->cpu_m, fr->cpu_m, "m");
	if (fr->memory_mib < 0)
		return over(e, "memory requests", tr->memory_mib, fr->memory_mib, " MiB");
	if (fr->disk_gib < 0)
		return over(e, "storage", tr->disk_gib, fr->disk_gib, " GiB");
	if (fl->cpu_m < 0)
		return over(e, "CPU limits", tl->cpu_m, fl->cpu_m, "m");
	if (fl->memory_mib < 0)
		return over(e, "memory limits", tl->memory_mib, fl->memory_mib, " MiB");
	return 0;
}

/* How many times `need` fits in `have`; no limit when nothing is needed. */
static int64_t times(int64_t have, int64_t need, int64_t best)
{
	int64_t k;

	if (need <= 0)
		return best;
	k = have > 0 ? have / need : 0;
	return best < 0 || k < best ? k : best;
}

int64_t capacity_fits(const struct capacity_report *r, const struct plan *p)
{
	int64_t k = -1;

	k = times(r->free_request.cpu_m, p->cpu_request_m, k);
	k = times(r->free_request.memory_mib, p->memory_request_mib, k);
	k = times(r->free_request.disk_gib, p->storage_gib, k);
	k = times(r->free_limit.cpu_m, p->cpu_limit_m, k);
	k = times(r->free_limit.memory_mib, p->memory_limit_mib, k);
	return k < 0 ? 0 : k;
}
