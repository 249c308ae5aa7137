#include "bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "progress.h"
#include "sign.h"
#include "util.h"

#define READ_BLOCK (128 * 1024)
#define BUNDLE_MAX_WINDOW (32 * 1024 * 1024)

struct bundle {
	int fd;
	uint64_t file_size;
	struct archive *a;
	char *manifest_buf;
	size_t manifest_len;
	char manifest_sha[65];
	struct manifest m;
	EVP_MD_CTX *md;
	char entry[MANIFEST_PATH_MAX + 2]; /* the member being read, for messages */
};

const struct manifest *bundle_manifest(const struct bundle *b)
{
	return &b->m;
}

const char *bundle_manifest_bytes(const struct bundle *b, size_t *len)
{
	*len = b->manifest_len;
	return b->manifest_buf;
}

const char *bundle_manifest_sha256(const struct bundle *b)
{
	return b->manifest_sha;
}

/* The first frame's header (RFC 8878 3.1.1.1) says how much memory its
 * decoder must hold: the window, or for a single-segment frame (which has no
 * Window_Descriptor) the whole content. A bundle may ask for at most
 * BUNDLE_MAX_WINDOW, well below libzstd's own 128 MiB limit. A dictionary
 * is never part of a bundle. */
static int check_zstd_frame_header(const unsigned char *buf, size_t n, const char *path,
				   struct err *e)
{
	static const unsigned did_bytes[4] = { 0, 1, 2, 4 };
	unsigned fhd, fcs_flag, single, did_len, fcs_len;
	uint64_t window = 0;
	size_t at;

	if (n < 5)
		return err_set(e, EXIT_REFUSED, "%s: truncated zstd frame header", path);
	fhd = buf[4];
	fcs_flag = fhd >> 6;
	single = (fhd >> 5) & 1;
	did_len = did_bytes[fhd & 3];
	fcs_len = fcs_flag == 0 ? single : 1u << fcs_flag;
	at = 5 + !single;
	if (n < at + did_len + fcs_len)
		return err_set(e, EXIT_REFUSED, "%s: truncated zstd frame header", path);
	if (fhd & 0x08)
		return err_set(e, EXIT_REFUSED, "%s: zstd frame header with its reserved bit set", path);
	for (unsigned i = 0; i < did_len; i++)
		if (buf[at + i])
			return err_set(e, EXIT_REFUSED, "%s: zstd frame needs a dictionary; a bundle has none",
				       path);
	if (!single) {
		unsigned exp = buf[5] >> 3, mant = buf[5] & 7;
		uint64_t base = 1ull << (10 + exp);
		window = base + base / 8 * mant;
	} else {
		at += did_len;
		for (unsigned i = 0; i < fcs_len; i++)
			window |= (uint64_t)buf[at + i] << (8 * i);
		if (fcs_len == 2)
			window += 256;
	}
	if (window > BUNDLE_MAX_WINDOW)
		return err_set(e, EXIT_REFUSED,
			       "%s: zstd window of %llu MiB, a bundle may use at most %d MiB%s", path,
			       (unsigned long long)(window >> 20), BUNDLE_MAX_WINDOW >> 20,
			       single ? " (a single-segment frame: its whole content)" : "");
	return 0;
}

/* The first bytes say which compression this is; only zstd is a bundle. */
static int check_magic(int fd, const char *path, struct err *e)
{
	static const struct {
		const char *name;
		unsigned char magic[6];
		size_t len;
	} kinds[] = {
		{ "gzip", { 0x1f, 0x8b }, 2 },
		{ "xz", { 0xfd, '7', 'z', 'X', 'Z', 0 }, 6 },
		{ "bzip2", { 'B', 'Z', 'h' }, 3 },
		{ "lz4", { 0x04, 0x22, 0x4d, 0x18 }, 4 },
	};
	unsigned char buf[512];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);

	if (n < 0)
		return err_errno(e, errno, "%s", path);
	if (n >= 4 && buf[0] == 0x28 && buf[1] == 0xb5 && buf[2] == 0x2f && buf[3] == 0xfd)
		return check_zstd_frame_header(buf, (size_t)n, path, e);
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if ((size_t)n >= kinds[i].len && !memcmp(buf, kinds[i].magic, kinds[i].len))
			return err_set(e, EXIT_REFUSED, "%s: compressed with %s; a bundle must be zstd",
				       path, kinds[i].name);
	if (n == 512 && !memcmp(buf + 257, "ustar", 5))
		return err_set(e, EXIT_REFUSED, "%s: an uncompressed tar archive; a bundle must be zstd",
			       path);
	return err_set(e, EXIT_REFUSED, "%s: not a zstd stream (bad magic); not a bundle", path);
}

