/* outpost backup [--out DIR] [--keep N] [--root DIR] [--pg CONNINFO [--pg-passfile FILE] | --pg-pod NS/POD]
 *                [--redis ADDR [--redis-passfile FILE] | --redis-pod NS/POD]
 *                [--minio URL --minio-credfile FILE | --minio-pod NS/POD]
 *                [--keycloak KCSH | --keycloak-deployment NS/NAME]
 * outpost restore FILE [--root DIR] and the same service options */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup-schedule.h"
#include "backup.h"
#include "cmd.h"
#include "k3s.h"
#include "kubeconfig.h"

static const char backup_usage[] =
	"Usage: outpost backup [--out DIR] [--keep N | --supervise-config FILE] [--root DIR]\n"
	"                      [--pg CONNINFO [--pg-passfile FILE] | --pg-pod NAMESPACE/POD\n"
	"                       [--kubeconfig PATH]]\n"
	"                      [--redis ADDR [--redis-passfile FILE] | --redis-pod NAMESPACE/POD]\n"
	"                      [--minio URL --minio-credfile FILE | --minio-pod NAMESPACE/POD]\n"
	"                      [--keycloak KCSH | --keycloak-deployment NAMESPACE/NAME]\n\n"
	"Writes outpost-backup-<time>.tar.gz (0600) into DIR (default\n"
	"<root>/" BACKUP_DIR "): a manifest with the bundle version and a SHA-256\n"
	"per part, the tenants' state file and k3s's SQLite datastore (both through\n"
	"SQLite's online backup API, consistent while they run), k3s's token, and\n"
	"the appliance CA and operators' certificates kept beside the state file.\n"
	"With --pg, also a pg_dumpall of that PostgreSQL server (every tenant and\n"
	"platform database and the roles); CONNINFO is a libpq connection string\n"
	"without a password, which comes from FILE (0600, libpq's .pgpass format).\n"
	"With --pg-pod (the platform's: outpost-platform/postgresql-0), the same\n"
	"dump made inside that pod by its own pg_dumpall over its socket, through\n"
	"`<root>/usr/local/bin/k3s kubectl exec` with --kubeconfig (default\n"
	"<root>/etc/rancher/k3s/k3s.yaml); no password is needed.\n"
	"With --redis (a socket path or HOST:PORT), also every tenant's Redis user\n"
	"and the keys of its prefix t:<tenant>: in every database; the admin\n"
	"password is read from the --redis-passfile FILE (0600). With --redis-pod\n"
	"(the platform's: outpost-platform/redis-0), the same through `k3s kubectl\n"
	"port-forward` to the pod, the password read from its namespace's Secret\n"
	"redis (kept in memory only).\n"
	"With --minio (http(s)://HOST[:PORT]), every object of every tenant bucket\n"
	"(t-<tenant>) through Outpost's own S3 client (requests signed with AWS\n"
	"Signature V4; TLS verified); the root user and password are the two lines\n"
	"of the --minio-credfile FILE (0600), never argv. With --minio-pod (the\n"
	"platform's: outpost-platform/minio-0), the same through `k3s kubectl\n"
	"port-forward` to the pod's port 9000, the credentials read from its\n"
	"namespace's Secret minio (kept in memory only).\n"
	"With --keycloak (the path of kc.sh), every realm through\n"
	"`kc.sh export --users realm_file`. With --keycloak-deployment (the\n"
	"platform's: outpost-platform/keycloak), the same export run by a Job\n"
	"made from that Deployment's pod template (same image, database settings\n"
	"and built distribution) through the API with --kubeconfig, beside the\n"
	"server rather than in its container, into a directory of this host\n"
	"mounted into the Job's pod; the Job is deleted afterwards, whether it\n"
	"succeeded or not.\n"
	"Keeps the newest N archives in DIR (default: \"backup-keep\" in FILE, the\n"
	"--supervise-config, default " OUTPOST_SYSCONFDIR "/outpost/supervise.json; else 7).\n"
	"A service whose dump fails (a pod down, a Job not scheduled) does not\n"
	"cost the others: the archive is written without its part, the manifest\n"
	"lists it under \"failed\" with the reason, the exit status is 1, and no\n"
	"older archive is removed. Needs no object store.\n";

