/* See backup-minio.h. The root credentials are read from the credfile or
 * the pod's Secret into memory, handed to the S3 client (which signs with
 * them; they never travel), and cleansed after. */
#include "backup-minio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup-tar.h"
#include "s3.h"
#include "tenant.h"
#include "util.h"

#define MINIO_PORT 9000
#define CRED_MAX 4096
#define DEPTH_MAX 512 /* directories in a key: S3 keys are at most 1024 bytes */

struct creds {
	char user[512], password[512];
};

int backup_minio_check(const struct backup_minio *m, struct err *e)
{
	char ns[64], pod[254];
	const char *host;
	size_t h;

	if (m->pod && pod_split(m->pod, ns, pod) < 0)
		return err_set(e, EXIT_USAGE, "--minio-pod '%s': not NAMESPACE/POD", m->pod);
	if (!m->url)
		return 0;
	if (strncmp(m->url, "http://", 7) && strncmp(m->url, "https://", 8))
		return err_set(e, EXIT_USAGE, "--minio '%s': an http:// or https:// URL", m->url);
	host = strstr(m->url, "://") + 3;
	if (strchr(host, '@'))
		return err_set(e, EXIT_USAGE, "--minio: no credentials in the URL (it would be in argv): use --minio-credfile");
	/* Requests are path-style from the server's root: a path would be
	 * taken for a bucket. */
	h = strcspn(host, "/?#");
	if (h == 0 || host[h + strspn(host + h, "/")])
		return err_set(e, EXIT_USAGE, "--minio '%s': scheme://HOST[:PORT], without a path", m->url);
	if (!m->credfile)
		return err_set(e, EXIT_USAGE, "--minio needs --minio-credfile");
	return util_check_private_file("--minio-credfile", m->credfile, e);
}

/* The credfile's two lines: the user, then the password (which may hold
 * any byte but a line end). */
static int read_credfile(const char *path, struct creds *c, struct err *e)
{
	char *buf = NULL, *nl;
	size_t len = 0, ulen, plen;
	int rc = 0;

	if (util_read_file(path, CRED_MAX, &buf, &len, e) < 0)
		return -1;
	ulen = strcspn(buf, "\r\n");
	nl = buf + ulen + strspn(buf + ulen, "\r");
	plen = *nl == '\n' ? strcspn(nl + 1, "\r\n") : 0;
	if (ulen == 0 || plen == 0)
		rc = err_set(e, EXIT_USAGE, "--minio-credfile %s: the user on the first line, the password on the second",
			     path);
	else if (ulen >= sizeof(c->user) || plen >= sizeof(c->password))
		rc = err_set(e, EXIT_USAGE, "--minio-credfile %s: the user or password is too long", path);
	else {
		memcpy(c->user, buf, ulen);
		c->user[ulen] = '\0';
		memcpy(c->password, nl + 1, plen);
		c->password[plen] = '\0';
	}
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}

/* A bucket name that is a tenant's: "t-<tenant>". */
static int tenant_bucket(const char *name)
{
	struct err ignore = { 0 };

	return !strncmp(name, TENANT_NAMESPACE_PREFIX, 2) && tenant_check_name(name + 2, &ignore) == 0;
}

int backup_minio_key_ok(const char *key)
{
	const char *p = key;

	if (!*key || *key == '/')
		return 0;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n;
		if (*p == '/')
			p++;
	}
	return 1;
}

/* Makes the directories on the way to path's last '/'. */
static int make_parents(char *path, struct err *e)
{
	char *slash = strrchr(path, '/');
	int rc;

	*slash = '\0';
	rc = util_mkdir_p(path, 0700, e);
	*slash = '/';
	return rc;
}

/* One object into path (which holds the bucket's directory and a '/' up
 * to base): a file, or for a "dir/" object, a directory. */
static int dump_object(struct s3 *s, const char *bucket, const char *key, char *path, size_t base,
		       struct err *e)
{
	size_t len = strlen(key);
	int fd, rc;

	if (!backup_minio_key_ok(key))
		return err_set(e, EXIT_RUNTIME,
			       "MinIO: %s: object '%s' cannot be a file of the archive (a leading '/', or an empty, '.' or '..' part)",
			       bucket, key);
	if (base + len >= PATH_MAX)
		return err_set(e, EXIT_RUNTIME, "MinIO: %s/%s: key too long", bucket, key);
	memcpy(path + base, key, len + 1);
	if (make_parents(path, e) < 0)
		return -1;
	if (key[len - 1] == '/')
		return 0;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return err_errno(e, errno, "%s", path);
	rc = s3_get_object(s, bucket, key, fd, e);
	if (close(fd) < 0 && !rc)
		rc = err_errno(e, errno, "%s", path);
	return rc;
}

/* One bucket being copied: the objects of each list page as it comes. */
struct dump {
	struct s3 *s;
	const char *bucket;
	char path[PATH_MAX]; /* the bucket's directory and '/', then a key */
	size_t base;
};

