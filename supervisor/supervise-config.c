#include "supervise-config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "util.h"

#define SUPERVISE_CONFIG OUTPOST_SYSCONFDIR "/outpost/supervise.json"
#define K3S_DEFAULT "/usr/local/bin/k3s"
#define IMAGES_DIR_DEFAULT "/var/lib/rancher/k3s/agent/images"

const char supervise_usage[] =
	"Usage: outpost supervise [options]\n"
	"\n"
	"Runs k3s under supervision, brings the platform up in dependency order and\n"
	"reports to systemd (Type=notify). SIGTERM/SIGINT stop, SIGHUP reloads the\n"
	"configuration file. Every option can also be set in the file, under the\n"
	"option's name (\"k3s-arg\" takes an array; times are in milliseconds).\n"
	"\n"
	"Options:\n"
	"  --config PATH            configuration file (default " SUPERVISE_CONFIG ")\n"
	"  --k3s PATH               the k3s binary (default " K3S_DEFAULT ")\n"
	"  --k3s-arg ARG            an argument for k3s (repeat; default: server)\n"
	"  --kubeconfig PATH        kubeconfig k3s writes (default /etc/rancher/k3s/k3s.yaml)\n"
	"  --ready api|platform     when to send READY=1 (default platform)\n"
	"  --platform PATH          component list (default DATADIR/platform.json; 'none')\n"
	"  --images-dir DIR         k3s's image archives (default " IMAGES_DIR_DEFAULT ")\n"
	"  --metrics WHERE          serve Prometheus metrics (GET /metrics) on unix:PATH,\n"
	"                           127.0.0.1:PORT or [::1]:PORT; off (the default)\n"
	"  --backoff-base MS        first restart delay (default 1000)\n"
	"  --backoff-max MS         longest restart delay (default 60000)\n"
	"  --healthy-after MS       running this long resets the back-off (default 120000)\n"
	"  --crash-loop N           exits within the window that make a crash loop (default 5)\n"
	"  --crash-window MS        crash-loop window (default 300000)\n"
	"  --grace MS               SIGTERM to SIGKILL on shutdown (default 90000)\n"
	"  --poll MS                API/platform poll while bringing up (default 2000)\n"
	"  --poll-idle MS           ... once everything is ready: a new worker's health\n"
	"                           check (default 30000)\n"
	"  --component-timeout MS   a component not ready this long fails (default 600000)\n"
	"  --component-retry MS     a failed component is retried after (default 30000)\n"
	"  --worker-timeout MS      a worker silent this long is killed (default 180000)\n"
	"  --resync MS              a full reconcile pass at least this often: drift\n"
	"                           repair, leftovers, certificate renewal (default 600000)\n"
	"  --reconcile-check MS     how often a running worker looks for tenant changes\n"
	"                           besides watching the state file with inotify (default\n"
	"                           10000; when no worker runs, the next --poll-idle health\n"
	"                           check is the fallback; 0 turns the reconciler off)\n"
	"  --backup-nightly on|off  enable or disable " BACKUP_TIMER " at start and on\n"
	"                           SIGHUP (unset: left as systemctl set it)\n"
	"  --backup-keep N          the archives the nightly backup keeps (default 7;\n"
	"                           read by `outpost backup` from this file)\n"
	"  --help                   this text\n"
	"\n"
	"The supervising process runs k3s and starts 'outpost supervise --worker-fd N'\n"
	"for the work that talks to the Kubernetes API. --worker-fd, --full-in, --due-in\n"
	"and --retry-ms are for that worker only (what it takes over from the last one),\n"
	"and --outpost names the outpost program to the supervising process.\n";

