/* See backup-minio.h. */
#include "backup-minio.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backup-tar.h"
#include "run.h"
#include "tenant.h"
#include "util.h"

#define ALIAS "outpost"
#define LS_MAX ((size_t)4 << 20)

int backup_minio_check(const struct backup_minio *m, struct err *e)
{
	if (!m->url)
		return 0;
	if (strncmp(m->url, "http://", 7) && strncmp(m->url, "https://", 8))
		return err_set(e, EXIT_USAGE, "--minio '%s': an http:// or https:// URL", m->url);
	if (strchr(strstr(m->url, "://") + 3, '@'))
		return err_set(e, EXIT_USAGE, "--minio: no credentials in the URL (it would be in argv): use --minio-credfile");
	if (!m->credfile)
		return err_set(e, EXIT_USAGE, "--minio needs --minio-credfile");
	return util_check_private_file("--minio-credfile", m->credfile, e);
}

/* Percent-encodes all but RFC 3986's unreserved characters: a password may
 * hold ':', '@' or '/'. */
static void url_escape(const char *in, size_t len, char *out)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    (c && strchr("-._~", c))) {
			*out++ = (char)c;
		} else {
			*out++ = '%';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 15];
		}
	}
	*out = '\0';
}

/* MC_HOST_outpost=scheme://user:password@host, and mc's config directory
 * in the work directory (mc writes one on first use). */
static int mc_env(const struct backup_minio *m, const char *work, struct err *e)
{
	char *cred = NULL, *nl, *val = NULL, cfg[4200];
	const char *rest = strstr(m->url, "://") + 3;
	size_t len, ulen;
	int rc = -1;

	if (util_read_file(m->credfile, 4096, &cred, &len, e) < 0)
		return -1;
	if (!(nl = strchr(cred, '\n')) || nl == cred || nl[1] == '\n' || !nl[1]) {
		err_set(e, EXIT_USAGE, "--minio-credfile %s: the user on the first line, the password on the second",
			m->credfile);
		goto out;
	}
	ulen = (size_t)(nl - cred);
	nl[1 + strcspn(nl + 1, "\r\n")] = '\0';
	if (!(val = malloc(strlen(m->url) + 3 * len + 8))) {
		err_set(e, EXIT_RUNTIME, "out of memory");
		goto out;
	}
	memcpy(val, m->url, (size_t)(rest - m->url));
	url_escape(cred, ulen, val + (rest - m->url));
	strcat(val, ":");
	url_escape(nl + 1, strlen(nl + 1), val + strlen(val));
	strcat(val, "@");
	strcat(val, rest);
	snprintf(cfg, sizeof(cfg), "%s/.mc", work);
	if (setenv("MC_HOST_" ALIAS, val, 1) < 0 || setenv("MC_CONFIG_DIR", cfg, 1) < 0)
		err_errno(e, errno, "MC_HOST_" ALIAS);
	else
		rc = 0;
out:
	if (val)
		OPENSSL_cleanse(val, strlen(val));
	OPENSSL_cleanse(cred, len);
	free(cred);
	free(val);
	return rc;
}

static void mc_env_clear(void)
{
	unsetenv("MC_HOST_" ALIAS);
	unsetenv("MC_CONFIG_DIR");
}

/* A bucket name that is a tenant's: "t-<tenant>". */
static int tenant_bucket(const char *name)
{
	struct err ignore = { 0 };

	return !strncmp(name, TENANT_NAMESPACE_PREFIX, 2) && tenant_check_name(name + 2, &ignore) == 0;
}

static int mirror_out(const char *bucket, const char *data, struct err *e)
{
	char src[128], dst[4400];
	char *const argv[] = { "mc", "--quiet", "mirror", src, dst, NULL };

	snprintf(src, sizeof(src), ALIAS "/%s", bucket);
	snprintf(dst, sizeof(dst), "%s/%s", data, bucket);
	if (mkdir(dst, 0700) < 0)
		return err_errno(e, errno, "%s", dst);
	return run_argv(argv, NULL, 0, NULL, e);
}

/* `mc ls --json` prints one object per line: {"type":"folder","key":"t-acme/",...}. */
static int dump_buckets(const char *data, struct err *e)
{
	char *const ls[] = { "mc", "--quiet", "--json", "ls", ALIAS "/", NULL };
	char *out = malloc(LS_MAX), *save = NULL;
	int rc = 0;

	if (!out)
		return err_set(e, EXIT_RUNTIME, "out of memory");
	if (run_argv(ls, out, LS_MAX, NULL, e) < 0) {
		free(out);
		return -1;
	}
	for (char *line = strtok_r(out, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);
		const char *key = json_string_value(json_object_get(j, "key"));
		char name[64];
		size_t n = key ? strlen(key) : 0;

		if (n > 1 && n < sizeof(name) && key[n - 1] == '/') {
			memcpy(name, key, n - 1);
			name[n - 1] = '\0';
			if (tenant_bucket(name))
				rc = mirror_out(name, data, e);
		}
		json_decref(j);
	}
	free(out);
	return rc;
}

static int restore_buckets(const char *data, struct err *e)
{
	struct dirent **list;
	int n = scandir(data, &list, NULL, alphasort), rc = 0;

	if (n < 0)
		return err_errno(e, errno, "%s", data);
	for (int i = 0; i < n; i++) {
		char target[300], src[4600];
		char *const mb[] = { "mc", "--quiet", "mb", "--ignore-existing", target, NULL };
		char *const mirror[] = { "mc", "--quiet", "mirror", "--overwrite", "--remove", src, target, NULL };

		if (!rc && list[i]->d_name[0] != '.') {
			snprintf(target, sizeof(target), ALIAS "/%s", list[i]->d_name);
			snprintf(src, sizeof(src), "%s/%s", data, list[i]->d_name);
			if (run_argv(mb, NULL, 0, NULL, e) < 0 || run_argv(mirror, NULL, 0, NULL, e) < 0)
				rc = -1;
		}
		free(list[i]);
	}
	free(list);
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

/* mc's environment and a work directory around one dump or restore. */
static int in_work(const struct backup_minio *m, const char *part, int restore, struct err *e)
{
	char work[4200], data[4300];
	int rc;

	if (backup_tar_workdir(part, work, sizeof(work), e) < 0)
		return -1;
	snprintf(data, sizeof(data), "%s/buckets", work);
	rc = mkdir(data, 0700) < 0 ? err_errno(e, errno, "%s", data) : 0;
	if (!rc && restore)
		rc = backup_tar_unpack(part, data, e) < 0 || mc_env(m, work, e) < 0 || restore_buckets(data, e) < 0
			     ? -1 : 0;
	else if (!rc)
		rc = mc_env(m, work, e) < 0 || dump_buckets(data, e) < 0 || backup_tar_pack(data, NULL, part, e) < 0 ? -1 : 0;
	mc_env_clear();
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
