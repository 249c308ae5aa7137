/* The capacity model: what the box has, what the system, k3s and the platform
 * take, and whether the tenants' guaranteed requests still fit.
 *
 * The arithmetic (capacity.c) is pure; reading charts/capacity.json, a profile
 * file or the host's own figures is in capacity-load.c.
 *
 * Rules: allocatable = total - reserved (system + k3s + kubelet eviction
 * thresholds). Requests (CPU, memory, disk) of the platform plus the tenants must
 * fit allocatable. CPU and memory limits of the platform plus the tenants may
 * reach limits_ratio x allocatable. Suspended tenants are scaled to zero and
 * count for nothing (resume is admitted like an add). */
#ifndef OUTPOST_CAPACITY_H
#define OUTPOST_CAPACITY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "tenant.h"

#define CAPACITY_PLATFORM_MAX 16

/* CPU in millicores, memory in MiB, disk in GiB. */
struct capacity_res {
	int64_t cpu_m, memory_mib, disk_gib;
};

struct capacity_component {
	char name[32];
	struct capacity_res request, limit; /* limit.disk_gib == request.disk_gib */
};

/* charts/capacity.json */
struct capacity_budget {
	struct capacity_res reference; /* the target box: 8 cores, 16 GiB, 100 GiB */
	struct capacity_res system, k3s;
	int64_t eviction_memory_mib;
	/* nodefs and imagefs are one file system on the appliance, so the larger of
	 * the two free-space thresholds is the one the kubelet enforces. */
	int64_t eviction_disk_percent;
	struct capacity_component platform[CAPACITY_PLATFORM_MAX];
	size_t nplatform;
	double limits_ratio;
};

/* The box: detected, or read from a profile file. */
struct capacity_profile {
	struct capacity_res total;
	char source[256]; /* "detected" or the profile file's path */
};

struct capacity_report {
	struct capacity_res total;
	struct capacity_res reserved_system, reserved_k3s, reserved_eviction;
	struct capacity_res allocatable;
	struct capacity_res platform_request, platform_limit;
	struct capacity_res tenant_request, tenant_limit;
	size_t tenants;                  /* counted (not suspended) */
	struct capacity_res free_request; /* allocatable - platform - tenants; may be negative */
	struct capacity_res limit_budget; /* limits_ratio x allocatable (disk: allocatable) */
	struct capacity_res free_limit;   /* limit_budget - platform - tenants; may be negative */
};

/* ---- I/O (capacity-load.c) ---- */
/* Reads `<datadir>/capacity.json`. */
int capacity_budget_load(const char *datadir, struct capacity_budget *b, struct err *e);
/* {"cpu_millicores": N, "memory_mib": N, "disk_gib": N} */
int capacity_profile_load(const char *file, struct capacity_profile *p, struct err *e);
/* Cores (sysconf), memory (/proc/meminfo), size of the file system holding `dir`
 * (or its nearest existing parent). */
int capacity_profile_detect(const char *dir, struct capacity_profile *p, struct err *e);
/* `file` if non-NULL, else detection on `dir`. */
int capacity_profile_get(const char *file, const char *dir, struct capacity_profile *p,
			 struct err *e);

/* ---- arithmetic (capacity.c) ---- */
/* Adds one tenant of plan `p` to the sums (skips nothing: the caller skips
 * suspended tenants). */
void capacity_add_tenant(struct capacity_report *r, const struct plan *p);
/* Fills everything but the tenant sums from the budget and the box, then derives
 * the free figures from whatever tenant sums `r` already holds. Call
 * capacity_add_tenant for each tenant first, or capacity_tenants. */
void capacity_compute(const struct capacity_budget *b, const struct capacity_res *total,
		      struct capacity_report *r);
/* Sums the tenants that count (not suspended, plan known) into `r` and computes.
 * Tenants whose plan is unknown are skipped: they fail validation elsewhere. */
void capacity_tenants(const struct capacity_budget *b, const struct capacity_res *total,
		      const struct tenant *v, size_t n, const struct plan *plans, size_t nplans,
		      struct capacity_report *r);
/* 0 if the report's tenants fit; else EXIT_REFUSED naming the first resource over
 * budget: "capacity: tenants' memory requests would need 10112 MiB, 9088 MiB is free
 * for tenants". */
int capacity_admit(const struct capacity_report *r, struct err *e);
/* How many more tenants of plan `p` fit (0 when none). */
int64_t capacity_fits(const struct capacity_report *r, const struct plan *p);

#endif