static const char restore_usage[] =
	"Usage: outpost restore FILE [--root DIR] [--pg CONNINFO [--pg-passfile FILE] |\n"
	"                            --pg-pod NAMESPACE/POD [--kubeconfig PATH]]\n"
	"                            [--only files|services]\n"
	"                            [--redis ADDR [--redis-passfile FILE] | --redis-pod NAMESPACE/POD]\n"
	"                            [--minio URL --minio-credfile FILE | --minio-pod NAMESPACE/POD]\n"
	"                            [--keycloak KCSH | --keycloak-deployment NAMESPACE/NAME]\n\n"
	"Puts back the state file, k3s's datastore and token, the appliance CA and\n"
	"the operators' certificates (replacing the box's own) from a backup, with\n"
	"outpost.service stopped. Every part is staged and checked first: an\n"
	"archive from a newer bundle than the installed one, or one whose parts do\n"
	"not match the manifest's hashes, is refused (exit 3) with nothing changed.\n"
	"An archive holding a PostgreSQL dump needs --pg or --pg-pod: the dump is replayed\n"
	"there first (dropping and recreating its databases and roles); one holding\n"
	"a Redis part needs --redis or --redis-pod: each tenant's user and the keys of its prefix\n"
	"are replaced by the archive's (other tenants' are left alone); a MinIO\n"
	"part needs --minio or --minio-pod: each bucket is made if missing, its\n"
	"objects are written back and those the archive lacks deleted (other\n"
	"buckets are left alone);\n"
	"a Keycloak part needs --keycloak or --keycloak-deployment: `kc.sh import\n"
	"--override true` (replacing each realm of the archive), run on this host\n"
	"or by a Job made from the Deployment; with --keycloak-deployment the\n"
	"Deployment is then restarted (as `kubectl rollout restart`), since the\n"
	"running server's cache still holds the old realms: logins are refused\n"
	"until the new pod is ready.\n"
	"--only files puts back the files alone (outpost.service stopped); --only\n"
	"services replays the dumps alone, with outpost.service running: the two\n"
	"steps of a box whose PostgreSQL runs in its own cluster (--pg-pod).\n";

static int fail(struct cli *cli, const char *what)
{
	char why[sizeof(cli->err.msg)];

	snprintf(why, sizeof(why), "%s", cli->err.msg);
	return err_set(&cli->err, cli->err.exit_code ? cli->err.exit_code : EXIT_RUNTIME, "%s: %s", what,
		       why);
}

/* Paths made from --root that o points into. */
struct backup_paths {
	char out[4096], k3s[4096], kubeconfig[4096];
};

static int parse(struct cli *cli, const char *what, const char *usage, int argc, char **argv,
		 struct backup_opts *o, struct backup_paths *paths)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "keep", required_argument, NULL, 'k' },
		{ "root", required_argument, NULL, 'r' },
		{ "pg", required_argument, NULL, 'p' },
		{ "pg-passfile", required_argument, NULL, 'P' },
		{ "pg-pod", required_argument, NULL, 'D' },
		{ "redis-pod", required_argument, NULL, 'E' },
		{ "kubeconfig", required_argument, NULL, 'G' },
		{ "redis", required_argument, NULL, 'R' },
		{ "redis-passfile", required_argument, NULL, 'A' },
		{ "minio", required_argument, NULL, 'M' },
		{ "minio-credfile", required_argument, NULL, 'C' },
		{ "minio-pod", required_argument, NULL, 'I' },
		{ "keycloak", required_argument, NULL, 'K' },
		{ "keycloak-deployment", required_argument, NULL, 'Y' },
		{ "supervise-config", required_argument, NULL, 'S' },
		{ "only", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *config = OUTPOST_SYSCONFDIR "/outpost/supervise.json", *sep;
	struct pod_access via = { 0 };
	bool keep_given = false;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return 1;
		} else if (c == 'r') {
			o->root = optarg;
		} else if (c == 'p') {
			o->pg.conninfo = optarg;
		} else if (c == 'P') {
			o->pg.passfile = optarg;
		} else if (c == 'D') {
			o->pg.pod = optarg;
		} else if (c == 'E') {
			o->redis.pod = optarg;
		} else if (c == 'G') {
			via.kubeconfig = optarg;
		} else if (c == 'R') {
			o->redis.addr = optarg;
		} else if (c == 'A') {
			o->redis.passfile = optarg;
		} else if (c == 'M') {
			o->minio.url = optarg;
		} else if (c == 'C') {
			o->minio.credfile = optarg;
		} else if (c == 'I') {
			o->minio.pod = optarg;
		} else if (c == 'K') {
			o->keycloak.kcsh = optarg;
		} else if (c == 'Y') {
			o->keycloak.deployment = optarg;
		} else if (c == 'o' && !strcmp(what, "backup")) {
			out = optarg;
		} else if (c == 'k' && !strcmp(what, "backup")) {
			if (backup_schedule_parse_keep("--keep", optarg, &o->keep, &cli->err) < 0)
				return fail(cli, what);
			keep_given = true;
		} else if (c == 'S' && !strcmp(what, "backup")) {
			config = optarg;
		} else if (c == 'O' && !strcmp(what, "restore")) {
			if (!strcmp(optarg, "files"))
				o->phase = BACKUP_PHASE_FILES;
			else if (!strcmp(optarg, "services"))
				o->phase = BACKUP_PHASE_SERVICES;
			else
				return cli_usage(cli, what, "--only takes files or services, not '%s'", optarg);
		} else {
			return cli_bad_option(cli, what, argv, optopt);
		}
	}
	if (o->root[0] != '/')
		return cli_usage(cli, what, "--root must be an absolute path");
	sep = o->root[strlen(o->root) - 1] == '/' ? "" : "/";
	if (!strcmp(what, "backup") && !keep_given && backup_schedule_keep(config, &o->keep, &cli->err) < 0)
		return fail(cli, what);
	if (o->pg.passfile && !o->pg.conninfo)
		return cli_usage(cli, what, "--pg-passfile needs --pg");
	if (o->pg.pod && o->pg.conninfo)
		return cli_usage(cli, what, "--pg and --pg-pod are two ways to one server: give one");
	if (o->redis.pod && o->redis.addr)
		return cli_usage(cli, what, "--redis and --redis-pod are two ways to one server: give one");
	if (o->redis.pod && o->redis.passfile)
		return cli_usage(cli, what, "--redis-pod reads the password from the pod's Secret: no --redis-passfile");
	if (o->minio.pod && o->minio.url)
		return cli_usage(cli, what, "--minio and --minio-pod are two ways to one server: give one");
	if (o->minio.pod && o->minio.credfile)
		return cli_usage(cli, what, "--minio-pod reads the credentials from the pod's Secret: no --minio-credfile");
	if (via.kubeconfig && !o->pg.pod && !o->redis.pod && !o->minio.pod && !o->keycloak.deployment)
		return cli_usage(cli, what,
				 "--kubeconfig needs --pg-pod, --redis-pod, --minio-pod or --keycloak-deployment");
	/* k3s's binary and kubeconfig under the root the command works on. */
	snprintf(paths->k3s, sizeof(paths->k3s), "%s%s" K3S_BIN, o->root, sep);
	via.k3s = paths->k3s;
	if (!via.kubeconfig) {
		snprintf(paths->kubeconfig, sizeof(paths->kubeconfig), "%s%s%s", o->root, sep,
			 KUBECONFIG_DEFAULT + 1);
		via.kubeconfig = paths->kubeconfig;
	}
	o->pg.via = o->redis.via = o->minio.via = via;
	o->keycloak.kubeconfig = via.kubeconfig;
	if (o->redis.passfile && !o->redis.addr)
		return cli_usage(cli, what, "--redis-passfile needs --redis");
	if (o->minio.credfile && !o->minio.url)
		return cli_usage(cli, what, "--minio-credfile needs --minio");
	if (((o->pg.conninfo || o->pg.pod) && backup_pg_check(&o->pg, &cli->err) < 0) ||
	    backup_redis_check(&o->redis, &cli->err) < 0 || backup_minio_check(&o->minio, &cli->err) < 0 ||
	    backup_keycloak_check(&o->keycloak, &cli->err) < 0)
		return fail(cli, what);
	if (!out) {
		snprintf(paths->out, sizeof(paths->out), "%s%s%s", o->root, sep, BACKUP_DIR);
		out = paths->out;
	}
	o->out_dir = out;
	o->state_path = cli->state_path;
	return 0;
}

