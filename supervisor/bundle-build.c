#include "bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "progress.h"
#include "sign.h"
#include "util.h"

#define LOCK_MAX (4u * 1024 * 1024)
#define COPY_BLOCK (256 * 1024)

struct input {
	char *source; /* resolved file name on this machine */
};

struct build {
	struct manifest m;
	struct input *in; /* parallel to m.files */
	time_t created;
	struct archive *a;
	EVP_MD_CTX *md;
	char *buf;
	uint64_t done, total;
	struct progress pg;
};

static char *resolve_source(const char *lockdir, const char *src)
{
	return src[0] == '/' ? strdup(src) : util_path_join(lockdir, src);
}

static int cmp_files(const void *a, const void *b)
{
	return strcmp(((const struct manifest_file *)a)->path, ((const struct manifest_file *)b)->path);
}

static int hex32(const char *hex, unsigned char out[32])
{
	if (!hex || strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64)
		return -1;
	for (int i = 0; i < 32; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (unsigned char)v;
	}
	return 0;
}

static int lock_oom(const char *lock, struct err *e)
{
	return err_set(e, EXIT_RUNTIME, "%s: out of memory", lock);
}

/* The directory of the lock, which relative sources are resolved against. */
static char *lock_dir(const char *lock)
{
	char *dir = strdup(lock), *slash;

	if (!dir)
		return NULL;
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	return dir;
}

/* The versions into the manifest, and the inputs array, or NULL (refused). */
static json_t *lock_header(struct build *bd, json_t *root, const char *lock, struct err *e)
{
	json_t *inputs = json_object_get(root, "inputs");
	const char *bv = json_string_value(json_object_get(root, "bundle_version"));
	const char *kv = json_string_value(json_object_get(root, "k3s_version"));

	if (!bv || !kv || !manifest_version_ok(bv) || !manifest_version_ok(kv) ||
	    !json_is_array(inputs) || json_array_size(inputs) == 0 ||
	    json_array_size(inputs) > MANIFEST_MAX_FILES) {
		err_set(e, EXIT_REFUSED,
			"%s: needs bundle_version, k3s_version (safe names) and a non-empty inputs array",
			lock);
		return NULL;
	}
	snprintf(bd->m.bundle_version, sizeof(bd->m.bundle_version), "%s", bv);
	snprintf(bd->m.k3s_version, sizeof(bd->m.k3s_version), "%s", kv);
	bd->m.format = MANIFEST_FORMAT;
	return inputs;
}

/* Input i of the lock, checked, into bd->m.files[i] and bd->in[i] (its
 * source resolved against the lock's directory, its size from stat). */
static int lock_input(struct build *bd, size_t i, json_t *it, const char *lockdir, const char *lock,
		      struct err *e)
{
	struct manifest_file *f = &bd->m.files[i];
	const char *src = json_string_value(json_object_get(it, "source"));
	const char *path = json_string_value(json_object_get(it, "path"));
	const char *role = json_string_value(json_object_get(it, "role"));
	const char *sha = json_string_value(json_object_get(it, "sha256"));
	const char *mode = json_string_value(json_object_get(it, "mode"));
	const char *why = NULL;
	struct stat st;

	if (!src || !path || !role)
		return err_set(e, EXIT_REFUSED, "%s: inputs[%zu]: needs source, path, role, sha256", lock, i);
	if (!manifest_path_ok(path, &why))
		return err_set(e, EXIT_REFUSED, "%s: input %s: bundle path: %s", lock, path, why);
	if (!manifest_role_ok(role) || strlen(role) >= sizeof(f->role))
		return err_set(e, EXIT_REFUSED, "%s: input %s: unknown role '%s'", lock, path, role);
	if (hex32(sha, f->sha256) < 0)
		return err_set(e, EXIT_REFUSED, "%s: input %s: sha256 must be 64 lowercase hex digits",
			       lock, path);
	if (mode && (strlen(mode) != 4 || mode[0] != '0' || strspn(mode, "01234567") != 4))
		return err_set(e, EXIT_REFUSED, "%s: input %s: mode '%s' is not 0000-0777", lock, path, mode);
	f->path = strdup(path);
	bd->in[i].source = resolve_source(lockdir, src);
	bd->m.nfiles++;
	if (!f->path || !bd->in[i].source)
		return lock_oom(lock, e);
	snprintf(f->role, sizeof(f->role), "%s", role);
	f->mode = mode ? (unsigned)strtoul(mode, NULL, 8) : !strcmp(role, "k3s-binary") ? 0755 : 0644;
	if (stat(bd->in[i].source, &st) < 0)
		return err_errno(e, errno, "input %s: %s", path, bd->in[i].source);
	if (!S_ISREG(st.st_mode))
		return err_set(e, EXIT_REFUSED, "input %s: %s is not a regular file", path, bd->in[i].source);
	f->size = (uint64_t)st.st_size;
	bd->total += f->size;
	/* The input's index travels in `seen` through the sort below. */
	f->seen = (int)i;
	return 0;
}

