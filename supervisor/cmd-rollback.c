/* outpost rollback [--root DIR] [--no-start] */
#include "cmd.h"
#include "cmd-install.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "install.h"

int cmd_rollback(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "no-start", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *root = "/";
	char version[65];
	int c, no_start = 0, pkg_changed;

	optind = 0;
	while ((c = getopt_long(argc, argv, "r:nh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			root = optarg;
			break;
		case 'n':
			no_start = 1;
			break;
		case 'h':
			printf("Usage: outpost rollback [--root DIR] [--no-start]\n\n"
			       "Makes the previously installed release the live one again (k3s binary,\n"
			       "images, charts, manifests, config) and its Outpost package, if it carries\n"
			       "one, then restarts outpost.service (not under --root or with --no-start).\n");
			return 0;
		default:
			return cli_bad_option(cli, "rollback", argv, optopt);
		}
	}
	if (optind != argc)
		return cli_usage(cli, "rollback", "takes no arguments");
	if (root[0] != '/')
		return cli_usage(cli, "rollback", "--root must be an absolute path");
	if (cli_need_root(cli, "rollback", root) < 0)
		return -1;
	if (install_rollback(root, version, &cli->err) < 0)
		return -1;
	printf("rolled back to bundle %s under %s\n", version, root);
	if (install_cmd_sync_package(cli, root, 1, &pkg_changed) < 0)
		return -1;
	if (!no_start && !strcmp(root, "/"))
		return install_cmd_restart_service(cli);
	return 0;
}
