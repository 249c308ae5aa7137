#include "install.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "bundle.h"
#include "capacity.h"
#include "debpkg.h"
#include "debver.h"
#include "k3s.h"
#include "util.h"

#define RECORD_MAX (16u * 1024 * 1024)
#define DATA_MAX (4u * 1024 * 1024)
#define COPY_BLOCK (256 * 1024)
#define RELEASE_PAYLOAD "payload"
#define RELEASE_RENDERED "rendered"

struct release_ref {
	char version[65];
	char sha[65];
};

struct record {
	int activating; /* state "activating": target is being placed */
	int has_current, has_previous, has_target;
	struct release_ref current, previous, target;
	json_t *files; /* object: path -> sha256 of every placed file */
};

struct install {
	char root[PATH_MAX];
	int lock_fd;
	struct bundle *b;
};

/* One file to place: its target (relative to the root) and its source in the
 * release directory. */
struct placement {
	char rel[PATH_MAX];
	char src[PATH_MAX];
	unsigned mode;
	char sha[65];
};

struct layout {
	struct placement *p;
	size_t n, cap;
};

/* root + "/" + rel; "/" as root adds nothing. */
static int rootpath(char *out, size_t cap, const char *root, const char *rel)
{
	size_t a = strcmp(root, "/") ? strlen(root) : 0, b = strlen(rel);

	if (a + 1 + b + 1 > cap)
		return -1;
	memcpy(out, root, a);
	out[a] = '/';
	memcpy(out + a + 1, rel, b + 1);
	return 0;
}

/* ---- the install record ---- */

static void ref_get(json_t *o, struct release_ref *r, int *has)
{
	const char *v = json_string_value(json_object_get(o, "version"));
	const char *s = json_string_value(json_object_get(o, "manifest_sha256"));

	*has = v && s && strlen(v) < sizeof(r->version) && strlen(s) < sizeof(r->sha);
	if (*has) {
		snprintf(r->version, sizeof(r->version), "%s", v);
		snprintf(r->sha, sizeof(r->sha), "%s", s);
	}
}

static json_t *ref_json(const struct release_ref *r, int has)
{
	if (!has)
		return json_null();
	return json_pack("{s:s, s:s}", "version", r->version, "manifest_sha256", r->sha);
}

static int record_read(const char *root, struct record *rec, struct err *e)
{
	char path[PATH_MAX], *text = NULL;
	json_error_t je;
	json_t *j;
	size_t len;

	memset(rec, 0, sizeof(*rec));
	if (rootpath(path, sizeof(path), root, INSTALL_RECORD) < 0)
		return err_set(e, EXIT_RUNTIME, "%s: path too long", root);
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		rec->files = json_object();
		return rec->files ? 0 : err_set(e, EXIT_RUNTIME, "out of memory");
	}
	if (util_read_file(path, RECORD_MAX, &text, &len, e) < 0)
		return -1;
	j = json_loadb(text, len, 0, &je);
	free(text);
	if (!j)
		return err_set(e, EXIT_RUNTIME, "%s: line %d: %s (remove it to install afresh)", path,
			       je.line, je.text);
	rec->activating = !strcmp(json_string_value(json_object_get(j, "state")) ?: "", "activating");
	ref_get(json_object_get(j, "current"), &rec->current, &rec->has_current);
	ref_get(json_object_get(j, "previous"), &rec->previous, &rec->has_previous);
	ref_get(json_object_get(j, "target"), &rec->target, &rec->has_target);
	rec->files = json_incref(json_object_get(j, "files"));
	json_decref(j);
	if (!json_is_object(rec->files)) {
		json_decref(rec->files);
		rec->files = json_object();
	}
	return 0;
}

