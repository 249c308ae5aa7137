/* outpost-supervise: the supervising process of `outpost supervise`, which
 * execs it with the same process id (systemd's main process, or PID 1).
 *
 * A program of its own so that what stays resident is small: it links
 * libsystemd, SQLite and jansson, and none of libcurl, OpenSSL, libarchive
 * and libyaml, whose mapped pages (with GnuTLS, Kerberos, LDAP and ICU that
 * Debian's builds of them pull in) were most of the daemon's memory. The
 * worker that needs them is `outpost supervise --worker-fd`, started while
 * there is API work to do.
 *
 * Its command line is the one the worker gets, with argv[0] replaced by the
 * outpost program that --outpost names: --state PATH, `supervise` and the
 * supervise options. */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "supervise-config.h"
#include "supervise.h"

/* --outpost must name the outpost program (it starts the workers), not us. */
static bool started_by_outpost(const char *outpost)
{
	char self[PATH_MAX], real[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (!outpost || n <= 0 || !realpath(outpost, real))
		return false;
	self[n] = '\0';
	return strcmp(self, real) != 0 && access(real, X_OK) == 0;
}

static int reload_config(void *ctx, struct supervise_config *c, struct err *e)
{
	return supervise_config_build(ctx, c, e);
}

int main(int argc, char **argv)
{
	struct cli cli = { 0 };
	struct supervise_args a = { .cli = &cli, .worker_fd = -1 };
	struct supervise_config c;
	char **worker_argv = NULL;
	int first, special, rc;

	log_init("outpost", LOG_INFO);
	if ((first = cli_parse_globals(&cli, argc, argv, &special)) < 0)
		goto fail;
	if (special || first >= argc || strcmp(argv[first], "supervise")) {
		err_set(&cli.err, EXIT_USAGE, "outpost-supervise is started by 'outpost supervise'");
		goto fail;
	}
	a.argc = argc - first;
	a.argv = argv + first;
	if (supervise_config_build(&a, &c, &cli.err) < 0)
		goto fail;
	if (!started_by_outpost(a.outpost) || !(worker_argv = calloc((size_t)argc + 1, sizeof(char *)))) {
		supervise_config_free(&c);
		err_set(&cli.err, EXIT_USAGE, "outpost-supervise is started by 'outpost supervise'");
		goto fail;
	}
	memcpy(worker_argv, argv, (size_t)argc * sizeof(char *));
	worker_argv[0] = (char *)a.outpost;
	rc = supervise_run(&c, worker_argv, reload_config, &a, &cli.err);
	free(worker_argv);
	if (rc == 0)
		return EXIT_OK;
fail:
	fprintf(stderr, "outpost: %s\n", cli.err.msg[0] ? cli.err.msg : "failed");
	return cli.err.exit_code ? cli.err.exit_code : EXIT_RUNTIME;
}
