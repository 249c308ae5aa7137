/* `outpost top [--json] [--kubeconfig PATH]`: what each tenant uses now,
 * from metrics-server, beside its plan's limits, the heaviest first. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "jsonout.h"
#include "state.h"
#include "table.h"
#include "usage.h"

static const char usage[] =
	"Usage: outpost top [--json] [--kubeconfig PATH]\n"
	"CPU and memory each tenant's pods use now (metrics-server's last window), as a share\n"
	"of the plan's limits, the heaviest tenant first. Fails when metrics-server does not answer.\n";

static int print_table(const struct usage_row *rows, size_t n)
{
	static const char *const head[] = { "NAME", "PLAN", ">CPU", ">CPU%", ">MEMORY", ">MEMORY%",
					    ">PODS" };
	struct table *tb = table_new(7, head);
	int rc = tb ? 0 : -1;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct usage_row *r = &rows[i];
		char cpu[32], cpu_pc[16], mem[32], mem_pc[16], pods[24];
		int cp, mp;

		usage_shares(r, &cp, &mp);
		snprintf(cpu, sizeof(cpu), "%lldm", (long long)r->cpu_m);
		snprintf(mem, sizeof(mem), "%lld MiB", (long long)usage_mib(r->memory_bytes));
		snprintf(cpu_pc, sizeof(cpu_pc), cp < 0 ? "-" : "%d%%", cp);
		snprintf(mem_pc, sizeof(mem_pc), mp < 0 ? "-" : "%d%%", mp);
		snprintf(pods, sizeof(pods), "%zu", r->pods);
		const char *row[] = { r->tenant->name, r->tenant->plan, cpu, cpu_pc, mem, mem_pc, pods };
		rc = table_add_row(tb, row);
	}
	if (rc == 0)
		table_print(tb, stdout);
	table_free(tb);
	return rc;
}

static int print_json(const struct usage_row *rows, size_t n, struct err *e)
{
	json_t *arr = json_array(), *doc = json_pack("{s:i, s:o}", "format", 1, "tenants", arr);

	for (size_t i = 0; doc && i < n; i++)
		if (json_array_append_new(arr, usage_json(&rows[i])) < 0) {
			json_decref(doc);
			doc = NULL;
		}
	return jsonout_print(doc, e);
}

int cmd_top(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *kubeconfig = NULL;
	struct state *st = NULL;
	struct tenant_list l = { 0 };
	struct plan *plans = NULL;
	struct usage_row *rows = NULL;
	json_t *items = NULL;
	size_t nplans = 0;
	bool json = false;
	int c, rc = -1;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'k': kubeconfig = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_bad_option(cli, "top", argv, optopt);
		}
	}
	if (optind < argc)
		return cli_usage(cli, "top", "unexpected argument '%s'", argv[optind]);

	if (state_open(cli->state_path, STATE_OPEN_EXISTING, &st, &cli->err) < 0)
		goto fail;
	if (state_begin_read(st, &cli->err) < 0 || state_tenant_list(st, &l, &cli->err) < 0 ||
	    state_plan_list(st, &plans, &nplans, &cli->err) < 0)
		goto fail;
	state_rollback(st);
	if (usage_fetch(kubeconfig, &items, &cli->err) < 0) {
		err_prefix(&cli->err, "usage unavailable");
		goto fail;
	}
	if (usage_rows(&l, plans, nplans, items, &rows, &cli->err) < 0)
		goto fail;
	usage_sort(rows, l.n);
	if (json)
		rc = print_json(rows, l.n, &cli->err);
	else if ((rc = print_table(rows, l.n)) < 0)
		err_errno(&cli->err, ENOMEM, "top");
	goto out;
fail:
	err_prefix(&cli->err, "top");
out:
	json_decref(items);
	free(rows);
	free(plans);
	tenant_list_free(&l);
	state_close(st);
	return rc;
}