/* Sorts the files by path, each one's source beside it; a path listed twice
 * is refused. */
static int sort_inputs(struct build *bd, const char *lock, struct err *e)
{
	struct input *sorted;

	qsort(bd->m.files, bd->m.nfiles, sizeof(*bd->m.files), cmp_files);
	sorted = calloc(bd->m.nfiles, sizeof(*sorted));
	if (!sorted)
		return lock_oom(lock, e);
	for (size_t i = 0; i < bd->m.nfiles; i++) {
		sorted[i] = bd->in[bd->m.files[i].seen];
		bd->m.files[i].seen = 0;
	}
	free(bd->in);
	bd->in = sorted;
	for (size_t i = 1; i < bd->m.nfiles; i++)
		if (!strcmp(bd->m.files[i - 1].path, bd->m.files[i].path))
			return err_set(e, EXIT_REFUSED, "%s: bundle path %s is listed twice", lock,
				       bd->m.files[i].path);
	return 0;
}

/* Fills the manifest's file list from the lock (sorted), with sizes from stat. */
static int read_lock(struct build *bd, const char *lock, struct err *e)
{
	char *text = NULL, *lockdir = NULL;
	json_t *root = NULL, *inputs, *it;
	json_error_t je;
	size_t len, i;
	int rc = -1;

	if (util_read_file(lock, LOCK_MAX, &text, &len, e) < 0)
		return -1;
	if (!(lockdir = lock_dir(lock))) {
		lock_oom(lock, e);
		goto out;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		err_set(e, EXIT_REFUSED, "%s: line %d: %s", lock, je.line, je.text);
		goto out;
	}
	if (!(inputs = lock_header(bd, root, lock, e)))
		goto out;
	bd->m.files = calloc(json_array_size(inputs), sizeof(*bd->m.files));
	bd->in = calloc(json_array_size(inputs), sizeof(*bd->in));
	if (!bd->m.files || !bd->in) {
		lock_oom(lock, e);
		goto out;
	}
	json_array_foreach(inputs, i, it)
		if (lock_input(bd, i, it, lockdir, lock, e) < 0)
			goto out;
	rc = sort_inputs(bd, lock, e);
out:
	json_decref(root);
	free(lockdir);
	free(text);
	return rc;
}

static int write_member(struct build *bd, const char *name, const void *data, size_t len,
			unsigned mode, struct err *e)
{
	struct archive_entry *ent = archive_entry_new();
	int ok;

	if (!ent)
		return err_set(e, EXIT_RUNTIME, "out of memory");
	archive_entry_set_pathname(ent, name);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, mode);
	archive_entry_set_size(ent, (la_int64_t)len);
	archive_entry_set_mtime(ent, bd->created, 0);
	archive_entry_set_uname(ent, "root");
	archive_entry_set_gname(ent, "root");
	ok = archive_write_header(bd->a, ent) == ARCHIVE_OK &&
	     (len == 0 || archive_write_data(bd->a, data, len) == (la_ssize_t)len);
	archive_entry_free(ent);
	if (!ok)
		return err_set(e, EXIT_RUNTIME, "write %s: %s", name, archive_error_string(bd->a));
	return 0;
}

/* Streams one input into the archive, hashing it on the way: what is written
 * is exactly what was checked against the lock. */
static int write_input(struct build *bd, size_t i, struct err *e)
{
	struct manifest_file *f = &bd->m.files[i];
	struct archive_entry *ent = archive_entry_new();
	unsigned char md[32];
	unsigned int mdlen;
	uint64_t total = 0;
	int fd = -1, rc = -1;

	if (!ent)
		return err_set(e, EXIT_RUNTIME, "out of memory");
	fd = open(bd->in[i].source, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err_errno(e, errno, "input %s: %s", f->path, bd->in[i].source);
		goto out;
	}
	archive_entry_set_pathname(ent, f->path);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, f->mode);
	archive_entry_set_size(ent, (la_int64_t)f->size);
	archive_entry_set_mtime(ent, bd->created, 0);
	archive_entry_set_uname(ent, "root");
	archive_entry_set_gname(ent, "root");
	if (archive_write_header(bd->a, ent) != ARCHIVE_OK) {
		err_set(e, EXIT_RUNTIME, "write %s: %s", f->path, archive_error_string(bd->a));
		goto out;
	}
	EVP_DigestInit_ex(bd->md, EVP_sha256(), NULL);
	for (;;) {
		ssize_t n = read(fd, bd->buf, COPY_BLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_errno(e, errno, "input %s: read %s", f->path, bd->in[i].source);
			goto out;
		}
		if (n == 0)
			break;
		if ((uint64_t)n > f->size - total) {
			err_set(e, EXIT_REFUSED, "input %s: %s grew while being read", f->path,
				bd->in[i].source);
			goto out;
		}
		total += (uint64_t)n;
		EVP_DigestUpdate(bd->md, bd->buf, (size_t)n);
		if (archive_write_data(bd->a, bd->buf, (size_t)n) != n) {
			err_set(e, EXIT_RUNTIME, "write %s: %s", f->path, archive_error_string(bd->a));
			goto out;
		}
		bd->done += (uint64_t)n;
		progress_update(&bd->pg, bd->done);
	}
	if (total != f->size) {
		err_set(e, EXIT_REFUSED, "input %s: %s shrank while being read", f->path, bd->in[i].source);
		goto out;
	}
	EVP_DigestFinal_ex(bd->md, md, &mdlen);
	if (memcmp(md, f->sha256, sizeof(md))) {
		char got[65], want[65];
		util_hex(md, sizeof(md), got);
		util_hex(f->sha256, sizeof(f->sha256), want);
		err_set(e, EXIT_REFUSED, "input %s: %s has sha256 %s, the lock pins %s", f->path,
			bd->in[i].source, got, want);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	archive_entry_free(ent);
	return rc;
}

