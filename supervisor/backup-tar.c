/* See backup-tar.h. */
#include "backup-tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENTRY_LIMIT ((la_int64_t)64 << 30)

/* libarchive converts names between the locale's charset and the UTF-8 of
 * pax headers; outpost runs in the C locale, where a non-ASCII name (an
 * object key "é.txt") cannot be converted and the entry fails. The names
 * are UTF-8 (S3 keys are), so libarchive runs in C.UTF-8, for this thread
 * only; without that locale, in the process's. */
static locale_t utf8_begin(locale_t *old)
{
	locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);

	*old = loc ? uselocale(loc) : (locale_t)0;
	return loc;
}

static void utf8_end(locale_t loc, locale_t old)
{
	if (loc) {
		uselocale(old);
		freelocale(loc);
	}
}

static int add_file(struct archive *a, const char *path, const char *name, const struct stat *st,
		    struct err *e)
{
	struct archive_entry *ent;
	char buf[65536];
	ssize_t n = 0;
	int fd = -1, ok;

	if (S_ISREG(st->st_mode) && (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return err_errno(e, errno, "%s", path);
	if (!(ent = archive_entry_new())) {
		if (fd >= 0)
			close(fd);
		return err_set(e, EXIT_RUNTIME, "out of memory");
	}
	archive_entry_set_pathname(ent, name);
	archive_entry_set_filetype(ent, S_ISDIR(st->st_mode) ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(ent, S_ISDIR(st->st_mode) ? 0700 : 0600);
	archive_entry_set_size(ent, S_ISDIR(st->st_mode) ? 0 : st->st_size);
	archive_entry_set_mtime(ent, st->st_mtime, 0);
	ok = archive_write_header(a, ent) == ARCHIVE_OK;
	while (ok && fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		ok = archive_write_data(a, buf, (size_t)n) == n;
	archive_entry_free(ent);
	if (fd >= 0)
		close(fd);
	if (!ok || n < 0)
		return err_set(e, EXIT_RUNTIME, "%s: %s", path, n < 0 ? strerror(errno) : archive_error_string(a));
	return 0;
}

/* Every entry below `dir` ("" at the top), parents before their contents,
 * in name order; a link or device is refused, never followed. */
static int listed(const char *name, const char *const *only)
{
	for (; only && *only; only++)
		if (!strcmp(name, *only))
			return 1;
	return !only;
}

static int add_tree(struct archive *a, const char *top, const char *rel, const char *const *only,
		    struct err *e)
{
	char dir[4096];
	struct dirent **list;
	int n, rc = 0;

	snprintf(dir, sizeof(dir), "%s%s%s", top, rel[0] ? "/" : "", rel);
	if ((n = scandir(dir, &list, NULL, alphasort)) < 0)
		return err_errno(e, errno, "%s", dir);
	for (int i = 0; i < n; i++) {
		char path[4400], name[4400];
		struct stat st;
		const char *d = list[i]->d_name;

		if (!rc && strcmp(d, ".") && strcmp(d, "..") && (rel[0] || listed(d, only))) {
			snprintf(path, sizeof(path), "%s/%s", dir, d);
			snprintf(name, sizeof(name), "%s%s%s", rel, rel[0] ? "/" : "", d);
			if (lstat(path, &st) < 0)
				rc = err_errno(e, errno, "%s", path);
			else if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
				rc = err_set(e, EXIT_RUNTIME, "%s: neither a file nor a directory", path);
			else if ((rc = add_file(a, path, name, &st, e)) == 0 && S_ISDIR(st.st_mode))
				rc = add_tree(a, top, name, NULL, e);
		}
		free(list[i]);
	}
	free(list);
	return rc;
}

static int pack(const char *dir, const char *const *only, const char *dst, struct err *e)
{
	struct archive *a = archive_write_new();
	int rc;

	if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_filename(a, dst) != ARCHIVE_OK) {
		rc = err_set(e, EXIT_RUNTIME, "%s: %s", dst, a ? archive_error_string(a) : "out of memory");
		archive_write_free(a);
		return rc;
	}
	chmod(dst, 0600);
	rc = add_tree(a, dir, "", only, e);
	if (archive_write_close(a) != ARCHIVE_OK && !rc)
		rc = err_set(e, EXIT_RUNTIME, "%s: %s", dst, archive_error_string(a));
	archive_write_free(a);
	return rc;
}

static int safe_name(const char *name)
{
	size_t n = strlen(name);

	if (!n || name[0] == '/' || strstr(name, "//"))
		return 0;
	for (const char *p = name; p; p = strchr(p, '/')) {
		p += *p == '/';
		if (!strncmp(p, "..", 2) && (p[2] == '/' || !p[2]))
			return 0;
		if (p[0] == '.' && (p[1] == '/' || !p[1]))
			return 0;
	}
	return 1;
}

/* One pass over the tar: check only (dir NULL), or write into dir. */
static int read_entries(const char *src, const char *dir, int (*name_ok)(const char *), struct err *e)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	int r, rc = 0;

	if (!a)
		return err_set(e, EXIT_RUNTIME, "out of memory");
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, src, 65536) != ARCHIVE_OK) {
		rc = err_set(e, EXIT_REFUSED, "%s: %s", src, archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ent);
		mode_t type = archive_entry_filetype(ent);
		char path[4200];
		int fd;

		if (!name || !safe_name(name) || (type != AE_IFREG && type != AE_IFDIR) ||
		    archive_entry_size(ent) > ENTRY_LIMIT || (name_ok && !name_ok(name))) {
			rc = err_set(e, EXIT_REFUSED, "%s: entry '%s' is not a relative file or directory%s",
				     src, name ? name : "?", name_ok ? " of this part" : "");
			goto out;
		}
		if (!dir)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
			rc = err_set(e, EXIT_REFUSED, "%s: entry '%s': path too long", src, name);
			goto out;
		}
		if (path[strlen(path) - 1] == '/')
			path[strlen(path) - 1] = '\0';
		/* Parents come before their entries in a tar we wrote; O_NOFOLLOW
		 * and O_EXCL keep a crafted one from writing through a link. */
		if (type == AE_IFDIR) {
			if (mkdir(path, 0700) < 0 && errno != EEXIST) {
				rc = err_errno(e, errno, "%s", path);
				goto out;
			}
			continue;
		}
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
			rc = err_errno(e, errno, "%s", path);
			goto out;
		}
		r = archive_read_data_into_fd(a, fd);
		if (close(fd) < 0 || r != ARCHIVE_OK) {
			rc = err_set(e, EXIT_RUNTIME, "%s: '%s': %s", src, name, archive_error_string(a));
			goto out;
		}
	}
	if (r != ARCHIVE_EOF)
		rc = err_set(e, EXIT_REFUSED, "%s: %s", src, archive_error_string(a));