static int record_write(const char *root, const struct record *rec, struct err *e)
{
	char path[PATH_MAX], *text;
	json_t *j = json_pack("{s:i, s:s, s:o, s:o, s:o, s:O}", "format", 1, "state",
			      rec->activating ? "activating" : "complete", "current",
			      ref_json(&rec->current, rec->has_current), "previous",
			      ref_json(&rec->previous, rec->has_previous), "target",
			      ref_json(&rec->target, rec->has_target), "files", rec->files);
	int rc;

	if (!j)
		return err_set(e, EXIT_RUNTIME, "install record: out of memory");
	text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	if (!text)
		return err_set(e, EXIT_RUNTIME, "install record: out of memory");
	rootpath(path, sizeof(path), root, INSTALL_RECORD);
	rc = util_write_atomic(path, text, strlen(text), 0600, e);
	free(text);
	return rc;
}

/* ---- the layout: what a release puts where ---- */

static int layout_add(struct layout *pl, const char *rel, const char *src, unsigned mode,
		    const char *sha, struct err *e)
{
	struct placement *p;

	for (size_t i = 0; i < pl->n; i++)
		if (!strcmp(pl->p[i].rel, rel))
			return err_set(e, EXIT_REFUSED, "bundle: two files would be installed as /%s", rel);
	if (pl->n == pl->cap) {
		size_t cap = pl->cap ? pl->cap * 2 : 32;
		struct placement *np = realloc(pl->p, cap * sizeof(*np));
		if (!np)
			return err_set(e, EXIT_RUNTIME, "out of memory");
		pl->p = np;
		pl->cap = cap;
	}
	p = &pl->p[pl->n++];
	memset(p, 0, sizeof(*p));
	snprintf(p->rel, sizeof(p->rel), "%s", rel);
	snprintf(p->src, sizeof(p->src), "%s", src);
	p->mode = mode;
	snprintf(p->sha, sizeof(p->sha), "%s", sha);
	return 0;
}

static void layout_free(struct layout *pl)
{
	free(pl->p);
	memset(pl, 0, sizeof(*pl));
}

static int parent_dir(const char *path, struct err *e)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	return util_mkdir_p(dir, 0755, e);
}

static const char *basename_of(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int read_payload_file(const char *reldir, const struct manifest_file *f, char **out,
			     size_t *len, struct err *e)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s/%s", reldir, RELEASE_PAYLOAD, f->path) >=
	    (int)sizeof(path))
		return err_set(e, EXIT_RUNTIME, "%s: path too long", f->path);
	return util_read_file(path, DATA_MAX, out, len, e);
}

static int write_rendered(const char *reldir, const char *rel, char *content, unsigned mode,
			  struct err *e)
{
	char path[PATH_MAX];
	int rc;

	if (!content)
		return err_set(e, EXIT_RUNTIME, "render /%s: out of memory", rel);
	if (snprintf(path, sizeof(path), "%s/%s/%s", reldir, RELEASE_RENDERED, rel) >=
	    (int)sizeof(path)) {
		free(content);
		return err_set(e, EXIT_RUNTIME, "%s: path too long", rel);
	}
	rc = parent_dir(path, e);
	if (rc == 0)
		rc = util_write_atomic(path, content, strlen(content), mode, e);
	free(content);
	return rc;
}

/* The files Outpost writes for k3s (config.yaml, registries.yaml, the
 * platform's HelmCharts) are rendered once, into the release directory, so a
 * rollback restores exactly what that release had. */
