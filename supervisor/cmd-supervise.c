/* outpost supervise: the long-running daemon. This program is the worker
 * (--worker-fd); the supervising process is the smaller outpost-supervise
 * program, which this command becomes (see supervise-main.c). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cmd.h"
#include "probe-kube.h"
#include "supervise-config.h"
#include "util.h"
#include "worker.h"

#define SUPERVISOR_PROGRAM "outpost-supervise"

/* SIGHUP in the worker: the configuration again, and the probe follows a new kubeconfig. */
static int reload_config(void *ctx, struct supervise_config *c, struct err *e)
{
	struct supervise_args *a = ctx;

	if (supervise_config_build(a, c, e) < 0)
		return -1;
	if (probe_kube_retarget(a->probe, c->kubeconfig, e) < 0) {
		supervise_config_free(c);
		return -1;
	}
	return 0;
}

static int run_worker(struct supervise_args *a, struct supervise_config *c, struct err *e)
{
	int rc;

	if (probe_kube_init(a->probe, c->kubeconfig, e) < 0) {
		supervise_config_free(c);
		return -1;
	}
	rc = worker_run(c, a->probe, reload_config, a, a->worker_fd, &a->handover, e);
	probe_kube_fini(a->probe);
	return rc;
}

/* The supervising program: beside this one in a build tree (or wherever the
 * two were installed side by side), else in the package's libexec directory. */
static char *supervisor_program(const char *self, struct err *e)
{
	const char *slash = strrchr(self, '/');
	char *path;
	struct stat st;

	if (asprintf(&path, "%.*s/" SUPERVISOR_PROGRAM, (int)(slash - self), self) < 0)
		return err_errno(e, ENOMEM, "supervise"), NULL;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		return path;
	free(path);
	if (!(path = strdup(OUTPOST_PKGLIBEXECDIR "/" SUPERVISOR_PROGRAM)))
		return err_errno(e, ENOMEM, "supervise"), NULL;
	return path;
}

/* The daemon keeps its status rows and reads the tenants there: a state file
 * it cannot write (a read-only mount, another owner) is refused before k3s
 * starts, rather than running k3s with nobody reporting on it. Where the file
 * does not exist yet, its nearest existing directory must take it. */
static int check_state_writable(struct cli *cli)
{
	char dir[PATH_MAX];
	const char *path = cli->state_path;
	char *slash;

	if (access(path, F_OK) == 0) {
		if (access(path, W_OK) < 0)
			return err_errno(&cli->err, errno, "supervise: state %s: not writable", path);
	} else if (errno != ENOENT) {
		return err_errno(&cli->err, errno, "supervise: state %s", path);
	}
	snprintf(dir, sizeof(dir), "%s", path);
	while ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		if (access(dir, F_OK) == 0)
			break;
	}
	if (slash == dir)
		snprintf(dir, sizeof(dir), "/");
	else if (!slash)
		snprintf(dir, sizeof(dir), ".");
	if (access(dir, W_OK | X_OK) < 0)
		return err_errno(&cli->err, errno, "supervise: state %s: directory %s not writable", path,
				 dir);
	return 0;
}

/* Becomes the supervising program, same pid (systemd's main process), with
 * our command line, which starts the worker again (`ps` shows it as
 * outpost's), plus --outpost naming this program for it. */
static int exec_supervisor(struct cli *cli, int argc, char **argv)
{
	char self[PATH_MAX], **args, *prog, *outpost;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0 || (size_t)n >= sizeof(self) - 1)
		return err_errno(&cli->err, n < 0 ? errno : ENAMETOOLONG, "supervise: /proc/self/exe");
	self[n] = '\0';
	if (!(prog = supervisor_program(self, &cli->err)))
		return -1;
	args = calloc((size_t)argc + 5, sizeof(*args));
	if (!args || asprintf(&outpost, "--outpost=%s", self) < 0) {
		free(args);
		free(prog);
		return err_errno(&cli->err, ENOMEM, "supervise");
	}
	args[0] = self;
	args[1] = "--state";
	args[2] = (char *)cli->state_path;
	memcpy(args + 3, argv, (size_t)argc * sizeof(*args));
	args[argc + 3] = outpost;
	execv(prog, args);
	err_errno(&cli->err, errno, "supervise: %s", prog);
	free(outpost);
	free(args);
	free(prog);
	return -1;
}

int cmd_supervise(struct cli *cli, int argc, char **argv)
{
	struct probe probe;
	struct supervise_args a = { .cli = cli, .argc = argc, .argv = argv, .probe = &probe,
				    .worker_fd = -1, .handover = WORKER_TIMING_FRESH };
	struct supervise_config c;

	/* Read here too, so a bad option or file is reported before the exec. */
	if (supervise_config_build(&a, &c, &cli->err) < 0)
		return -1;
	if (a.help) {
		supervise_config_free(&c);
		fputs(supervise_usage, stdout);
		return 0;
	}
	if (a.worker_fd >= 0)
		return run_worker(&a, &c, &cli->err);
	supervise_config_free(&c);
	if (check_state_writable(cli) < 0)
		return -1;
	return exec_supervisor(cli, argc, argv);
}
