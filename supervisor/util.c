#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int util_mkdir_p(const char *path, mode_t mode, struct err *e)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return err_set(e, EXIT_RUNTIME, "%s: path is empty or too long", path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return err_errno(e, errno, "create directory %s", buf);
		*p = saved;
		if (saved == '\0')
			break;
	}
	return 0;
}

int util_fsync_parent(const char *path, struct err *e)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc = 0;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(e, errno, "open directory %s", dir);
	if (fsync(fd) < 0)
		rc = err_errno(e, errno, "fsync directory %s", dir);
	close(fd);
	return rc;
}

int util_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct err *e)
{
	char tmp[PATH_MAX];
	const char *p = data;
	int fd, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return err_set(e, EXIT_RUNTIME, "%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return err_errno(e, errno, "create %s", tmp);
	/* open() applies the umask; the caller's mode is what the file must have. */
	if (fchmod(fd, mode) < 0)
		goto fail;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	return util_fsync_parent(path, e);
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return err_errno(e, saved, "write %s", path);
}

int util_check_private_file(const char *what, const char *path, struct err *e)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return err_errno(e, errno, "%s %s", what, path);
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077))
		return err_set(e, EXIT_USAGE, "%s %s: must be a regular file of mode 0600", what, path);
	return 0;
}

int util_read_file(const char *path, size_t max, char **out, size_t *len, struct err *e)
{
	FILE *f = fopen(path, "rbe");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return err_errno(e, errno, "open %s", path);
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return err_errno(e, ENOMEM, "read %s", path);
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (n > max) {
			free(buf);
			fclose(f);
			return err_set(e, EXIT_RUNTIME, "read %s: larger than %zu bytes", path, max);
		}
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		int saved = errno;
		free(buf);
		fclose(f);
		return err_errno(e, saved, "read %s", path);
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

void util_hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

char *util_path_join(const char *dir, const char *rel)
{
	size_t a = strlen(dir), b = strlen(rel);
	char *s;

	while (a > 1 && dir[a - 1] == '/')
		a--;
	while (*rel == '/') {
		rel++;
		b--;
	}
	s = malloc(a + 1 + b + 1);
	if (!s)
		return NULL;
	memcpy(s, dir, a);
	s[a] = '/';
	memcpy(s + a + 1, rel, b + 1);
	return s;
}

void util_test_crash_point(unsigned *counter)
{
	const char *at = getenv("OUTPOST_TEST_CRASH_AT");

	if (at && strtoul(at, NULL, 10) == (*counter)++)
		raise(SIGKILL);
}
