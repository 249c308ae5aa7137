/* See pod-access.h. */
#include "pod-access.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "run.h"

extern char **environ;

#define FORWARD_WAIT_US (60 * 1000000LL)

int pod_split(const char *spec, char ns[64], char pod[254])
{
	const char *slash = strchr(spec, '/');
	size_t nl = slash ? (size_t)(slash - spec) : 0;

	if (!slash || nl == 0 || nl > 63 || !slash[1] || strlen(slash + 1) > 253 || strchr(slash + 1, '/'))
		return -1;
	for (const char *p = spec; *p; p++)
		if (p != slash && !((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
				    (*p == '.' && p > slash)))
			return -1;
	snprintf(ns, 64, "%.*s", (int)nl, spec);
	snprintf(pod, 254, "%s", slash + 1);
	return 0;
}

int pod_exec_argv(const struct pod_access *a, const char *ns_pod, bool with_stdin, char *const *cmd,
		  char ns[64], char pod[254], char **out, size_t cap, struct err *e)
{
	size_t n = 0;

	if (pod_split(ns_pod, ns, pod) < 0)
		return err_set(e, EXIT_USAGE, "'%s': not NAMESPACE/POD", ns_pod);
	out[n++] = (char *)a->k3s;
	out[n++] = "kubectl";
	out[n++] = "--kubeconfig";
	out[n++] = (char *)a->kubeconfig;
	out[n++] = "exec";
	if (with_stdin)
		out[n++] = "-i";
	out[n++] = "-n";
	out[n++] = ns;
	out[n++] = pod;
	out[n++] = "--";
	for (; *cmd && n + 1 < cap; cmd++)
		out[n++] = *cmd;
	out[n] = NULL;
	return 0;
}

/* The port of kubectl's "Forwarding from 127.0.0.1:PORT -> REMOTE" line, or 0. */
static int forwarded_port(const char *text)
{
	const char *p = strstr(text, "Forwarding from 127.0.0.1:");
	long port;
	char *end;

	if (!p)
		return 0;
	port = strtol(p + strlen("Forwarding from 127.0.0.1:"), &end, 10);
	return *end == ' ' && port > 0 && port < 65536 ? (int)port : 0;
}

int pod_forward_start(const struct pod_access *a, const char *ns_pod, int remote,
		      struct pod_forward *f, struct err *e)
{
	char ns[64], pod[254], target[16], text[512] = "";
	char *argv[] = { (char *)a->k3s, "kubectl", "--kubeconfig", (char *)a->kubeconfig,
			 "port-forward", "-n", ns, pod, target, NULL };
	posix_spawn_file_actions_t fa;
	int p[2], rc;
	size_t len = 0;
	int64_t deadline = clock_mono_us() + FORWARD_WAIT_US;

	f->pid = 0;
	f->port = 0;
	f->out = -1;
	if (pod_split(ns_pod, ns, pod) < 0)
		return err_set(e, EXIT_USAGE, "'%s': not NAMESPACE/POD", ns_pod);
	snprintf(target, sizeof(target), ":%d", remote);
	if (pipe2(p, O_CLOEXEC) < 0)
		return err_errno(e, errno, "port-forward");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	rc = posix_spawnp(&f->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		f->pid = 0;
		return err_errno(e, rc, "run %s kubectl port-forward", a->k3s);
	}
	/* Its first line says where it listens. What it prints after that (a
	 * line per connection: a few here) stays in the pipe, unread. */
	while (!(f->port = forwarded_port(text)) && len + 1 < sizeof(text)) {
		int64_t left = deadline - clock_mono_us();
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)(left / 1000) + 1) <= 0)
			break;
		if ((n = read(p[0], text + len, sizeof(text) - 1 - len)) <= 0)
			break;
		len += (size_t)n;
		text[len] = '\0';
	}
	f->out = p[0];
	if (!f->port) {
		pod_forward_stop(f);
		return err_set(e, EXIT_RUNTIME, "kubectl port-forward to %s port %d did not start", ns_pod,
			       remote);
	}
	return 0;
}

void pod_forward_stop(struct pod_forward *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		while (waitpid(f->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (f->out >= 0)
		close(f->out);
	f->pid = 0;
	f->out = -1;
}

int pod_secret_value(const struct pod_access *a, const char *ns, const char *name, const char *key,
		     char *out, size_t cap, struct err *e)
{
	char path[160], b64[4096];
	unsigned char raw[sizeof(b64) / 4 * 3];
	char *argv[] = { (char *)a->k3s, "kubectl", "--kubeconfig", (char *)a->kubeconfig, "get",
			 "secret", "-n", (char *)ns, (char *)name, "-o", path, NULL };
	size_t len;
	int n, pad = 0;

	snprintf(path, sizeof(path), "jsonpath={.data.%s}", key);
	if (run_argv(argv, b64, sizeof(b64), NULL, e) < 0)
		return err_prefix(e, "Secret %s/%s", ns, name);
	len = strcspn(b64, "\r\n");
	b64[len] = '\0';
	while (len > (size_t)pad && b64[len - 1 - pad] == '=')
		pad++;
	n = len && len % 4 == 0 ? EVP_DecodeBlock(raw, (unsigned char *)b64, (int)len) : -1;
	if (n < 0 || (size_t)(n - pad) >= cap) {
		OPENSSL_cleanse(b64, sizeof(b64));
		OPENSSL_cleanse(raw, sizeof(raw));
		return err_set(e, EXIT_RUNTIME, "Secret %s/%s: no key %s, or not base64", ns, name, key);
	}
	memcpy(out, raw, (size_t)(n - pad));
	out[n - pad] = '\0';
	OPENSSL_cleanse(b64, sizeof(b64));
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}