enum {
	OPT_CONFIG = 256, OPT_K3S, OPT_K3S_ARG, OPT_KUBECONFIG, OPT_READY, OPT_PLATFORM,
	OPT_IMAGES, OPT_METRICS, OPT_BASE, OPT_MAX, OPT_HEALTHY, OPT_LOOP, OPT_WINDOW, OPT_GRACE, OPT_POLL,
	OPT_POLL_IDLE, OPT_COMP_TIMEOUT, OPT_COMP_RETRY, OPT_WORKER_TIMEOUT, OPT_RESYNC, OPT_REC_CHECK,
	OPT_BACKUP_NIGHTLY, OPT_BACKUP_KEEP, OPT_HELP,
	OPT_WORKER_FD, OPT_FULL_IN, OPT_DUE_IN, OPT_RETRY_MS, OPT_OUTPOST,
};

static const struct option opts[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "k3s", required_argument, NULL, OPT_K3S },
	{ "k3s-arg", required_argument, NULL, OPT_K3S_ARG },
	{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
	{ "ready", required_argument, NULL, OPT_READY },
	{ "platform", required_argument, NULL, OPT_PLATFORM },
	{ "images-dir", required_argument, NULL, OPT_IMAGES },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "backoff-base", required_argument, NULL, OPT_BASE },
	{ "backoff-max", required_argument, NULL, OPT_MAX },
	{ "healthy-after", required_argument, NULL, OPT_HEALTHY },
	{ "crash-loop", required_argument, NULL, OPT_LOOP },
	{ "crash-window", required_argument, NULL, OPT_WINDOW },
	{ "grace", required_argument, NULL, OPT_GRACE },
	{ "poll", required_argument, NULL, OPT_POLL },
	{ "poll-idle", required_argument, NULL, OPT_POLL_IDLE },
	{ "component-timeout", required_argument, NULL, OPT_COMP_TIMEOUT },
	{ "component-retry", required_argument, NULL, OPT_COMP_RETRY },
	{ "worker-timeout", required_argument, NULL, OPT_WORKER_TIMEOUT },
	{ "resync", required_argument, NULL, OPT_RESYNC },
	{ "reconcile-check", required_argument, NULL, OPT_REC_CHECK },
	{ "backup-nightly", required_argument, NULL, OPT_BACKUP_NIGHTLY },
	{ "backup-keep", required_argument, NULL, OPT_BACKUP_KEEP },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "worker-fd", required_argument, NULL, OPT_WORKER_FD },
	{ "full-in", required_argument, NULL, OPT_FULL_IN },
	{ "due-in", required_argument, NULL, OPT_DUE_IN },
	{ "retry-ms", required_argument, NULL, OPT_RETRY_MS },
	{ "outpost", required_argument, NULL, OPT_OUTPOST },
	{ NULL, 0, NULL, 0 },
};

static int replace(char **slot, const char *val, struct err *e)
{
	char *c = strdup(val);

	if (!c)
		return err_errno(e, ENOMEM, "configuration");
	free(*slot);
	*slot = c;
	return 0;
}

static int add_arg(struct supervise_config *c, const char *val, bool reset, struct err *e)
{
	size_t n = 0;
	char **a;

	if (reset) {
		for (char **p = c->k3s_args; p && *p; p++)
			free(*p);
		free(c->k3s_args);
		c->k3s_args = NULL;
	}
	while (c->k3s_args && c->k3s_args[n])
		n++;
	if (!(a = realloc(c->k3s_args, (n + 2) * sizeof(*a))))
		return err_errno(e, ENOMEM, "configuration");
	c->k3s_args = a;
	if (!(a[n] = strdup(val)))
		return err_errno(e, ENOMEM, "configuration");
	a[n + 1] = NULL;
	return 0;
}

static int parse_ms(const char *name, const char *val, uint64_t *out, struct err *e)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(val, &end, 10);
	if (errno || end == val || *end || val[0] == '-' || v > UINT64_MAX / 1000)
		return err_set(e, EXIT_USAGE, "--%s: \"%s\" is not a number of milliseconds", name, val);
	*out = (uint64_t)v * 1000;
	return 0;
}

/* One option, from the command line or the file. `first_arg` tells whether a
 * k3s-arg replaces the inherited list (the first one from a source) or extends it. */
