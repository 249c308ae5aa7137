/* See backup.h. Parts are staged in a private directory first: for a
 * backup so that the manifest (written first in the archive) can carry
 * their hashes, for a restore so that nothing is replaced before every
 * part has been checked. */
#include "backup.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup-certs.h"
#include "backup-pg.h"
#include "debver.h"
#include "run.h"
#include "util.h"

#define PART_LIMIT ((la_int64_t)64 << 30)

/* The parts an archive may hold: its name in the archive, and where it lives. */
enum part_id { P_STATE, P_K3S_DB, P_K3S_TOKEN, P_PG, P_REDIS, P_MINIO, P_KEYCLOAK, P_CERTS, NPARTS };
static const char *const part_names[NPARTS] = { "state.db", "k3s/state.db", "k3s/token",
						"postgres/all.sql", "redis/tenants.resp",
						"minio/buckets.tar", "keycloak/realms.tar",
						"tls/certificates.tar" };

static int pg_on(const struct backup_opts *o)
{
	return o->pg.conninfo != NULL || o->pg.pod != NULL;
}

static int pg_dump(const struct backup_opts *o, const char *dst, struct err *e)
{
	return backup_pg_dump(&o->pg, dst, e);
}

static int pg_restore(const struct backup_opts *o, const char *src, struct err *e)
{
	return backup_pg_restore(&o->pg, src, e);
}

static int redis_on(const struct backup_opts *o)
{
	return o->redis.addr != NULL || o->redis.pod != NULL;
}

static int redis_dump(const struct backup_opts *o, const char *dst, struct err *e)
{
	return backup_redis_dump(&o->redis, dst, e);
}

static int redis_restore(const struct backup_opts *o, const char *src, struct err *e)
{
	return backup_redis_restore(&o->redis, src, e);
}

static int minio_on(const struct backup_opts *o)
{
	return o->minio.url != NULL || o->minio.pod != NULL;
}

static int minio_dump(const struct backup_opts *o, const char *dst, struct err *e)
{
	return backup_minio_dump(&o->minio, dst, e);
}

static int minio_restore(const struct backup_opts *o, const char *src, struct err *e)
{
	return backup_minio_restore(&o->minio, src, e);
}

static int keycloak_on(const struct backup_opts *o)
{
	return o->keycloak.kcsh != NULL || o->keycloak.deployment != NULL;
}

static int keycloak_dump(const struct backup_opts *o, const char *dst, struct err *e)
{
	return backup_keycloak_dump(&o->keycloak, dst, e);
}

static int keycloak_restore(const struct backup_opts *o, const char *src, struct err *e)
{
	return backup_keycloak_restore(&o->keycloak, src, e);
}

static int certs_on(const struct backup_opts *o)
{
	return backup_certs_present(o->state_path);
}

static int certs_dump(const struct backup_opts *o, const char *dst, struct err *e)
{
	return backup_certs_dump(o->state_path, dst, e);
}

static int certs_restore(const struct backup_opts *o, const char *src, struct err *e)
{
	return backup_certs_restore(o->state_path, src, e);
}

/* The parts taken from a running service through its client rather than
 * copied from a file, and replayed into it on restore (not swapped in); and
 * the certificates' directories, packed and swapped in whole. */
static const struct service {
	const char *name; /* the service, as messages name it */
	const char *flag; /* the option that says where it is; NULL: always here */
	int (*on)(const struct backup_opts *o);
	int (*dump)(const struct backup_opts *o, const char *dst, struct err *e);
	int (*restore)(const struct backup_opts *o, const char *src, struct err *e);
	/* What the part may hold, checked before anything is restored (NULL:
	 * the service's own replay is the check). */
	int (*verify)(const char *src, struct err *e);
} services[NPARTS] = {
	[P_PG] = { "PostgreSQL", "--pg or --pg-pod", pg_on, pg_dump, pg_restore, NULL },
	[P_REDIS] = { "Redis", "--redis or --redis-pod", redis_on, redis_dump, redis_restore, backup_redis_verify },
	[P_MINIO] = { "MinIO", "--minio or --minio-pod", minio_on, minio_dump, minio_restore, backup_minio_verify },
	[P_KEYCLOAK] = { "Keycloak", "--keycloak or --keycloak-deployment", keycloak_on, keycloak_dump,
			 keycloak_restore, backup_keycloak_verify },
	[P_CERTS] = { "the certificates", NULL, certs_on, certs_dump, certs_restore, backup_certs_verify },
};