static int dump_page(const struct s3_list *keys, void *ctx, struct err *e)
{
	struct dump *d = ctx;

	for (size_t i = 0; i < keys->n; i++)
		if (dump_object(d->s, d->bucket, keys->v[i], d->path, d->base, e) < 0)
			return -1;
	return 0;
}

static int dump_bucket(struct s3 *s, const char *bucket, const char *data, struct err *e)
{
	struct dump *d = malloc(sizeof(*d));
	int base, rc;

	if (!d)
		return err_set(e, EXIT_RUNTIME, "out of memory");
	d->s = s;
	d->bucket = bucket;
	base = snprintf(d->path, sizeof(d->path), "%s/%s/", data, bucket);
	d->base = (size_t)base;
	if (base < 0 || (size_t)base >= sizeof(d->path))
		rc = err_set(e, EXIT_RUNTIME, "%s: path too long", data);
	else if (mkdir(d->path, 0700) < 0)
		rc = err_errno(e, errno, "%s", d->path);
	else
		rc = s3_each_page(s, bucket, dump_page, d, e);
	free(d);
	return rc;
}

/* Every tenant bucket into a directory of data; other buckets are not read. */
static int dump_all(struct s3 *s, const char *data, struct err *e)
{
	struct s3_list buckets = { 0 };
	int rc = s3_list_buckets(s, &buckets, e);

	for (size_t i = 0; !rc && i < buckets.n; i++)
		if (tenant_bucket(buckets.v[i]))
			rc = dump_bucket(s, buckets.v[i], data, e);
	s3_list_free(&buckets);
	return rc;
}

/* What the archive holds for one bucket: `put`, the objects to write (files,
 * and "d/" for an empty directory); `dirs`, every directory as "d/", so a
 * directory object over a directory that also holds files is kept. */
struct local {
	struct s3_list put, dirs;
};

/* Adds what is under root/rel (rel is "" or ends in '/') to l. */
static int walk(const char *root, const char *rel, struct local *l, int depth, struct err *e)
{
	struct dirent **list;
	char *dir = NULL;
	int n, rc = 0, entries = 0;

	if (depth > DEPTH_MAX)
		return err_set(e, EXIT_RUNTIME, "%s/%s: too deep", root, rel);
	if (asprintf(&dir, "%s/%s", root, rel) < 0)
		return err_set(e, EXIT_RUNTIME, "out of memory");
	if ((n = scandir(dir, &list, NULL, alphasort)) < 0) {
		rc = err_errno(e, errno, "%s", dir);
		free(dir);
		return rc;
	}
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		char *sub = NULL, *full = NULL;
		struct stat st;

		if (!rc && strcmp(name, ".") && strcmp(name, "..")) {
			entries++;
			if (asprintf(&sub, "%s%s/", rel, name) < 0 || asprintf(&full, "%s%s", dir, name) < 0)
				rc = err_set(e, EXIT_RUNTIME, "out of memory");
			else if (lstat(full, &st) < 0)
				rc = err_errno(e, errno, "%s", full);
			else if (S_ISDIR(st.st_mode))
				rc = s3_list_add(&l->dirs, sub, strlen(sub), e) < 0 ||
					     walk(root, sub, l, depth + 1, e) < 0 ? -1 : 0;
			else if (S_ISREG(st.st_mode))
				rc = s3_list_add(&l->put, sub, strlen(sub) - 1, e); /* without the '/' */
			else
				rc = err_set(e, EXIT_REFUSED, "%s: neither a file nor a directory", full);
		}
		free(sub);
		free(full);
		free(list[i]);
	}
	free(list);
	free(dir);
	if (!rc && !entries && rel[0])
		rc = s3_list_add(&l->put, rel, strlen(rel), e);
	return rc;
}

/* The bucket's objects the archive does not hold, page by page. */
struct prune {
	struct s3 *s;
	const char *bucket;
	struct local *l;
};

static int prune_page(const struct s3_list *keys, void *ctx, struct err *e)
{
	struct prune *p = ctx;

	for (size_t i = 0; i < keys->n; i++)
		if (!s3_list_has(&p->l->put, keys->v[i]) && !s3_list_has(&p->l->dirs, keys->v[i]) &&
		    s3_delete_object(p->s, p->bucket, keys->v[i], e) < 0)
			return -1;
	return 0;
}

static int put_one(struct s3 *s, const char *bucket, const char *root, const char *key, struct err *e)
{
	char path[PATH_MAX];
	int fd, rc;

	if (key[strlen(key) - 1] == '/')
		return s3_put_object(s, bucket, key, -1, e);
	if (snprintf(path, sizeof(path), "%s/%s", root, key) >= (int)sizeof(path))
		return err_set(e, EXIT_RUNTIME, "%s/%s: path too long", root, key);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return err_errno(e, errno, "%s", path);
	rc = s3_put_object(s, bucket, key, fd, e);
	close(fd);
	return rc;
}

/* Writes the archive's objects, then deletes those it does not hold: the
 * bucket ends as the archive has it, and a failure part-way leaves no
 * object missing that the archive has. */
