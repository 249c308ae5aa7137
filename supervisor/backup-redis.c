/* See backup-redis.h. The admin password is read from its file and sent
 * with AUTH over the connection: never argv, the environment or a log. */
#include "backup-redis.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "resp.h"
#include "tenant.h"
#include "util.h"

#define SCAN_PAGE "1000"
#define MAX_RULES 256
#define REPLY_BATCH 1000 /* restore: commands sent before their replies are read */

struct tenants {
	char **names; /* sorted, for bsearch */
	size_t n;
};

int backup_redis_check(const struct backup_redis *rd, struct err *e)
{
	char ns[64], pod[254];

	if (rd->pod && pod_split(rd->pod, ns, pod) < 0)
		return err_set(e, EXIT_USAGE, "--redis-pod '%s': not NAMESPACE/POD", rd->pod);
	return rd->passfile ? util_check_private_file("--redis-passfile", rd->passfile, e) : 0;
}

/* The server the runner talks to: rd's address, or the port-forward's. */
struct target {
	const char *addr;
	const char *password; /* in memory (the pod's Secret), or NULL: rd->passfile */
};

static int connect_server(const struct backup_redis *rd, const struct target *to, struct resp **r,
			  struct err *e)
{
	char *pw = NULL;
	size_t len = 0;
	int rc;

	if (to->password)
		return resp_connect(to->addr, to->password, r, e) < 0 ? err_prefix(e, "redis %s", rd->pod) : 0;
	if (rd->passfile) {
		if (util_read_file(rd->passfile, 4096, &pw, &len, e) < 0)
			return -1;
		while (len && (pw[len - 1] == '\n' || pw[len - 1] == '\r'))
			pw[--len] = '\0';
	}
	rc = resp_connect(to->addr, pw, r, e);
	if (pw)
		OPENSSL_cleanse(pw, len);
	free(pw);
	return rc < 0 ? err_prefix(e, "redis %s", to->addr) : 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void tenants_free(struct tenants *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->names[i]);
	free(t->names);
}

static int tenants_add(struct tenants *t, const char *name, struct err *e)
{
	char **grown = realloc(t->names, (t->n + 1) * sizeof(*grown));

	if (!grown || !(grown[t->n] = strdup(name))) {
		if (grown)
			t->names = grown;
		return err_set(e, EXIT_RUNTIME, "out of memory");
	}
	t->names = grown;
	t->n++;
	return 0;
}

/* The tenant a user name "t-<tenant>" belongs to, or NULL. */
static const char *user_tenant(const char *user)
{
	struct err ignore = { 0 };

	return !strncmp(user, TENANT_NAMESPACE_PREFIX, 2) && tenant_check_name(user + 2, &ignore) == 0
		       ? user + 2
		       : NULL;
}

/* 1 when `key` is in the prefix "t:<tenant>:" of one of `t`. */
static int key_in(const struct tenants *t, const char *key, size_t len)
{
	char name[TENANT_NAME_MAX + 1], *p = name;
	const char *end;

	if (len < 3 || strncmp(key, "t:", 2) || !(end = memchr(key + 2, ':', len - 2)) ||
	    (size_t)(end - key - 2) > TENANT_NAME_MAX)
		return 0;
	memcpy(name, key + 2, (size_t)(end - key - 2));
	name[end - key - 2] = '\0';
	return bsearch(&p, t->names, t->n, sizeof(*t->names), cmp_name) != NULL;
}

static int databases(struct resp *r, long *n, struct err *e)
{
	struct resp_reply *rep;

	if (resp_cmd(r, &rep, e, "CONFIG", "GET", "databases", NULL) < 0)
		return -1;
	*n = rep->n == 2 && rep->elem[1].str ? strtol(rep->elem[1].str, NULL, 10) : 0;
	resp_reply_free(rep);
	return *n > 0 && *n <= 100000 ? 0 : err_set(e, EXIT_RUNTIME, "redis: CONFIG GET databases: no count");
}

