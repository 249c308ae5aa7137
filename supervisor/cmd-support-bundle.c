/* outpost support-bundle [--out DIR] [--root DIR] [--kubeconfig PATH] [--timeout SECONDS] */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "support.h"

static const char usage[] =
	"Usage: outpost support-bundle [--out DIR] [--root DIR] [--kubeconfig PATH]\n"
	"                              [--supervise-config FILE] [--timeout SECONDS]\n\n"
	"Writes outpost-support-<host>-<time>.tar.gz (mode 0600) into DIR (default: the\n"
	"current directory): host facts (OS, kernel, CPU, memory, disks, cgroup, time,\n"
	"the preflight table), Outpost's facts (version, install record, status --json,\n"
	"the tenants and their events, supervise.json), the journal of outpost.service\n"
	"and outpost-install.service (last 7 days, at most 50 MB), the cluster through\n"
	"the API (nodes, events, pods, HelmCharts, Jobs, quotas; never Secrets) and the\n"
	"end of the platform's and tenants' pod logs from /var/log/pods (64 KiB per\n"
	"container). Values of settings and\n"
	"variables named like password, token, secret or key, and credentials in URLs\n"
	"and connection strings, read REDACTED. Each part has --timeout seconds\n"
	"(default 30); a part that fails is listed with its reason in parts.txt and\n"
	"the rest is still written. --root reads the box's files under a prefix.\n";

int cmd_support_bundle(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "root", required_argument, NULL, 'r' },
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "supervise-config", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct support_opts o = { .out_dir = ".", .root = "/", .part_timeout_s = 30,
				  .supervise_json = OUTPOST_SYSCONFDIR "/outpost/supervise.json",
				  .datadir = cli->datadir };
	char self[PATH_MAX], path[PATH_MAX];
	ssize_t n;
	int c, failed = 0;
	char *end;
	unsigned long t;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o.out_dir = optarg;
			break;
		case 'r':
			o.root = optarg;
			break;
		case 'k':
			o.kubeconfig = optarg;
			break;
		case 's':
			o.supervise_json = optarg;
			break;
		case 't':
			t = strtoul(optarg, &end, 10);
			if (*end || t == 0 || t > 3600)
				return cli_usage(cli, "support-bundle", "--timeout '%s': seconds from 1 to 3600",
						 optarg);
			o.part_timeout_s = (unsigned)t;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return cli_bad_option(cli, "support-bundle", argv, optopt);
		}
	}
	if (optind < argc)
		return cli_usage(cli, "support-bundle", "unexpected argument '%s'", argv[optind]);
	if (o.root[0] != '/')
		return cli_usage(cli, "support-bundle", "--root must be an absolute path");
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		return err_set(&cli->err, EXIT_RUNTIME, "support-bundle: /proc/self/exe: unreadable");
	self[n] = '\0';
	o.self = self;
	o.state_path = cli->state_path;
	if (support_bundle_write(&o, path, sizeof(path), &failed, &cli->err) < 0) {
		char why[sizeof(cli->err.msg)];

		snprintf(why, sizeof(why), "%s", cli->err.msg);
		return err_set(&cli->err, cli->err.exit_code ? cli->err.exit_code : EXIT_RUNTIME,
			       "support-bundle: %s", why);
	}
	printf("%s\n", path);
	if (failed)
		fprintf(stderr, "outpost: support-bundle: %d part(s) could not be collected (see parts.txt)\n",
			failed);
	return 0;
}
