/* `outpost tenant ...`: the commands that change one tenant. Listing, showing,
 * import and export are in cmd-tenant-show.c and cmd-tenant-io.c. */
#include "cmd-tenant.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "app-catalog.h"
#include "cmd.h"
#include "util.h"

static const struct cli_command tenant_commands[] = {
	{ "add", cmd_tenant_add, "add a tenant" },
	{ "list", cmd_tenant_list, "list the tenants" },
	{ "show", cmd_tenant_show, "show one tenant, its status and events" },
	{ "set", cmd_tenant_set, "change a tenant's host, plan, app or values" },
	{ "rm", cmd_tenant_rm, "remove a tenant (the daemon deletes its namespace)" },
	{ "suspend", cmd_tenant_suspend, "scale a tenant to zero, keeping its data" },
	{ "resume", cmd_tenant_resume, "bring a suspended tenant back" },
	{ "sync", cmd_tenant_sync, "reconcile a tenant now (retry a Failed one)" },
	{ "import", cmd_tenant_import, "add tenants from a JSON-lines file, all or nothing" },
	{ "export", cmd_tenant_export, "print every tenant as JSON lines (import's format)" },
};

int cmd_tenant(struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli, "tenant", tenant_commands, ARRAY_SIZE(tenant_commands), argc - 1,
			    argv + 1);
}

int tenant_cmd_open(struct cli *cli, const char *cmd, struct state **st)
{
	if (state_open(cli->state_path, STATE_OPEN_EXISTING, st, &cli->err) < 0)
		return err_prefix(&cli->err, "tenant %s", cmd);
	return 0;
}

int tenant_cmd_open_write(struct cli *cli, const char *cmd, struct state **st,
			  char fresh[PATH_MAX])
{
	const char *path = cli->state_path;

	fresh[0] = '\0';
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		if (snprintf(fresh, PATH_MAX, "%s.new.%ld", path, (long)getpid()) >= PATH_MAX) {
			fresh[0] = '\0';
			return err_set(&cli->err, EXIT_RUNTIME, "tenant %s: state %s: path too long",
				       cmd, path);
		}
		path = fresh;
	}
	if (state_open(path, STATE_OPEN_CREATE, st, &cli->err) < 0) {
		tenant_cmd_finish(cli, cmd, NULL, fresh, false);
		return err_prefix(&cli->err, "tenant %s", cmd);
	}
	return 0;
}

static void remove_fresh(const char *fresh)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char p[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++)
		if (snprintf(p, sizeof(p), "%s%s", fresh, suffixes[i]) < (int)sizeof(p))
			unlink(p);
}

int tenant_cmd_finish(struct cli *cli, const char *cmd, struct state *st, char fresh[PATH_MAX],
		      bool committed)
{
	int rc = 0;

	/* Closing checkpoints the WAL into the file before it is linked. */
	state_close(st);
	if (!fresh[0])
		return 0;
	if (committed && link(fresh, cli->state_path) < 0) {
		rc = errno == EEXIST ? -EEXIST : -1;
		err_errno(&cli->err, errno, "tenant %s: link %s", cmd, cli->state_path);
	}
	else if (committed && util_fsync_parent(cli->state_path, &cli->err) < 0)
		rc = err_prefix(&cli->err, "tenant %s", cmd);
	remove_fresh(fresh);
	fresh[0] = '\0';
	return rc;
}

int tenant_cmd_retry(struct cli *cli, cli_fn once, int argc, char **argv)
{
	int rc = once(cli, argc, argv);

	/* The store now exists, so the second run opens it and cannot race again. */
	if (rc == -EEXIST) {
		err_clear(&cli->err);
		rc = once(cli, argc, argv);
	}
	return rc < 0 ? -1 : 0;
}

int tenant_cmd_admission(struct cli *cli, const char *cmd, struct admission *a)
{
	if (admission_load(cli->datadir, cli->profile, cli->state_path, a, &cli->err) < 0)
		return err_prefix(&cli->err, "tenant %s", cmd);
	return 0;
}

/* The options add and set share. */
struct tenant_opts {
	const char *name, *host, *plan, *app;
	char **sets;
	size_t nsets;
};