out:
	archive_read_free(a);
	return rc;
}

int backup_tar_pack(const char *dir, const char *const *only, const char *dst, struct err *e)
{
	locale_t old, loc = utf8_begin(&old);
	int rc = pack(dir, only, dst, e);

	utf8_end(loc, old);
	return rc;
}

/* read_entries in the UTF-8 locale. */
static int each_entry(const char *src, const char *dir, int (*name_ok)(const char *), struct err *e)
{
	locale_t old, loc = utf8_begin(&old);
	int rc = read_entries(src, dir, name_ok, e);

	utf8_end(loc, old);
	return rc;
}

int backup_tar_verify(const char *src, int (*name_ok)(const char *name), struct err *e)
{
	return each_entry(src, NULL, name_ok, e);
}

int backup_tar_unpack(const char *src, const char *dir, struct err *e)
{
	return each_entry(src, dir, NULL, e);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

int backup_tar_workdir(const char *part, char *buf, size_t cap, struct err *e)
{
	if ((size_t)snprintf(buf, cap, "%s.d", part) >= cap)
		return err_set(e, EXIT_RUNTIME, "%s: path too long", part);
	return mkdir(buf, 0700) < 0 ? err_errno(e, errno, "%s", buf) : 0;
}

int backup_tar_workdone(const char *work, int rc, struct err *e)
{
	if (nftw(work, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && !rc)
		return err_errno(e, errno, "%s", work);
	return rc;
}