static int render_release(const char *reldir, const struct manifest *m, struct err *e)
{
	const struct manifest_file *capf = manifest_find_role(m, "capacity");
	const struct manifest_file *platf = manifest_find_role(m, "platform");
	struct capacity_budget cap;
	struct k3s_rendered *r = NULL;
	const char **charts = NULL;
	size_t ncharts = 0, nr = 0, len;
	char *text = NULL, rel[PATH_MAX], capdir[PATH_MAX];
	int rc = -1;

	if (!capf || strcmp(basename_of(capf->path), "capacity.json"))
		return err_set(e, EXIT_REFUSED, "bundle %s has no capacity.json (role capacity)",
			       m->bundle_version);
	/* The shared loader reads <dir>/capacity.json: give it the file's directory. */
	if (snprintf(capdir, sizeof(capdir), "%s/%s/%.*s", reldir, RELEASE_PAYLOAD,
		     (int)(basename_of(capf->path) - capf->path), capf->path) >= (int)sizeof(capdir))
		return err_set(e, EXIT_RUNTIME, "%s: path too long", capf->path);
	if (capacity_budget_load(capdir, &cap, e) < 0)
		goto out;
	if (write_rendered(reldir, K3S_CONFIG, k3s_render_config(&cap), 0600, e) < 0 ||
	    write_rendered(reldir, K3S_REGISTRIES, strdup(k3s_render_registries()), 0600, e) < 0)
		goto out;
	if (platf) {
		free(text);
		text = NULL;
		charts = calloc(m->nfiles + 1, sizeof(*charts));
		if (!charts) {
			err_set(e, EXIT_RUNTIME, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < m->nfiles; i++)
			if (!strcmp(m->files[i].role, "chart"))
				charts[ncharts++] = basename_of(m->files[i].path);
		if (read_payload_file(reldir, platf, &text, &len, e) < 0 ||
		    k3s_render_platform(text, len, &cap, charts, ncharts, &r, &nr, e) < 0)
			goto out;
		for (size_t i = 0; i < nr; i++) {
			snprintf(rel, sizeof(rel), "%s/%s", K3S_MANIFESTS_DIR, r[i].name);
			char *yaml = r[i].yaml;
			r[i].yaml = NULL;
			if (write_rendered(reldir, rel, yaml, 0644, e) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	k3s_rendered_free(r, nr);
	free(text);
	free(charts);
	return rc;
}

/* Adds every file below <reldir>/rendered/<sub> to the plan. */
static int layout_rendered(const char *reldir, const char *sub, struct layout *pl, struct err *e)
{
	char dir[PATH_MAX], src[PATH_MAX + 256], rel[PATH_MAX], sha[65];
	unsigned char md[32];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = 0;

	snprintf(dir, sizeof(dir), "%s/%s%s%s", reldir, RELEASE_RENDERED, *sub ? "/" : "", sub);
	d = opendir(dir);
	if (!d)
		return err_errno(e, errno, "open %s", dir);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(src, sizeof(src), "%s/%s", dir, de->d_name);
		snprintf(rel, sizeof(rel), "%s%s%s", sub, *sub ? "/" : "", de->d_name);
		if (lstat(src, &st) < 0) {
			rc = err_errno(e, errno, "%s", src);
		} else if (S_ISDIR(st.st_mode)) {
			rc = layout_rendered(reldir, rel, pl, e);
		} else if (S_ISREG(st.st_mode)) {
			char *text = NULL;
			size_t len;
			rc = util_read_file(src, DATA_MAX, &text, &len, e);
			if (rc == 0) {
				EVP_Digest(text, len, md, NULL, EVP_sha256(), NULL);
				util_hex(md, sizeof(md), sha);
				rc = layout_add(pl, rel, src, st.st_mode & 0777, sha, e);
			}
			free(text);
		}
	}
	closedir(d);
	return rc;
}

/* Where each role goes (bundle/FORMAT.md section 7), plus the rendered files. */
static int layout_release(const char *reldir, const struct manifest *m, struct layout *pl,
			struct err *e)
{
	char rel[PATH_MAX], src[PATH_MAX], sha[65];

	for (size_t i = 0; i < m->nfiles; i++) {
		const struct manifest_file *f = &m->files[i];
		const char *dir = NULL;
		if (!strcmp(f->role, "k3s-binary"))
			snprintf(rel, sizeof(rel), "%s", K3S_BIN);
		else if (!strcmp(f->role, "unit"))
			snprintf(rel, sizeof(rel), "%s", OUTPOST_UNIT);
		else if (!strcmp(f->role, "k3s-images") || !strcmp(f->role, "images"))
			dir = K3S_IMAGES_DIR;
		else if (!strcmp(f->role, "chart") || !strcmp(f->role, "app-chart"))
			dir = K3S_CHARTS_DIR;
		else if (!strcmp(f->role, "manifest"))
			dir = K3S_MANIFESTS_DIR;
		else if (!strcmp(f->role, "key"))
			dir = OUTPOST_KEYS_DIR;
		else
			continue; /* platform, capacity, lock, doc: stay in the release */
		if (dir)
			snprintf(rel, sizeof(rel), "%s/%s", dir, basename_of(f->path));
		if (snprintf(src, sizeof(src), "%s/%s/%s", reldir, RELEASE_PAYLOAD, f->path) >=
		    (int)sizeof(src))
			return err_set(e, EXIT_RUNTIME, "%s: path too long", f->path);
		util_hex(f->sha256, sizeof(f->sha256), sha);
		if (layout_add(pl, rel, src, f->mode, sha, e) < 0)
			return -1;
	}
	return layout_rendered(reldir, "", pl, e);
}

/* ---- placing files ---- */

static int copy_to(const char *src, const char *dst, unsigned mode, struct err *e)
{
	char *buf = malloc(COPY_BLOCK);
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;

	if (!buf || in < 0) {
		err_errno(e, buf ? errno : ENOMEM, "copy %s", src);
		goto done;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		err_errno(e, errno, "create %s", dst);
		goto done;
	}
	for (;;) {
		ssize_t n = read(in, buf, COPY_BLOCK), w = 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_errno(e, errno, "read %s", src);
			goto done;
		}
		if (n == 0)
			break;
		while (w < n) {
			ssize_t k = write(out, buf + w, (size_t)(n - w));
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				err_errno(e, errno, "write %s", dst);
				goto done;
			}
			w += k;
		}
	}
	if (fchmod(out, mode) < 0 || fsync(out) < 0) {
		err_errno(e, errno, "write %s", dst);
		goto done;
	}
	rc = 0;
done:
	if (out >= 0 && close(out) < 0 && rc == 0)
		rc = err_errno(e, errno, "close %s", dst);
	if (in >= 0)
		close(in);
	if (rc < 0)
		unlink(dst);
	free(buf);
	return rc;
}


/* A release file is hardlinked into place (same file system: no copy, no
 * second 2 GB on disk), copied when the target is on another file system;
 * either way through a temporary name and rename(), so k3s sees the old file
 * or the new one, never a partial one. */
static int place(const char *root, const struct placement *p, struct err *e)
{
	char target[PATH_MAX], tmp[PATH_MAX + 16];
	struct stat a, b;

	if (rootpath(target, sizeof(target), root, p->rel) < 0)
		return err_set(e, EXIT_RUNTIME, "/%s: path too long", p->rel);
	if (parent_dir(target, e) < 0)
		return -1;
	/* A fixed temporary name: one left by a killed run is replaced, not leaked. */
	snprintf(tmp, sizeof(tmp), "%s.outpost-new", target);
	if (unlink(tmp) < 0 && errno != ENOENT)
		return err_errno(e, errno, "remove %s", tmp);
	if (lstat(target, &a) == 0 && stat(p->src, &b) == 0 && a.st_ino == b.st_ino &&
	    a.st_dev == b.st_dev)
		return 0;
	if (link(p->src, tmp) < 0) {
		if (errno != EXDEV)
			return err_errno(e, errno, "link %s to %s", p->src, tmp);
		if (copy_to(p->src, tmp, p->mode, e) < 0)
			return -1;
	}
	if (rename(tmp, target) < 0) {
		int saved = errno;
		unlink(tmp);
		return err_errno(e, saved, "rename %s to %s", tmp, target);
	}
	return util_fsync_parent(target, e);
}

static int layout_has(const struct layout *pl, const char *rel)
{
	for (size_t i = 0; i < pl->n; i++)
		if (!strcmp(pl->p[i].rel, rel))
			return 1;
	return 0;
}

/* Test hook: with OUTPOST_TEST_CRASH_AT=N the process kills itself (SIGKILL,
 * like a power cut) at the Nth crash point of activation, so tests can
 * interrupt it at every step instead of hoping a random kill lands there. */
/* Makes `ref`'s release the live one. The record says "activating" (with the
 * union of old and new files) before anything is touched, so an interruption
 * can be resumed and nothing placed is ever forgotten by the pruning. */
static int activate(const char *root, struct record *rec, const struct release_ref *target,
		    const struct release_ref *prev, int has_prev, struct err *e)
{
	/* Copies: the caller may pass pointers into *rec, which is rewritten below. */
	const struct release_ref ref_copy = *target, prev_copy = has_prev ? *prev : (struct release_ref){ 0 };
	const struct release_ref *ref = &ref_copy;
	unsigned step = 0;
	char reldir[PATH_MAX], mpath[PATH_MAX], *mtext = NULL;
	struct manifest m;
	struct layout pl = { 0 };
	size_t mlen;
	const char *key;
	json_t *v, *files = NULL;
	void *tmp;
	int rc = -1;

	if (rootpath(reldir, sizeof(reldir), root, INSTALL_RELEASES) < 0 ||
	    strlen(reldir) + strlen(ref->version) + 2 > sizeof(reldir))
		return err_set(e, EXIT_RUNTIME, "%s: path too long", root);
	strcat(reldir, "/");
	strcat(reldir, ref->version);
	snprintf(mpath, sizeof(mpath), "%s/%s", reldir, MANIFEST_NAME);
	if (util_read_file(mpath, MANIFEST_MAX_BYTES, &mtext, &mlen, e) < 0)
		return -1;
	if (manifest_parse(mtext, mlen, &m, e) < 0) {
		free(mtext);
		return err_prefix(e, "release %s", ref->version);
	}
	free(mtext);
	if (layout_release(reldir, &m, &pl, e) < 0)
		goto out;

	files = json_object();
	if (!files)
		goto oom;
	for (size_t i = 0; i < pl.n; i++)
		json_object_set_new(files, pl.p[i].rel, json_string(pl.p[i].sha));
	json_object_update_missing(rec->files, files);
	rec->activating = 1;
	rec->target = *ref;
	rec->has_target = 1;
	/* Recorded now, not at the end: a resumed run must know which release
	 * this one replaces even though `current` may already be half-replaced. */
	rec->previous = prev_copy;
	rec->has_previous = has_prev;
	util_test_crash_point(&step);
	if (record_write(root, rec, e) < 0)
		goto out;

	for (size_t i = 0; i < pl.n; i++) {
		util_test_crash_point(&step);
		if (place(root, &pl.p[i], e) < 0)
			goto out;
	}
	util_test_crash_point(&step);
	json_object_foreach_safe(rec->files, tmp, key, v) {
		char path[PATH_MAX];
		struct stat st;
		if (layout_has(&pl, key))
			continue;
		/* A file of the old release the new one does not have. */
		if (rootpath(path, sizeof(path), root, key) == 0 && lstat(path, &st) == 0 &&
		    S_ISREG(st.st_mode) && unlink(path) < 0) {
			err_errno(e, errno, "remove %s", path);
			goto out;
		}
	}
	json_decref(rec->files);
	rec->files = files;
	files = NULL;
	rec->activating = 0;
	rec->has_target = 0;
	rec->current = *ref;
	rec->has_current = 1;
	util_test_crash_point(&step);
	rc = record_write(root, rec, e);
	goto out;
oom:
	err_set(e, EXIT_RUNTIME, "out of memory");
out:
	json_decref(files);
	layout_free(&pl);
	manifest_free(&m);
	return rc;
}

/* Releases other than the current and previous one, and staging left by a
 * killed install, are removed (the caller holds the lock). */
static void prune_dir(const char *dir, const char *prefix, const struct record *rec)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct err ignored;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		char *p;
		if (de->d_name[0] == '.' || strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		if (rec && ((rec->has_current && !strcmp(de->d_name, rec->current.version)) ||
			    (rec->has_previous && !strcmp(de->d_name, rec->previous.version)) ||
			    (rec->has_target && !strcmp(de->d_name, rec->target.version))))
			continue;
		p = util_path_join(dir, de->d_name);
		if (p)
			bundle_remove_tree(p, &ignored);
		free(p);
	}
	closedir(d);
}

