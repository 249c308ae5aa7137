/* outpost status: what the supervisor last reported (k3s, the API, each
 * platform component) and the tenants by phase, read from the state file. */
#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "cmd.h"
#include "jsonout.h"
#include "state.h"
#include "table.h"
#include "tls.h"
#include "util.h"

#define NPHASES (TENANT_PHASE_DELETING + 1)

static const char usage[] =
	"Usage: outpost status [--json]\n"
	"\n"
	"Shows k3s (pid, uptime, restarts), the API, each platform component and the\n"
	"tenants by phase, as `outpost supervise` last wrote them to the state file.\n"
	"Says when the supervisor is not running: k3s's row says it runs, but was\n"
	"written before this boot or names a k3s pid that is gone.\n"
	"\n"
	"Options:\n"
	"  --json    one JSON object instead of tables\n"
	"  --help    this text\n";

/* When the machine booted (Unix seconds), or 0 when /proc/stat does not say. */
static int64_t boot_time(void)
{
	char line[256];
	long long bt = 0;
	FILE *f = fopen("/proc/stat", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %lld", &bt) == 1)
			break;
	if (f)
		fclose(f);
	return bt;
}

/* The rows are the supervisor's last report, not the present, when k3s's row
 * still says it runs but was written before this boot, or names a pid that
 * is gone: k3s dies with its supervisor (PR_SET_PDEATHSIG), so a live
 * supervisor's k3s pid is a live process. NULL when the rows look current. */
static const char *why_stale(const struct component_status *c, size_t nc, int64_t booted)
{
	for (size_t i = 0; i < nc; i++) {
		if (strcmp(c[i].name, "k3s") || !strcmp(c[i].phase, "Stopped"))
			continue;
		if (booted && c[i].updated_at < booted)
			return "its last report is from before this boot";
		if (c[i].pid > 0 && kill((pid_t)c[i].pid, 0) < 0 && errno == ESRCH)
			return "the k3s pid it reported is gone";
	}
	return NULL;
}

/* "3d4h", "5m12s": a duration for a table cell. */
static void fmt_age(char *buf, size_t len, int64_t s)
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(buf, len, "%" PRId64 "d%" PRId64 "h", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%" PRId64 "h%" PRId64 "m", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%" PRId64 "m%" PRId64 "s", s / 60, s % 60);
	else
		snprintf(buf, len, "%" PRId64 "s", s);
}

static int print_tables(const struct component_status *c, size_t nc, const size_t *by_phase,
			size_t desired, int64_t now, const char *stale)
{
	static const char *const heads[] = { "COMPONENT", "PHASE", ">PID", ">RESTARTS", ">UPTIME",
					     ">UPDATED", "MESSAGE" };
	struct table *t = table_new(7, heads);
	int rc = 0;

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < nc && rc == 0; i++) {
		char pid[24] = "", restarts[24] = "", up[32] = "", upd[40];
		const char *cells[7] = { c[i].name, c[i].phase, pid, restarts, up, upd, c[i].message };
		if (c[i].pid)
			snprintf(pid, sizeof(pid), "%" PRId64, c[i].pid);
		if (!strcmp(c[i].name, "k3s"))
			snprintf(restarts, sizeof(restarts), "%" PRId64, c[i].restarts);
		if (c[i].started_at)
			fmt_age(up, sizeof(up), now - c[i].started_at);
		fmt_age(upd, sizeof(upd) - 4, now - c[i].updated_at);
		strcat(upd, " ago");
		rc = table_add_row(t, cells);
	}
	if (rc == 0) {
		if (stale)
			printf("The supervisor is not running (%s): these rows are its last report.\n",
			       stale);
		if (nc)
			table_print(t, stdout);
		else
			printf("No component status yet: is `outpost supervise` running?\n");
		printf("\nTenants: %zu", desired);
		for (int p = 0; p < NPHASES; p++)
			if (by_phase[p])
				printf(", %s %zu", tenant_phase_name((enum tenant_phase)p), by_phase[p]);
		printf("\n");
	}
	table_free(t);
	return rc;
}

/* Operators' certificates close to their end: Outpost does not renew them. */
static void print_expiring(enum tls_kind kind, const char *subject, time_t not_after, void *ud)
{
	long long left = (long long)((not_after - time(NULL)) / 86400);
	json_t *when = jsonout_time(not_after);

	(void)ud;
	if (left < TLS_EXPIRY_WARN_DAYS)
		printf("Certificate for %s %s: %s on %s; import a new one (outpost tls import)\n",
		       kind == TLS_KIND_TENANT ? "tenant" : "domain", subject,
		       left < 0 ? "expired" : "expires", json_string_value(when));
	json_decref(when);
}