/* An archive error names the member being read: truncation shows up here. */
static int archive_fail(struct bundle *b, struct err *e)
{
	const char *why = archive_error_string(b->a);

	if (b->entry[0])
		return err_set(e, EXIT_REFUSED, "%s: %s", b->entry, why ? why : "archive error");
	return err_set(e, EXIT_REFUSED, "start of archive: %s", why ? why : "archive error");
}

static int next_header(struct bundle *b, struct archive_entry **ent, struct err *e)
{
	int r = archive_read_next_header(b->a, ent);

	if (r == ARCHIVE_EOF)
		return 1;
	if (r != ARCHIVE_OK) {
		/* A warning is still something the reader did not understand. */
		if (b->entry[0])
			return err_set(e, EXIT_REFUSED, "after %s: %s", b->entry,
				       archive_error_string(b->a) ? archive_error_string(b->a)
								  : "archive error");
		return archive_fail(b, e);
	}
	const char *name = archive_entry_pathname(*ent);
	snprintf(b->entry, sizeof(b->entry), "%s", name ? name : "(unnamed member)");
	/* libarchive also reads pre-POSIX (v7) headers, which carry no type for
	 * most members and no "ustar" magic; the format is ustar, pax or GNU. */
	if (archive_format(b->a) == ARCHIVE_FORMAT_TAR)
		return err_set(e, EXIT_REFUSED, "%s: a pre-POSIX (v7) tar header; a bundle is ustar or pax",
			       b->entry);
	if (!name || strlen(name) > MANIFEST_PATH_MAX + 1)
		return err_set(e, EXIT_REFUSED, "member '%.64s...': name missing or too long", b->entry);
	return 0;
}