static int set_opt(struct supervise_config *c, int id, const char *name, const char *val,
		   bool *first_arg, struct err *e)
{
	uint64_t ms = 0, *slot = NULL;

	switch (id) {
	case OPT_K3S: return replace(&c->k3s, val, e);
	case OPT_KUBECONFIG: return replace(&c->kubeconfig, val, e);
	case OPT_IMAGES: return replace(&c->images_dir, val, e);
	case OPT_METRICS: return metrics_listen_parse(val, &c->metrics, e);
	case OPT_BACKUP_NIGHTLY: return backup_schedule_parse_nightly("--backup-nightly", val, &c->backup_nightly, e);
	case OPT_BACKUP_KEEP: return backup_schedule_parse_keep("--backup-keep", val, &c->backup_keep, e);
	case OPT_K3S_ARG: {
		int r = add_arg(c, val, *first_arg, e);
		*first_arg = false;
		return r;
	}
	case OPT_PLATFORM:
		if (!strcmp(val, "none")) {
			free(c->platform_file);
			c->platform_file = NULL;
			return 0;
		}
		return replace(&c->platform_file, val, e);
	case OPT_READY:
		if (!strcmp(val, "api"))
			c->ready = READY_API;
		else if (!strcmp(val, "platform"))
			c->ready = READY_PLATFORM;
		else
			return err_set(e, EXIT_USAGE, "--ready: \"%s\" is not api or platform", val);
		return 0;
	case OPT_LOOP: {
		char *end;
		unsigned long v = strtoul(val, &end, 10);
		if (end == val || *end || v < 2 || v > SV_LOOP_MAX)
			return err_set(e, EXIT_USAGE, "--crash-loop: \"%s\" is not a count from 2 to %d",
				       val, SV_LOOP_MAX);
		c->sv.loop_exits = (unsigned)v;
		return 0;
	}
	case OPT_BASE: slot = &c->sv.backoff_base; break;
	case OPT_MAX: slot = &c->sv.backoff_max; break;
	case OPT_HEALTHY: slot = &c->sv.healthy_after; break;
	case OPT_WINDOW: slot = &c->sv.loop_window; break;
	case OPT_GRACE: slot = &c->sv.grace; break;
	case OPT_POLL: slot = &c->poll_busy; break;
	case OPT_POLL_IDLE: slot = &c->poll_idle; break;
	case OPT_COMP_TIMEOUT: slot = &c->component_timeout; break;
	case OPT_COMP_RETRY: slot = &c->component_retry; break;
	case OPT_WORKER_TIMEOUT: slot = &c->worker_timeout; break;
	case OPT_RESYNC: slot = &c->resync; break;
	case OPT_REC_CHECK: slot = &c->reconcile_check; break;
	default:
		return err_set(e, EXIT_USAGE, "\"%s\" is not a supervise option", name);
	}
	if (parse_ms(name, val, &ms, e) < 0)
		return -1;
	if (ms == 0 && slot != &c->sv.grace && slot != &c->reconcile_check)
		return err_set(e, EXIT_USAGE, "--%s must be positive", name);
	*slot = ms;
	if (slot == &c->reconcile_check)
		c->reconcile = ms > 0;
	return 0;
}