/* ---- the commands ---- */

static int lock_state(const char *root, int *fd_out, struct err *e)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	int fd;

	if (rootpath(dir, sizeof(dir), root, INSTALL_STATE_DIR) < 0)
		return err_set(e, EXIT_RUNTIME, "%s: path too long", root);
	if (util_mkdir_p(dir, 0755, e) < 0)
		return -1;
	/* The state directory holds tenant credentials (state.db): owner only. */
	if (chmod(dir, 0700) < 0)
		return err_errno(e, errno, "chmod %s", dir);
	snprintf(path, sizeof(path), "%s/install.lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_errno(e, errno, "open %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int saved = errno;
		close(fd);
		if (saved == EWOULDBLOCK)
			return err_set(e, EXIT_RUNTIME, "%s: another install or rollback is running", root);
		return err_errno(e, saved, "lock %s", path);
	}
	*fd_out = fd;
	return 0;
}

int install_begin(const char *root, const char *bundle, const char *keys, struct install **out,
		  struct err *e)
{
	struct install *in = calloc(1, sizeof(*in));
	char keydir[PATH_MAX];

	if (!in)
		return err_set(e, EXIT_RUNTIME, "out of memory");
	in->lock_fd = -1;
	snprintf(in->root, sizeof(in->root), "%s", root);
	if (!keys) {
		/* The target's own trust store: with --root that is the prefix's. */
		rootpath(keydir, sizeof(keydir), root, OUTPOST_KEYS_DIR);
		keys = keydir;
	}
	if (bundle_open(bundle, keys, &in->b, e) < 0) {
		free(in);
		return -1;
	}
	if (lock_state(root, &in->lock_fd, e) < 0) {
		install_end(in);
		return -1;
	}
	*out = in;
	return 0;
}

