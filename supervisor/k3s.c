#include "k3s.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util.h"

char *k3s_render_config(const struct capacity_budget *b)
{
	char *out = NULL;

	/* One file system holds nodefs and imagefs on the appliance, so the
	 * budget's single disk threshold (the larger of the two) is used for both.
	 * servicelb is not needed on one offline node; traefik is the ingress,
	 * local-storage backs every PVC and metrics-server feeds tenant usage
	 * (its cost is part of reserved.k3s in capacity.json), so they stay.
	 * disable-default-registry-endpoint makes the registries.yaml mirrors the
	 * only place containerd may try, so nothing is ever pulled from outside. */
	if (asprintf(&out,
		     "# Written by outpost install from the bundle's capacity.json; an upgrade\n"
		     "# rewrites it. Local additions belong in config.yaml.d/*.yaml.\n"
		     "write-kubeconfig-mode: \"0600\"\n"
		     "disable:\n"
		     "  - servicelb\n"
		     "disable-default-registry-endpoint: true\n"
		     "kubelet-arg:\n"
		     "  - \"system-reserved=cpu=%lldm,memory=%lldMi,ephemeral-storage=%lldGi\"\n"
		     "  - \"kube-reserved=cpu=%lldm,memory=%lldMi,ephemeral-storage=%lldGi\"\n"
		     "  - \"eviction-hard=memory.available<%lldMi,nodefs.available<%lld%%,imagefs.available<%lld%%\"\n",
		     (long long)b->system.cpu_m, (long long)b->system.memory_mib,
		     (long long)b->system.disk_gib, (long long)b->k3s.cpu_m,
		     (long long)b->k3s.memory_mib, (long long)b->k3s.disk_gib,
		     (long long)b->eviction_memory_mib, (long long)b->eviction_disk_percent,
		     (long long)b->eviction_disk_percent) < 0)
		return NULL;
	return out;
}

const char *k3s_render_registries(void)
{
	/* Port 1 on loopback is closed: a pull of an image missing from the
	 * bundle fails at once with a clear error instead of hanging on DNS. */
	return "# Written by outpost install. The appliance is offline: every image comes\n"
	       "# from the archives in /var/lib/rancher/k3s/agent/images/. Each registry is\n"
	       "# mirrored to a closed loopback port and config.yaml sets\n"
	       "# disable-default-registry-endpoint, so containerd never reaches the network.\n"
	       "mirrors:\n"
	       "  \"*\":\n"
	       "    endpoint:\n"
	       "      - \"https://127.0.0.1:1\"\n"
	       "  docker.io:\n"
	       "    endpoint:\n"
	       "      - \"https://127.0.0.1:1\"\n"
	       "  quay.io:\n"
	       "    endpoint:\n"
	       "      - \"https://127.0.0.1:1\"\n"
	       "  ghcr.io:\n"
	       "    endpoint:\n"
	       "      - \"https://127.0.0.1:1\"\n"
	       "  registry.k8s.io:\n"
	       "    endpoint:\n"
	       "      - \"https://127.0.0.1:1\"\n"
	       "  gcr.io:\n"
	       "    endpoint:\n"
	       "      - \"https://127.0.0.1:1\"\n";
}

/* DNS-1123 label: safe to paste into YAML unquoted and into a file name. */
static int dns_label_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* The chart archive "<chart>-<version>.tgz" among the bundle's charts. */
static const char *find_chart(const char *chart, const char *const *charts, size_t n, int *count)
{
	size_t len = strlen(chart);
	const char *found = NULL;

	*count = 0;
	for (size_t i = 0; i < n; i++) {
		size_t blen = strlen(charts[i]);
		if (blen > len + 5 && !strncmp(charts[i], chart, len) && charts[i][len] == '-' &&
		    charts[i][len + 1] >= '0' && charts[i][len + 1] <= '9' &&
		    !strcmp(charts[i] + blen - 4, ".tgz")) {
			found = charts[i];
			(*count)++;
		}
	}
	return found;
}

