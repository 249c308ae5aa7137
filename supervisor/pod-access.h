/* Reaching the platform's pods from the host, through k3s's own kubectl
 * (`<root>/usr/local/bin/k3s kubectl`, with k3s's kubeconfig): a
 * port-forward to a pod's port, and one key of a Secret. The backup's
 * runners for services that run in the cluster use them; whatever kubectl
 * says on stderr reaches the user. */
#ifndef OUTPOST_POD_ACCESS_H
#define OUTPOST_POD_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

struct pod_access {
	const char *k3s;        /* the path of k3s's binary */
	const char *kubeconfig; /* the kubeconfig kubectl uses */
};

/* "NAMESPACE/POD" into its two parts; -1 when it is not that. */
int pod_split(const char *spec, char ns[64], char pod[254]);

/* argv for `kubectl exec [-i] -n NS POD -- CMD...` into out (cap entries);
 * ns and pod hold strings it points to. -1 with e set for a bad ns_pod. */
int pod_exec_argv(const struct pod_access *a, const char *ns_pod, bool with_stdin, char *const *cmd,
		  char ns[64], char pod[254], char **out, size_t cap, struct err *e);

struct pod_forward {
	pid_t pid; /* the kubectl port-forward; 0 when none */
	int port;  /* the local port on 127.0.0.1 */
	int out;   /* its stdout, kept open: it prints a line per connection,
		    * and a closed pipe would kill it on the first */
};

/* Starts `kubectl port-forward -n NS POD :REMOTE` and waits (at most 60 s)
 * for the local port it listens on. pod_forward_stop ends it. */
int pod_forward_start(const struct pod_access *a, const char *ns_pod, int remote,
		      struct pod_forward *f, struct err *e);
void pod_forward_stop(struct pod_forward *f);

/* The decoded value of `key` in Secret NAMESPACE/NAME, into out (at most
 * cap - 1 bytes, NUL-terminated). It passes through a pipe, never argv or
 * a file; the caller cleanses it. */
int pod_secret_value(const struct pod_access *a, const char *ns, const char *name, const char *key,
		     char *out, size_t cap, struct err *e);

#endif