const struct manifest *install_manifest(const struct install *in)
{
	return bundle_manifest(in->b);
}

void install_end(struct install *in)
{
	if (!in)
		return;
	bundle_close(in->b);
	if (in->lock_fd >= 0)
		close(in->lock_fd);
	free(in);
}

/* The release directory for this bundle: reused if an earlier (interrupted)
 * run already verified and moved it into place, else extracted now into
 * staging (payload/, rendered/, manifest.json) and renamed in one step. */
static int ensure_release(struct install *in, int quiet, struct err *e)
{
	const struct manifest *m = bundle_manifest(in->b);
	char state[PATH_MAX], rels[PATH_MAX], dir[PATH_MAX], mpath[PATH_MAX + 32];
	char *staging = NULL, *old = NULL, *sub = NULL, *payload = NULL;
	const char *mbytes;
	size_t mlen, oldlen;
	struct layout pl = { 0 };
	struct err ignored;
	int rc = -1;

	rootpath(state, sizeof(state), in->root, INSTALL_STATE_DIR);
	rootpath(rels, sizeof(rels), in->root, INSTALL_RELEASES);
	if (snprintf(dir, sizeof(dir), "%s/%s", rels, m->bundle_version) >= (int)sizeof(dir))
		return err_set(e, EXIT_RUNTIME, "%s: path too long", rels);
	snprintf(mpath, sizeof(mpath), "%s/%s", dir, MANIFEST_NAME);
	mbytes = bundle_manifest_bytes(in->b, &mlen);
	if (util_read_file(mpath, MANIFEST_MAX_BYTES, &old, &oldlen, &ignored) == 0) {
		int same = oldlen == mlen && !memcmp(old, mbytes, mlen);
		free(old);
		if (same)
			return 0;
		return err_set(e, EXIT_REFUSED,
			       "bundle version %s is already on this machine with different content; "
			       "a changed bundle needs a new bundle_version",
			       m->bundle_version);
	}
	if (access(dir, F_OK) == 0)
		bundle_remove_tree(dir, &ignored); /* no manifest: not a release we made */
	if (util_mkdir_p(rels, 0700, e) < 0)
		return -1;
	staging = util_path_join(state, "staging.XXXXXX");
	if (!staging)
		return err_set(e, EXIT_RUNTIME, "out of memory");
	if (!mkdtemp(staging)) {
		rc = err_errno(e, errno, "create staging directory in %s", state);
		free(staging);
		return rc;
	}
	sub = util_path_join(staging, RELEASE_PAYLOAD);
	if (!sub) {
		err_set(e, EXIT_RUNTIME, "out of memory");
		goto out;
	}
	if (bundle_extract_staged(in->b, staging, quiet, &payload, e) < 0)
		goto out;
	if (rename(payload, sub) < 0) {
		err_errno(e, errno, "rename %s to %s", payload, sub);
		goto out;
	}
	snprintf(mpath, sizeof(mpath), "%s/%s", staging, MANIFEST_NAME);
	if (render_release(staging, m, e) < 0 || layout_release(staging, m, &pl, e) < 0 ||
	    util_write_atomic(mpath, mbytes, mlen, 0644, e) < 0)
		goto out;
	if (rename(staging, dir) < 0) {
		err_errno(e, errno, "rename %s to %s", staging, dir);
		goto out;
	}
	rc = util_fsync_parent(dir, e);
out:
	if (rc < 0)
		bundle_remove_tree(staging, &ignored);
	layout_free(&pl);
	free(payload);
	free(sub);
	free(staging);
	return rc;
}

