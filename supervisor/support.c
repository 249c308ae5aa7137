/* See support.h. Parts are files, commands (run under timeout(1)) and
 * lists from the API (the kube client with its own time bound). Secrets are
 * never listed; everything else goes through redact_json and redact_text. */
#include "support.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "kube.h"
#include "kubeconfig.h"
#include "redact.h"
#include "run.h"
#include "util.h"

#define PART_MAX (50u << 20) /* the journal's bound too */

enum part_kind { PART_FILE, PART_CMD, PART_CLUSTER, PART_VERSION, PART_PREFLIGHT, PART_EVENTS, PART_POD_LOGS };

struct part {
	const char *name; /* in the archive */
	enum part_kind kind;
	const char *src;  /* PART_FILE: path (under root unless it starts with /proc) */
	const char *argv[10];
};

/* Kinds listed from the API, beyond those kube.c knows. Never Secret. */
static const struct kube_resource cluster_kinds[] = {
	{ "Node", "", "v1", "nodes", false },
	{ "Event", "", "v1", "events", true },
	{ "Pod", "", "v1", "pods", true },
	{ "HelmChart", "helm.cattle.io", "v1", "helmcharts", true },
	{ "Job", "batch", "v1", "jobs", true },
	{ "ResourceQuota", "", "v1", "resourcequotas", true },
};

/* "@state", "@self", "@supervise" are filled in from the options. */
static const struct part parts[] = {
	{ "host/os-release", PART_FILE, "etc/os-release", { NULL } },
	{ "host/uname.txt", PART_CMD, NULL, { "uname", "-a", NULL } },
	{ "host/cpuinfo.txt", PART_FILE, "/proc/cpuinfo", { NULL } },
	{ "host/meminfo.txt", PART_FILE, "/proc/meminfo", { NULL } },
	{ "host/df.txt", PART_CMD, NULL, { "df", "-PT", NULL } },
	{ "host/mountinfo.txt", PART_FILE, "/proc/self/mountinfo", { NULL } },
	{ "host/cgroup.txt", PART_CMD, NULL, { "stat", "-fc", "%T", "/sys/fs/cgroup", NULL } },
	{ "host/time.txt", PART_CMD, NULL, { "timedatectl", "status", NULL } },
	{ "host/preflight.txt", PART_PREFLIGHT, NULL, { NULL } },
	{ "outpost/version.txt", PART_VERSION, NULL, { NULL } },
	{ "outpost/install.json", PART_FILE, "var/lib/outpost/install.json", { NULL } },
	{ "outpost/supervise.json", PART_FILE, "@supervise", { NULL } },
	{ "outpost/status.json", PART_CMD, NULL, { "@self", "--state", "@state", "status", "--json", NULL } },
	{ "outpost/tenants.jsonl", PART_CMD, NULL, { "@self", "--state", "@state", "tenant", "export", NULL } },
	{ "outpost/events.jsonl", PART_EVENTS, NULL, { NULL } },
	{ "journal/outpost.log", PART_CMD, NULL,
	  { "journalctl", "-u", "outpost.service", "-u", "outpost-install.service", "--since=-7d",
	    "--no-pager", "-q", NULL } },
	{ "cluster/", PART_CLUSTER, NULL, { NULL } },
	{ "cluster/pod-logs.txt", PART_POD_LOGS, NULL, { NULL } },
};

struct bundle {
	const struct support_opts *o;
	struct archive *a;
	char index[16384]; /* parts.txt */
	size_t ilen;
	int failed;
};

static void note(struct bundle *b, const char *name, const char *outcome)
{
	int n = snprintf(b->index + b->ilen, sizeof(b->index) - b->ilen, "%-32s %s\n", name, outcome);

	if (n > 0 && (size_t)n < sizeof(b->index) - b->ilen)
		b->ilen += (size_t)n;
}

static int add_entry(struct bundle *b, const char *name, const char *data, size_t len)
{
	struct archive_entry *ent = archive_entry_new();
	int ok;

	if (!ent)
		return -ENOMEM;
	archive_entry_set_pathname(ent, name);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0600);
	archive_entry_set_size(ent, (la_int64_t)len);
	archive_entry_set_mtime(ent, time(NULL), 0);
	ok = archive_write_header(b->a, ent) == ARCHIVE_OK &&
	     (len == 0 || archive_write_data(b->a, data, len) == (la_ssize_t)len);
	archive_entry_free(ent);
	return ok ? 0 : -EIO;
}

/* Redacts and writes one collected part (the cluster's JSON has had redact_json). */
static int add_redacted(struct bundle *b, const char *name, const char *data, size_t len)
{
	char *clean = NULL;
	int rc;

	if ((rc = redact_text(data, len, &clean)) < 0)
		return rc;
	rc = add_entry(b, name, clean, strlen(clean));
	free(clean);
	return rc;
}

static const char *fill(const struct support_opts *o, const char *arg)
{
	if (!strcmp(arg, "@self"))
		return o->self;
	if (!strcmp(arg, "@state"))
		return o->state_path;
	if (!strcmp(arg, "@supervise"))
		return o->supervise_json;
	return arg;
}

static int collect_file(struct bundle *b, const struct part *p, char **data, size_t *len,
			struct err *e)
{
	const char *src = fill(b->o, p->src);
	char *path = src[0] == '/' ? strdup(src) : util_path_join(b->o->root, src);
	int rc;

	if (!path)
		return err_set(e, EXIT_RUNTIME, "out of memory");
	rc = util_read_file(path, PART_MAX, data, len, e);
	free(path);
	return rc;
}

/* timeout(1) bounds the part; it answers 124 when the bound was hit. */
static int collect_cmd(struct bundle *b, const struct part *p, char **data, size_t *len,
		       struct err *e)
{
	char secs[16], *argv[16] = { "timeout", "-k", "2", secs };
	int status, n = 4;

