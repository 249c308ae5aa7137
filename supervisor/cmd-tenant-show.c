/* `outpost tenant list` and `outpost tenant show`: tables for people, one JSON
 * document with --json. */
#include "cmd-tenant.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "table.h"
#include "tls.h"
#include "usage.h"

#define SHOW_EVENTS 20

/* Parses [--json] and, when want_name (show), [--kubeconfig PATH] and one
 * NAME. 1 when --help was printed. */
static int parse(struct cli *cli, const char *cmd, const char *usage, bool want_name, int argc,
		 char **argv, bool *json, const char **name, const char **kubeconfig)
{
	static const struct option list_opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	static const struct option show_opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "kubeconfig", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	char what[32];
	int c;

	snprintf(what, sizeof(what), "tenant %s", cmd);
	*json = false;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", want_name ? show_opts : list_opts, NULL)) != -1) {
		if (c == 'j')
			*json = true;
		else if (c == 'k')
			*kubeconfig = optarg;
		else if (c == 'h') {
			fputs(usage, stdout);
			return 1;
		} else
			return cli_bad_option(cli, what, argv, optopt);
	}
	if (!want_name)
		return optind == argc ? 0 : cli_usage(cli, what, "takes no arguments");
	if (optind != argc - 1)
		return cli_usage(cli, what, optind >= argc ? "missing tenant NAME"
							   : "expected one tenant NAME");
	*name = argv[optind];
	return 0;
}

static json_t *status_json(const struct tenant_status *s)
{
	if (!s)
		return json_null();
	return json_pack("{s:s, s:s, s:I, s:o}", "phase", tenant_phase_name(s->phase), "message",
			 s->message, "observed_generation", (json_int_t)s->observed_generation,
			 "updated_at", jsonout_time(s->updated_at));
}

/* The export shape plus what the store adds. */
static json_t *tenant_doc(const struct tenant *t, const struct tenant_status *s)
{
	json_t *o = tenant_to_json(t);

	if (o && json_object_update_new(o, json_pack("{s:I, s:o, s:o, s:s?, s:o}",
			"generation", (json_int_t)t->generation,
			"created_at", jsonout_time(t->created_at),
			"updated_at", jsonout_time(t->updated_at),
			"invalid", t->invalid, "status", status_json(s))) < 0) {
		json_decref(o);
		return NULL;
	}
	if (o && !t->invalid)
		json_object_set_new(o, "invalid", json_null());
	return o;
}

static const char *phase_cell(const struct tenant *t, const struct tenant_status *s)
{
	if (t->invalid)
		return "Invalid";
	return s ? tenant_phase_name(s->phase) : "-";
}

static void app_cell(const struct tenant *t, char *out, size_t size)
{
	if (!t->app_chart)
		snprintf(out, size, "%s (default)", TENANT_DEFAULT_APP);
	else
		snprintf(out, size, "%s%s%s", t->app_chart, t->app_version ? "@" : "",
			 t->app_version ? t->app_version : "");
}

static int print_table(const struct tenant_list *l, const struct tenant_status **st)
{
	static const char *const head[] = { "NAME", "HOST", "PLAN", "APP", "SUSPENDED", "PHASE",
					    ">GENERATION" };
	struct table *tb = table_new(7, head);
	int rc = tb ? 0 : -1;

	for (size_t i = 0; rc == 0 && i < l->n; i++) {
		const struct tenant *t = &l->v[i];
		char app[160], gen[24];
		app_cell(t, app, sizeof(app));
		snprintf(gen, sizeof(gen), "%lld", (long long)t->generation);
		const char *row[] = { t->name, t->host, t->plan, app, t->suspended ? "yes" : "no",
				      phase_cell(t, st[i]), gen };
		rc = table_add_row(tb, row);
	}
	if (rc == 0)
		table_print(tb, stdout);
	table_free(tb);
	for (size_t i = 0; rc == 0 && i < l->n; i++)
		if (l->v[i].invalid)
			fprintf(stderr, "outpost: tenant %s is invalid: %s\n", l->v[i].name, l->v[i].invalid);
	return rc;
}