int cmd_backup(struct cli *cli, int argc, char **argv)
{
	struct backup_opts o = { .root = "/", .keep = BACKUP_KEEP_DEFAULT };
	struct backup_paths paths;
	struct backup_report r;
	char path[4200];
	int rc = parse(cli, "backup", backup_usage, argc, argv, &o, &paths);

	if (rc)
		return rc < 0 ? rc : 0;
	if (optind < argc)
		return cli_usage(cli, "backup", "unexpected argument '%s'", argv[optind]);
	if (backup_write(&o, path, sizeof(path), &r, &cli->err) < 0)
		return fail(cli, "backup");
	if (r.absent[0])
		fprintf(stderr, "outpost: backup: not there, left out: %s\n", r.absent);
	printf("%s\n", path);
	if (r.failed[0])
		return err_set(&cli->err, EXIT_RUNTIME, "backup: written without %s; older backups all kept",
			       r.failed);
	return 0;
}

int cmd_restore(struct cli *cli, int argc, char **argv)
{
	struct backup_opts o = { .root = "/" };
	struct backup_paths paths;
	struct backup_report r;
	int rc = parse(cli, "restore", restore_usage, argc, argv, &o, &paths);

	if (rc)
		return rc < 0 ? rc : 0;
	if (optind != argc - 1)
		return cli_usage(cli, "restore", "takes one backup FILE");
	if (backup_restore(&o, argv[optind], &r, &cli->err) < 0)
		return fail(cli, "restore");
	if (r.failed[0])
		fprintf(stderr, "outpost: restore: %s has no part for what its backup could not dump: %s\n",
			argv[optind], r.failed);
	if (o.phase == BACKUP_PHASE_SERVICES) {
		printf("replayed the dumps of %s\n", argv[optind]);
		return 0;
	}
	printf("restored %s; start outpost.service to bring the cluster and tenants back\n", argv[optind]);
	if (r.absent[0])
		printf("then, with the platform up: outpost restore %s --only services "
		       "(with --pg-pod or --pg ...) for %s\n", argv[optind], r.absent);
	return 0;
}
