/* `outpost capacity [--json]`: the box's budget and how many more tenants fit. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "admission.h"
#include "cmd.h"
#include "jsonout.h"
#include "table.h"

static const char usage[] =
	"Usage: outpost capacity [--json]\n"
	"The box's resources: total, reserved (system, k3s, kubelet eviction), the platform,\n"
	"the tenants, what is free, and how many more tenants of each plan fit. The box is\n"
	"detected, or read from --profile FILE / $OUTPOST_PROFILE.\n";

static json_t *res_json(const struct capacity_res *r)
{
	return json_pack("{s:I, s:I, s:I}", "cpu_millicores", (json_int_t)r->cpu_m, "memory_mib",
			 (json_int_t)r->memory_mib, "disk_gib", (json_int_t)r->disk_gib);
}

static json_t *report_json(const struct capacity_report *r, const struct capacity_profile *prof,
			   double ratio, const struct plan *plans, size_t nplans)
{
	json_t *pl = json_array();

	for (size_t i = 0; pl && i < nplans; i++) {
		const struct plan *p = &plans[i];
		json_array_append_new(pl, json_pack(
			"{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "name", p->name,
			"cpu_request_millicores", (json_int_t)p->cpu_request_m,
			"cpu_limit_millicores", (json_int_t)p->cpu_limit_m,
			"memory_request_mib", (json_int_t)p->memory_request_mib,
			"memory_limit_mib", (json_int_t)p->memory_limit_mib,
			"storage_gib", (json_int_t)p->storage_gib, "pods", (json_int_t)p->pods,
			"max_replicas", (json_int_t)p->max_replicas, "more_fit", (json_int_t)capacity_fits(r, p)));
	}
	return json_pack(
		"{s:i, s:s, s:o, s:{s:o, s:o, s:o}, s:o, s:{s:o, s:o}, s:{s:I, s:o, s:o},"
		" s:{s:o, s:o}, s:f, s:o, s:b, s:o}",
		"format", 1, "profile", prof->source, "total", res_json(&r->total),
		"reserved", "system", res_json(&r->reserved_system), "k3s", res_json(&r->reserved_k3s),
		"eviction", res_json(&r->reserved_eviction),
		"allocatable", res_json(&r->allocatable),
		"platform", "requests", res_json(&r->platform_request), "limits",
		res_json(&r->platform_limit),
		"tenants", "count", (json_int_t)r->tenants, "requests", res_json(&r->tenant_request),
		"limits", res_json(&r->tenant_limit),
		"free", "requests", res_json(&r->free_request), "limits", res_json(&r->free_limit),
		"limits_ratio", ratio, "limits_budget", res_json(&r->limit_budget),
		"within_budget", capacity_admit(r, NULL) == 0, "plans", pl);
}

static int add_res_row(struct table *t, const char *what, const struct capacity_res *r, bool disk)
{
	char cpu[32], mem[32], dsk[32];

	snprintf(cpu, sizeof(cpu), "%lldm", (long long)r->cpu_m);
	snprintf(mem, sizeof(mem), "%lld MiB", (long long)r->memory_mib);
	snprintf(dsk, sizeof(dsk), disk ? "%lld GiB" : "-", (long long)r->disk_gib);
	const char *row[] = { what, cpu, mem, dsk };
	return table_add_row(t, row);
}

static int print_human(const struct capacity_report *r, const struct capacity_profile *prof,
		       double ratio, const struct plan *plans, size_t nplans)
{
	static const char *const head[] = { "", ">CPU", ">MEMORY", ">DISK" };
	static const char *const phead[] = { "PLAN", ">CPU REQ/LIM", ">MEMORY REQ/LIM", ">DISK",
					     ">PODS", ">APP SCALES TO", ">MORE FIT" };
	struct table *t = table_new(4, head), *p = table_new(7, phead);
	char tenants[64], budget[64];
	int rc = t && p ? 0 : -1;

	snprintf(tenants, sizeof(tenants), "tenants (%zu)", r->tenants);
	snprintf(budget, sizeof(budget), "limit budget (%.2gx)", ratio);
	printf("profile: %s\n\nrequests:\n", prof->source);
	rc = rc ? rc : add_res_row(t, "total", &r->total, true);
	rc = rc ? rc : add_res_row(t, "reserved: system", &r->reserved_system, true);
	rc = rc ? rc : add_res_row(t, "reserved: k3s", &r->reserved_k3s, true);
	rc = rc ? rc : add_res_row(t, "reserved: eviction", &r->reserved_eviction, true);
	rc = rc ? rc : add_res_row(t, "allocatable", &r->allocatable, true);
	rc = rc ? rc : add_res_row(t, "platform", &r->platform_request, true);
	rc = rc ? rc : add_res_row(t, tenants, &r->tenant_request, true);
	rc = rc ? rc : add_res_row(t, "free", &r->free_request, true);
	if (rc == 0)
		table_print(t, stdout);
	table_free(t);
	t = rc ? NULL : table_new(4, head);
	rc = t ? 0 : -1;
	rc = rc ? rc : add_res_row(t, budget, &r->limit_budget, false);
	rc = rc ? rc : add_res_row(t, "platform", &r->platform_limit, false);
	rc = rc ? rc : add_res_row(t, tenants, &r->tenant_limit, false);
	rc = rc ? rc : add_res_row(t, "free", &r->free_limit, false);
	if (rc == 0) {
		printf("\nlimits:\n");
		table_print(t, stdout);
	}
	table_free(t);
	for (size_t i = 0; rc == 0 && i < nplans; i++) {
		const struct plan *pl = &plans[i];
		char cpu[48], mem[48], dsk[24], pods[24], scale[24], fit[24];
		snprintf(cpu, sizeof(cpu), "%lldm/%lldm", (long long)pl->cpu_request_m,
			 (long long)pl->cpu_limit_m);
		snprintf(mem, sizeof(mem), "%lld/%lld MiB", (long long)pl->memory_request_mib,
			 (long long)pl->memory_limit_mib);
		snprintf(dsk, sizeof(dsk), "%lld GiB", (long long)pl->storage_gib);
		snprintf(pods, sizeof(pods), "%lld", (long long)pl->pods);
		snprintf(scale, sizeof(scale), pl->max_replicas > 1 ? "%lld pods" : "1 pod (fixed)",
			 (long long)pl->max_replicas);
		snprintf(fit, sizeof(fit), "%lld", (long long)capacity_fits(r, pl));
		const char *row[] = { pl->name, cpu, mem, dsk, pods, scale, fit };
		rc = table_add_row(p, row);
	}
	if (rc == 0) {
		printf("\n");
		table_print(p, stdout);
		if (capacity_admit(r, NULL) < 0)
			printf("\nover budget: the tenants (or the platform) need more than the box has\n");
	}
	table_free(p);
	return rc;
}

int cmd_capacity(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct admission adm;
	struct capacity_report r;
	struct state *st = NULL;
	struct plan *plans = NULL;
	size_t nplans = 0;
	bool json = false;
	int c, rc = -1;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		} else
			return cli_bad_option(cli, "capacity", argv, optopt);
	}
	if (optind != argc)
		return cli_usage(cli, "capacity", "takes no arguments");
	if (admission_load(cli->datadir, cli->profile, cli->state_path, &adm, &cli->err) < 0 ||
	    state_open(cli->state_path, STATE_OPEN_EXISTING, &st, &cli->err) < 0 ||
	    admission_report(st, &adm, &r, &plans, &nplans, &cli->err) < 0) {
		err_prefix(&cli->err, "capacity");
		goto out;
	}
	if (json)
		rc = jsonout_print(report_json(&r, &adm.profile, adm.budget.limits_ratio, plans, nplans),
				   &cli->err);
	else if ((rc = print_human(&r, &adm.profile, adm.budget.limits_ratio, plans, nplans)) < 0)
		err_set(&cli->err, EXIT_RUNTIME, "capacity: out of memory");
out:
	free(plans);
	state_close(st);
	return rc;
}