static const char add_usage[] =
	"Usage: outpost tenant add NAME --host HOST [--plan PLAN] [--app CHART[@VERSION]]\n"
	"                          [--set KEY=VALUE]...\n"
	"Adds a tenant (plan 'small' unless given). Refused (exit 3, nothing written) when a\n"
	"field breaks the rules or the tenant does not fit the box (see 'outpost capacity').\n";
static const char set_usage[] =
	"Usage: outpost tenant set NAME [--host HOST] [--plan PLAN] [--app CHART[@VERSION]]\n"
	"                          [--set KEY=VALUE]...\n"
	"Changes the given fields; --set adds or replaces one value. Admitted like an add.\n";

static int parse_opts(struct cli *cli, const char *cmd, const char *usage, int argc, char **argv,
		      struct tenant_opts *o)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' }, { "plan", required_argument, NULL, 'p' },
		{ "app", required_argument, NULL, 'a' },  { "set", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },       { NULL, 0, NULL, 0 },
	};
	char what[32];
	int c;

	snprintf(what, sizeof(what), "tenant %s", cmd);
	memset(o, 0, sizeof(*o));
	o->sets = calloc((size_t)argc, sizeof(*o->sets));
	if (!o->sets)
		return err_errno(&cli->err, ENOMEM, "%s", what);
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'H': o->host = optarg; break;
		case 'p': o->plan = optarg; break;
		case 'a': o->app = optarg; break;
		case 's':
			if (!strchr(optarg, '='))
				return cli_usage(cli, what, "--set '%.64s': expected KEY=VALUE", optarg);
			o->sets[o->nsets++] = optarg;
			break;
		case 'h': fputs(usage, stdout); return 1;
		default: return cli_bad_option(cli, what, argv, optopt);
		}
	}
	if (optind != argc - 1)
		return cli_usage(cli, what, optind >= argc ? "missing tenant NAME"
							   : "expected one tenant NAME");
	o->name = argv[optind];
	return 0;
}

