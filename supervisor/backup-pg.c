/* See backup-pg.h. The password reaches libpq through PGPASSFILE, never
 * argv: the children inherit the environment. */
#include "backup-pg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"
#include "util.h"

/* A URI's user:password@ or a password= keyword. */
static int has_password(const char *c)
{
	const char *scheme = strstr(c, "://"), *at = scheme ? strchr(scheme, '@') : NULL;

	if (strstr(c, "password"))
		return 1;
	for (const char *q = scheme ? scheme + 3 : c; at && q < at; q++)
		if (*q == ':')
			return 1;
	return 0;
}

int backup_pg_check(const struct backup_pg *pg, struct err *e)
{
	char ns[64], pod[254];

	if (!pg->conninfo)
		return pod_split(pg->pod, ns, pod) == 0 ? 0
			: err_set(e, EXIT_USAGE, "--pg-pod '%s': not NAMESPACE/POD", pg->pod);
	if (has_password(pg->conninfo))
		return err_set(e, EXIT_USAGE,
			       "--pg: no password in the connection string (it would be in argv): use --pg-passfile");
	return pg->passfile ? util_check_private_file("--pg-passfile", pg->passfile, e) : 0;
}

static int use_passfile(const struct backup_pg *pg, struct err *e)
{
	if (pg->passfile && setenv("PGPASSFILE", pg->passfile, 1) < 0)
		return err_errno(e, errno, "PGPASSFILE");
	return 0;
}

/* The role the pod's clients connect as over its socket: the image's. */
#define POD_USER "postgres"

int backup_pg_dump(const struct backup_pg *pg, const char *dst, struct err *e)
{
	char *const argv[] = { "pg_dumpall", "--clean", "--if-exists", "--no-password",
			       "-d", (char *)pg->conninfo, "-f", (char *)dst, NULL };
	char *const in_pod[] = { "pg_dumpall", "--clean", "--if-exists", "--no-password", "-U", POD_USER, NULL };
	char *exec[24], ns[64], pod[254];

	if (!pg->conninfo)
		return pod_exec_argv(&pg->via, pg->pod, false, in_pod, ns, pod, exec, 24, e) < 0 ? -1
			: run_argv_io(exec, NULL, dst, e);
	return use_passfile(pg, e) < 0 ? -1 : run_argv(argv, NULL, 0, NULL, e);
}

/* pg_dumpall --clean drops and creates every role, the one it connected as
 * too, and its output is meant for a psql that goes on after errors. Ours
 * stops at the first one, so the two statements about the role the restore
 * connects as (which exists, and cannot be dropped while connected) are left
 * out of the copy that is replayed; its ALTER ROLE still runs. */
static int is_own_role_line(const char *line, size_t len, const char *user)
{
	static const char *const verbs[] = { "DROP ROLE IF EXISTS ", "CREATE ROLE " };
	size_t ul = strlen(user);

	for (int i = 0; i < 2; i++) {
		size_t vl = strlen(verbs[i]);
		const char *r = line + vl;
		size_t rl = len - vl;

		if (len <= vl || strncmp(line, verbs[i], vl))
			continue;
		if ((rl == ul + 1 && !strncmp(r, user, ul) && r[ul] == ';') ||
		    (rl == ul + 3 && r[0] == '"' && !strncmp(r + 1, user, ul) && !strncmp(r + ul + 1, "\";", 2)))
			return 1;
	}
	return 0;
}

/* `DROP DATABASE IF EXISTS name;` as pg_dumpall --clean writes it: the
 * length of the part before the semicolon, or 0. */
static size_t drop_database(const char *line, size_t len)
{
	static const char verb[] = "DROP DATABASE IF EXISTS ";

	if (len <= sizeof(verb) || strncmp(line, verb, sizeof(verb) - 1) || line[len - 1] != ';')
		return 0;
	return len - 1;
}

/* The copy of the dump that is replayed: without the own role's two lines,
 * and each database dropped WITH (FORCE) (PostgreSQL 13+), which ends the
 * sessions of tenant apps still connected instead of failing the replay.
 * Rows of COPY blocks pass untouched whatever they hold: a tenant's data
 * could read like either statement. */
static int replay_copy(const char *src, const char *dst, const char *user, struct err *e)
{
	FILE *in = fopen(src, "re"), *out = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int fd = -1, rc = 0;
	bool in_copy = false;

	if (!in || (fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
	    !(out = fdopen(fd, "w"))) {
		rc = err_errno(e, errno, "%s", in ? dst : src);
		goto out;
	}
	fd = -1;
	while ((n = getline(&line, &cap, in)) > 0) {
		size_t len = (size_t)n - (line[n - 1] == '\n'), stem;
		int w = 0;

		if (in_copy) {
			in_copy = !(len == 2 && !strncmp(line, "\\.", 2));
			w = fwrite(line, 1, (size_t)n, out) == (size_t)n ? 0 : -1;
		} else if (is_own_role_line(line, len, user)) {
			continue;
		} else if ((stem = drop_database(line, len))) {
			w = fprintf(out, "%.*s WITH (FORCE);\n", (int)stem, line) < 0 ? -1 : 0;
		} else {
			in_copy = len > 17 && !strncmp(line, "COPY ", 5) && !strncmp(line + len - 12, " FROM stdin;", 12);
			w = fwrite(line, 1, (size_t)n, out) == (size_t)n ? 0 : -1;
		}
		if (w < 0) {
			rc = err_errno(e, errno, "%s", dst);
			goto out;
		}
	}
	if (ferror(in))
		rc = err_errno(e, errno, "%s", src);
out:
	free(line);
	if (in)
		fclose(in);
	if (out && fclose(out) != 0 && !rc)
		rc = err_errno(e, errno, "%s", dst);
	if (fd >= 0)
		close(fd);
	return rc;
}

int backup_pg_restore(const struct backup_pg *pg, const char *src, struct err *e)
{
	char user[128] = POD_USER, filtered[4200];
	char *const who[] = { "psql", "-X", "-At", "--no-password", "-d", (char *)pg->conninfo,
			      "-c", "SELECT current_user", NULL };
	char *const argv[] = { "psql", "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1",
			       "-d", (char *)pg->conninfo, "-f", filtered, NULL };
	char *const in_pod[] = { "psql", "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1",
				 "-U", POD_USER, "-d", "postgres", "-f", "-", NULL };
	char *exec[24], ns[64], pod[254];
	int rc;

	if (!pg->conninfo && pod_exec_argv(&pg->via, pg->pod, true, in_pod, ns, pod, exec, 24, e) < 0)
		return -1;
	if (pg->conninfo && (use_passfile(pg, e) < 0 || run_argv(who, user, sizeof(user), NULL, e) < 0))
		return -1;
	user[strcspn(user, "\n")] = '\0';
	if ((size_t)snprintf(filtered, sizeof(filtered), "%s.replay", src) >= sizeof(filtered))
		return err_set(e, EXIT_RUNTIME, "%s: path too long", src);
	if (replay_copy(src, filtered, user, e) < 0) {
		unlink(filtered);
		return -1;
	}
	rc = pg->conninfo ? run_argv(argv, NULL, 0, NULL, e) : run_argv_io(exec, filtered, NULL, e);
	unlink(filtered);
	return rc;
}
