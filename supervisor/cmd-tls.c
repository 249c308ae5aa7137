/* outpost tls import|list|rm: operators' certificates (tls.h). Checked in
 * full before anything is stored; storing one (or removing it) moves the
 * generation of every tenant it serves, so the daemon applies it at once. */
#include "cmd.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "state.h"
#include "tenant.h"
#include "tls.h"
#include "util.h"

#define PEM_FILE_MAX (256 * 1024)

struct tls_args {
	const char *tenant, *domain, *cert, *key, *ca;
};

static int parse(struct cli *cli, const char *cmd, const char *usage, bool files, int argc, char **argv,
		 struct tls_args *a)
{
	static const struct option opts[] = {
		{ "tenant", required_argument, NULL, 't' }, { "domain", required_argument, NULL, 'd' },
		{ "cert", required_argument, NULL, 'c' },   { "key", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' },     { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't': a->tenant = optarg; break;
		case 'd': a->domain = optarg; break;
		case 'c': a->cert = optarg; break;
		case 'k': a->key = optarg; break;
		case 'a': a->ca = optarg; break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			return cli_bad_option(cli, cmd, argv, optopt);
		}
	}
	if (optind != argc)
		return cli_usage(cli, cmd, "unexpected argument '%s'", argv[optind]);
	if (!a->tenant == !a->domain)
		return cli_usage(cli, cmd, "give exactly one of --tenant NAME and --domain DOMAIN");
	if (files && (!a->cert || !a->key))
		return cli_usage(cli, cmd, "needs --cert FILE and --key FILE");
	if (!files && (a->cert || a->key || a->ca))
		return cli_usage(cli, cmd, "takes no --cert, --key or --ca");
	return 0;
}

/* Moves the generation of every tenant the certificate serves (the tenant,
 * or every tenant host directly under the domain), with an event naming why. */
static int touch_served(struct state *st, const struct tls_args *a, const char *reason, struct err *e)
{
	struct tenant_list l = { 0 };
	int rc = -1;

	if (state_tenant_list(st, &l, e) < 0)
		return -1;
	for (size_t i = 0; i < l.n; i++) {
		struct tenant *t = &l.v[i];
		const char *dot = strchr(t->host, '.');

		if (a->tenant ? strcmp(t->name, a->tenant) : !dot || strcmp(dot + 1, a->domain))
			continue;
		if (state_tenant_update(st, t, e) < 0 ||
		    state_event_append(st, t->name, false, reason, e, "%s certificate for %s", a->tenant ? "the tenant's" : "the domain's",
				       t->host) < 0)
			goto out;
	}
	rc = 0;
out:
	tenant_list_free(&l);
	return rc;
}

static int read_pem(struct cli *cli, const char *what, const char *path, char **out)
{
	size_t len;

	if (util_read_file(path, PEM_FILE_MAX, out, &len, &cli->err) < 0)
		return err_prefix(&cli->err, "tls import: %s", what);
	return 0;
}

static void days_left(time_t not_after, char *buf, size_t len)
{
	struct tm tm;
	time_t t = not_after;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
	snprintf(buf + strlen(buf), len - strlen(buf), " (%lld days)",
		 (long long)((not_after - time(NULL)) / 86400));
}