int install_is_current(const struct install *in)
{
	struct record rec;
	struct err ignored;
	int same;

	if (record_read(in->root, &rec, &ignored) < 0)
		return 0;
	same = !rec.activating && rec.has_current &&
	       !strcmp(rec.current.sha, bundle_manifest_sha256(in->b));
	json_decref(rec.files);
	return same;
}

int install_check_order(const struct install *in, int allow_downgrade, struct err *e)
{
	const struct manifest *m = bundle_manifest(in->b);
	const struct manifest_file *pkg = manifest_find_role(m, DEBPKG_ROLE);
	char version[DEBVER_MAX];
	struct record rec;
	int rc = 0;

	if (record_read(in->root, &rec, e) < 0)
		return -1;
	if (!allow_downgrade && rec.has_current &&
	    !(rec.activating && rec.has_target && !strcmp(rec.target.sha, bundle_manifest_sha256(in->b))) &&
	    debver_cmp(m->bundle_version, rec.current.version) < 0)
		rc = err_set(e, EXIT_REFUSED,
			     "bundle %s is older than the installed %s; pass --allow-downgrade to "
			     "install it (or outpost rollback to the previous release)",
			     m->bundle_version, rec.current.version);
	json_decref(rec.files);
	if (rc == 0 && pkg && debver_of_package_file(pkg->path, DEBPKG_NAME, version) == 0)
		rc = debpkg_check_order(in->root, version, allow_downgrade, e);
	return rc;
}