static int load_file(struct supervise_config *c, const char *path, bool must_exist,
		     struct err *e)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	bool first_arg = true;
	int rc = 0;

	if (access(path, F_OK) < 0 && errno == ENOENT && !must_exist)
		return 0;
	if (!(root = json_load_file(path, 0, &jerr)))
		return err_set(e, EXIT_USAGE, "%s: line %d column %d: %s", path, jerr.line,
			       jerr.column, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return err_set(e, EXIT_USAGE, "%s: not a JSON object", path);
	}
	json_object_foreach(root, key, v) {
		const struct option *o = opts;
		char num[32];
		const char *val = json_string_value(v);
		size_t i;
		json_t *item;

		while (o->name && strcmp(o->name, key))
			o++;
		if (!o->name || o->val == OPT_CONFIG || o->val >= OPT_HELP) {
			rc = err_set(e, EXIT_USAGE, "%s: unknown key \"%s\"", path, key);
			break;
		}
		/* Times and counts are JSON integers, everything else strings. */
		if ((o->val >= OPT_BASE && o->val <= OPT_REC_CHECK) || o->val == OPT_BACKUP_KEEP) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			val = json_is_integer(v) ? num : NULL;
		}
		if (o->val == OPT_K3S_ARG && json_is_array(v)) {
			json_array_foreach(v, i, item) {
				if (!json_is_string(item)) {
					rc = err_set(e, EXIT_USAGE, "%s: \"k3s-arg\" holds a non-string", path);
					break;
				}
				if ((rc = set_opt(c, o->val, key, json_string_value(item), &first_arg, e)) < 0)
					break;
			}
		} else if (!val) {
			rc = err_set(e, EXIT_USAGE, "%s: \"%s\" has the wrong type", path, key);
		} else {
			rc = set_opt(c, o->val, key, val, &first_arg, e);
		}
		if (rc < 0)
			break;
	}
	json_decref(root);
	if (rc < 0 && strncmp(e->msg, path, strlen(path)))
		err_prefix(e, "%s", path);
	return rc < 0 ? -1 : 0;
}

static char *sibling(const char *path, const char *name)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	char *r = dir ? util_path_join(dir[0] ? dir : "/", name) : NULL;

	free(dir);
	return r;
}


/* The worker's options: given by the supervising process, read once. */
static int set_internal(struct supervise_args *a, int opt, const char *val, struct err *e)
{
	uint64_t usec;
	char *end;

	if (opt == OPT_OUTPOST) {
		if (val[0] != '/')
			return err_set(e, EXIT_USAGE, "--outpost: \"%s\" is not an absolute path", val);
		a->outpost = val;
		return 0;
	}
	if (opt == OPT_FULL_IN || opt == OPT_DUE_IN || opt == OPT_RETRY_MS) {
		uint64_t *slot = opt == OPT_FULL_IN ? &a->handover.full_in
				 : opt == OPT_DUE_IN ? &a->handover.due_in : &a->handover.retry;
		/* A deadline may be unset; the retry delay is a number. */
		if (opt != OPT_RETRY_MS && !strcmp(val, "none")) {
			*slot = WORKER_TIMING_NONE;
			return 0;
		}
		if (parse_ms(opt == OPT_FULL_IN ? "full-in" : opt == OPT_DUE_IN ? "due-in" : "retry-ms",
			     val, &usec, e) < 0)
			return -1;
		*slot = usec;
		return 0;
	}
	errno = 0;
	a->worker_fd = (int)strtol(val, &end, 10);
	if (errno || end == val || *end || a->worker_fd < 3)
		return err_set(e, EXIT_USAGE, "--worker-fd: \"%s\" is not a descriptor above 2", val);
	return 0;
}

