/* The k3s side of an offline install: where k3s expects each file, and the
 * files Outpost renders for it (config.yaml, registries.yaml, one HelmChart per
 * platform chart). Pure: strings in, strings out; install.c does the I/O. */
#ifndef OUTPOST_K3S_H
#define OUTPOST_K3S_H

#include <stddef.h>

#include "capacity.h"
#include "err.h"

/* Paths relative to the install root (see bundle/FORMAT.md section 7). */
#define K3S_BIN "usr/local/bin/k3s"
#define K3S_IMAGES_DIR "var/lib/rancher/k3s/agent/images"
#define K3S_CHARTS_DIR "var/lib/rancher/k3s/server/static/charts"
#define K3S_MANIFESTS_DIR "var/lib/rancher/k3s/server/manifests"
#define K3S_CONFIG "etc/rancher/k3s/config.yaml"
#define K3S_REGISTRIES "etc/rancher/k3s/registries.yaml"
#define OUTPOST_KEYS_DIR "etc/outpost/trusted-keys"
#define OUTPOST_UNIT "etc/systemd/system/outpost.service"

#define K3S_MAX_COMPONENTS 32

/* /etc/rancher/k3s/config.yaml (caller frees). */
char *k3s_render_config(const struct capacity_budget *b);
/* /etc/rancher/k3s/registries.yaml: every registry mirrored to a closed loopback port. */
const char *k3s_render_registries(void);

struct k3s_rendered {
	char name[160]; /* file name in K3S_MANIFESTS_DIR */
	char *yaml;
};

/* One HelmChart per platform component that has a chart. `charts` are the
 * chart archives' basenames ("postgresql-0.1.0.tgz"): each component's chart
 * must be there exactly once. */
int k3s_render_platform(const char *platform_json, size_t plen, const struct capacity_budget *b,
			const char *const *charts, size_t ncharts, struct k3s_rendered **out,
			size_t *nout, struct err *e);
void k3s_rendered_free(struct k3s_rendered *r, size_t n);

#endif