static void certificate_json(enum tls_kind kind, const char *subject, time_t not_after, void *ud)
{
	json_array_append_new(ud, json_pack("{s:s, s:s, s:o}", "for", kind == TLS_KIND_TENANT ? "tenant" : "domain",
					    "subject", subject, "not_after", jsonout_time(not_after)));
}

static json_t *certificates_json(const char *dir)
{
	json_t *a = json_array();

	if (a)
		tls_store_each(dir, certificate_json, a);
	return a;
}

static json_t *to_json(const struct component_status *c, size_t nc, const size_t *by_phase,
		       size_t desired, int64_t now, const char *stale)
{
	json_t *root = json_object(), *comps = json_array(), *phases = json_object();

	for (size_t i = 0; i < nc; i++)
		json_array_append_new(comps, json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:I, s:o}",
			"name", c[i].name, "phase", c[i].phase, "message", c[i].message,
			"pid", (json_int_t)c[i].pid, "restarts", (json_int_t)c[i].restarts,
			"started_at", jsonout_time(c[i].started_at),
			"uptime_s", (json_int_t)(c[i].started_at ? now - c[i].started_at : 0),
			"updated_at", jsonout_time(c[i].updated_at)));
	for (int p = 0; p < NPHASES; p++)
		json_object_set_new(phases, tenant_phase_name((enum tenant_phase)p),
				    json_integer((json_int_t)by_phase[p]));
	json_object_set_new(root, "supervisor", json_pack("{s:b, s:s?}", "running", !stale,
							    "why_not", stale));
	json_object_set_new(root, "components", comps);
	json_object_set_new(root, "tenants", json_pack("{s:I, s:o}", "desired", (json_int_t)desired,
						       "by_phase", phases));
	return root;
}

/* k3s first, then the API, then the components (by name). */
static int rank(const char *name)
{
	return !strcmp(name, "k3s") ? 0 : !strcmp(name, "api") ? 1 : 2;
}

static int by_rank(const void *a, const void *b)
{
	const struct component_status *x = a, *y = b;
	int d = rank(x->name) - rank(y->name);

	return d ? d : strcmp(x->name, y->name);
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct component_status *comps = NULL;
	struct tenant_status *ts = NULL;
	struct tenant_list tl = { 0 };
	size_t nc = 0, nts = 0, by_phase[NPHASES] = { 0 };
	struct state *st = NULL;
	bool json = false;
	char tls_dir[PATH_MAX];
	const char *stale;
	int c, rc = -1;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_bad_option(cli, "status", argv, optopt);
		}
	}
	if (optind < argc)
		return cli_usage(cli, "status", "unexpected argument '%s'", argv[optind]);

	if (state_open(cli->state_path, STATE_OPEN_EXISTING, &st, &cli->err) < 0)
		return -1;
	/* One snapshot: the rows and the tenants agree with each other. */
	if (state_begin_read(st, &cli->err) < 0 ||
	    state_component_list(st, &comps, &nc, &cli->err) < 0 ||
	    state_status_list(st, &ts, &nts, &cli->err) < 0 ||
	    state_tenant_list(st, &tl, &cli->err) < 0)
		goto out;
	if (nc)	/* qsort's base must not be NULL, even for no rows (UBSan) */
		qsort(comps, nc, sizeof(*comps), by_rank);
	for (size_t i = 0; i < nts; i++)
		if ((unsigned)ts[i].phase < NPHASES)
			by_phase[ts[i].phase]++;
	/* A desired tenant the daemon has not reported on yet is pending. */
	by_phase[TENANT_PHASE_PENDING] += tl.n > nts ? tl.n - nts : 0;
	stale = why_stale(comps, nc, boot_time());
	tls_store_dir_for_state(cli->state_path, tls_dir, sizeof(tls_dir));
	if (json) {
		json_t *o = to_json(comps, nc, by_phase, tl.n, (int64_t)time(NULL), stale);

		if (o)
			json_object_set_new(o, "certificates", certificates_json(tls_dir));
		rc = o && json_dumpf(o, stdout, JSON_INDENT(2)) == 0 && putchar('\n') != EOF ? 0 : -1;
		json_decref(o);
		if (rc < 0)
			err_set(&cli->err, EXIT_RUNTIME, "status: cannot write JSON");
	} else if ((rc = print_tables(comps, nc, by_phase, tl.n, (int64_t)time(NULL), stale)) < 0) {
		err_errno(&cli->err, -rc, "status");
	} else {
		tls_store_each(tls_dir, print_expiring, NULL);
	}
out:
	state_rollback(st);
	state_close(st);
	free(comps);
	free(ts);
	tenant_list_free(&tl);
	return rc < 0 ? -1 : 0;
}
