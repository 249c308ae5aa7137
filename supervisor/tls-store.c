/* Operators' certificates on disk, next to the state file (tls.h). */
#include "tls.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define PEM_MAX (256 * 1024)

static const char *const kind_dir[] = { [TLS_KIND_TENANT] = "tenant", [TLS_KIND_DOMAIN] = "domain" };

void tls_store_dir_for_state(const char *state_path, char *buf, size_t len)
{
	const char *slash = strrchr(state_path, '/');

	if (!slash)
		snprintf(buf, len, "tls");
	else
		snprintf(buf, len, "%.*s/tls", (int)(slash - state_path), state_path);
}

static void path_of(char *buf, size_t len, const char *dir, enum tls_kind kind, const char *subject,
		    const char *ext)
{
	snprintf(buf, len, "%s/%s/%s.%s", dir, kind_dir[kind], subject, ext);
}

int tls_store_put(const char *dir, enum tls_kind kind, const char *subject, const char *cert_pem,
		  const char *key_pem, struct err *e)
{
	char path[PATH_MAX];

	if (util_mkdir_p(dir, 0700, e) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, kind_dir[kind]);
	if (util_mkdir_p(path, 0700, e) < 0)
		return -1;
	/* The key first: a certificate is only used once its key is there. */
	path_of(path, sizeof(path), dir, kind, subject, "key");
	if (util_write_atomic(path, key_pem, strlen(key_pem), 0600, e) < 0)
		return -1;
	path_of(path, sizeof(path), dir, kind, subject, "crt");
	return util_write_atomic(path, cert_pem, strlen(cert_pem), 0600, e);
}

int tls_store_get(const char *dir, enum tls_kind kind, const char *subject, struct tls_pair *out,
		  struct err *e)
{
	char path[PATH_MAX];
	size_t len;
	struct err quiet = { 0 };

	memset(out, 0, sizeof(*out));
	path_of(path, sizeof(path), dir, kind, subject, "crt");
	if (access(path, F_OK) < 0)
		return errno == ENOENT ? 1 : err_errno(e, errno, "%s", path);
	if (util_read_file(path, PEM_MAX, &out->cert_pem, &len, e) < 0)
		return -1;
	path_of(path, sizeof(path), dir, kind, subject, "key");
	if (util_read_file(path, PEM_MAX, &out->key_pem, &len, &quiet) < 0) {
		tls_pair_free(out);
		return err_set(e, EXIT_RUNTIME, "%s: %s", path, quiet.msg);
	}
	out->not_after = tls_not_after(out->cert_pem);
	return 0;
}

int tls_store_rm(const char *dir, enum tls_kind kind, const char *subject, struct err *e)
{
	char crt[PATH_MAX], key[PATH_MAX];
	int had;

	/* The certificate first: without it the key is never used. */
	path_of(crt, sizeof(crt), dir, kind, subject, "crt");
	path_of(key, sizeof(key), dir, kind, subject, "key");
	had = unlink(crt) == 0;
	if (!had && errno != ENOENT)
		return err_errno(e, errno, "%s", crt);
	if (unlink(key) < 0 && errno != ENOENT)
		return err_errno(e, errno, "%s", key);
	if (had && util_fsync_parent(crt, e) < 0)
		return -1;
	return had ? 0 : 1;
}

int tls_store_for_host(const char *dir, const char *tenant, const char *host, struct tls_pair *out,
		       struct err *e)
{
	const char *dot = strchr(host, '.');
	int rc = tls_store_get(dir, TLS_KIND_TENANT, tenant, out, e);

	if (rc != 1 || !dot)
		return rc;
	return tls_store_get(dir, TLS_KIND_DOMAIN, dot + 1, out, e);
}

static void each_kind(const char *dir, enum tls_kind kind,
		      void (*fn)(enum tls_kind, const char *, time_t, void *), void *ud)
{
	char path[PATH_MAX];
	struct dirent **names = NULL;
	int n;

	snprintf(path, sizeof(path), "%s/%s", dir, kind_dir[kind]);
	n = scandir(path, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		char *dot = strrchr(names[i]->d_name, '.');
		struct tls_pair p;
		struct err e = { 0 };

		if (dot && !strcmp(dot, ".crt")) {
			*dot = '\0';
			if (tls_store_get(dir, kind, names[i]->d_name, &p, &e) == 0) {
				fn(kind, names[i]->d_name, p.not_after, ud);
				tls_pair_free(&p);
			}
		}
		free(names[i]);
	}
	free(names);
}

void tls_store_each(const char *dir, void (*fn)(enum tls_kind, const char *, time_t, void *), void *ud)
{
	each_kind(dir, TLS_KIND_TENANT, fn, ud);
	each_kind(dir, TLS_KIND_DOMAIN, fn, ud);
}

void tls_store_describe(const char *dir, const char *tenant, const char *host, time_t now, char *buf,
			size_t len)
{
	struct tls_pair p;
	struct err e = { 0 };
	struct tm tm;
	char day[32];
	long long left;

	if (tls_store_for_host(dir, tenant, host, &p, &e) != 0 || !tls_serves(p.cert_pem, host, now)) {
		tls_pair_free(&p);
		snprintf(buf, len, "the appliance CA's (renewed by the daemon)");
		return;
	}
	gmtime_r(&p.not_after, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	left = (long long)((p.not_after - now) / 86400);
	snprintf(buf, len, "the operator's, expires %s (%lld days)%s", day, left,
		 left < TLS_EXPIRY_WARN_DAYS ? ": renew it with outpost tls import" : "");
	tls_pair_free(&p);
}
