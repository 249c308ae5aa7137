/* See backup-certs.h. */
#include "backup-certs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup-tar.h"
#include "util.h"

/* The two directories, by the names they have beside the state file. */
static const char *const dirs[] = { "ca", "tls", NULL };

static void state_dir(const char *state_path, char *buf, size_t cap)
{
	const char *slash = strrchr(state_path, '/');

	if (!slash)
		snprintf(buf, cap, ".");
	else if (slash == state_path)
		snprintf(buf, cap, "/");
	else
		snprintf(buf, cap, "%.*s", (int)(slash - state_path), state_path);
}

bool backup_certs_present(const char *state_path)
{
	char top[PATH_MAX], path[PATH_MAX + 8];

	state_dir(state_path, top, sizeof(top));
	for (size_t i = 0; dirs[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", top, dirs[i]);
		if (access(path, F_OK) == 0)
			return true;
	}
	return false;
}

int backup_certs_dump(const char *state_path, const char *dst, struct err *e)
{
	char top[PATH_MAX];

	state_dir(state_path, top, sizeof(top));
	return backup_tar_pack(top, dirs, dst, e);
}

/* ca/ca.crt, ca/ca.key, tls/{tenant,domain}/NAME.{crt,key} and their
 * directories; NAME as the store writes it (a tenant or a domain). */
static int cert_name_ok(const char *name)
{
	static const char *const fixed[] = { "ca", "ca/", "ca/ca.crt", "ca/ca.key", "tls", "tls/",
					     "tls/tenant", "tls/tenant/", "tls/domain", "tls/domain/" };
	const char *leaf, *dot;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!strcmp(name, fixed[i]))
			return 1;
	if (!strncmp(name, "tls/tenant/", 11))
		leaf = name + 11;
	else if (!strncmp(name, "tls/domain/", 11))
		leaf = name + 11;
	else
		return 0;
	dot = strrchr(leaf, '.');
	if (!dot || dot == leaf || (strcmp(dot, ".crt") && strcmp(dot, ".key")))
		return 0;
	for (const char *p = leaf; p < dot; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return 0;
	return 1;
}

int backup_certs_verify(const char *src, struct err *e)
{
	return backup_tar_verify(src, cert_name_ok, e);
}

/* Removes a tree (nothing to do when it is not there). */
static int remove_tree(const char *path, struct err *e)
{
	if (access(path, F_OK) < 0)
		return errno == ENOENT ? 0 : err_errno(e, errno, "%s", path);
	return backup_tar_workdone(path, 0, e);
}

int backup_certs_restore(const char *state_path, const char *src, struct err *e)
{
	char top[PATH_MAX], work[PATH_MAX + 32];
	int rc, fd;

	state_dir(state_path, top, sizeof(top));
	if (util_mkdir_p(top, 0700, e) < 0)
		return -1;
	/* Unpacked beside its targets, so each swap is a rename on one file system. */
	snprintf(work, sizeof(work), "%s/.outpost-restore-certs", top);
	if (remove_tree(work, e) < 0 || mkdir(work, 0700) < 0)
		return e->msg[0] ? -1 : err_errno(e, errno, "%s", work);
	rc = backup_tar_unpack(src, work, e);
	if (rc == 0 && ((fd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || syncfs(fd) < 0 ||
			close(fd) < 0))
		rc = err_errno(e, errno, "%s", work);
	for (size_t i = 0; rc == 0 && dirs[i]; i++) {
		char from[PATH_MAX + 64], to[PATH_MAX + 8], old[PATH_MAX + 32];
		bool have = false;

		snprintf(from, sizeof(from), "%s/%s", work, dirs[i]);
		snprintf(to, sizeof(to), "%s/%s", top, dirs[i]);
		snprintf(old, sizeof(old), "%s/.outpost-old-%s", top, dirs[i]);
		have = access(from, F_OK) == 0;
		/* The old one aside, the new one in, the old one gone: a crash
		 * leaves either in place (or none, which a rerun fixes). */
		if (remove_tree(old, e) < 0 || (rename(to, old) < 0 && errno != ENOENT) ||
		    (have && rename(from, to) < 0))
			rc = e->msg[0] ? -1 : err_errno(e, errno, "%s", to);
		else
			rc = remove_tree(old, e);
	}
	if (rc == 0)
		rc = util_fsync_parent(work, e);
	return backup_tar_workdone(work, rc, e);
}