/* One ACL LIST line "user t-x on #... ~t:x:* ..." as ACL SETUSER t-x reset ... */
static int write_user(struct resp *out, const char *line, struct tenants *t, struct err *e)
{
	char *copy = strdup(line), *save = NULL, *w;
	const char *argv[MAX_RULES + 4];
	size_t lens[MAX_RULES + 4], n = 0;
	const char *tenant;
	int rc = 0;

	if (!copy)
		return err_set(e, EXIT_RUNTIME, "out of memory");
	if (!(w = strtok_r(copy, " ", &save)) || strcmp(w, "user") || !(w = strtok_r(NULL, " ", &save)) ||
	    !(tenant = user_tenant(w)))
		goto out;
	argv[n++] = "ACL";
	argv[n++] = "SETUSER";
	argv[n++] = w;
	argv[n++] = "reset";
	while ((w = strtok_r(NULL, " ", &save))) {
		/* Redis 7's selectors "(...)" hold spaces; a tenant user has none. */
		if (w[0] == '(' || n == MAX_RULES + 4) {
			rc = err_set(e, EXIT_RUNTIME, "redis: user t-%s: rules this backup cannot carry", tenant);
			goto out;
		}
		argv[n++] = w;
	}
	for (size_t i = 0; i < n; i++)
		lens[i] = strlen(argv[i]);
	rc = resp_send(out, n, argv, lens, e) < 0 || tenants_add(t, tenant, e) < 0 ? -1 : 0;
out:
	OPENSSL_cleanse(copy, strlen(line)); /* the password hash */
	free(copy);
	return rc;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Called with each SCAN page of a database's "t:*" keys; `db` is SELECTed. */
typedef int (*page_fn)(struct resp *r, const struct resp_reply *keys, long db, void *ctx, struct err *e);

static int scan_db(struct resp *r, long db, page_fn fn, void *ctx, struct err *e)
{
	char dbs[24], cursor[32] = "0";
	struct resp_reply *rep;

	snprintf(dbs, sizeof(dbs), "%ld", db);
	if (resp_cmd(r, &rep, e, "SELECT", dbs, NULL) < 0)
		return -1;
	resp_reply_free(rep);
	do {
		int rc;

		if (resp_cmd(r, &rep, e, "SCAN", cursor, "MATCH", "t:*", "COUNT", SCAN_PAGE, NULL) < 0)
			return -1;
		if (rep->n != 2 || !rep->elem[0].str || rep->elem[1].type != '*') {
			resp_reply_free(rep);
			return err_set(e, EXIT_RUNTIME, "redis: SCAN: an unexpected reply");
		}
		snprintf(cursor, sizeof(cursor), "%s", rep->elem[0].str);
		rc = fn(r, &rep->elem[1], db, ctx, e);
		resp_reply_free(rep);
		if (rc < 0)
			return -1;
	} while (strcmp(cursor, "0"));
	return 0;
}

struct dump {
	struct resp *out;
	const struct tenants *t;
	long selected; /* the database the stream last SELECTed, -1 for none */
};

/* One SCAN page's tenant keys: DUMP and PTTL pipelined, then RESTORE lines
 * with the absolute expiry (a key that expired meanwhile stays gone). */
static int dump_page(struct resp *r, const struct resp_reply *keys, long db, void *ctx, struct err *e)
{
	struct dump *d = ctx;
	size_t want = 0;

	for (size_t i = 0; i < keys->n; i++) {
		const struct resp_reply *k = &keys->elem[i];
		const char *argv[2] = { "DUMP", k->str };
		size_t lens[2] = { 4, k->len };

		if (!k->str || !key_in(d->t, k->str, k->len))
			continue;
		if (resp_send(r, 2, argv, lens, e) < 0)
			return -1;
		argv[0] = "PTTL";
		if (resp_send(r, 2, argv, lens, e) < 0)
			return -1;
		want++;
	}
	for (size_t i = 0, done = 0; done < want; i++) {
		const struct resp_reply *k = &keys->elem[i];
		struct resp_reply *val = NULL, *ttl = NULL;
		char when[32], dbs[24];
		int rc = 0;

		if (!k->str || !key_in(d->t, k->str, k->len))
			continue;
		done++;
		if (resp_read(r, &val, e) < 0 || resp_read(r, &ttl, e) < 0)
			rc = -1;
		else if (val->type == '-' || ttl->type != ':')
			rc = err_set(e, EXIT_RUNTIME, "redis: DUMP: %s", val->type == '-' ? val->str : "no PTTL");
		else if (!val->nil && ttl->integer != -2) {
			const char *argv[6] = { "RESTORE", k->str, when, val->str, "REPLACE", "ABSTTL" };
			size_t lens[6] = { 7, k->len, 0, val->len, 7, 6 };

			snprintf(when, sizeof(when), "%lld", ttl->integer < 0 ? 0 : now_ms() + ttl->integer);
			lens[2] = strlen(when);
			if (d->selected != db) {
				snprintf(dbs, sizeof(dbs), "%ld", db);
				d->selected = db;
				rc = resp_sendv(d->out, e, "SELECT", dbs, NULL);
			}
			if (!rc)
				rc = resp_send(d->out, ttl->integer < 0 ? 5 : 6, argv, lens, e);
		}
		resp_reply_free(val);
		resp_reply_free(ttl);
		if (rc < 0)
			return -1; /* the connection is dropped: no replies to drain */
	}
	return 0;
}

static int dump_from(const struct backup_redis *rd, const struct target *to, const char *dst,
		     struct err *e)
{
	struct resp *r = NULL, *out = NULL;
	struct resp_reply *users = NULL;
	struct tenants t = { 0 };
	long ndb = 0;
	int fd, rc = -1;

	if (connect_server(rd, to, &r, e) < 0)
		return -1;
	if ((fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		err_errno(e, errno, "%s", dst);
		goto out;
	}
	if (resp_open_file(fd, &out, e) < 0 || databases(r, &ndb, e) < 0 ||
	    resp_cmd(r, &users, e, "ACL", "LIST", NULL) < 0)
		goto out;
	for (size_t i = 0; i < users->n; i++)
		if (users->elem[i].str && write_user(out, users->elem[i].str, &t, e) < 0)
			goto out;
	qsort(t.names, t.n, sizeof(*t.names), cmp_name);
	for (long db = 0; t.n && db < ndb; db++) {
		struct dump d = { out, &t, -1 };

		if (scan_db(r, db, dump_page, &d, e) < 0)
			goto out;
	}
	rc = resp_flush(out, e);
out:
	if (users) {
		for (size_t i = 0; i < users->n; i++)
			if (users->elem[i].str)
				OPENSSL_cleanse(users->elem[i].str, users->elem[i].len);
		resp_reply_free(users);
	}
	tenants_free(&t);
	resp_close(out);
	resp_close(r);
	return rc;
}

static int is_word(const struct resp_reply *c, size_t i, const char *w)
{
	return i < c->n && !strcasecmp(c->elem[i].str, w);
}

/* A command of the stream is one this part writes, for a tenant the stream
 * names (users come first); anything else, say FLUSHALL in a crafted
 * archive, is refused before anything is sent. */
static int check_command(const struct resp_reply *c, struct tenants *t, int *sorted, struct err *e)
{
	if (c->type != '*' || c->nil || c->n == 0 || c->n > MAX_RULES + 4)
		return err_set(e, EXIT_REFUSED, "redis part: not a command");
	for (size_t i = 0; i < c->n; i++)
		if (c->elem[i].type != '$' || c->elem[i].nil)
			return err_set(e, EXIT_REFUSED, "redis part: not a command");
	if (is_word(c, 0, "ACL") && is_word(c, 1, "SETUSER") && c->n >= 4 && is_word(c, 3, "reset") &&
	    !*sorted && user_tenant(c->elem[2].str))
		return tenants_add(t, user_tenant(c->elem[2].str), e);
	if (!*sorted) {
		qsort(t->names, t->n, sizeof(*t->names), cmp_name);
		*sorted = 1;
	}
	if (is_word(c, 0, "SELECT") && c->n == 2 && c->elem[1].len &&
	    strspn(c->elem[1].str, "0123456789") == c->elem[1].len)
		return 0;
	if (is_word(c, 0, "RESTORE") && (c->n == 5 || (c->n == 6 && is_word(c, 5, "ABSTTL"))) &&
	    is_word(c, 4, "REPLACE") && key_in(t, c->elem[1].str, c->elem[1].len))
		return 0;
	return err_set(e, EXIT_REFUSED, "redis part: unexpected command '%.20s'", c->elem[0].str);
}

static int forward(struct resp *r, const struct resp_reply *c, struct err *e)
{
	const char *argv[MAX_RULES + 4];
	size_t lens[MAX_RULES + 4];

	for (size_t i = 0; i < c->n; i++) {
		argv[i] = c->elem[i].str;
		lens[i] = c->elem[i].len;
	}
	return resp_send(r, c->n, argv, lens, e);
}

/* Reads `n` pending replies; the first error reply fails the batch. */
static int drain(struct resp *r, size_t n, struct err *e)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		struct resp_reply *rep;

		if (resp_read(r, &rep, e) < 0)
			return -1;
		if (rep->type == '-' && !rc)
			rc = err_set(e, EXIT_RUNTIME, "redis: %s", rep->str);
		resp_reply_free(rep);
	}
	return rc;
}

