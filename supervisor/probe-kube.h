/* The probe interface (probe.h) over the Kubernetes client (kube.c). The
 * kubeconfig is (re)read when it appears or changes: k3s writes it at start. */
#ifndef OUTPOST_PROBE_KUBE_H
#define OUTPOST_PROBE_KUBE_H

#include "probe.h"

int probe_kube_init(struct probe *p, const char *kubeconfig, struct err *e);
void probe_kube_fini(struct probe *p);
/* Points the probe at another kubeconfig (a reload); the client is rebuilt
 * on the next question. */
int probe_kube_retarget(struct probe *p, const char *kubeconfig, struct err *e);

#endif