/* Applies the options to `t` (a new tenant or the stored one). */
static int apply_opts(const struct tenant_opts *o, struct tenant *t, struct err *e)
{
	if ((o->host && tenant_set_str(&t->host, o->host) < 0) ||
	    (o->plan && tenant_set_str(&t->plan, o->plan) < 0))
		return err_errno(e, ENOMEM, "options");
	if (o->app && tenant_parse_app(t, o->app, e) < 0)
		return -1;
	for (size_t i = 0; i < o->nsets; i++) {
		char *eq = strchr(o->sets[i], '=');
		*eq = '\0';
		int rc = tenant_check_set_key(o->sets[i], e);
		if (rc == 0 && tenant_value_put(t, o->sets[i], eq + 1) < 0)
			rc = err_errno(e, ENOMEM, "options");
		*eq = '=';
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Plan, host uniqueness and capacity: the checks that need the store. Runs in
 * the write transaction, after the change for capacity. */
static int check_against_store(struct state *st, const struct tenant *t, struct err *e)
{
	struct plan *plans;
	size_t nplans;
	char *owner;
	int rc;

	if (state_plan_list(st, &plans, &nplans, e) < 0)
		return -1;
	rc = tenant_check_plan(t->plan, plans, nplans, e);
	free(plans);
	if (rc < 0 || state_tenant_host_owner(st, t->host, t->name, &owner, e) < 0)
		return -1;
	if (owner) {
		err_set(e, EXIT_REFUSED, "host '%s': already used by tenant '%s'", t->host, owner);
		free(owner);
		return -1;
	}
	return 0;
}

/* One write: store checks, the change, admission (unless `adm` is NULL), an
 * event, commit. */
static int write_tenant(struct cli *cli, const char *cmd, struct state *st, struct tenant *t,
			bool insert, const struct admission *adm, const char *reason)
{
	struct err *e = &cli->err;

	if (check_against_store(st, t, e) < 0 ||
	    (insert ? state_tenant_insert(st, t, e) : state_tenant_update(st, t, e)) < 0 ||
	    (adm && admission_check(st, adm, e) < 0) ||
	    state_event_append(st, t->name, false, reason, e, "tenant %s by the CLI (generation %lld)",
			       cmd, (long long)t->generation) < 0 ||
	    state_commit(st, e) < 0) {
		state_rollback(st);
		return err_prefix(e, "tenant %s", cmd);
	}
	return 0;
}

static int add_once(struct cli *cli, int argc, char **argv)
{
	struct tenant_opts o;
	struct tenant t = { 0 };
	struct admission adm;
	struct state *st = NULL;
	char fresh[PATH_MAX] = "";
	bool committed = false;
	int finished, rc = parse_opts(cli, "add", add_usage, argc, argv, &o);

	if (rc == 0 && !o.host)
		rc = cli_usage(cli, "tenant add", "--host is required");
	if (rc != 0)
		goto out;
	rc = -1;
	if (tenant_set_str(&t.name, o.name) < 0 || tenant_set_str(&t.plan, TENANT_DEFAULT_PLAN) < 0) {
		err_errno(&cli->err, ENOMEM, "tenant add");
		goto out;
	}
	/* Everything that needs no store is refused before the file is touched. */
	if (apply_opts(&o, &t, &cli->err) < 0 || tenant_validate(&t, NULL, 0, &cli->err) < 0 ||
	    (o.app && app_catalog_require(cli->datadir, t.app_chart, &cli->err) < 0)) {
		err_prefix(&cli->err, "tenant add");
		goto out;
	}
	if (tenant_cmd_admission(cli, "add", &adm) < 0 ||
	    tenant_cmd_open_write(cli, "add", &st, fresh) < 0)
		goto out;
	if (state_begin(st, &cli->err) < 0) {
		err_prefix(&cli->err, "tenant add");
		goto out;
	}
	committed = write_tenant(cli, "add", st, &t, true, &adm, "Created") == 0;
out:
	finished = tenant_cmd_finish(cli, "add", st, fresh, committed);
	if (finished == 0 && committed) {
		printf("tenant %s added (host %s, plan %s)\n", t.name, t.host, t.plan);
		rc = 0;
	}
	tenant_clear(&t);
	free(o.sets);
	return finished == -EEXIST ? -EEXIST : rc < 0 ? -1 : 0;
}

int cmd_tenant_add(struct cli *cli, int argc, char **argv)
{
	return tenant_cmd_retry(cli, add_once, argc, argv);
}

/* Opens the store and loads NAME inside a write transaction. */
static int load_for_write(struct cli *cli, const char *cmd, const char *name, struct state **st,
			  struct tenant *t)
{
	if (tenant_cmd_open(cli, cmd, st) < 0)
		return -1;
	if (state_begin(*st, &cli->err) < 0 || state_tenant_get(*st, name, t, &cli->err) < 0)
		return err_prefix(&cli->err, "tenant %s", cmd);
	return 0;
}

int cmd_tenant_set(struct cli *cli, int argc, char **argv)
{
	struct tenant_opts o;
	struct tenant t = { 0 };
	struct admission adm;
	struct state *st = NULL;
	json_t *before = NULL, *after = NULL;
	int rc = parse_opts(cli, "set", set_usage, argc, argv, &o);

	if (rc == 0 && !o.host && !o.plan && !o.app && o.nsets == 0)
		rc = cli_usage(cli, "tenant set", "nothing to change (give --host, --plan, --app or --set)");
	if (rc != 0)
		goto out;
	rc = -1;
	if (tenant_cmd_admission(cli, "set", &adm) < 0 ||
	    load_for_write(cli, "set", o.name, &st, &t) < 0)
		goto out;
	before = tenant_to_json(&t);
	if (apply_opts(&o, &t, &cli->err) < 0 || tenant_validate(&t, NULL, 0, &cli->err) < 0 ||
	    (o.app && app_catalog_require(cli->datadir, t.app_chart, &cli->err) < 0)) {
		err_prefix(&cli->err, "tenant set");
		goto out;
	}
	/* The same desired state is not a new generation: nothing to reconcile. */
	if (before && (after = tenant_to_json(&t)) && json_equal(before, after)) {
		state_rollback(st);
		printf("tenant %s unchanged (generation %lld)\n", t.name, (long long)t.generation);
		rc = 0;
		goto out;
	}
	if (write_tenant(cli, "set", st, &t, false, &adm, "Updated") < 0)
		goto out;
	printf("tenant %s updated (generation %lld)\n", t.name, (long long)t.generation);
	rc = 0;
out:
	json_decref(before);
	json_decref(after);
	state_close(st);
	tenant_clear(&t);
	free(o.sets);
	return rc < 0 ? -1 : 0;
}

/* Parses the one NAME of rm/suspend/resume; 1 when --help was printed. */
static int parse_name(struct cli *cli, const char *cmd, const char *usage, int argc, char **argv,
		      const char **name)
{
	char what[32];
	int rc;

	snprintf(what, sizeof(what), "tenant %s", cmd);
	rc = cli_parse_help_only(cli, what, usage, argc, argv);
	if (rc != 0)
		return rc;
	if (optind != argc - 1)
		return cli_usage(cli, what, optind >= argc ? "missing tenant NAME"
							   : "expected one tenant NAME");
	/* Looked up as given, not checked: a row another tool wrote with a bad
	 * name must still be removable. */
	*name = argv[optind];
	return 0;
}

int cmd_tenant_rm(struct cli *cli, int argc, char **argv)
{
	struct state *st = NULL;
	const char *name;
	int rc = parse_name(cli, "rm", "Usage: outpost tenant rm NAME\n"
			    "Removes the tenant's desired state; the daemon deletes its namespace.\n",
			    argc, argv, &name);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = -1;
	if (tenant_cmd_open(cli, "rm", &st) < 0)
		goto out;
	if (state_begin(st, &cli->err) < 0 || state_tenant_delete(st, name, &cli->err) < 0 ||
	    state_event_append(st, name, false, "Deleted", &cli->err, "tenant rm by the CLI") < 0 ||
	    state_commit(st, &cli->err) < 0) {
		err_prefix(&cli->err, "tenant rm");
		goto out;
	}
	printf("tenant %s removed\n", name);
	rc = 0;
out:
	state_close(st);
	return rc;
}

/* Any commit moves the store's data_version, which wakes the daemon's
 * reconciler at once, past its back-off; the pass then looks at every tenant
 * that is not Ready. The event says who asked. */
int cmd_tenant_sync(struct cli *cli, int argc, char **argv)
{
	struct tenant t = { 0 };
	struct state *st = NULL;
	const char *name;
	int rc = parse_name(cli, "sync", "Usage: outpost tenant sync NAME\n"
			    "Asks the daemon to reconcile now: a Failed tenant is retried at once\n"
			    "instead of after its back-off.\n",
			    argc, argv, &name);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = -1;
	if (tenant_cmd_open(cli, "sync", &st) < 0)
		goto out;
	if (state_begin(st, &cli->err) < 0 || state_tenant_get(st, name, &t, &cli->err) < 0 ||
	    state_event_append(st, name, false, "SyncRequested", &cli->err,
			       "tenant sync by the CLI (generation %lld)", (long long)t.generation) < 0 ||
	    state_commit(st, &cli->err) < 0) {
		err_prefix(&cli->err, "tenant sync");
		goto out;
	}
	printf("tenant %s: the daemon reconciles it now\n", name);
	rc = 0;
out:
	state_close(st);
	tenant_clear(&t);
	return rc;
}

static int suspend_resume(struct cli *cli, const char *cmd, bool suspend, int argc, char **argv)
{
	struct tenant t = { 0 };
	struct admission adm;
	struct state *st = NULL;
	const char *name;
	int rc = parse_name(cli, cmd, suspend
			    ? "Usage: outpost tenant suspend NAME\nScales the tenant to zero; its data stays.\n"
			    : "Usage: outpost tenant resume NAME\nBrings a suspended tenant back "
			      "(admitted like an add).\n", argc, argv, &name);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = -1;
	/* Suspending frees resources and needs no admission. */
	if ((!suspend && tenant_cmd_admission(cli, cmd, &adm) < 0) ||
	    load_for_write(cli, cmd, name, &st, &t) < 0)
		goto out;
	if (t.suspended == suspend) {
		printf("tenant %s is already %s\n", name, suspend ? "suspended" : "running");
		rc = 0;
		goto out;
	}
	t.suspended = suspend;
	if (write_tenant(cli, cmd, st, &t, false, suspend ? NULL : &adm,
			 suspend ? "Suspended" : "Resumed") < 0)
		goto out;
	printf("tenant %s %s\n", name, suspend ? "suspended" : "resumed");
	rc = 0;
out:
	state_close(st);
	tenant_clear(&t);
	return rc;
}

int cmd_tenant_suspend(struct cli *cli, int argc, char **argv)
{
	return suspend_resume(cli, "suspend", true, argc, argv);
}

int cmd_tenant_resume(struct cli *cli, int argc, char **argv)
{
	return suspend_resume(cli, "resume", false, argc, argv);
}