/* Whether a restore of o->phase puts part p back. */
static bool in_phase(const struct backup_opts *o, int p)
{
	bool dump = services[p].flag != NULL;

	return o->phase == BACKUP_PHASE_ALL || dump == (o->phase == BACKUP_PHASE_SERVICES);
}

static int part_target(const struct backup_opts *o, enum part_id p, char *buf, size_t cap)
{
	const char *rel = p == P_K3S_DB ? BACKUP_K3S_DB : BACKUP_K3S_TOKEN;
	const char *sep = o->root[strlen(o->root) - 1] == '/' ? "" : "/";
	int n = p == P_STATE ? snprintf(buf, cap, "%s", o->state_path)
			     : snprintf(buf, cap, "%s%s%s", o->root, sep, rel);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* The installed bundle's version from the install record, "" when none. */
static int installed_version(const char *root, char *buf, size_t cap, struct err *e)
{
	char *path = util_path_join(root, "var/lib/outpost/install.json");
	json_error_t jerr;
	json_t *j;
	const char *v;

	if (!path)
		return err_set(e, EXIT_RUNTIME, "out of memory");
	j = json_load_file(path, 0, &jerr);
	free(path);
	v = json_string_value(json_object_get(json_object_get(j, "current"), "version"));
	snprintf(buf, cap, "%s", v ? v : "");
	json_decref(j);
	return 0;
}

/* SQLite's online backup: a consistent copy while writers hold the file. */
static int sqlite_copy(const char *src, const char *dst, struct err *e)
{
	sqlite3 *s = NULL, *d = NULL;
	sqlite3_backup *b;
	int rc, tries = 0;

	if (sqlite3_open_v2(src, &s, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_open_v2(dst, &d, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		rc = err_set(e, EXIT_RUNTIME, "%s: %s", src, sqlite3_errmsg(s ? s : d));
		goto out;
	}
	sqlite3_busy_timeout(s, 5000);
	if (!(b = sqlite3_backup_init(d, "main", s, "main"))) {
		rc = err_set(e, EXIT_RUNTIME, "%s: %s", src, sqlite3_errmsg(d));
		goto out;
	}
	while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
		if (++tries > 100)
			break;
		sqlite3_sleep(50);
	}
	sqlite3_backup_finish(b);
	rc = rc == SQLITE_DONE ? 0 : err_set(e, EXIT_RUNTIME, "%s: %s", src, sqlite3_errstr(rc));
out:
	sqlite3_close(s);
	sqlite3_close(d);
	return rc;
}

static int copy_file(const char *src, const char *dst, mode_t mode, struct err *e)
{
	char *data = NULL;
	size_t len;
	int rc;

	if (util_read_file(src, (size_t)1 << 30, &data, &len, e) < 0)
		return -1;
	rc = util_write_atomic(dst, data, len, mode, e);
	OPENSSL_cleanse(data, len); /* the token */
	free(data);
	return rc;
}

static int sha256_file(const char *path, char hex[65], long long *size, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return err_errno(e, errno, "%s", path);
	rc = util_sha256_fd(fd, hex, size, e);
	close(fd);
	return rc < 0 ? err_prefix(e, "%s", path) : 0;
}

static void stage_path(const char *stage, enum part_id p, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/part%d", stage, (int)p);
}

static int remove_stage(const char *stage)
{
	char path[4200];

	for (int p = 0; p < NPARTS; p++) {
		stage_path(stage, (enum part_id)p, path, sizeof(path));
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/manifest.json", stage);
	unlink(path);
	return rmdir(stage);
}

static int add_file(struct archive *a, const char *name, const char *path, struct err *e)
{
	struct archive_entry *ent = archive_entry_new();
	struct stat st;
	char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC), ok;
	ssize_t n = 0;

	if (fd < 0 || fstat(fd, &st) < 0 || !ent) {
		archive_entry_free(ent);
		if (fd >= 0)
			close(fd);
		return err_errno(e, errno ? errno : ENOMEM, "%s", path);
	}
	archive_entry_set_pathname(ent, name);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0600);
	archive_entry_set_size(ent, st.st_size);
	archive_entry_set_mtime(ent, st.st_mtime, 0);
	ok = archive_write_header(a, ent) == ARCHIVE_OK;
	while (ok && (n = read(fd, buf, sizeof(buf))) > 0)
		ok = archive_write_data(a, buf, (size_t)n) == n;
	archive_entry_free(ent);
	close(fd);
	if (!ok || n < 0)
		return err_set(e, EXIT_RUNTIME, "%s: %s", name,
			       n < 0 ? strerror(errno) : archive_error_string(a));
	return 0;
}

static int is_backup_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return !strncmp(d->d_name, "outpost-backup-", 15) && n > 22 &&
	       !strcmp(d->d_name + n - 7, ".tar.gz");
}