int install_commit(struct install *in, int quiet, enum install_outcome *outcome, struct err *e)
{
	const struct manifest *m = bundle_manifest(in->b);
	struct release_ref ref = { 0 }, prev = { 0 };
	struct record rec;
	char state[PATH_MAX], rels[PATH_MAX];
	int has_prev = 0, rc = -1;

	snprintf(ref.version, sizeof(ref.version), "%s", m->bundle_version);
	snprintf(ref.sha, sizeof(ref.sha), "%s", bundle_manifest_sha256(in->b));
	if (record_read(in->root, &rec, e) < 0)
		return -1;
	rootpath(state, sizeof(state), in->root, INSTALL_STATE_DIR);
	rootpath(rels, sizeof(rels), in->root, INSTALL_RELEASES);
	/* Left by a killed run: staging and the record's temporary files. */
	prune_dir(state, "staging.", NULL);
	prune_dir(state, "install.json.tmp.", NULL);
	if (!rec.activating && rec.has_current && !strcmp(rec.current.sha, ref.sha)) {
		*outcome = INSTALL_ALREADY;
		rc = 0;
		goto out;
	}
	if (rec.activating && rec.has_target && !strcmp(rec.target.sha, ref.sha)) {
		*outcome = INSTALL_RESUMED;
		prev = rec.previous;
		has_prev = rec.has_previous;
	} else {
		*outcome = !rec.has_current ? INSTALL_INSTALLED
			   : debver_cmp(ref.version, rec.current.version) < 0 ? INSTALL_DOWNGRADED
									       : INSTALL_UPGRADED;
		prev = rec.current;
		has_prev = rec.has_current && strcmp(rec.current.version, ref.version);
	}
	if (ensure_release(in, quiet, e) < 0 || activate(in->root, &rec, &ref, &prev, has_prev, e) < 0)
		goto out;
	prune_dir(rels, "", &rec);
	rc = 0;
out:
	json_decref(rec.files);
	return rc;
}