int cmd_tenant_list(struct cli *cli, int argc, char **argv)
{
	struct state *st = NULL;
	struct tenant_list l = { 0 };
	struct tenant_status *sv = NULL;
	const struct tenant_status **byt = NULL;
	size_t ns = 0;
	bool json;
	int rc = parse(cli, "list", "Usage: outpost tenant list [--json]\n", false, argc, argv, &json,
		       NULL, NULL);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = -1;
	if (tenant_cmd_open(cli, "list", &st) < 0)
		goto out;
	if (state_begin_read(st, &cli->err) < 0 || state_tenant_list(st, &l, &cli->err) < 0 ||
	    state_status_list(st, &sv, &ns, &cli->err) < 0) {
		err_prefix(&cli->err, "tenant list");
		goto out;
	}
	state_rollback(st);
	/* Both lists are ordered by name (same collation): one merge walk. */
	byt = calloc(l.n + 1, sizeof(*byt));
	if (!byt) {
		err_errno(&cli->err, ENOMEM, "tenant list");
		goto out;
	}
	for (size_t i = 0, j = 0; i < l.n; i++) {
		while (j < ns && strcmp(sv[j].name, l.v[i].name) < 0)
			j++;
		if (j < ns && !strcmp(sv[j].name, l.v[i].name))
			byt[i] = &sv[j];
	}
	if (json) {
		json_t *arr = json_array(), *doc = json_pack("{s:i, s:o}", "format", 1, "tenants", arr);
		for (size_t i = 0; doc && i < l.n; i++)
			if (json_array_append_new(arr, tenant_doc(&l.v[i], byt[i])) < 0) {
				json_decref(doc);
				doc = NULL;
			}
		rc = jsonout_print(doc, &cli->err);
	} else if ((rc = print_table(&l, byt)) < 0) {
		err_errno(&cli->err, ENOMEM, "tenant list");
	}
out:
	free(byt);
	free(sv);
	tenant_list_free(&l);
	state_close(st);
	return rc;
}

static void print_human(const struct tenant *t, const struct tenant_status *s, const char *cert,
			const char *use, const struct state_event *ev, size_t nev)
{
	char ns[64], app[160];

	tenant_namespace(t->name, ns, sizeof(ns));
	app_cell(t, app, sizeof(app));
	printf("name:        %s\nhost:        %s\nplan:        %s\napp:         %s\n", t->name, t->host,
	       t->plan, app);
	printf("suspended:   %s\nnamespace:   %s\ngeneration:  %lld\n", t->suspended ? "yes" : "no", ns,
	       (long long)t->generation);
	if (t->invalid)
		printf("invalid:     %s\n", t->invalid);
	for (size_t i = 0; i < t->nvalues; i++)
		printf("%-12s %s=%s\n", i == 0 ? "values:" : "", t->values[i].key, t->values[i].value);
	if (s)
		printf("phase:       %s (observed generation %lld)%s%s\n", tenant_phase_name(s->phase),
		       (long long)s->observed_generation, s->message[0] ? ": " : "", s->message);
	else
		printf("phase:       - (not seen by the daemon yet)\n");
	printf("certificate: %s\nusage:       %s\n", cert, use);
	if (nev == 0)
		return;
	static const char *const head[] = { "TIME", "TYPE", "REASON", "MESSAGE" };
	struct table *tb = table_new(4, head);
	for (size_t i = 0; tb && i < nev; i++) {
		json_t *when = jsonout_time(ev[i].at);
		const char *row[] = { json_string_value(when), ev[i].type, ev[i].reason, ev[i].message };
		table_add_row(tb, row);
		json_decref(when);
	}
	if (tb) {
		printf("\n");
		table_print(tb, stdout);
	}
	table_free(tb);
}

static json_t *events_json(const struct state_event *ev, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, json_pack("{s:o, s:s, s:s, s:s}", "at",
							 jsonout_time(ev[i].at), "type", ev[i].type,
							 "reason", ev[i].reason, "message",
							 ev[i].message)) < 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

/* The tenant's usage now, beside `plan` (NULL: unknown): 0 and *row, or -1
 * with `why` saying why there is none. Never fatal to `show`. */