/* Every key of the restored tenants' prefixes goes first, so that keys
 * written after the backup do not survive the restore. */
static int unlink_page(struct resp *r, const struct resp_reply *keys, long db, void *ctx, struct err *e)
{
	const struct tenants *t = ctx;
	size_t sent = 0;

	(void)db;
	for (size_t i = 0; i < keys->n; i++) {
		const struct resp_reply *k = &keys->elem[i];
		const char *argv[2] = { "UNLINK", k->str };
		size_t lens[2] = { 6, k->len };

		if (k->str && key_in(t, k->str, k->len)) {
			if (resp_send(r, 2, argv, lens, e) < 0)
				return -1;
			sent++;
		}
	}
	return drain(r, sent, e);
}

/* Every key of the restored tenants' prefixes goes first, so that keys
 * written after the backup do not survive the restore. */
static int clear_keys(struct resp *r, struct tenants *t, struct err *e)
{
	long ndb;

	if (!t->n)
		return 0;
	if (databases(r, &ndb, e) < 0)
		return -1;
	for (long db = 0; db < ndb; db++)
		if (scan_db(r, db, unlink_page, t, e) < 0)
			return -1;
	return 0;
}

static int replay(const char *src, struct resp *r, struct tenants *t, struct err *e)
{
	struct resp *in = NULL;
	struct resp_reply *c = NULL;
	size_t pending = 0;
	int fd = open(src, O_RDONLY | O_CLOEXEC), sorted = 0, cleared = !r, end = 0, rc = 0;

	if (fd < 0)
		return err_errno(e, errno, "%s", src);
	if (resp_open_file(fd, &in, e) < 0)
		return -1;
	while (!rc && (end = resp_at_end(in, e)) == 0) {
		if ((rc = resp_read(in, &c, e)) < 0)
			break;
		if (!r) {
			rc = check_command(c, t, &sorted, e);
		} else if (is_word(c, 0, "ACL")) {
			rc = forward(r, c, e) < 0 ? -1 : drain(r, 1, e);
		} else {
			if (!cleared++)
				rc = clear_keys(r, t, e);
			if (!rc && (rc = forward(r, c, e)) == 0 && ++pending == REPLY_BATCH) {
				rc = drain(r, pending, e);
				pending = 0;
			}
		}
		resp_reply_free(c);
		c = NULL;
	}
	if (end < 0)
		rc = -1;
	if (!rc && r && !cleared)
		rc = clear_keys(r, t, e);
	if (!rc && pending)
		rc = drain(r, pending, e);
	resp_close(in);
	return rc;
}

