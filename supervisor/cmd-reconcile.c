/* outpost reconcile --once | --dry-run: one pass of the tenant reconciler
 * outside the daemon (the daemon runs the same passes from its loop). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cmd.h"
#include "kubeconfig.h"
#include "reconcile.h"
#include "tls.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: outpost reconcile --once [--changed] [--kubeconfig PATH] [--max-inflight N] [--page-size N]\n"
		"       outpost reconcile --dry-run\n\n"
		"Makes the cluster match the tenants of the state file, once.\n\n"
		"  --once             run one pass; exit 1 if any tenant is Failed or any write failed\n"
		"  --changed          with --once: a targeted pass, only over the tenants changed, not\n"
		"                     Ready or removed since the last passes (as the daemon does\n"
		"                     between its full resyncs)\n"
		"  --dry-run          print the objects a pass would apply, as one JSON List\n"
		"                     (no cluster needed; credentials are redacted)\n"
		"  --kubeconfig PATH  the cluster's kubeconfig (default %s)\n"
		"  --max-inflight N   requests in flight at once (default 8)\n"
		"  --page-size N      objects per list page (default 250)\n"
		"\nA tenant's provisioning Jobs wait for their platform services: a service is\n"
		"ready when its row in the state file (written by 'outpost supervise') says\n"
		"Ready; with no such rows at all, every service counts as ready.\n"
		"The continuous loop runs inside 'outpost supervise'.\n",
		KUBECONFIG_DEFAULT);
}

static void print_summary(const struct reconcile_summary *s)
{
	printf("reconcile: %s tenants=%zu ready=%zu provisioning=%zu pending=%zu failed=%zu "
	       "deleting=%zu removed=%zu created=%zu applied=%zu repaired=%zu moved=%zu deleted=%zu errors=%zu "
	       "requests=%lu writes=%lu retries=%lu status_writes=%zu ms=%llu%s\n",
	       s->full ? "full" : "targeted", s->tenants, s->ready, s->provisioning, s->pending, s->failed, s->deleting,
	       s->removed, s->created, s->applied, s->repaired, s->moved, s->deleted, s->action_errors, s->requests,
	       s->writes, s->retries, s->status_writes, (unsigned long long)s->elapsed_ms,
	       s->incomplete ? " incomplete" : "");
}

int cmd_reconcile(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "max-inflight", required_argument, NULL, 'm' },
		{ "page-size", required_argument, NULL, 'p' },
		{ "changed", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char ca_dir[PATH_MAX];
	struct reconcile_config cfg = { .state_path = cli->state_path, .datadir = cli->datadir,
					.ca_dir = ca_dir };
	struct reconcile_summary sum;
	struct reconcile *r = NULL;
	int c, once = 0, dry = 0, rc;
	char *end;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			once = 1;
			break;
		case 'n':
			dry = 1;
			break;
		case 'c':
			cfg.changed_only = true;
			break;
		case 'k':
			cfg.kubeconfig_path = optarg;
			break;
		case 'm':
			cfg.max_inflight = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !cfg.max_inflight || cfg.max_inflight > 64)
				return cli_usage(cli, "reconcile", "--max-inflight: '%s' is not 1..64", optarg);
			break;
		case 'p':
			cfg.list_limit = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !cfg.list_limit || cfg.list_limit > 5000)
				return cli_usage(cli, "reconcile", "--page-size: '%s' is not 1..5000", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return cli_bad_option(cli, "reconcile", argv, optopt);
		}
	}
	if (optind < argc)
		return cli_usage(cli, "reconcile", "unexpected argument '%s'", argv[optind]);
	if (once == dry)
		return cli_usage(cli, "reconcile", "give exactly one of --once and --dry-run");
	if (dry && cfg.changed_only)
		return cli_usage(cli, "reconcile", "--changed goes with --once");
	if (dry && cfg.kubeconfig_path)
		return cli_usage(cli, "reconcile", "--dry-run uses no cluster: drop --kubeconfig");
	if (dry)
		cfg.dry_run_out = stdout;
	tls_ca_dir_for_state(cli->state_path, ca_dir, sizeof(ca_dir));
	if (reconcile_new(&cfg, &r, &cli->err) < 0)
		return err_prefix(&cli->err, "reconcile");
	rc = reconcile_pass(r, &sum, &cli->err);
	reconcile_free(r);
	if (rc < 0)
		return -1;
	if (once)
		print_summary(&sum);
	if (sum.failed)
		return err_set(&cli->err, EXIT_RUNTIME, "reconcile: %zu of %zu tenants failed; first: %s",
			       sum.failed, sum.tenants + sum.deleting, sum.first_failure);
	if (sum.action_errors)
		return err_set(&cli->err, EXIT_RUNTIME, "reconcile: %zu writes failed", sum.action_errors);
	return 0;
}