int install_live_package(const char *root, char *path, size_t cap, struct err *e)
{
	const struct manifest_file *pkg;
	char reldir[PATH_MAX], mpath[PATH_MAX + 96], *text = NULL;
	struct manifest m;
	struct record rec;
	size_t len;
	int rc;

	if (record_read(root, &rec, e) < 0)
		return -1;
	json_decref(rec.files);
	if (rec.activating || !rec.has_current)
		return 0;
	if (rootpath(reldir, sizeof(reldir), root, INSTALL_RELEASES) < 0)
		return err_set(e, EXIT_RUNTIME, "%s: path too long", root);
	snprintf(mpath, sizeof(mpath), "%s/%s/%s", reldir, rec.current.version, MANIFEST_NAME);
	if (util_read_file(mpath, MANIFEST_MAX_BYTES, &text, &len, e) < 0)
		return -1;
	rc = manifest_parse(text, len, &m, e);
	free(text);
	if (rc < 0)
		return err_prefix(e, "release %s", rec.current.version);
	pkg = manifest_find_role(&m, DEBPKG_ROLE);
	rc = 0;
	if (pkg && snprintf(path, cap, "%s/%s/%s/%s", reldir, rec.current.version, RELEASE_PAYLOAD,
			    pkg->path) >= (int)cap)
		rc = err_set(e, EXIT_RUNTIME, "%s: path too long", pkg->path);
	else if (pkg)
		rc = 1;
	manifest_free(&m);
	return rc;
}

int install_rollback(const char *root, char version[65], struct err *e)
{
	struct record rec;
	struct release_ref cur;
	int fd = -1, rc = -1;

	if (lock_state(root, &fd, e) < 0)
		return -1;
	if (record_read(root, &rec, e) < 0)
		goto out_fd;
	if (rec.activating) {
		err_set(e, EXIT_REFUSED, "an install of %s was interrupted: rerun outpost install with that bundle first",
			rec.has_target ? rec.target.version : "a bundle");
		goto out;
	}
	if (!rec.has_current || !rec.has_previous) {
		err_set(e, EXIT_REFUSED, "rollback: no previous release recorded in %s", INSTALL_RECORD);
		goto out;
	}
	cur = rec.current;
	if (activate(root, &rec, &rec.previous, &cur, 1, e) < 0)
		goto out;
	snprintf(version, 65, "%s", rec.current.version);
	rc = 0;
out:
	json_decref(rec.files);
out_fd:
	close(fd);
	return rc;
}
