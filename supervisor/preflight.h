/* Can this machine run the appliance? Facts are gathered from /proc, /sys and
 * the file system (preflight_gather) and judged separately by a pure function
 * (preflight_evaluate), so every verdict is testable with made-up facts. */
#ifndef OUTPOST_PREFLIGHT_H
#define OUTPOST_PREFLIGHT_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "capacity.h"

#define PREFLIGHT_PORTS 3
extern const int preflight_ports[PREFLIGHT_PORTS]; /* 6443, 80, 443 */

struct preflight_facts {
	long cpus;
	long mem_mib;
	long disk_free_gib;     /* at the data directory (or its nearest existing parent) */
	char disk_path[256];
	int cgroup2;            /* /sys/fs/cgroup is cgroup2 */
	int overlay;            /* overlay file system available (built in or module) */
	int br_netfilter;       /* br_netfilter loaded, built in or installable */
	long swap_kib;
	int default_route;      /* IPv4 or IPv6 default route present */
	int port_busy[PREFLIGHT_PORTS];
	time_t now;
	time_t not_before;      /* the bundle's creation time, 0 if unknown */
};

enum preflight_status { PREFLIGHT_PASS, PREFLIGHT_WARN, PREFLIGHT_FAIL };

struct preflight_result {
	const char *check;
	enum preflight_status status;
	char detail[320];
};

#define PREFLIGHT_MAX_RESULTS 16

/* Judges the facts against the budget: a resource fails when the reservations
 * and the platform's requests do not fit, warns below the reference profile. */
size_t preflight_evaluate(const struct preflight_facts *f, const struct capacity_budget *b,
			  struct preflight_result *out, size_t cap);
void preflight_gather(const char *root, struct preflight_facts *f);
/* Prints the table; returns the number of failures. */
int preflight_print(const struct preflight_result *r, size_t n, FILE *out);
const char *preflight_status_name(enum preflight_status s);

#endif
