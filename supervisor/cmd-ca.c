/* outpost ca [--root DIR]: the appliance CA's certificate, for clients to trust. */
#include "cmd.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"
#include "util.h"

int cmd_ca(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *root = "/";
	char path[PATH_MAX], *pem = NULL;
	size_t len;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			root = optarg;
			break;
		case 'h':
			printf("Usage: outpost ca [--root DIR]\n\n"
			       "Prints the appliance CA's certificate (PEM). Every tenant host's HTTPS\n"
			       "certificate is issued by it: install it in the clients' trust store.\n"
			       "`outpost install` creates the CA on the first install.\n");
			return 0;
		default:
			return cli_bad_option(cli, "ca", argv, optopt);
		}
	}
	if (optind != argc)
		return cli_usage(cli, "ca", "takes no arguments");
	snprintf(path, sizeof(path), "%s%s" TLS_CA_DIR "/" TLS_CA_CERT, root,
		 root[0] && root[strlen(root) - 1] == '/' ? "" : "/");
	if (util_read_file(path, 64 * 1024, &pem, &len, &cli->err) < 0)
		return err_prefix(&cli->err, "ca: no CA yet (outpost install creates it)");
	fwrite(pem, 1, len, stdout);
	free(pem);
	return 0;
}
