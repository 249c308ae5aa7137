/* The top-level command table and the program's entry (see main.c). Apart
 * from cli.c because the table reaches every command, and with them every
 * library: the supervisor program links cli.c without it. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>

#include "cmd.h"
#include "config.h"
#include "log.h"
#include "util.h"

static const struct cli_command commands[] = {
	{ "tenant", cmd_tenant, "add, change, remove, list, import and export tenants" },
	{ "capacity", cmd_capacity, "the box's resource budget and how many more tenants fit" },
	{ "status", cmd_status, "k3s, the API, the platform components and the tenants by phase" },
	{ "top", cmd_top, "CPU and memory each tenant uses now, beside its plan (metrics-server)" },
	{ "supervise", cmd_supervise, "run and supervise k3s, the platform and the reconciler" },
	{ "reconcile", cmd_reconcile, "make the cluster match the tenants (--once, --dry-run)" },
	{ "install", cmd_install, "install or upgrade from a signed bundle" },
	{ "rollback", cmd_rollback, "go back to the previously installed bundle" },
	{ "ca", cmd_ca, "print the appliance CA's certificate (tenant hosts' HTTPS)" },
	{ "tls", cmd_tls, "operators' certificates for tenant hosts: import, list, rm" },
	{ "reset", cmd_reset, "return the machine to before install (keeps backups)" },
	{ "backup", cmd_backup, "back up the state, k3s's datastore and token to a local archive" },
	{ "restore", cmd_restore, "restore a backup (checked in full before anything changes)" },
	{ "support-bundle", cmd_support_bundle, "collect a redacted tar.gz for support" },
	{ "bundle", cmd_bundle, "build, verify and list air-gapped bundles" },
	{ "version", cmd_version, "print the version" },
};

int cmd_version(struct cli *cli, int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return cli_usage(cli, "version", "takes no arguments");
	printf("outpost %s\n", PACKAGE_VERSION);
	return 0;
}

int cli_main(int argc, char **argv)
{
	struct cli cli = { 0 };
	int first, special, rc;

	log_init("outpost", LOG_INFO);
	if ((first = cli_parse_globals(&cli, argc, argv, &special)) < 0)
		goto fail;
	if (special == 'h') {
		cli_print_commands(stdout, NULL, commands, ARRAY_SIZE(commands));
		return EXIT_OK;
	}
	if (special == 'V')
		return cmd_version(&cli, 1, argv);
	optind = 0; /* commands run getopt_long again from their own argv[0] */
	rc = cli_dispatch(&cli, NULL, commands, ARRAY_SIZE(commands), argc - first, argv + first);
	if (rc == 0)
		return EXIT_OK;
fail:
	fprintf(stderr, "outpost: %s\n", cli.err.msg[0] ? cli.err.msg : "failed");
	return cli.err.exit_code ? cli.err.exit_code : EXIT_RUNTIME;
}
