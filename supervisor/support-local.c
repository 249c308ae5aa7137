/* The support bundle's parts computed in this process rather than read or
 * run: the preflight table as `outpost install` prints it (of the box as it
 * is now, against the installed bundle's capacity budget), the events the
 * state file keeps for every tenant and the appliance, and the recent end of
 * the platform's and tenants' pod logs. */
#include "support.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "capacity.h"
#include "jsonout.h"
#include "preflight.h"
#include "state.h"
#include "tenant.h"
#include "util.h"

/* The kubelet's container logs, "<ns>_<pod>_<uid>/<container>/<n>.log":
 * read from the disk, so they come when the API is down too. */
#define POD_LOG_DIR "var/log/pods"
#define POD_LOG_TAIL (64 * 1024)   /* per container: the recent end */
#define POD_LOG_MAX (16 << 20)     /* all of them */

int support_preflight(const struct support_opts *o, char **data, size_t *len, struct err *e)
{
	struct preflight_result res[PREFLIGHT_MAX_RESULTS];
	struct preflight_facts facts;
	struct capacity_budget cap;
	FILE *f;
	int fails;

	*data = NULL;
	if (capacity_budget_load(o->datadir, &cap, e) < 0)
		return -1;
	preflight_gather(o->root, &facts);
	if (!(f = open_memstream(data, len)))
		return err_set(e, EXIT_RUNTIME, "out of memory");
	fails = preflight_print(res, preflight_evaluate(&facts, &cap, res, PREFLIGHT_MAX_RESULTS), f);
	fprintf(f, "\n%d check%s failed (a running box holds its own ports: k3s's count as in use)\n",
		fails, fails == 1 ? "" : "s");
	return fclose(f) == 0 ? 0 : err_set(e, EXIT_RUNTIME, "out of memory");
}

int support_events(const struct support_opts *o, char **data, size_t *len, struct err *e)
{
	struct state *st = NULL;
	struct state_event *ev = NULL;
	size_t n = 0;
	FILE *f;
	int rc = 0;

	*data = NULL;
	/* Every event kept: at most STATE_EVENTS_PER_TENANT per tenant. */
	if (state_open(o->state_path, STATE_OPEN_EXISTING, &st, e) < 0 ||
	    state_event_list(st, NULL, SIZE_MAX, &ev, &n, e) < 0) {
		state_close(st);
		return -1;
	}
	state_close(st);
	if (!(f = open_memstream(data, len))) {
		free(ev);
		return err_set(e, EXIT_RUNTIME, "out of memory");
	}
	for (size_t i = 0; i < n && !rc; i++) {
		json_t *j = json_pack("{s:s, s:o, s:s, s:s, s:s}", "tenant", ev[i].tenant, "at",
				      jsonout_time(ev[i].at), "type", ev[i].type, "reason", ev[i].reason,
				      "message", ev[i].message);
		char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;

		if (!line || fprintf(f, "%s\n", line) < 0)
			rc = err_set(e, EXIT_RUNTIME, "out of memory");
		free(line);
		json_decref(j);
	}
	free(ev);
	if (fclose(f) != 0 && !rc)
		rc = err_set(e, EXIT_RUNTIME, "out of memory");
	return rc;
}

/* A namespace whose pods' logs are collected: the platform's and tenants'. */
static int wanted_ns(const char *dir)
{
	return !strncmp(dir, "outpost-platform_", 17) || !strncmp(dir, TENANT_NAMESPACE_PREFIX, 2);
}

/* The kubelet's current file of a container is the highest "<n>.log";
 * rotated ones carry a date suffix (and may be compressed). */
static int current_log(const char *dir, char *name, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *ent;
	long best = -1;

	if (!d)
		return -1;
	while ((ent = readdir(d))) {
		char *end;
		long v = strtol(ent->d_name, &end, 10);

		if (end != ent->d_name && !strcmp(end, ".log") && v > best)
			best = v;
	}
	closedir(d);
	if (best >= 0)
		snprintf(name, cap, "%ld.log", best);
	return best >= 0 ? 0 : -1;
}

/* The last POD_LOG_TAIL bytes, from the start of a line. */
static void tail_into(FILE *out, const char *path)
{
	char buf[POD_LOG_TAIL];
	FILE *in = fopen(path, "re");
	size_t n;
	const char *p = buf;

	if (!in) {
		fprintf(out, "(unreadable: %s)\n", strerror(errno));
		return;
	}
	if (fseeko(in, 0, SEEK_END) == 0 && ftello(in) > (off_t)sizeof(buf)) {
		fseeko(in, -(off_t)sizeof(buf), SEEK_END);
		fprintf(out, "(earlier lines left out)\n");
	} else {
		rewind(in);
	}
	n = fread(buf, 1, sizeof(buf), in);
	fclose(in);
	if (n == sizeof(buf) && (p = memchr(buf, '\n', n)))
		p++;
	else
		p = buf;
	fwrite(p, 1, n - (size_t)(p - buf), out);
	if (n && buf[n - 1] != '\n')
		fputc('\n', out);
}

static void pod_logs(FILE *f, const char *poddir, const char *pod)
{
	struct dirent **ctrs = NULL;
	int m = scandir(poddir, &ctrs, NULL, alphasort);

	for (int c = 0; c < m; c++) {
		char cdir[4700], file[32], path[4800];

		snprintf(cdir, sizeof(cdir), "%s/%s", poddir, ctrs[c]->d_name);
		if (ctrs[c]->d_name[0] != '.' && current_log(cdir, file, sizeof(file)) == 0) {
			snprintf(path, sizeof(path), "%s/%s", cdir, file);
			fprintf(f, "==> %s/%s <==\n", pod, ctrs[c]->d_name);
			tail_into(f, path);
		}
		free(ctrs[c]);
	}
	free(ctrs);
}

int support_pod_logs(const struct support_opts *o, char **data, size_t *len, struct err *e)
{
	char *pods = util_path_join(o->root, POD_LOG_DIR);
	struct dirent **list = NULL;
	FILE *f = NULL;
	int n = -1, rc = 0;

	*data = NULL;
	if (!pods || !(f = open_memstream(data, len)))
		rc = err_set(e, EXIT_RUNTIME, "out of memory");
	else if ((n = scandir(pods, &list, NULL, alphasort)) < 0)
		rc = err_errno(e, errno, "%s", pods);
	for (int i = 0; i < n; i++) {
		char poddir[4400];

		if (list[i]->d_name[0] != '.' && wanted_ns(list[i]->d_name) && ftello(f) < POD_LOG_MAX) {
			snprintf(poddir, sizeof(poddir), "%s/%s", pods, list[i]->d_name);
			pod_logs(f, poddir, list[i]->d_name);
		}
		free(list[i]);
	}
	free(list);
	free(pods);
	if (f && ftello(f) >= POD_LOG_MAX)
		fprintf(f, "(further pods left out: %d MiB collected)\n", POD_LOG_MAX >> 20);
	if (f && fclose(f) != 0 && !rc)
		rc = err_set(e, EXIT_RUNTIME, "out of memory");
	return rc;
}