static char *values_json(const struct capacity_budget *b, const char *name)
{
	char rc[24], rm[24], lc[24], lm[24], disk[24];
	json_t *v = NULL;
	char *out;

	for (size_t i = 0; i < b->nplatform; i++) {
		const struct capacity_component *c = &b->platform[i];
		if (strcmp(c->name, name))
			continue;
		snprintf(rc, sizeof(rc), "%lldm", (long long)c->request.cpu_m);
		snprintf(rm, sizeof(rm), "%lldMi", (long long)c->request.memory_mib);
		snprintf(lc, sizeof(lc), "%lldm", (long long)c->limit.cpu_m);
		snprintf(lm, sizeof(lm), "%lldMi", (long long)c->limit.memory_mib);
		v = json_pack("{s:{s:{s:s, s:s}, s:{s:s, s:s}}}", "resources", "requests", "cpu", rc,
			      "memory", rm, "limits", "cpu", lc, "memory", lm);
		if (v && c->request.disk_gib > 0) {
			snprintf(disk, sizeof(disk), "%lldGi", (long long)c->request.disk_gib);
			json_object_set_new(v, "storage", json_pack("{s:s}", "size", disk));
		}
		break;
	}
	if (!v)
		v = json_object();
	out = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(v);
	return out;
}

int k3s_render_platform(const char *platform_json, size_t plen, const struct capacity_budget *b,
			const char *const *charts, size_t ncharts, struct k3s_rendered **out,
			size_t *nout, struct err *e)
{
	json_error_t je;
	json_t *root = json_loadb(platform_json, plen, 0, &je), *comps, *it;
	struct k3s_rendered *r = NULL;
	size_t n = 0, i;
	int rc = -1;

	if (!root)
		return err_set(e, EXIT_REFUSED, "platform.json: line %d: %s", je.line, je.text);
	comps = json_object_get(root, "components");
	if (!json_is_array(comps) || json_array_size(comps) > K3S_MAX_COMPONENTS) {
		err_set(e, EXIT_REFUSED, "platform.json: components must be an array of at most %d",
			K3S_MAX_COMPONENTS);
		goto out;
	}
	r = calloc(json_array_size(comps) + 1, sizeof(*r));
	if (!r) {
		err_set(e, EXIT_RUNTIME, "out of memory");
		goto out;
	}
	json_array_foreach(comps, i, it) {
		const char *name = json_string_value(json_object_get(it, "name"));
		const char *hc = json_string_value(json_object_get(it, "helmchart"));
		const char *chart = json_string_value(json_object_get(it, "chart"));
		const char *ns = json_string_value(json_object_get(it, "namespace"));
		const char *file;
		char *values;
		int count;

		if (json_is_null(json_object_get(it, "chart")))
			continue; /* k3s's packaged chart (traefik), configured by a manifest */
		if (!dns_label_ok(name) || !dns_label_ok(hc) || !dns_label_ok(chart) || !dns_label_ok(ns)) {
			err_set(e, EXIT_REFUSED,
				"platform.json: components[%zu]: name, helmchart, chart and namespace must be DNS-1123 labels",
				i);
			goto out;
		}
		file = find_chart(chart, charts, ncharts, &count);
		if (count != 1) {
			err_set(e, EXIT_REFUSED, "platform component %s: %s chart %s-<version>.tgz in the bundle",
				name, count ? "more than one" : "no", chart);
			goto out;
		}
		values = values_json(b, name);
		if (!values) {
			err_set(e, EXIT_RUNTIME, "out of memory");
			goto out;
		}
		snprintf(r[n].name, sizeof(r[n].name), "%s.yaml", hc);
		if (asprintf(&r[n].yaml,
			     "# Written by outpost install from platform.json and capacity.json.\n"
			     "apiVersion: helm.cattle.io/v1\n"
			     "kind: HelmChart\n"
			     "metadata:\n"
			     "  name: %s\n"
			     "  namespace: kube-system\n"
			     "  labels:\n"
			     "    app.kubernetes.io/managed-by: outpost\n"
			     "spec:\n"
			     "  chart: https://%%{KUBERNETES_API}%%/static/charts/%s\n"
			     "  targetNamespace: %s\n"
			     "  createNamespace: true\n"
			     "  valuesContent: |-\n"
			     "    %s\n",
			     hc, file, ns, values) < 0) {
			r[n].yaml = NULL;
			free(values);
			err_set(e, EXIT_RUNTIME, "out of memory");
			goto out;
		}
		free(values);
		n++;
	}
	*out = r;
	*nout = n;
	r = NULL;
	rc = 0;
out:
	if (r)
		k3s_rendered_free(r, n);
	json_decref(root);
	return rc;
}

void k3s_rendered_free(struct k3s_rendered *r, size_t n)
{
	if (!r)
		return;
	for (size_t i = 0; i < n; i++)
		free(r[i].yaml);
	free(r);
}