/* Names carry the time (sortable), so the oldest sort first. */
static int prune(const char *dir, unsigned keep, struct err *e)
{
	struct dirent **list;
	int n = scandir(dir, &list, is_backup_name, alphasort), rc = 0;

	if (n < 0)
		return err_errno(e, errno, "%s", dir);
	for (int i = 0; i < n; i++) {
		char path[4200];

		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		if ((unsigned)(n - i) > keep && unlink(path) < 0 && !rc)
			rc = err_errno(e, errno, "retention: %s", path);
		free(list[i]);
	}
	free(list);
	return rc;
}

/* Appends "NAME (why)" to r->failed and records the part in the
 * manifest's "failed" list; the staged file, whole or not, goes. */
static void dump_failed(const struct service *svc, enum part_id p, const char *staged, json_t *failed,
			struct backup_report *r, struct err *e)
{
	size_t l = strlen(r->failed);

	snprintf(r->failed + l, sizeof(r->failed) - l, "%s%s (%s)", l ? "; " : "", svc->name, e->msg);
	json_array_append_new(failed, json_pack("{s:s, s:s}", "name", part_names[p], "error", e->msg));
	unlink(staged);
	*e = (struct err){ 0 };
}

int backup_write(const struct backup_opts *o, char *path, size_t cap, struct backup_report *r,
		 struct err *e)
{
	char stage[4096], tmp[4096], src[4096], dst[4200], version[128], stamp[48];
	json_t *man = NULL, *parts = json_array(), *failed = json_array();
	struct archive *a = NULL;
	struct timespec ts;
	struct tm tm;
	int fd = -1, rc = -1, have[NPARTS] = { 0 };