static int restore_bucket(struct s3 *s, const struct s3_list *existing, const char *data, const char *bucket,
			  struct err *e)
{
	struct local l = { { 0 }, { 0 } };
	struct prune p = { s, bucket, &l };
	char root[PATH_MAX];
	int rc = 0;

	if (snprintf(root, sizeof(root), "%s/%s", data, bucket) >= (int)sizeof(root))
		return err_set(e, EXIT_RUNTIME, "%s: path too long", data);
	rc = walk(root, "", &l, 0, e);
	if (!rc && !s3_list_has(existing, bucket))
		rc = s3_make_bucket(s, bucket, e);
	for (size_t i = 0; !rc && i < l.put.n; i++)
		rc = put_one(s, bucket, root, l.put.v[i], e);
	s3_list_sort(&l.put);
	s3_list_sort(&l.dirs);
	if (!rc)
		rc = s3_each_page(s, bucket, prune_page, &p, e);
	s3_list_free(&l.put);
	s3_list_free(&l.dirs);
	return rc;
}

/* Each bucket directory of the archive (all tenant buckets: verified). */
static int restore_all(struct s3 *s, const char *data, struct err *e)
{
	struct s3_list existing = { 0 };
	struct dirent **list = NULL;
	int n, rc = s3_list_buckets(s, &existing, e);

	s3_list_sort(&existing);
	if (!rc && (n = scandir(data, &list, NULL, alphasort)) < 0)
		rc = err_errno(e, errno, "%s", data);
	for (int i = 0; list && i < n; i++) {
		const char *name = list[i]->d_name;

		if (!rc && name[0] != '.')
			rc = tenant_bucket(name) ? restore_bucket(s, &existing, data, name, e)
						 : err_set(e, EXIT_REFUSED, "MinIO part: '%s' is not a tenant bucket", name);
		free(list[i]);
	}
	free(list);
	s3_list_free(&existing);
	return rc;
}

/* The credentials of m's server: its credfile's, or the pod namespace's
 * Secret `minio` (with a port-forward to the pod, which *fwd keeps). */
static int reach(const struct backup_minio *m, struct creds *c, struct pod_forward *fwd, char *url, size_t cap,
		 struct err *e)
{
	char ns[64], pod[254];

	if (!m->pod) {
		snprintf(url, cap, "%s", m->url);
		return read_credfile(m->credfile, c, e);
	}
	if (pod_split(m->pod, ns, pod) < 0)
		return err_set(e, EXIT_USAGE, "--minio-pod '%s': not NAMESPACE/POD", m->pod);
	if (pod_secret_value(&m->via, ns, "minio", "root-user", c->user, sizeof(c->user), e) < 0 ||
	    pod_secret_value(&m->via, ns, "minio", "root-password", c->password, sizeof(c->password), e) < 0 ||
	    pod_forward_start(&m->via, m->pod, MINIO_PORT, fwd, e) < 0)
		return -1;
	snprintf(url, cap, "http://127.0.0.1:%d", fwd->port);
	return 0;
}

static int with_client(const struct backup_minio *m, int (*fn)(struct s3 *, const char *, struct err *),
		       const char *data, struct err *e)
{
	struct creds c;
	struct pod_forward fwd = { .out = -1 };
	char url[4096];
	struct s3 *s = NULL;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = reach(m, &c, &fwd, url, sizeof(url), e);
	if (!rc)
		rc = s3_open(url, c.user, c.password, &s, e);
	OPENSSL_cleanse(&c, sizeof(c));
	if (!rc)
		rc = fn(s, data, e);
	s3_close(s);
	pod_forward_stop(&fwd);
	return rc;
}

/* Every entry is under a tenant bucket's directory. */
static int bucket_entry(const char *name)
{
	char top[64];
	size_t n = strcspn(name, "/");

	if (n >= sizeof(top))
		return 0;
	memcpy(top, name, n);
	top[n] = '\0';
	return tenant_bucket(top);
}

int backup_minio_verify(const char *src, struct err *e)
{
	return backup_tar_verify(src, bucket_entry, e);
}

/* A work directory around one dump or restore. */
static int in_work(const struct backup_minio *m, const char *part, int restore, struct err *e)
{
	char work[4200], data[4300];
	int rc;

	if (backup_tar_workdir(part, work, sizeof(work), e) < 0)
		return -1;
	snprintf(data, sizeof(data), "%s/buckets", work);
	rc = mkdir(data, 0700) < 0 ? err_errno(e, errno, "%s", data) : 0;
	if (!rc && restore)
		rc = backup_tar_unpack(part, data, e) < 0 || with_client(m, restore_all, data, e) < 0 ? -1 : 0;
	else if (!rc)
		rc = with_client(m, dump_all, data, e) < 0 || backup_tar_pack(data, NULL, part, e) < 0 ? -1 : 0;
	return backup_tar_workdone(work, rc, e);
}

int backup_minio_dump(const struct backup_minio *m, const char *dst, struct err *e)
{
	return in_work(m, dst, 0, e);
}

int backup_minio_restore(const struct backup_minio *m, const char *src, struct err *e)
{
	return in_work(m, src, 1, e);
}
