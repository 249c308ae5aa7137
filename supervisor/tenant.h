/* The tenant model and its validation. Pure: no I/O, no database; the
 * state store (state.h) and the CLI (cmd-tenant.c) call these before anything
 * is written, and the daemon calls them again on every row it loads, because
 * another tool may have written the file. */
#ifndef OUTPOST_TENANT_H
#define OUTPOST_TENANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

/* 30 characters: the namespace "t-<name>" is then at most 32, which leaves 21
 * characters for a suffix under the strictest limit a derived name meets (a
 * Helm release name, 53: "t-<name>-credentials" is 44) and 31 under the
 * 63-character DNS label limit of namespaces, Services and label values (a
 * StatefulSet's pods carry "<set>-<10-char hash>" as a label value, which is
 * why its own name must stay under 52). */
#define TENANT_NAME_MAX 30
#define TENANT_NAMESPACE_PREFIX "t-"
#define TENANT_HOST_MAX 253
#define TENANT_CHART_MAX 53     /* Helm's chart name limit is the release limit too */
#define TENANT_VERSION_MAX 64
#define TENANT_VALUES_MAX 64    /* --set entries per tenant */
#define TENANT_KEY_MAX 128      /* a dotted --set key */
#define TENANT_VALUE_MAX 1024   /* a --set value, in bytes */
#define TENANT_DEFAULT_PLAN "small"
#define TENANT_DEFAULT_APP "site" /* the catalog app of a tenant given no --app */
#define PLAN_NAME_MAX 32
/* The most pods a plan may let its app scale out to (the schema's CHECK). */
#define PLAN_MAX_REPLICAS 16

/* A row of the plans table: what one tenant is given. CPU in millicores,
 * memory in MiB, storage in GiB. */
struct plan {
	char name[PLAN_NAME_MAX + 1];
	int64_t cpu_request_m, cpu_limit_m;
	int64_t memory_request_mib, memory_limit_mib;
	int64_t storage_gib;
	int64_t pods;
	int64_t max_replicas; /* 1: no autoscaling; else the app's HPA scales 1..max */
};

/* One `--set KEY=VALUE` (a Helm value for the tenant's app chart). */
struct tenant_value {
	char *key;
	char *value;
};

/* Desired state of one tenant. Strings are heap-owned (tenant_clear frees them). */
struct tenant {
	char *name;
	char *host;
	char *plan;
	char *app_chart;                /* NULL: the appliance's default app */
	char *app_version;              /* NULL: the version bundled for the chart */
	struct tenant_value *values;    /* sorted by key, keys unique */
	size_t nvalues;
	bool suspended;
	int64_t generation;             /* 0 until stored; +1 on every change */
	int64_t created_at, updated_at; /* Unix seconds; 0 until stored */
	char *invalid;                  /* set on load only: why the row breaks the rules
					 * ("host 'x': ..."), NULL when valid */
};

struct tenant_list {
	struct tenant *v;
	size_t n;
};

/* Frees the members and zeroes the struct (safe on a zeroed struct). */
void tenant_clear(struct tenant *t);
void tenant_list_free(struct tenant_list *l);

/* Sets a string member (replacing the old one); value may be NULL. Returns 0 or -ENOMEM. */
int tenant_set_str(char **field, const char *value);

/* Adds or replaces one --set value, keeping the array sorted. Returns 0 or -ENOMEM. */
int tenant_value_put(struct tenant *t, const char *key, const char *value);

/* `in` as it may appear inside a one-line message: printable ASCII as is,
 * anything else as \xHH, cut after 64 bytes with "...". Returns `out`. */
#define TENANT_QUOTE_SIZE 300
const char *tenant_quote(const char *in, char out[TENANT_QUOTE_SIZE]);

/* Field checks. Each refuses with EXIT_REFUSED and a message that starts with the
 * field and the (escaped, shortened) input: "name 'Foo': must be a DNS-1123 label
 * (lowercase letters, digits, '-')". */
int tenant_check_name(const char *name, struct err *e);
int tenant_check_host(const char *host, struct err *e);
int tenant_check_app(const char *chart, const char *version, struct err *e);
int tenant_check_value(const char *key, const char *value, struct err *e);
/* A key given with --set or import that render.c writes itself (host,
 * replicas, resources, ...) is refused: its value would be replaced. Only new
 * input is checked, so a row stored before the rule still renders. */
int tenant_check_set_key(const char *key, struct err *e);
/* Plan names are looked up in `plans`; n == 0 skips the lookup (syntax only). */
int tenant_check_plan(const char *plan, const struct plan *plans, size_t n, struct err *e);

/* All of the above for one tenant. Host uniqueness needs the other tenants and is
 * the store's job (state_tenant_host_owner). */
int tenant_validate(const struct tenant *t, const struct plan *plans, size_t nplans,
		    struct err *e);

/* Parses "CHART" or "CHART@VERSION" into the tenant's app fields (no validation). */
int tenant_parse_app(struct tenant *t, const char *spec, struct err *e);

/* Derived object names; `out` holds at least `size` bytes. The name must be valid. */
void tenant_namespace(const char *name, char *out, size_t size);

/* The plan named `name` in `plans`, or NULL. */
const struct plan *plan_find(const struct plan *plans, size_t n, const char *name);

/* The import/export line (and the core of `tenant show --json`):
 *   {"name": "...", "host": "...", "plan": "...",
 *    "app": {"chart": "...", "version": "..."|null} | null,
 *    "values": {"dotted.key": "string", ...}, "suspended": false}
 * tenant_to_json returns a new reference (NULL on OOM). */
json_t *tenant_to_json(const struct tenant *t);
/* Reads that shape into a zeroed `t`; unknown keys and wrong types are refused
 * (EXIT_REFUSED) naming the key. "plan" (default small), "app", "values" and
 * "suspended" may be omitted. No rule checks: call tenant_validate. On failure `t`
 * may hold some fields: tenant_clear it either way. */
int tenant_from_json(json_t *obj, struct tenant *t, struct err *e);

#endif
