/* outpost install --bundle FILE [--root DIR] [--pubkey KEY] [--no-start] [--skip-preflight]
 *                 [--allow-downgrade] [--quiet] */
#include "cmd.h"
#include "cmd-install.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capacity.h"
#include "debpkg.h"
#include "install.h"
#include "log.h"
#include "preflight.h"
#include "run.h"
#include "sign.h"
#include "tls.h"
#include "trust.h"
#include "util.h"

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

int install_cmd_sync_package(struct cli *cli, const char *root, int allow_downgrade, int *changed)
{
	char deb[PATH_MAX];
	int has;

	*changed = 0;
	has = install_live_package(root, deb, sizeof(deb), &cli->err);
	if (has <= 0)
		return has;
	if (debpkg_sync(root, deb, allow_downgrade, changed, &cli->err) < 0)
		return -1;
	if (*changed)
		printf("installed package %s from the bundle under %s\n", basename(deb), root);
	return 0;
}

/* The appliance CA: made on the first install, then kept as it is across
 * upgrades and rollbacks (the certificates it issued stay valid). */
static int ensure_ca(struct cli *cli, const char *root)
{
	char dir[PATH_MAX], host[256] = "outpost";
	int created;

	snprintf(dir, sizeof(dir), "%s%s%s", root, root[strlen(root) - 1] == '/' ? "" : "/", TLS_CA_DIR);
	gethostname(host, sizeof(host) - 1);
	if (tls_ca_ensure(dir, host, &created, &cli->err) < 0)
		return err_prefix(&cli->err, "install");
	if (created)
		printf("created the appliance CA in %s (outpost ca prints its certificate)\n", dir);
	return 0;
}

int install_cmd_restart_service(struct cli *cli)
{
	char *reload[] = { "systemctl", "daemon-reload", NULL };
	char *enable[] = { "systemctl", "enable", "outpost", NULL };
	char *restart[] = { "systemctl", "restart", "outpost", NULL };

	if (run_argv(reload, NULL, 0, NULL, &cli->err) < 0 ||
	    run_argv(enable, NULL, 0, NULL, &cli->err) < 0 ||
	    run_argv(restart, NULL, 0, NULL, &cli->err) < 0)
		return -1;
	printf("restarted outpost.service\n");
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
		{ "allow-downgrade", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const outcome_text[] = {
		[INSTALL_INSTALLED] = "installed", [INSTALL_UPGRADED] = "upgraded to",
		[INSTALL_DOWNGRADED] = "downgraded to",
		[INSTALL_RESUMED] = "resumed and installed", [INSTALL_ALREADY] = "already installed:",
	};
	const char *bundle = NULL, *root = "/", *pubkey = NULL;
	char keydir[PATH_MAX], id[SIGN_KEYID_HEX];
	int c, no_start = 0, skip = 0, quiet = 0, allow_downgrade = 0, pkg_changed, kept;
	enum install_outcome outcome;
	struct install *in;
	struct stat st;

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
			pubkey = optarg;
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
		case 'D':
			allow_downgrade = 1;
			break;
		case 'h':
			printf("Usage: outpost install --bundle FILE [--root DIR] [--pubkey KEY] [--no-start]\n"
			       "                       [--skip-preflight] [--allow-downgrade] [--quiet]\n\n"
			       "Checks the machine, verifies the signed bundle and lays out k3s offline.\n"
			       "Rerunning the same bundle does nothing; a newer one upgrades and keeps the\n"
			       "previous release for 'outpost rollback'; an older one (or one whose Outpost\n"
			       "package is older than dpkg's) needs --allow-downgrade. The bundle's Outpost\n"
			       "package is installed with dpkg --root ROOT, and the service is restarted\n"
			       "last. --root installs under a prefix. Trusted keys: %s/*.pub\n"
			       "(<root>/etc/outpost/trusted-keys with --root); --pubkey KEY trusts KEY\n"
			       "and, once the install succeeds, keeps it there for later runs.\n",
			       TRUST_DIR);
			return 0;
		default:
			return cli_bad_option(cli, "install", argv, optopt);
		}
	}
	if (!bundle || optind != argc)
		return cli_usage(cli, "install", "needs --bundle FILE");
	if (root[0] != '/')
		return cli_usage(cli, "install", "--root must be an absolute path");
	if (pubkey && (stat(pubkey, &st) < 0 || !S_ISREG(st.st_mode)))
		return cli_usage(cli, "install", "--pubkey %s: not a key file", pubkey);
	if (cli_need_root(cli, "install", root) < 0)
		return -1;
	if (trust_dir(root, keydir, sizeof(keydir), &cli->err) < 0 ||
	    install_begin(root, bundle, pubkey ? pubkey : keydir, &in, &cli->err) < 0)
		return err_prefix(&cli->err, "install");
	/* A rerun of the installed bundle changes nothing: no machine checks. */
	if (install_check_order(in, allow_downgrade, &cli->err) < 0 ||
	    (!install_is_current(in) && run_preflight(cli, root, install_manifest(in), skip) < 0) ||
	    install_commit(in, quiet, &outcome, &cli->err) < 0) {
		install_end(in);
		return -1;
	}
	printf("%s bundle %s (k3s %s) under %s\n", outcome_text[outcome],
	       install_manifest(in)->bundle_version, install_manifest(in)->k3s_version, root);
	install_end(in);
	/* Kept only after a good install, so a refused bundle leaves no trust behind. */
	if (pubkey) {
		if (trust_keep(keydir, pubkey, id, &kept, &cli->err) < 0)
			return -1;
		if (kept)
			printf("trusted key %s kept in %s\n", id, keydir);
	}
	if (ensure_ca(cli, root) < 0)
		return -1;
	/* Also on a rerun: it finishes a package step an earlier run did not. */
	if (install_cmd_sync_package(cli, root, allow_downgrade, &pkg_changed) < 0)
		return -1;
	if (!no_start && !strcmp(root, "/") && (outcome != INSTALL_ALREADY || pkg_changed))
		return install_cmd_restart_service(cli);
	return 0;
}