int backup_redis_verify(const char *src, struct err *e)
{
	struct tenants t = { 0 };
	int rc = replay(src, NULL, &t, e);

	tenants_free(&t);
	return rc;
}

static int restore_to(const struct backup_redis *rd, const struct target *to, const char *src,
		      struct err *e)
{
	struct tenants t = { 0 };
	struct resp *r = NULL;
	struct resp_reply *rep = NULL;
	int rc;

	if ((rc = replay(src, NULL, &t, e)) < 0)
		goto out;
	if ((rc = connect_server(rd, to, &r, e)) < 0)
		goto out;
	/* The users are sent again from the stream; keep the checked list for
	 * the keys. */
	rc = replay(src, r, &t, e) < 0 || resp_cmd(r, &rep, e, "ACL", "SAVE", NULL) < 0 ? -1 : 0;
	resp_reply_free(rep);
out:
	resp_close(r);
	tenants_free(&t);
	return rc;
}

/* Runs fn against rd's server: directly, or through a port-forward to the
 * pod, with the admin password from its Secret (in memory only). */
static int with_server(const struct backup_redis *rd, const char *path,
		       int (*fn)(const struct backup_redis *, const struct target *, const char *,
				 struct err *),
		       struct err *e)
{
	struct target to = { rd->addr, NULL };
	struct pod_forward fwd = { .out = -1 };
	char ns[64], pod[254], addr[32], pw[512];
	int rc;

	if (!rd->pod)
		return fn(rd, &to, path, e);
	if (pod_split(rd->pod, ns, pod) < 0)
		return err_set(e, EXIT_USAGE, "--redis-pod '%s': not NAMESPACE/POD", rd->pod);
	if (pod_secret_value(&rd->via, ns, "redis", "default-password", pw, sizeof(pw), e) < 0)
		return -1;
	if (pod_forward_start(&rd->via, rd->pod, 6379, &fwd, e) < 0) {
		OPENSSL_cleanse(pw, sizeof(pw));
		return -1;
	}
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", fwd.port);
	to = (struct target){ addr, pw };
	rc = fn(rd, &to, path, e);
	pod_forward_stop(&fwd);
	OPENSSL_cleanse(pw, sizeof(pw));
	return rc;
}

int backup_redis_dump(const struct backup_redis *rd, const char *dst, struct err *e)
{
	return with_server(rd, dst, dump_from, e);
}

int backup_redis_restore(const struct backup_redis *rd, const char *src, struct err *e)
{
	return with_server(rd, src, restore_to, e);
}