	r->absent[0] = r->failed[0] = '\0';
	clock_gettime(CLOCK_REALTIME, &ts);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", gmtime_r(&ts.tv_sec, &tm));
	if ((size_t)snprintf(path, cap, "%s/outpost-backup-%s.%09ldZ.tar.gz", o->out_dir, stamp,
			     ts.tv_nsec) >= cap ||
	    (size_t)snprintf(stage, sizeof(stage), "%s/.outpost-backup.XXXXXX", o->out_dir) >= sizeof(stage))
		return err_set(e, EXIT_USAGE, "%s: path too long", o->out_dir);
	if (util_mkdir_p(o->out_dir, 0700, e) < 0 || installed_version(o->root, version, sizeof(version), e) < 0)
		return -1;
	if (!mkdtemp(stage))
		return err_errno(e, errno, "%s", o->out_dir);
	for (int p = 0; p < NPARTS; p++) {
		const struct service *svc = services[p].dump ? &services[p] : NULL;
		char hex[65];
		long long size;

		if (!svc && part_target(o, (enum part_id)p, src, sizeof(src)) < 0)
			goto fail_long;
		stage_path(stage, (enum part_id)p, dst, sizeof(dst));
		if (svc ? !svc->on(o) : access(src, F_OK) < 0) {
			size_t l = strlen(r->absent);

			snprintf(r->absent + l, sizeof(r->absent) - l, "%s%s", l ? ", " : "", part_names[p]);
			continue;
		}
		/* A running service's dump may fail on its own (a pod down, a Job
		 * not scheduled); this box's own files may not. */
		if (svc && svc->flag) {
			if (svc->dump(o, dst, e) < 0) {
				dump_failed(svc, (enum part_id)p, dst, failed, r, e);
				continue;
			}
		} else if ((svc ? svc->dump(o, dst, e)
			    : p == P_K3S_TOKEN ? copy_file(src, dst, 0600, e)
			    : sqlite_copy(src, dst, e)) < 0) {
			goto out;
		}
		if (sha256_file(dst, hex, &size, e) < 0)
			goto out;
		have[p] = 1;
		json_array_append_new(parts, json_pack("{s:s, s:s, s:I}", "name", part_names[p], "sha256",
						       hex, "size", (json_int_t)size));
	}
	man = json_pack("{s:i, s:s, s:s, s:O}", "format", 1, "bundle_version", version, "created", stamp,
			"parts", parts);
	if (man && json_array_size(failed) && json_object_set(man, "failed", failed) < 0) {
		json_decref(man);
		man = NULL;
	}
	snprintf(dst, sizeof(dst), "%s/manifest.json", stage);
	if (!man || json_dump_file(man, dst, JSON_INDENT(2)) < 0) {
		err_set(e, EXIT_RUNTIME, "%s: cannot write the manifest", dst);
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s/.outpost-backup-XXXXXX", o->out_dir);
	if ((fd = mkstemp(tmp)) < 0) {
		err_errno(e, errno, "%s", o->out_dir);
		goto out;
	}
	if (!(a = archive_write_new()) || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(a) != ARCHIVE_OK || archive_write_open_fd(a, fd) != ARCHIVE_OK ||
	    add_file(a, "manifest.json", dst, e) < 0)
		goto fail_archive;
	for (int p = 0; p < NPARTS; p++) {
		stage_path(stage, (enum part_id)p, dst, sizeof(dst));
		if (have[p] && add_file(a, part_names[p], dst, e) < 0)
			goto fail_archive;
	}
	if (archive_write_close(a) != ARCHIVE_OK || fsync(fd) < 0 || rename(tmp, path) < 0)
		goto fail_archive;
	rc = util_fsync_parent(path, e) < 0 ? -1 : r->failed[0] ? 0 : prune(o->out_dir, o->keep, e);
	goto out;
fail_long:
	err_set(e, EXIT_USAGE, "a path is too long");
	goto out;
fail_archive:
	if (!e->msg[0])
		err_set(e, EXIT_RUNTIME, "%s: %s", tmp, a ? archive_error_string(a) : strerror(errno));
	unlink(tmp);
out:
	if (a)
		archive_write_free(a);
	if (fd >= 0)
		close(fd);
	json_decref(man);
	json_decref(parts);
	json_decref(failed);
	remove_stage(stage);
	return rc;
}

/* Extracts the known parts into `stage`; anything else in the archive is
 * refused (a crafted archive cannot write outside the staging directory). */
static int extract(const char *archive, const char *stage, int seen[NPARTS], struct err *e)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	int r, rc = 0, man = 0;

	if (!a)
		return err_set(e, EXIT_RUNTIME, "out of memory");
	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, archive, 65536) != ARCHIVE_OK) {
		rc = err_set(e, EXIT_REFUSED, "%s: %s", archive, archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ent);
		char dst[4200];
		int p = -1, fd;

		for (int i = 0; i < NPARTS; i++)
			if (!strcmp(name, part_names[i]))
				p = i;
		if (!strcmp(name, "manifest.json") && !man++)
			snprintf(dst, sizeof(dst), "%s/manifest.json", stage);
		else if (p >= 0 && !seen[p]++)
			stage_path(stage, (enum part_id)p, dst, sizeof(dst));
		else {
			rc = err_set(e, EXIT_REFUSED, "%s: unexpected or repeated entry '%s'", archive, name);
			goto out;
		}
		if (archive_entry_filetype(ent) != AE_IFREG || archive_entry_size(ent) > PART_LIMIT) {
			rc = err_set(e, EXIT_REFUSED, "%s: '%s' is not a regular file of a sane size", archive, name);
			goto out;
		}
		if ((fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
			rc = err_errno(e, errno, "%s", dst);
			goto out;
		}
		r = archive_read_data_into_fd(a, fd);
		if (fsync(fd) < 0 || close(fd) < 0 || r != ARCHIVE_OK) {
			rc = err_set(e, EXIT_REFUSED, "%s: '%s': %s", archive, name, archive_error_string(a));
			goto out;
		}
	}
	if (r != ARCHIVE_EOF)
		rc = err_set(e, EXIT_REFUSED, "%s: %s", archive, archive_error_string(a));
	else if (!man)
		rc = err_set(e, EXIT_REFUSED, "%s: no manifest.json: not an Outpost backup", archive);
out:
	archive_read_free(a);
	return rc;
}

