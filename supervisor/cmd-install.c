/* outpost install --bundle FILE [--root DIR] [--pubkey KEY] [--no-start] [--skip-preflight] [--quiet]
 * outpost rollback [--root DIR] */
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "capacity.h"
#include "install.h"
#include "log.h"
#include "preflight.h"
#include "util.h"

extern char **environ;

static int run_preflight(struct cli *cli, const char *root, const struct manifest *m, int skip)
{
	struct preflight_result res[PREFLIGHT_MAX_RESULTS];
	struct preflight_facts facts;
	struct capacity_budget cap;
	struct tm tm = { 0 };
	size_t n;
	int fails;

	if (capacity_budget_load(cli->datadir, &cap, &cli->err) < 0)
		return err_prefix(&cli->err, "preflight");
	preflight_gather(root, &facts);
	if (strptime(m->created, "%Y-%m-%dT%H:%M:%SZ", &tm))
		facts.not_before = timegm(&tm);
	n = preflight_evaluate(&facts, &cap, res, PREFLIGHT_MAX_RESULTS);
	printf("Preflight:\n");
	fails = preflight_print(res, n, stdout);
	if (fails && !skip)
		return err_set(&cli->err, EXIT_REFUSED,
			       "preflight: %d check%s failed; fix them or pass --skip-preflight", fails,
			       fails == 1 ? "" : "s");
	if (fails)
		log_warn("preflight: %d check%s failed; continuing because of --skip-preflight", fails,
			 fails == 1 ? "" : "s");
	return 0;
}

static int run_command(struct cli *cli, char *const argv[])
{
	pid_t pid;
	int status, rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);

	if (rc != 0)
		return err_errno(&cli->err, rc, "run %s", argv[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return err_errno(&cli->err, errno, "wait for %s", argv[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return err_set(&cli->err, EXIT_RUNTIME, "%s %s %s failed", argv[0], argv[1],
			       argv[2] ? argv[2] : "");
	return 0;
}

int cmd_install(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "root", required_argument, NULL, 'r' },
		{ "pubkey", required_argument, NULL, 'p' },
		{ "no-start", no_argument, NULL, 'n' },
		{ "skip-preflight", no_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const outcome_text[] = {
		[INSTALL_INSTALLED] = "installed", [INSTALL_UPGRADED] = "upgraded to",
		[INSTALL_RESUMED] = "resumed and installed", [INSTALL_ALREADY] = "already installed:",
	};
	const char *bundle = NULL, *root = "/", *keys = NULL;
	int c, no_start = 0, skip = 0, quiet = 0;
	enum install_outcome outcome;
	struct install *in;

	optind = 0;
	while ((c = getopt_long(argc, argv, "b:r:p:nsqh", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bundle = optarg;
			break;
		case 'r':
			root = optarg;
			break;
		case 'p':
			keys = optarg;
			break;
		case 'n':
			no_start = 1;
			break;
		case 's':
			skip = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			printf("Usage: outpost install --bundle FILE [--root DIR] [--pubkey KEY] [--no-start]\n"
			       "                       [--skip-preflight] [--quiet]\n\n"
			       "Checks the machine, verifies the signed bundle and lays out k3s offline.\n"
			       "Rerunning the same bundle does nothing; a newer one upgrades and keeps the\n"
			       "previous release for 'outpost rollback'. --root installs under a prefix;\n"
			       "trusted keys are <root>/etc/outpost/trusted-keys/*.pub unless --pubkey.\n");
			return 0;
		default:
			return cli_bad_option(cli, "install", argv, optopt);
		}
	}
	if (!bundle || optind != argc)
		return cli_usage(cli, "install", "needs --bundle FILE");
	if (root[0] != '/')
		return cli_usage(cli, "install", "--root must be an absolute path");
	if (install_begin(root, bundle, keys, &in, &cli->err) < 0)
		return -1;
	/* A rerun of the installed bundle changes nothing: no machine checks. */
	if ((!install_is_current(in) && run_preflight(cli, root, install_manifest(in), skip) < 0) ||
	    install_commit(in, quiet, &outcome, &cli->err) < 0) {
		install_end(in);
		return -1;
	}
	printf("%s bundle %s (k3s %s) under %s\n", outcome_text[outcome],
	       install_manifest(in)->bundle_version, install_manifest(in)->k3s_version, root);
	install_end(in);
	if (!no_start && !strcmp(root, "/") && outcome != INSTALL_ALREADY) {
		char *reload[] = { "systemctl", "daemon-reload", NULL };
		char *enable[] = { "systemctl", "enable", "--now", "outpost", NULL };
		if (run_command(cli, reload) < 0 || run_command(cli, enable) < 0)
			return -1;
	}
	return 0;
}

int cmd_rollback(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *root = "/";
	char version[65];
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			root = optarg;
			break;
		case 'h':
			printf("Usage: outpost rollback [--root DIR]\n\n"
			       "Makes the previously installed release the live one again (k3s binary,\n"
			       "images, charts, manifests, config). Restart outpost afterwards.\n");
			return 0;
		default:
			return cli_bad_option(cli, "rollback", argv, optopt);
		}
	}
	if (optind != argc)
		return cli_usage(cli, "rollback", "takes no arguments");
	if (root[0] != '/')
		return cli_usage(cli, "rollback", "--root must be an absolute path");
	if (install_rollback(root, version, &cli->err) < 0)
		return -1;
	printf("rolled back to bundle %s under %s\n", version, root);
	return 0;
}