/* Reads one small leading member whole (manifest, signature), at most `max` bytes. */
static int read_small(struct bundle *b, struct archive_entry *ent, const char *want,
		      size_t max, char **out, size_t *len, struct err *e)
{
	la_int64_t size = archive_entry_size(ent);
	size_t got = 0;
	char *buf;

	if (strcmp(b->entry, want))
		return err_set(e, EXIT_REFUSED, "member '%s' comes where %s must be", b->entry, want);
	if (archive_entry_filetype(ent) != AE_IFREG || archive_entry_hardlink(ent))
		return err_set(e, EXIT_REFUSED, "%s: not a regular file", want);
	if ((archive_entry_mode(ent) & 07777) != 0644)
		return err_set(e, EXIT_REFUSED, "%s: mode %04o, must be 0644", want,
			       (unsigned)archive_entry_mode(ent) & 07777);
	if (size < 0 || (uint64_t)size > max)
		return err_set(e, EXIT_REFUSED, "%s: larger than %zu bytes", want, max);
	buf = malloc((size_t)size + 1);
	if (!buf)
		return err_set(e, EXIT_RUNTIME, "%s: out of memory", want);
	for (;;) {
		ssize_t n = archive_read_data(b->a, buf + got, (size_t)size + 1 - got);
		if (n < 0) {
			free(buf);
			return archive_fail(b, e);
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > (size_t)size) {
			free(buf);
			return err_set(e, EXIT_REFUSED, "%s: more data than its header says", want);
		}
	}
	if (got != (size_t)size) {
		free(buf);
		return err_set(e, EXIT_REFUSED, "%s: truncated", want);
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

/* The first install has no trust store yet: say which key is wanted and how
 * to give it, not only what was missing. */
static int untrusted(struct err *e, const char *id)
{
	return err_prefix(e, "signing key %s not trusted (give it with --pubkey FILE; "
			  "install keeps it)", id);
}

static int verify_signature(struct bundle *b, const char *keys, const unsigned char *sig,
			    size_t siglen, struct err *e)
{
	struct sign_keyring ring;
	char id[65];
	EVP_PKEY *k;
	int rc;

	if (siglen != SIGN_SIG_LEN)
		return err_set(e, EXIT_REFUSED, "%s: %zu bytes, an Ed25519 signature is %d",
			       MANIFEST_SIG_NAME, siglen, SIGN_SIG_LEN);
	if (manifest_key_id(b->manifest_buf, b->manifest_len, id, e) < 0)
		return -1;
	if (sign_keyring_load(&ring, keys, e) < 0)
		return untrusted(e, id);
	k = sign_keyring_find(&ring, id);
	if (!k) {
		err_set(e, EXIT_REFUSED, "%s: signed by unknown key %s (not in %s)",
			MANIFEST_SIG_NAME, id, keys);
		rc = untrusted(e, id);
	} else if (sign_verify(k, b->manifest_buf, b->manifest_len, sig, siglen) < 0)
		rc = err_set(e, EXIT_REFUSED, "%s: bad signature: manifest.json does not match key %s",
			     MANIFEST_SIG_NAME, id);
	else
		rc = 0;
	sign_keyring_free(&ring);
	return rc;
}

int bundle_open(const char *path, const char *keys, struct bundle **out, struct err *e)
{
	struct bundle *b = calloc(1, sizeof(*b));
	struct archive_entry *ent;
	struct stat st;
	char *sig = NULL;
	size_t siglen = 0;
	unsigned char md[32];
	unsigned int mdlen;
	int r;

	if (!b)
		return err_set(e, EXIT_RUNTIME, "%s: out of memory", path);
	b->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (b->fd < 0) {
		err_errno(e, errno, "open bundle %s", path);
		goto fail;
	}
	if (fstat(b->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err_set(e, EXIT_REFUSED, "%s: not a regular file", path);
		goto fail;
	}
	b->file_size = (uint64_t)st.st_size;
	if (check_magic(b->fd, path, e) < 0)
		goto fail;
	b->a = archive_read_new();
	b->md = EVP_MD_CTX_new();
	if (!b->a || !b->md) {
		err_set(e, EXIT_RUNTIME, "%s: out of memory", path);
		goto fail;
	}
	/* Only zstd and tar: no other decoder (and no external program) is ever reached. */
	if (archive_read_support_filter_zstd(b->a) != ARCHIVE_OK ||
	    archive_read_support_format_tar(b->a) != ARCHIVE_OK) {
		err_set(e, EXIT_RUNTIME, "libarchive lacks zstd or tar support: %s",
			archive_error_string(b->a));
		goto fail;
	}
	if (archive_read_open_fd(b->a, b->fd, READ_BLOCK) != ARCHIVE_OK) {
		archive_fail(b, e);
		goto fail;
	}
	r = next_header(b, &ent, e);
	if (r == 1)
		err_set(e, EXIT_REFUSED, "%s: empty archive, no %s", path, MANIFEST_NAME);
	if (r != 0 || read_small(b, ent, MANIFEST_NAME, MANIFEST_MAX_BYTES, &b->manifest_buf,
				 &b->manifest_len, e) < 0)
		goto fail;
	r = next_header(b, &ent, e);
	if (r == 1)
		err_set(e, EXIT_REFUSED, "%s: no %s after the manifest", path, MANIFEST_SIG_NAME);
	if (r != 0 || read_small(b, ent, MANIFEST_SIG_NAME, 1024, &sig, &siglen, e) < 0)
		goto fail;
	if (verify_signature(b, keys, (unsigned char *)sig, siglen, e) < 0)
		goto fail;
	/* Only now, signed, is the manifest worth validating in full. */
	if (manifest_parse(b->manifest_buf, b->manifest_len, &b->m, e) < 0)
		goto fail;
	if (EVP_Digest(b->manifest_buf, b->manifest_len, md, &mdlen, EVP_sha256(), NULL) != 1) {
		err_set(e, EXIT_RUNTIME, "sha256 failed");
		goto fail;
	}
	util_hex(md, sizeof(md), b->manifest_sha);
	free(sig);
	*out = b;
	return 0;
fail:
	free(sig);
	bundle_close(b);
	return -1;
}

void bundle_close(struct bundle *b)
{
	if (!b)
		return;
	if (b->a)
		archive_read_free(b->a);
	if (b->fd >= 0)
		close(b->fd);
	EVP_MD_CTX_free(b->md);
	manifest_free(&b->m);
	free(b->manifest_buf);
	free(b);
}

/* Opens (creating as needed) the directory holding `path` below `root`, never
 * following a symlink; `leaf` points at the last component. */
static int open_parent(int root, const char *path, const char **leaf, struct err *e)
{
	char comp[MANIFEST_PATH_MAX + 1];
	const char *p = path, *slash;
	int fd = dup(root);

	if (fd < 0)
		return err_errno(e, errno, "%s", path);
	while ((slash = strchr(p, '/')) != NULL) {
		size_t n = (size_t)(slash - p);
		int next;
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
			err_errno(e, errno, "%s: create directory", path);
			close(fd);
			return -1;
		}
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (next < 0)
			return err_errno(e, errno, "%s: open directory %s", path, comp);
		fd = next;
		p = slash + 1;
	}
	*leaf = p;
	return fd;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The member's header against the manifest: the same mode and size. */
static int check_file_header(struct archive_entry *ent, const struct manifest_file *f, struct err *e)
{
	la_int64_t hsize = archive_entry_size(ent);

	if ((archive_entry_mode(ent) & 0777) != f->mode)
		return err_set(e, EXIT_REFUSED, "%s: mode %04o in the archive, manifest says %04o",
			       f->path, (unsigned)archive_entry_mode(ent) & 0777, f->mode);
	if (!archive_entry_size_is_set(ent) || hsize < 0 || (uint64_t)hsize != f->size)
		return err_set(e, EXIT_REFUSED, "%s: size %lld in the archive, manifest says %llu",
			       f->path, (long long)hsize, (unsigned long long)f->size);
	return 0;
}

/* Creates the file below `dirfd` (its directories as needed); the fd, or -1. */
static int create_file(int dirfd, const struct manifest_file *f, struct err *e)
{
	const char *leaf = NULL;
	int pfd = open_parent(dirfd, f->path, &leaf, e), fd;

	if (pfd < 0)
		return -1;
	/* O_EXCL|O_NOFOLLOW: never write through a name that already exists. */
	fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		err_errno(e, errno, "%s: create", f->path);
	close(pfd);
	return fd;
}

/* Reads the member's data into the digest (and into fd, when >= 0),
 * refusing a hole and anything past the manifest's size, then a short
 * member. */
static int copy_file_data(struct bundle *b, const struct manifest_file *f, int fd,
			  struct progress *pg, struct err *e)
{
	uint64_t total = 0;

	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(b->a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK)
			return archive_fail(b, e);
		/* A hole (sparse member) would be a gap in the offsets. */
		if (off < 0 || (uint64_t)off != total)
			return err_set(e, EXIT_REFUSED, "%s: sparse member", f->path);
		/* Never more than the manifest's size: a bomb stops here, unwritten. */
		if (len > f->size - total)
			return err_set(e, EXIT_REFUSED, "%s: more than the %llu bytes the manifest says",
				       f->path, (unsigned long long)f->size);
		total += len;
		if (EVP_DigestUpdate(b->md, buf, len) != 1)
			return err_set(e, EXIT_RUNTIME, "%s: sha256 failed", f->path);
		if (fd >= 0 && write_all(fd, buf, len) < 0)
			return err_errno(e, errno, "%s: write", f->path);
		progress_update(pg, (uint64_t)archive_filter_bytes(b->a, -1));
	}
	if (total != f->size)
		return err_set(e, EXIT_REFUSED, "%s: %llu bytes, manifest says %llu (truncated)", f->path,
			       (unsigned long long)total, (unsigned long long)f->size);
	return 0;
}

/* The digest of what copy_file_data read against the manifest's sha256. */
static int check_file_digest(struct bundle *b, const struct manifest_file *f, struct err *e)
{
	unsigned char md[32];
	unsigned int mdlen;
	char got[65];

	if (EVP_DigestFinal_ex(b->md, md, &mdlen) != 1)
		return err_set(e, EXIT_RUNTIME, "%s: sha256 failed", f->path);
	if (!memcmp(md, f->sha256, sizeof(md)))
		return 0;
	util_hex(md, sizeof(md), got);
	return err_set(e, EXIT_REFUSED, "%s: sha256 %s does not match the manifest", f->path, got);
}

/* A regular member: checked against the manifest and, with dirfd >= 0,
 * written below it (mode set only once its content is verified). */
static int extract_file(struct bundle *b, struct archive_entry *ent, struct manifest_file *f,
			int dirfd, struct progress *pg, struct err *e)
{
	int fd = -1, rc = -1;

	if (check_file_header(ent, f, e) < 0)
		return -1;
	if (dirfd >= 0 && (fd = create_file(dirfd, f, e)) < 0)
		return -1;
	if (EVP_DigestInit_ex(b->md, EVP_sha256(), NULL) != 1)
		err_set(e, EXIT_RUNTIME, "%s: sha256 init failed", f->path);
	else if (copy_file_data(b, f, fd, pg, e) == 0 && check_file_digest(b, f, e) == 0)
		rc = fd >= 0 && fchmod(fd, f->mode) < 0 ? err_errno(e, errno, "%s: chmod", f->path) : 0;
	if (fd >= 0)
		close(fd);
	return rc;
}

static int extract_link(struct bundle *b, struct archive_entry *ent, struct manifest_link *l,
			int dirfd, struct err *e)
{
	const char *leaf = NULL;
	int pfd, r;

	(void)b;
	if (l->type == MANIFEST_HARDLINK) {
		const char *target = archive_entry_hardlink(ent);
		struct manifest_file *f = manifest_find(&b->m, l->target);
		if (!target || strcmp(target, l->target))
			return err_set(e, EXIT_REFUSED, "%s: hardlink to '%s', manifest says '%s'",
				       l->path, target ? target : "", l->target);
		if (!f || !f->seen)
			return err_set(e, EXIT_REFUSED, "%s: hardlink before its target %s", l->path,
				       l->target);
	} else {
		const char *target = archive_entry_symlink(ent);
		if (archive_entry_filetype(ent) != AE_IFLNK || !target || strcmp(target, l->target))
			return err_set(e, EXIT_REFUSED, "%s: symlink to '%s', manifest says '%s'",
				       l->path, target ? target : "", l->target);
	}
	if (dirfd < 0)
		return 0;
	pfd = open_parent(dirfd, l->path, &leaf, e);
	if (pfd < 0)
		return -1;
	if (l->type == MANIFEST_SYMLINK) {
		r = symlinkat(l->target, pfd, leaf);
	} else {
		/* linkat relative to the staging root, never following a final symlink. */
		r = linkat(dirfd, l->target, pfd, leaf, 0);
	}
	if (r < 0)
		err_errno(e, errno, "%s: create link", l->path);
	close(pfd);
	return r < 0 ? -1 : 0;
}

static int special_bits(struct archive_entry *ent, const char *name, struct err *e)
{
	mode_t mode = archive_entry_mode(ent);

	if (mode & S_ISUID)
		return err_set(e, EXIT_REFUSED, "%s: setuid bit set", name);
	if (mode & S_ISGID)
		return err_set(e, EXIT_REFUSED, "%s: setgid bit set", name);
	if (mode & S_ISVTX)
		return err_set(e, EXIT_REFUSED, "%s: sticky bit set", name);
	return 0;
}

static int extract_entry(struct bundle *b, struct archive_entry *ent, int dirfd,
			 struct progress *pg, struct err *e)
{
	char name[MANIFEST_PATH_MAX + 2];
	const char *why = NULL;
	struct manifest_file *f;
	struct manifest_link *l;
	mode_t type = archive_entry_filetype(ent);

	snprintf(name, sizeof(name), "%s", b->entry);
	if (type == AE_IFDIR && name[0] && name[strlen(name) - 1] == '/')
		name[strlen(name) - 1] = '\0';
	if (!manifest_path_ok(name, &why))
		return err_set(e, EXIT_REFUSED, "member '%s': %s", b->entry, why);
	if (special_bits(ent, name, e) < 0)
		return -1;
	if (archive_entry_sparse_count(ent) > 0)
		return err_set(e, EXIT_REFUSED, "%s: sparse member", name);

	l = manifest_find_link(&b->m, name);
	if (archive_entry_hardlink(ent) || type == AE_IFLNK) {
		if (!l)
			return err_set(e, EXIT_REFUSED, "%s: %s not allowed by the manifest", name,
				       type == AE_IFLNK ? "symlink" : "hardlink");
		if (l->seen)
			return err_set(e, EXIT_REFUSED, "%s: duplicate member", name);
		if (extract_link(b, ent, l, dirfd, e) < 0)
			return -1;
		l->seen = 1;
		return 0;
	}
	switch (type) {
	case AE_IFREG:
		break;
	case AE_IFDIR:
		if (!manifest_is_dir(&b->m, name))
			return err_set(e, EXIT_REFUSED, "%s: directory not in the manifest", name);
		return 0; /* created on demand, 0755, by the files below it */
	case AE_IFCHR:
		return err_set(e, EXIT_REFUSED, "%s: character device", name);
	case AE_IFBLK:
		return err_set(e, EXIT_REFUSED, "%s: block device", name);
	case AE_IFIFO:
		return err_set(e, EXIT_REFUSED, "%s: FIFO", name);
	case AE_IFSOCK:
		return err_set(e, EXIT_REFUSED, "%s: socket", name);
	default:
		return err_set(e, EXIT_REFUSED, "%s: unsupported member type", name);
	}
	f = manifest_find(&b->m, name);
	if (!f)
		return err_set(e, EXIT_REFUSED, "%s: not in the manifest", name);
	if (f->seen)
		return err_set(e, EXIT_REFUSED, "%s: duplicate member", name);
	if (extract_file(b, ent, f, dirfd, pg, e) < 0)
		return -1;
	f->seen = 1;
	return 0;
}

int bundle_extract(struct bundle *b, int dirfd, int quiet, struct err *e)
{
	struct archive_entry *ent;
	struct progress pg;
	int r;

	progress_begin(&pg, dirfd >= 0 ? "extract" : "verify", b->file_size, quiet);
	for (;;) {
		r = next_header(b, &ent, e);
		if (r == 1)
			break;
		if (r < 0 || extract_entry(b, ent, dirfd, &pg, e) < 0) {
			progress_end(&pg, 0, 0);
			return -1;
		}
	}
	progress_end(&pg, (uint64_t)archive_filter_bytes(b->a, -1), 1);
	/* libarchive also ends an archive that simply stops after a member, or
	 * after one zero block; the format requires the two-block marker.
	 * The last header read began at the end of the last member, so the
	 * reader must have consumed two blocks since (bytes after them it
	 * leaves alone, as the format allows). */
	if (archive_filter_bytes(b->a, 0) - archive_read_header_position(b->a) < 2 * 512)
		return err_set(e, EXIT_REFUSED, "after %s: no end-of-archive marker (two zero blocks)",
			       b->entry);
	for (size_t i = 0; i < b->m.nfiles; i++)
		if (!b->m.files[i].seen)
			return err_set(e, EXIT_REFUSED, "%s: missing from the archive", b->m.files[i].path);
	for (size_t i = 0; i < b->m.nlinks; i++)
		if (!b->m.links[i].seen)
			return err_set(e, EXIT_REFUSED, "%s: missing from the archive", b->m.links[i].path);
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int bundle_remove_tree(const char *path, struct err *e)
{
	/* FTW_PHYS: a symlink inside is removed, never followed; FTW_DEPTH: children first. */
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
		return err_errno(e, errno, "remove %s", path);
	return 0;
}

int bundle_extract_staged(struct bundle *b, const char *parent, int quiet, char **staging,
			  struct err *e)
{
	char *dir = util_path_join(parent, "staging.XXXXXX");
	int fd, rc;
	struct err ignored;

	if (!dir)
		return err_set(e, EXIT_RUNTIME, "out of memory");
	if (!mkdtemp(dir)) {
		rc = err_errno(e, errno, "create staging directory in %s", parent);
		free(dir);
		return rc;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = err_errno(e, errno, "open %s", dir);
	} else {
		rc = bundle_extract(b, fd, quiet, e);
		/* One syncfs instead of an fsync per file: the staging tree is made
		 * durable as a whole before anyone renames it into place. */
		if (rc == 0 && syncfs(fd) < 0)
			rc = err_errno(e, errno, "sync %s", dir);
		close(fd);
	}
	if (rc < 0) {
		bundle_remove_tree(dir, &ignored);
		free(dir);
		return rc;
	}
	*staging = dir;
	return 0;
}