/* A service part the archive's backup could not dump, named as the backup
 * named it, into r->failed. */
static void failed_at_backup(const char *part, const char *why, struct backup_report *r)
{
	size_t l = strlen(r->failed);
	const char *name = part ? part : "?";

	for (int p = 0; part && p < NPARTS; p++)
		if (!strcmp(part, part_names[p]))
			name = services[p].name ? services[p].name : part;
	snprintf(r->failed + l, sizeof(r->failed) - l, "%s%s (%s)", l ? "; " : "", name, why ? why : "?");
}

/* Every listed part is there with its hash, every part there is listed,
 * and the archive is not from a newer bundle than the installed one. */
static int verify(const struct backup_opts *o, const char *archive, const char *stage,
		  const int seen[NPARTS], struct backup_report *r, struct err *e)
{
	char path[4200], installed[128], hex[65];
	json_error_t jerr;
	json_t *man, *parts, *it;
	const char *version;
	int listed[NPARTS] = { 0 }, rc = 0;
	long long size;
	size_t i;

	snprintf(path, sizeof(path), "%s/manifest.json", stage);
	if (!(man = json_load_file(path, 0, &jerr)))
		return err_set(e, EXIT_REFUSED, "%s: manifest.json line %d: %s", archive, jerr.line, jerr.text);
	parts = json_object_get(man, "parts");
	version = json_string_value(json_object_get(man, "bundle_version"));
	if (json_integer_value(json_object_get(man, "format")) != 1 || !json_is_array(parts) || !version) {
		rc = err_set(e, EXIT_REFUSED, "%s: manifest.json: not format 1 with parts and bundle_version", archive);
		goto out;
	}
	if ((rc = installed_version(o->root, installed, sizeof(installed), e)) < 0)
		goto out;
	if (!installed[0]) {
		rc = err_set(e, EXIT_REFUSED, "no installed bundle under %s: install bundle %s first", o->root,
			     version[0] ? version : "(any)");
		goto out;
	}
	if (version[0] && debver_cmp(version, installed) > 0) {
		rc = err_set(e, EXIT_REFUSED, "%s: made by bundle %s, newer than the installed %s: upgrade first",
			     archive, version, installed);
		goto out;
	}
	json_array_foreach(json_object_get(man, "failed"), i, it)
		failed_at_backup(json_string_value(json_object_get(it, "name")),
				 json_string_value(json_object_get(it, "error")), r);
	json_array_foreach(parts, i, it) {
		const char *name = json_string_value(json_object_get(it, "name"));
		const char *want = json_string_value(json_object_get(it, "sha256"));
		int p = -1;

		for (int k = 0; name && k < NPARTS; k++)
			if (!strcmp(name, part_names[k]))
				p = k;
		if (p < 0 || !want || listed[p]++ || !seen[p]) {
			rc = err_set(e, EXIT_REFUSED, "%s: manifest part '%s' is unknown, repeated or missing",
				     archive, name ? name : "?");
			goto out;
		}
		stage_path(stage, (enum part_id)p, path, sizeof(path));
		if ((rc = sha256_file(path, hex, &size, e)) < 0)
			goto out;
		if (strcmp(hex, want)) {
			rc = err_set(e, EXIT_REFUSED, "%s: part '%s' has SHA-256 %s, the manifest says %s", archive,
				     name, hex, want);
			goto out;
		}
		if (services[p].verify && (rc = services[p].verify(path, e)) < 0)
			goto out;
	}
	for (int p = 0; p < NPARTS; p++)
		if (seen[p] && !listed[p]) {
			rc = err_set(e, EXIT_REFUSED, "%s: part '%s' is not in the manifest", archive, part_names[p]);
			goto out;
		}
	for (int p = 0; p < NPARTS && !rc; p++)
		if (seen[p] && services[p].flag && in_phase(o, p) && !services[p].on(o))
			rc = err_set(e, EXIT_REFUSED, "%s: holds a %s dump: say where to restore it with %s",
				     archive, services[p].name, services[p].flag);
out:
	json_decref(man);
	return rc;
}

