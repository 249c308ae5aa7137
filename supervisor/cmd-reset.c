/* outpost reset [--root DIR] [--keep-state] [--host] [--yes] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "reset.h"
#include "table.h"

static const char usage[] =
	"Usage: outpost reset [--root DIR] [--keep-state] [--host] [--yes]\n\n"
	"Returns the machine to how it was before 'outpost install': stops\n"
	"outpost.service and k3s and the pods' containerd shims, unmounts everything\n"
	"under k3s's and the kubelet's directories, deletes the CNI and flannel\n"
	"interfaces and k3s's iptables/ip6tables rules and chains (only those), and\n"
	"removes k3s's files, /etc/rancher, Outpost's drop-ins and timers, the install\n"
	"record and the releases. /var/lib/outpost/backups/ is kept, and with\n"
	"--keep-state the tenants' state file too.\n\n"
	"Every step runs even when an earlier one failed; a table of the steps and\n"
	"their outcome ends the run, and the exit status is 1 if any failed. Run it\n"
	"again to finish what a failed or killed run left.\n\n"
	"Asks for the word 'reset' on stdin unless --yes. --root works under a\n"
	"prefix: services and processes are not touched there, and the network only\n"
	"with --host (for a private network namespace).\n";

static int confirm(struct cli *cli, const char *root)
{
	char line[64] = "";

	fprintf(stderr,
		"This removes k3s, its data and every tenant's workloads under %s.\n"
		"Type 'reset' to go on: ",
		root);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin))
		line[strcspn(line, "\r\n")] = '\0';
	else
		fputc('\n', stderr); /* end the prompt's line before the error */
	if (strcmp(line, "reset"))
		return err_set(&cli->err, EXIT_REFUSED, "reset: not confirmed (type 'reset', or give --yes)");
	return 0;
}

static int report(struct cli *cli, const struct reset_step *steps, size_t n,
		  const struct reset_result *res, int failed)
{
	static const char *const headers[] = { "STEP", "TARGET", "OUTCOME", "DETAIL" };
	static const char *const words[] = { "ok", "skipped", "FAILED" };
	struct table *t = table_new(4, headers);

	if (!t)
		return err_set(&cli->err, EXIT_RUNTIME, "reset: out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *cells[] = { steps[i].label, steps[i].arg[0] ? steps[i].arg : "-",
					words[res[i].outcome], res[i].detail };
		table_add_row(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
	if (failed)
		return err_set(&cli->err, EXIT_RUNTIME,
			       "reset: %d step(s) failed; fix the cause and run it again", failed);
	return 0;
}

int cmd_reset(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "keep-state", no_argument, NULL, 'k' },
		{ "host", no_argument, NULL, 'H' },
		{ "yes", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct reset_opts o = { .root = "/" };
	struct reset_step *steps = NULL;
	struct reset_result *res;
	int c, yes = 0, n, failed, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			o.root = optarg;
			break;
		case 'k':
			o.keep_state = 1;
			break;
		case 'H':
			o.host = 1;
			break;
		case 'y':
			yes = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return cli_bad_option(cli, "reset", argv, optopt);
		}
	}
	if (optind < argc)
		return cli_usage(cli, "reset", "unexpected argument '%s'", argv[optind]);
	if (o.root[0] != '/')
		return cli_usage(cli, "reset", "--root must be an absolute path");
	if (cli_need_root(cli, "reset", o.root) < 0)
		return -1;
	if (!strcmp(o.root, "/"))
		o.host = 1;
	if (!yes && confirm(cli, o.root) < 0)
		return -1;
	if ((n = reset_plan(&o, &steps)) < 0)
		return err_set(&cli->err, EXIT_USAGE, "reset: --root: %s", strerror(-n));
	if (!(res = calloc((size_t)n, sizeof(*res)))) {
		free(steps);
		return err_set(&cli->err, EXIT_RUNTIME, "reset: out of memory");
	}
	failed = reset_run(&o, steps, (size_t)n, res);
	rc = report(cli, steps, (size_t)n, res, failed);
	free(res);
	free(steps);
	return rc;
}