static int cmd_tls_import(struct cli *cli, int argc, char **argv)
{
	struct tls_args a;
	struct tenant t = { 0 };
	struct state *st = NULL;
	char *cert = NULL, *key = NULL, *ca = NULL, dir[PATH_MAX], when[64];
	time_t not_after;
	int rc = parse(cli, "tls import",
		       "Usage: outpost tls import (--tenant NAME | --domain DOMAIN) --cert FILE --key FILE\n"
		       "                          [--ca FILE]\n\n"
		       "Checks an operator's certificate and stores it next to the state file, in\n"
		       "place of the appliance CA's: for one tenant's host, or (--domain) for every\n"
		       "tenant host directly under DOMAIN (a wildcard certificate). FILE holds the\n"
		       "certificate, then its chain; --ca names roots to trust besides the chain's\n"
		       "own and the system's. Refused, with nothing stored: a key that does not\n"
		       "match, a certificate that does not cover the host or domain, one not valid\n"
		       "now or for 7 more days, a self-signed one, an incomplete chain. Outpost\n"
		       "never renews it: `outpost tls list` shows when it expires.\n",
		       true, argc, argv, &a);

	if (rc)
		return rc < 0 ? -1 : 0;
	rc = -1;
	if (a.domain && tenant_check_host(a.domain, &cli->err) < 0) {
		err_prefix(&cli->err, "tls import: --domain");
		goto out;
	}
	if (read_pem(cli, "--cert", a.cert, &cert) < 0 || read_pem(cli, "--key", a.key, &key) < 0 ||
	    (a.ca && read_pem(cli, "--ca", a.ca, &ca) < 0))
		goto out;
	if (state_open(cli->state_path, STATE_OPEN_EXISTING, &st, &cli->err) < 0 ||
	    (a.tenant && state_tenant_get(st, a.tenant, &t, &cli->err) < 0)) {
		err_prefix(&cli->err, "tls import");
		goto out;
	}
	{
		struct tls_subject s = { .host = a.tenant ? t.host : NULL, .domain = a.domain };

		if (tls_check_operator(cert, key, &s, ca, time(NULL), &not_after, &cli->err) < 0) {
			err_prefix(&cli->err, "tls import: %s", a.cert);
			goto out;
		}
	}
	tls_store_dir_for_state(cli->state_path, dir, sizeof(dir));
	if (tls_store_put(dir, a.tenant ? TLS_KIND_TENANT : TLS_KIND_DOMAIN, a.tenant ? a.tenant : a.domain,
			  cert, key, &cli->err) < 0 ||
	    state_begin(st, &cli->err) < 0 || touch_served(st, &a, "CertificateImported", &cli->err) < 0 ||
	    state_commit(st, &cli->err) < 0) {
		err_prefix(&cli->err, "tls import");
		goto out;
	}
	days_left(not_after, when, sizeof(when));
	printf("stored the certificate for %s %s, valid until %s\n", a.tenant ? "tenant" : "domain",
	       a.tenant ? a.tenant : a.domain, when);
	rc = 0;
out:
	state_close(st);
	tenant_clear(&t);
	free(cert);
	free(ca);
	if (key) {
		OPENSSL_cleanse(key, strlen(key));
		free(key);
	}
	return rc;
}

static void list_one(enum tls_kind kind, const char *subject, time_t not_after, void *ud)
{
	char when[64];

	(void)ud;
	days_left(not_after, when, sizeof(when));
	printf("%-8s %-40s %s\n", kind == TLS_KIND_TENANT ? "tenant" : "domain", subject, when);
}

static int cmd_tls_list(struct cli *cli, int argc, char **argv)
{
	char dir[PATH_MAX];

	(void)argv;
	if (argc > 1)
		return cli_usage(cli, "tls list", "takes no arguments");
	tls_store_dir_for_state(cli->state_path, dir, sizeof(dir));
	printf("%-8s %-40s %s\n", "FOR", "SUBJECT", "EXPIRES");
	tls_store_each(dir, list_one, NULL);
	return 0;
}

static int cmd_tls_rm(struct cli *cli, int argc, char **argv)
{
	struct tls_args a;
	struct state *st = NULL;
	char dir[PATH_MAX];
	int rc = parse(cli, "tls rm",
		       "Usage: outpost tls rm (--tenant NAME | --domain DOMAIN)\n\n"
		       "Removes an operator's certificate; the appliance CA issues the hosts\n"
		       "it served their own at the daemon's next pass.\n",
		       false, argc, argv, &a);

	if (rc)
		return rc < 0 ? -1 : 0;
	tls_store_dir_for_state(cli->state_path, dir, sizeof(dir));
	rc = tls_store_rm(dir, a.tenant ? TLS_KIND_TENANT : TLS_KIND_DOMAIN, a.tenant ? a.tenant : a.domain,
			  &cli->err);
	if (rc == 1)
		return err_set(&cli->err, EXIT_REFUSED, "tls rm: no certificate stored for %s %s",
			       a.tenant ? "tenant" : "domain", a.tenant ? a.tenant : a.domain);
	if (rc < 0 || state_open(cli->state_path, STATE_OPEN_EXISTING, &st, &cli->err) < 0 ||
	    state_begin(st, &cli->err) < 0 || touch_served(st, &a, "CertificateRemoved", &cli->err) < 0 ||
	    state_commit(st, &cli->err) < 0) {
		state_close(st);
		return err_prefix(&cli->err, "tls rm");
	}
	state_close(st);
	printf("removed the certificate for %s %s\n", a.tenant ? "tenant" : "domain",
	       a.tenant ? a.tenant : a.domain);
	return 0;
}

static const struct cli_command tls_commands[] = {
	{ "import", cmd_tls_import, "check and store an operator's certificate for a tenant or a domain" },
	{ "list", cmd_tls_list, "the operators' certificates and when they expire" },
	{ "rm", cmd_tls_rm, "remove an operator's certificate (the appliance CA's takes over)" },
};

int cmd_tls(struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli, "tls", tls_commands, ARRAY_SIZE(tls_commands), argc - 1, argv + 1);
}
