#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Reads the pipe to its end so the child never blocks on a full pipe, keeping
 * what fits. */
static int drain(int fd, char *out, size_t cap)
{
	size_t len = 0;
	char sink[4096];

	for (;;) {
		char *dst = len + 1 < cap ? out + len : sink;
		size_t room = len + 1 < cap ? cap - 1 - len : sizeof(sink);
		ssize_t n = read(fd, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		if (dst != sink)
			len += (size_t)n;
	}
	out[len] = '\0';
	return 0;
}

/* Waits for the child; an exit code other than 0 is an error unless
 * `status` takes it. */
static int wait_child(pid_t pid, char *const argv[], int *status, struct err *e)
{
	int ws;

	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return err_errno(e, errno, "wait for %s", argv[0]);
	if (!WIFEXITED(ws))
		return err_set(e, EXIT_RUNTIME, "%s killed by signal %d", argv[0], WTERMSIG(ws));
	if (status) {
		*status = WEXITSTATUS(ws);
		return 0;
	}
	if (WEXITSTATUS(ws) != 0)
		return err_set(e, EXIT_RUNTIME, "%s %s exited with status %d", argv[0],
			       argv[1] ? argv[1] : "", WEXITSTATUS(ws));
	return 0;
}

int run_argv_io(char *const argv[], const char *in_path, const char *out_path, struct err *e)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	posix_spawn_file_actions_init(&fa);
	if (in_path)
		posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, in_path, O_RDONLY, 0);
	if (out_path)
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_path,
						 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return err_errno(e, rc, "run %s", argv[0]);
	return wait_child(pid, argv, NULL, e);
}

int run_argv(char *const argv[], char *out, size_t cap, int *status, struct err *e)
{
	posix_spawn_file_actions_t fa;
	int p[2] = { -1, -1 }, rc, read_rc = 0;
	pid_t pid;

	if (out && (cap == 0 || pipe2(p, O_CLOEXEC) < 0))
		return err_errno(e, cap ? errno : EINVAL, "run %s", argv[0]);
	posix_spawn_file_actions_init(&fa);
	if (out) {
		posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
		posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	}
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (out) {
		close(p[1]);
		if (rc == 0)
			read_rc = drain(p[0], out, cap);
		close(p[0]);
	}
	if (rc != 0)
		return err_errno(e, rc, "run %s", argv[0]);
	rc = wait_child(pid, argv, status, e);
	if (rc == 0 && read_rc < 0)
		return err_errno(e, -read_rc, "read the output of %s", argv[0]);
	return rc;
}
