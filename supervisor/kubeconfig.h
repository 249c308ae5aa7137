/* The credentials to reach the Kubernetes API, read from a kubeconfig as k3s
 * writes it (/etc/rancher/k3s/k3s.yaml). Key material stays in memory: it is
 * handed to libcurl as blobs, never written to a file nor logged. */
#ifndef OUTPOST_KUBECONFIG_H
#define OUTPOST_KUBECONFIG_H

#include <stddef.h>

#include "err.h"

#define KUBECONFIG_DEFAULT "/etc/rancher/k3s/k3s.yaml"

struct kubeconfig {
	char *server;              /* "https://127.0.0.1:6443" */
	unsigned char *ca;         /* PEM of the cluster CA */
	size_t ca_len;
	unsigned char *cert;       /* PEM client certificate, or NULL with a token */
	size_t cert_len;
	unsigned char *key;        /* PEM client key (cleared before it is freed) */
	size_t key_len;
	char *token;               /* bearer token, or NULL with a client certificate */
};

/* Parses kubeconfig text: current-context -> its cluster (server,
 * certificate-authority-data) and user (client-certificate-data +
 * client-key-data, or token). `where` names the source in messages. A missing
 * or malformed field gives "<where>: <field path>: <why>". */
int kubeconfig_parse(const char *text, size_t len, const char *where, struct kubeconfig **out,
		     struct err *e);

/* Reads and parses a kubeconfig file. */
int kubeconfig_load(const char *path, struct kubeconfig **out, struct err *e);

void kubeconfig_free(struct kubeconfig *kc);

#endif