static int tenant_usage(const char *kubeconfig, const struct tenant *t, const struct plan *plan,
			struct usage_row *row, struct err *why)
{
	struct tenant_list one = { .v = (struct tenant *)t, .n = 1 };
	struct usage_row *rows = NULL;
	json_t *items = NULL;
	int rc = -1;

	if (usage_fetch(kubeconfig, &items, why) == 0 &&
	    usage_rows(&one, plan, plan ? 1 : 0, items, &rows, why) == 0) {
		*row = rows[0];
		rc = 0;
	}
	free(rows);
	json_decref(items);
	return rc;
}

int cmd_tenant_show(struct cli *cli, int argc, char **argv)
{
	struct state *st = NULL;
	struct tenant t = { 0 };
	struct tenant_status s, *sp = &s;
	struct state_event *ev = NULL;
	struct plan plan, *planp = &plan;
	struct usage_row use;
	struct err why = { 0 };
	size_t nev = 0;
	bool json;
	const char *name, *kubeconfig = NULL;
	char tls_dir[PATH_MAX], cert[200], use_line[sizeof(why.msg) + 16];
	int rc = parse(cli, "show", "Usage: outpost tenant show NAME [--json] [--kubeconfig PATH]\n",
		       true, argc, argv, &json, &name, &kubeconfig);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = -1;
	if (tenant_cmd_open(cli, "show", &st) < 0)
		goto out;
	if (state_begin_read(st, &cli->err) < 0 || state_tenant_get(st, name, &t, &cli->err) < 0)
		goto fail;
	rc = state_status_get(st, name, &s, &cli->err);
	if (rc == -ENOENT) {
		sp = NULL;
		err_clear(&cli->err);
	} else if (rc < 0) {
		goto fail;
	}
	rc = -1;
	if (state_event_list(st, name, SHOW_EVENTS, &ev, &nev, &cli->err) < 0)
		goto fail;
	tls_store_dir_for_state(cli->state_path, tls_dir, sizeof(tls_dir));
	tls_store_describe(tls_dir, t.name, t.host, time(NULL), cert, sizeof(cert));
	if (state_plan_get(st, t.plan, &plan, &cli->err) < 0) {
		planp = NULL;
		err_clear(&cli->err);
	}
	state_rollback(st);
	bool have_use = tenant_usage(kubeconfig, &t, planp, &use, &why) == 0;
	if (have_use)
		usage_describe(&use, use_line, sizeof(use_line));
	else
		snprintf(use_line, sizeof(use_line), "unavailable (%s)", why.msg);
	if (!json) {
		print_human(&t, sp, cert, use_line, ev, nev);
		rc = 0;
		goto out;
	}
	json_t *doc = tenant_doc(&t, sp);
	char ns[64];
	tenant_namespace(t.name, ns, sizeof(ns));
	if (doc) {
		json_object_set_new(doc, "namespace", json_string(ns));
		json_object_set_new(doc, "events", events_json(ev, nev));
		json_object_set_new(doc, "certificate", json_string(cert));
		json_object_set_new(doc, "usage", have_use ? usage_json(&use) : json_null());
		json_object_set_new(doc, "usage_unavailable", have_use ? json_null() : json_string(why.msg));
		if (planp)
			json_object_set_new(doc, "resources", json_pack(
				"{s:I, s:I, s:I, s:I, s:I, s:I}",
				"cpu_request_millicores", (json_int_t)plan.cpu_request_m,
				"cpu_limit_millicores", (json_int_t)plan.cpu_limit_m,
				"memory_request_mib", (json_int_t)plan.memory_request_mib,
				"memory_limit_mib", (json_int_t)plan.memory_limit_mib,
				"storage_gib", (json_int_t)plan.storage_gib, "pods", (json_int_t)plan.pods));
		else
			json_object_set_new(doc, "resources", json_null());
	}
	err_clear(&cli->err);
	rc = jsonout_print(doc, &cli->err);
	goto out;
fail:
	err_prefix(&cli->err, "tenant show");
out:
	free(ev);
	tenant_clear(&t);
	state_close(st);
	return rc;
}