static void created_now(struct build *bd)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	struct tm tm;

	/* SOURCE_DATE_EPOCH makes a rebuild byte-identical (reproducible builds). */
	bd->created = sde && *sde ? (time_t)strtoll(sde, NULL, 10) : time(NULL);
	gmtime_r(&bd->created, &tm);
	strftime(bd->m.created, sizeof(bd->m.created), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int bundle_build(const char *lock, const char *key, const char *out, int quiet, struct err *e)
{
	struct build bd = { 0 };
	EVP_PKEY *priv = NULL;
	char *json = NULL, tmp[PATH_MAX];
	unsigned char sig[SIGN_SIG_LEN];
	size_t jlen = 0;
	int fd = -1, rc = -1;
	struct manifest check;

	tmp[0] = '\0';
	if (read_lock(&bd, lock, e) < 0)
		goto out;
	if (sign_load_private(key, &priv, e) < 0 || sign_key_id(priv, bd.m.key_id, e) < 0)
		goto out;
	created_now(&bd);
	json = manifest_serialize(&bd.m, &jlen);
	if (!json) {
		err_set(e, EXIT_RUNTIME, "manifest: out of memory");
		goto out;
	}
	/* What we sign must be what a verifier accepts (unique roles, k3s binary, ...). */
	if (manifest_parse(json, jlen, &check, e) < 0) {
		err_prefix(e, "%s", lock);
		goto out;
	}
	manifest_free(&check);
	if (sign_data(priv, json, jlen, sig, e) < 0)
		goto out;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", out, (long)getpid()) >= (int)sizeof(tmp)) {
		err_set(e, EXIT_RUNTIME, "%s: path too long", out);
		tmp[0] = '\0';
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		err_errno(e, errno, "create %s", tmp);
		tmp[0] = '\0';
		goto out;
	}
	bd.a = archive_write_new();
	bd.md = EVP_MD_CTX_new();
	bd.buf = malloc(COPY_BLOCK);
	if (!bd.a || !bd.md || !bd.buf) {
		err_set(e, EXIT_RUNTIME, "out of memory");
		goto out;
	}
	/* pax (restricted): ustar when names fit, pax headers only when needed. */
	if (archive_write_set_format_pax_restricted(bd.a) != ARCHIVE_OK ||
	    archive_write_add_filter_zstd(bd.a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(bd.a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(bd.a, fd) != ARCHIVE_OK) {
		err_set(e, EXIT_RUNTIME, "%s: %s", out, archive_error_string(bd.a));
		goto out;
	}
	progress_begin(&bd.pg, "build", bd.total, quiet);
	if (write_member(&bd, MANIFEST_NAME, json, jlen, 0644, e) < 0 ||
	    write_member(&bd, MANIFEST_SIG_NAME, sig, sizeof(sig), 0644, e) < 0)
		goto out;
	for (size_t i = 0; i < bd.m.nfiles; i++)
		if (write_input(&bd, i, e) < 0)
			goto out;
	if (archive_write_close(bd.a) != ARCHIVE_OK) {
		err_set(e, EXIT_RUNTIME, "%s: %s", out, archive_error_string(bd.a));
		goto out;
	}
	progress_end(&bd.pg, bd.done, 1);
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		err_errno(e, errno, "write %s", tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, out) < 0) {
		err_errno(e, errno, "rename %s to %s", tmp, out);
		goto out;
	}
	tmp[0] = '\0';
	rc = util_fsync_parent(out, e);
out:
	if (bd.a)
		archive_write_free(bd.a);
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		unlink(tmp);
	EVP_MD_CTX_free(bd.md);
	EVP_PKEY_free(priv);
	free(bd.buf);
	free(json);
	for (size_t i = 0; i < bd.m.nfiles; i++)
		free(bd.in[i].source);
	free(bd.in);
	manifest_free(&bd.m);
	return rc;
}