	snprintf(secs, sizeof(secs), "%u", b->o->part_timeout_s);
	for (size_t i = 0; p->argv[i]; i++)
		argv[n++] = (char *)fill(b->o, p->argv[i]);
	argv[n] = NULL;
	if (!(*data = malloc(PART_MAX)))
		return err_set(e, EXIT_RUNTIME, "out of memory");
	if (run_argv(argv, *data, PART_MAX, &status, e) < 0)
		return -1;
	*len = strlen(*data);
	if (status == 124)
		return err_set(e, EXIT_RUNTIME, "timed out after %us", b->o->part_timeout_s);
	if (status == 127)
		return err_set(e, EXIT_RUNTIME, "%s: not installed", argv[4]);
	if (status != 0)
		return err_set(e, EXIT_RUNTIME, "%s exited %d", argv[4], status);
	return 0;
}

static void collect_cluster(struct bundle *b)
{
	struct kube_options opt = { .max_attempts = 2, .timeout_ms = b->o->part_timeout_s * 1000,
				    .retry_budget_ms = b->o->part_timeout_s * 1000 };
	struct kubeconfig *kc = NULL;
	struct kube *k = NULL;
	struct err e = { 0 };

	if (kubeconfig_load(b->o->kubeconfig ? b->o->kubeconfig : KUBECONFIG_DEFAULT, &kc, &e) < 0 ||
	    kube_new(kc, &opt, &k, &e) < 0) {
		note(b, "cluster/", e.msg);
		b->failed++;
		kubeconfig_free(kc);
		return;
	}
	for (size_t i = 0; i < sizeof(cluster_kinds) / sizeof(cluster_kinds[0]); i++) {
		const struct kube_resource *r = &cluster_kinds[i];
		json_t *items = NULL;
		char name[64], *dump = NULL;

		snprintf(name, sizeof(name), "cluster/%s.json", r->plural);
		memset(&e, 0, sizeof(e));
		if (kube_list_array(k, r, "", 500, &items, &e) < 0) {
			note(b, name, e.msg);
			b->failed++;
		} else {
			redact_json(items);
			if (!(dump = json_dumps(items, JSON_INDENT(1))) ||
			    add_redacted(b, name, dump, strlen(dump)) < 0) {
				note(b, name, "could not be written");
				b->failed++;
			} else {
				note(b, name, "ok");
			}
		}
		free(dump);
		json_decref(items);
	}
	kube_free(k);
	kubeconfig_free(kc);
}

static void collect(struct bundle *b, const struct part *p)
{
	struct err e = { 0 };
	char *data = NULL;
	size_t len = 0;
	int rc;

	switch (p->kind) {
	case PART_CLUSTER:
		collect_cluster(b);
		return;
	case PART_VERSION:
		rc = (data = strdup("outpost " PACKAGE_VERSION "\n")) ? 0 : -ENOMEM;
		len = data ? strlen(data) : 0;
		break;
	case PART_FILE:
		rc = collect_file(b, p, &data, &len, &e);
		break;
	case PART_PREFLIGHT:
		rc = support_preflight(b->o, &data, &len, &e);
		break;
	case PART_EVENTS:
		rc = support_events(b->o, &data, &len, &e);
		break;
	case PART_POD_LOGS:
		rc = support_pod_logs(b->o, &data, &len, &e);
		break;
	default:
		rc = collect_cmd(b, p, &data, &len, &e);
		break;
	}
	if (rc == 0 && (rc = add_redacted(b, p->name, data, len)) < 0)
		snprintf(e.msg, sizeof(e.msg), "could not be written");
	free(data);
	if (rc < 0)
		b->failed++;
	note(b, p->name, rc < 0 ? (e.msg[0] ? e.msg : "failed") : "ok");
}

int support_bundle_write(const struct support_opts *o, char *path, size_t cap, int *failed,
			 struct err *e)
{
	struct bundle b = { .o = o };
	char host[256] = "unknown", stamp[32], tmp[4096];
	time_t now = time(NULL);
	struct tm tm;
	int fd, rc = 0;

	gethostname(host, sizeof(host) - 1);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
	if ((size_t)snprintf(path, cap, "%s/outpost-support-%s-%s.tar.gz", o->out_dir, host, stamp) >= cap ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.outpost-support.XXXXXX", o->out_dir) >= sizeof(tmp))
		return err_set(e, EXIT_USAGE, "%s: path too long", o->out_dir);
	/* mkstemp makes it 0600 before a byte of it is written. */
	if ((fd = mkstemp(tmp)) < 0)
		return err_errno(e, errno, "%s", o->out_dir);
	if (!(b.a = archive_write_new()) || archive_write_set_format_pax_restricted(b.a) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(b.a) != ARCHIVE_OK ||
	    archive_write_open_fd(b.a, fd) != ARCHIVE_OK) {
		rc = err_set(e, EXIT_RUNTIME, "%s: %s", tmp, b.a ? archive_error_string(b.a) : "out of memory");
		goto out;
	}
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		collect(&b, &parts[i]);
	if (add_entry(&b, "parts.txt", b.index, b.ilen) < 0 || archive_write_close(b.a) != ARCHIVE_OK ||
	    fsync(fd) < 0) {
		rc = err_set(e, EXIT_RUNTIME, "%s: %s", tmp, archive_error_string(b.a));
		goto out;
	}
	if (rename(tmp, path) < 0) {
		rc = err_errno(e, errno, "%s", path);
		goto out;
	}
	rc = util_fsync_parent(path, e);
	*failed = b.failed;
out:
	if (b.a)
		archive_write_free(b.a);
	close(fd);
	if (rc < 0)
		unlink(tmp);
	return rc;
}