/* A SQLite file is replaced with its -wal and -shm gone: an old WAL beside a
 * new database would be replayed into it. */
static int place(const char *staged, const char *target, int sqlite, struct err *e)
{
	char side[4200];

	char dir[4200], *slash;

	snprintf(dir, sizeof(dir), "%s", target);
	if ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		if (util_mkdir_p(dir, 0755, e) < 0)
			return -1;
	}
	snprintf(side, sizeof(side), "%s.outpost-restore", target);
	if (copy_file(staged, side, 0600, e) < 0)
		return -1;
	for (int i = 0; sqlite && i < 2; i++) {
		char extra[4200];

		snprintf(extra, sizeof(extra), "%s%s", target, i ? "-shm" : "-wal");
		if (unlink(extra) < 0 && errno != ENOENT)
			return err_errno(e, errno, "%s", extra);
	}
	if (rename(side, target) < 0)
		return err_errno(e, errno, "%s", target);
	return util_fsync_parent(target, e);
}

int backup_restore(const struct backup_opts *o, const char *archive, struct backup_report *r,
		   struct err *e)
{
	char stage[4096], staged[4200], target[4096], done[512] = "";
	int seen[NPARTS] = { 0 }, rc;

	r->absent[0] = r->failed[0] = '\0';
	if (!strcmp(o->root, "/") && o->phase != BACKUP_PHASE_SERVICES) {
		char *const argv[] = { "systemctl", "is-active", "--quiet", "outpost.service", NULL };
		struct err ignore = { 0 };
		int status = 1;

		if (run_argv(argv, NULL, 0, &status, &ignore) == 0 && status == 0)
			return err_set(e, EXIT_REFUSED, "outpost.service is running: stop it first");
	}
	if (util_mkdir_p(o->out_dir, 0700, e) < 0)
		return -1;
	snprintf(stage, sizeof(stage), "%s/.outpost-restore.XXXXXX", o->out_dir);
	if (!mkdtemp(stage))
		return err_errno(e, errno, "%s", o->out_dir);
	if ((rc = extract(archive, stage, seen, e)) < 0 || (rc = verify(o, archive, stage, seen, r, e)) < 0)
		goto out;
	/* The dumps first (services come after the files in part order): they
	 * are the parts most likely to fail half-way (a statement the server
	 * refuses), and the files are not touched yet then. */
	for (int i = 0; i < NPARTS; i++) {
		int p = (i + P_PG) % NPARTS;
		const struct service *svc = services[p].restore ? &services[p] : NULL;

		if (!seen[p])
			continue;
		if (!in_phase(o, p)) {
			size_t l = strlen(r->absent);

			snprintf(r->absent + l, sizeof(r->absent) - l, "%s%s", l ? ", " : "", part_names[p]);
			continue;
		}
		stage_path(stage, (enum part_id)p, staged, sizeof(staged));
		if (svc ? (rc = svc->restore(o, staged, e)) < 0
			: (rc = part_target(o, (enum part_id)p, target, sizeof(target))) < 0 ||
				  (rc = place(staged, target, p != P_K3S_TOKEN, e)) < 0) {
			/* Never silent: say what is already back. */
			char why[sizeof(e->msg)];
			bool replayed = svc && svc->flag;

			snprintf(why, sizeof(why), "%s", e->msg);
			err_set(e, EXIT_RUNTIME, "%s (already restored: %s%s%s%s; run restore again)", why,
				done[0] ? done : "nothing", replayed ? "; " : "", replayed ? svc->name : "",
				replayed ? " may be partly restored: the dump is replayed, not swapped in" : "");
			goto out;
		}
		snprintf(done + strlen(done), sizeof(done) - strlen(done), "%s%s", done[0] ? ", " : "",
			 part_names[p]);
	}
out:
	remove_stage(stage);
	return rc < 0 ? -1 : 0;
}