int supervise_config_build(struct supervise_args *a, struct supervise_config *c, struct err *e)
{
	const char *config = SUPERVISE_CONFIG;
	bool explicit_config = false, first_arg = true;
	int opt;

	memset(c, 0, sizeof(*c));
	sv_params_default(&c->sv);
	c->ready = READY_PLATFORM;
	c->poll_busy = 2 * USEC_PER_SEC;
	c->poll_idle = 30 * USEC_PER_SEC;
	c->component_timeout = 600 * USEC_PER_SEC;
	c->component_retry = 30 * USEC_PER_SEC;
	c->extend = 180 * USEC_PER_SEC;
	c->reconcile = true;
	c->reconcile_check = 10 * USEC_PER_SEC;
	c->worker_timeout = 180 * USEC_PER_SEC;
	c->resync = 600 * USEC_PER_SEC;
	c->backup_nightly = NIGHTLY_UNSET;
	c->backup_keep = BACKUP_KEEP_DEFAULT;
	if (replace(&c->k3s, K3S_DEFAULT, e) < 0 || add_arg(c, "server", true, e) < 0 ||
	    replace(&c->kubeconfig, "/etc/rancher/k3s/k3s.yaml", e) < 0 ||
	    replace(&c->images_dir, IMAGES_DIR_DEFAULT, e) < 0 ||
	    replace(&c->state_path, a->cli->state_path, e) < 0 ||
	    replace(&c->datadir, a->cli->datadir, e) < 0 ||
	    !(c->platform_file = util_path_join(a->cli->datadir, "platform.json")) ||
	    !(c->images_stamp = sibling(a->cli->state_path, "images-imported")))
		goto fail;

	/* First pass: only --config (and --help), so the file loads before the
	 * command line overrides it. */
	optind = 0;
	while ((opt = getopt_long(a->argc, a->argv, "", opts, NULL)) != -1) {
		if (opt == OPT_CONFIG) {
			config = optarg;
			explicit_config = true;
		} else if (opt >= OPT_WORKER_FD) {
			if (set_internal(a, opt, optarg, e) < 0)
				goto fail;
		} else if (opt == OPT_HELP) {
			a->help = true;
			return 0;
		} else if (opt == '?' || opt == ':') {
			cli_bad_option(a->cli, "supervise", a->argv, optopt);
			*e = a->cli->err;
			goto fail;
		}
	}
	if (optind < a->argc) {
		cli_usage(a->cli, "supervise", "unexpected argument '%s'", a->argv[optind]);
		*e = a->cli->err;
		goto fail;
	}
	if (load_file(c, config, explicit_config, e) < 0)
		goto fail;
	optind = 0;
	while ((opt = getopt_long(a->argc, a->argv, "", opts, NULL)) != -1) {
		const struct option *o = opts;
		if (opt == OPT_CONFIG || opt >= OPT_WORKER_FD)
			continue;
		while (o->val != opt)
			o++;
		if (set_opt(c, opt, o->name, optarg, &first_arg, e) < 0)
			goto fail;
	}
	if (sv_params_check(&c->sv, e) < 0)
		goto fail;
	/* A waiting worker reports after every poll, an idle one at least every
	 * --poll-idle (and --reconcile-check): a shorter timeout kills it for
	 * waiting. */
	if (c->worker_timeout <= c->poll_idle || c->worker_timeout <= c->reconcile_check) {
		err_set(e, EXIT_USAGE, "--worker-timeout must be longer than --poll-idle and --reconcile-check");
		goto fail;
	}
	return 0;
fail:
	if (!e->msg[0])
		err_errno(e, ENOMEM, "configuration");
	if (e->exit_code == 0)
		e->exit_code = EXIT_USAGE;
	supervise_config_free(c);
	return -1;
}

void supervise_config_free(struct supervise_config *c)
{
	if (!c)
		return;
	free(c->k3s);
	for (char **a = c->k3s_args; a && *a; a++)
		free(*a);
	free(c->k3s_args);
	free(c->kubeconfig);
	free(c->images_dir);
	free(c->images_stamp);
	free(c->platform_file);
	free(c->state_path);
	free(c->datadir);
	memset(c, 0, sizeof(*c));
}

int supervise_config_reload(supervise_reload_fn reload, void *ctx, struct supervise_config *cur,
			    struct err *e)
{
	struct supervise_config c = { 0 };

	if (!reload)
		return err_set(e, EXIT_RUNTIME, "not supported");
	if (reload(ctx, &c, e) < 0) {
		supervise_config_free(&c);
		return -1;
	}
	/* Read once per process: the state file is open and watched, a
	 * worker's components are being brought up, and the metrics endpoint
	 * listens. */
	free(c.state_path);
	c.state_path = cur->state_path;
	cur->state_path = NULL;
	free(c.platform_file);
	c.platform_file = cur->platform_file;
	cur->platform_file = NULL;
	c.metrics = cur->metrics; /* the endpoint listens from the start */
	supervise_config_free(cur);
	*cur = c;
	return 0;
}
