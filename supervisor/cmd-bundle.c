/* outpost bundle keygen|build|verify|list */
#include "cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "sign.h"
#include "table.h"
#include "trust.h"
#include "util.h"

static int keygen(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	char id[SIGN_KEYID_HEX];
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'h':
			printf("Usage: outpost bundle keygen --out DIR\n\n"
			       "Creates an Ed25519 signing key: DIR/bundle-signing.key (private, 0600)\n"
			       "and DIR/bundle-signing.pub (give it to 'outpost install --pubkey', which\n"
			       "keeps it in %s/).\n", TRUST_DIR);
			return 0;
		default:
			return cli_bad_option(cli, "bundle keygen", argv, optopt);
		}
	}
	if (!out || optind != argc)
		return cli_usage(cli, "bundle keygen", "needs --out DIR and nothing else");
	if (sign_keygen(out, id, &cli->err) < 0)
		return -1;
	printf("key id %s\nprivate %s/bundle-signing.key\npublic  %s/bundle-signing.pub\n", id, out,
	       out);
	return 0;
}

static int build(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "lock", required_argument, NULL, 'l' },
		{ "key", required_argument, NULL, 'k' },
		{ "out", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *lock = NULL, *key = NULL, *out = NULL;
	int c, quiet = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+l:k:o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			lock = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			printf("Usage: outpost bundle build --lock FILE --key KEY --out FILE [--quiet]\n\n"
			       "Builds a signed bundle from the inputs pinned in the lock file\n"
			       "(see bundle/FORMAT.md); refuses any input whose sha256 differs.\n");
			return 0;
		default:
			return cli_bad_option(cli, "bundle build", argv, optopt);
		}
	}
	if (!lock || !key || !out || optind != argc)
		return cli_usage(cli, "bundle build", "needs --lock FILE --key KEY --out FILE");
	if (bundle_build(lock, key, out, quiet, &cli->err) < 0)
		return -1;
	printf("built %s\n", out);
	return 0;
}

/* Extracts into DIR, which must not exist: staging beside it, renamed on success. */
static int extract_to(struct bundle *b, const char *dir, int quiet, struct err *e)
{
	char parent[PATH_MAX], *staging = NULL;
	const char *slash = strrchr(dir, '/');
	int rc;

	if (access(dir, F_OK) == 0)
		return err_set(e, EXIT_REFUSED, "%s: already exists", dir);
	if (!slash)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == dir)
		snprintf(parent, sizeof(parent), "/");
	else
		snprintf(parent, sizeof(parent), "%.*s", (int)(slash - dir), dir);
	if (bundle_extract_staged(b, parent, quiet, &staging, e) < 0)
		return -1;
	rc = rename(staging, dir) < 0 ? err_errno(e, errno, "rename %s to %s", staging, dir) : 0;
	if (rc < 0) {
		struct err ignored;
		bundle_remove_tree(staging, &ignored);
	}
	free(staging);
	return rc;
}

/* The signed bytes rather than a re-serialisation: what a script reads is
 * then exactly what the signature covers, and its sha256 is the bundle's id. */
static int print_manifest(struct bundle *b, struct err *e)
{
	size_t len;
	const char *bytes = bundle_manifest_bytes(b, &len);

	if (fwrite(bytes, 1, len, stdout) != len || (len && bytes[len - 1] != '\n' && putchar('\n') == EOF) ||
	    fflush(stdout) == EOF)
		return err_errno(e, errno ? errno : EIO, "write the manifest");
	return 0;
}

static int verify_or_list(struct cli *cli, int argc, char **argv, int list)
{
	/* Apart, so that each refuses the other's options instead of ignoring them. */
	static const struct option verify_opts[] = {
		{ "pubkey", required_argument, NULL, 'p' },
		{ "extract", required_argument, NULL, 'x' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option list_opts[] = {
		{ "pubkey", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = list ? "bundle list" : "bundle verify";
	const char *keys = TRUST_DIR, *extract = NULL;
	struct bundle *b;
	int c, quiet = 0, json = 0, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, list ? "p:jh" : "p:x:qh",
				 list ? list_opts : verify_opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			keys = optarg;
			break;
		case 'x':
			extract = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			if (list)
				printf("Usage: outpost bundle list FILE [--pubkey KEY] [--json]\n\n"
				       "Checks the manifest's signature and lists the payload it declares.\n"
				       "--json prints the signed manifest itself, byte for byte.\n"
				       "Trusted keys: %s/*.pub unless --pubkey names one key.\n",
				       TRUST_DIR);
			else
				printf("Usage: outpost bundle verify FILE [--pubkey KEY] [--extract DIR] [--quiet]\n\n"
				       "Checks the signature, then every member's size and sha256 in one pass.\n"
				       "--extract DIR also writes the verified payload to DIR (must not exist).\n"
				       "Trusted keys: %s/*.pub unless --pubkey names one key.\n",
				       TRUST_DIR);
			return 0;
		default:
			return cli_bad_option(cli, cmd, argv, optopt);
		}
	}
	if (optind != argc - 1)
		return cli_usage(cli, cmd, "needs exactly one bundle FILE");
	if (bundle_open(argv[optind], keys, &b, &cli->err) < 0)
		return err_prefix(&cli->err, "%s", cmd);
	if (list && json) {
		rc = print_manifest(b, &cli->err);
	} else if (list) {
		static const char *const hdr[] = { "PATH", "ROLE", ">SIZE", "MODE", "SHA256" };
		const struct manifest *m = bundle_manifest(b);
		struct table *t = table_new(5, hdr);
		printf("bundle %s  k3s %s  created %s  key %s\n", m->bundle_version, m->k3s_version,
		       m->created, m->key_id);
		for (size_t i = 0; t && i < m->nfiles; i++) {
			char size[32], mode[8], sha[65];
			const char *cells[] = { m->files[i].path, m->files[i].role, size, mode, sha };
			snprintf(size, sizeof(size), "%llu", (unsigned long long)m->files[i].size);
			snprintf(mode, sizeof(mode), "%04o", m->files[i].mode);
			util_hex(m->files[i].sha256, 32, sha);
			table_add_row(t, cells);
		}
		if (t)
			table_print(t, stdout);
		table_free(t);
		rc = 0;
	} else {
		rc = extract ? extract_to(b, extract, quiet, &cli->err)
			     : bundle_extract(b, -1, quiet, &cli->err);
		if (rc == 0)
			printf("%s: OK (bundle %s, %zu files, manifest sha256 %s)\n", argv[optind],
			       bundle_manifest(b)->bundle_version, bundle_manifest(b)->nfiles,
			       bundle_manifest_sha256(b));
	}
	bundle_close(b);
	return rc;
}

static int verify(struct cli *cli, int argc, char **argv)
{
	return verify_or_list(cli, argc, argv, 0);
}

static int list(struct cli *cli, int argc, char **argv)
{
	return verify_or_list(cli, argc, argv, 1);
}

int cmd_bundle(struct cli *cli, int argc, char **argv)
{
	static const struct cli_command sub[] = {
		{ "keygen", keygen, "create an Ed25519 bundle signing key" },
		{ "build", build, "build a signed bundle from a lock file" },
		{ "verify", verify, "verify a bundle's signature, sizes and hashes" },
		{ "list", list, "list a bundle's signed manifest" },
	};

	return cli_dispatch(cli, "bundle", sub, ARRAY_SIZE(sub), argc - 1, argv + 1);
}
