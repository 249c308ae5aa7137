#include "k3s.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util.h"

static long num(json_t *obj, const char *path, int *bad)
{
	char key[128];
	const char *p = path;
	json_t *v = obj;

	/* "a.b.c" walks nested objects. */
	while (v && *p) {
		size_t n = strcspn(p, ".");
		snprintf(key, sizeof(key), "%.*s", (int)n, p);
		v = json_object_get(v, key);
		p += n + (p[n] == '.');
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		*bad = 1;
		return 0;
	}
	return (long)json_integer_value(v);
}

int k3s_capacity_parse(const char *json, size_t len, struct k3s_capacity *c, struct err *e)
{
	json_error_t je;
	json_t *root = json_loadb(json, len, 0, &je), *plat, *v;
	const char *name;
	int bad = 0;

	memset(c, 0, sizeof(*c));
	if (!root)
		return err_set(e, EXIT_REFUSED, "capacity.json: line %d: %s", je.line, je.text);
	c->sys_cpu_m = num(root, "reserved.system.cpu_millicores", &bad);
	c->sys_mem_mib = num(root, "reserved.system.memory_mib", &bad);
	c->sys_disk_gib = num(root, "reserved.system.disk_gib", &bad);
	c->k3s_cpu_m = num(root, "reserved.k3s.cpu_millicores", &bad);
	c->k3s_mem_mib = num(root, "reserved.k3s.memory_mib", &bad);
	c->k3s_disk_gib = num(root, "reserved.k3s.disk_gib", &bad);
	c->evict_mem_mib = num(root, "reserved.eviction.memory_mib", &bad);
	c->evict_nodefs_pct = num(root, "reserved.eviction.nodefs_percent", &bad);
	c->evict_imagefs_pct = num(root, "reserved.eviction.imagefs_percent", &bad);
	c->ref_cpu_m = num(root, "reference_profile.cpu_millicores", &bad);
	c->ref_mem_mib = num(root, "reference_profile.memory_mib", &bad);
	c->ref_disk_gib = num(root, "reference_profile.disk_gib", &bad);
	plat = json_object_get(root, "platform");
	if (!json_is_object(plat))
		bad = 1;
	json_object_foreach(plat, name, v) {
		if (c->ncomponents == K3S_MAX_COMPONENTS || strlen(name) >= sizeof(c->comp[0].name)) {
			bad = 1;
			break;
		}
		struct k3s_component_size *p = &c->comp[c->ncomponents++];
		snprintf(p->name, sizeof(p->name), "%s", name);
		p->cpu_req_m = num(v, "cpu_request_millicores", &bad);
		p->mem_req_mib = num(v, "memory_request_mib", &bad);
		p->cpu_lim_m = num(v, "cpu_limit_millicores", &bad);
		p->mem_lim_mib = num(v, "memory_limit_mib", &bad);
		p->storage_gib = num(v, "storage_gib", &bad);
		c->platform_cpu_m += p->cpu_req_m;
		c->platform_mem_mib += p->mem_req_mib;
		c->platform_disk_gib += p->storage_gib;
	}
	json_decref(root);
	if (bad || c->evict_nodefs_pct > 100 || c->evict_imagefs_pct > 100)
		return err_set(e, EXIT_REFUSED,
			       "capacity.json: missing or negative numbers (reserved, reference_profile, platform)");
	return 0;
}

long k3s_capacity_min_cpu_m(const struct k3s_capacity *c)
{
	return c->sys_cpu_m + c->k3s_cpu_m + c->platform_cpu_m;
}

long k3s_capacity_min_mem_mib(const struct k3s_capacity *c)
{
	return c->sys_mem_mib + c->k3s_mem_mib + c->evict_mem_mib + c->platform_mem_mib;
}

long k3s_capacity_min_disk_gib(const struct k3s_capacity *c)
{
	return c->sys_disk_gib + c->k3s_disk_gib + c->platform_disk_gib;
}

char *k3s_render_config(const struct k3s_capacity *c)
{
	char *out = NULL;

	/* servicelb and metrics-server are not needed on one offline node;
	 * traefik is the ingress and local-storage backs every PVC, so both stay.
	 * disable-default-registry-endpoint makes the registries.yaml mirrors the
	 * only place containerd may try, so nothing is ever pulled from outside. */
	if (asprintf(&out,
		     "# Written by outpost install from the bundle's capacity.json; an upgrade\n"
		     "# rewrites it. Local additions belong in config.yaml.d/*.yaml.\n"
		     "write-kubeconfig-mode: \"0600\"\n"
		     "disable:\n"
		     "  - servicelb\n"
		     "  - metrics-server\n"
		     "disable-default-registry-endpoint: true\n"
		     "kubelet-arg:\n"
		     "  - \"system-reserved=cpu=%ldm,memory=%ldMi,ephemeral-storage=%ldGi\"\n"
		     "  - \"kube-reserved=cpu=%ldm,memory=%ldMi,ephemeral-storage=%ldGi\"\n"
		     "  - \"eviction-hard=memory.available<%ldMi,nodefs.available<%ld%%,imagefs.available<%ld%%\"\n",
		     c->sys_cpu_m, c->sys_mem_mib, c->sys_disk_gib, c->k3s_cpu_m, c->k3s_mem_mib,
		     c->k3s_disk_gib, c->evict_mem_mib, c->evict_nodefs_pct, c->evict_imagefs_pct) < 0)
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

static char *values_json(const struct k3s_capacity *c, const char *name)
{
	json_t *v = NULL;
	char buf[32], *out;

	for (size_t i = 0; i < c->ncomponents; i++) {
		if (strcmp(c->comp[i].name, name))
			continue;
		v = json_object();
		json_t *res = json_object(), *req = json_object(), *lim = json_object();
		snprintf(buf, sizeof(buf), "%ldm", c->comp[i].cpu_req_m);
		json_object_set_new(req, "cpu", json_string(buf));
		snprintf(buf, sizeof(buf), "%ldMi", c->comp[i].mem_req_mib);
		json_object_set_new(req, "memory", json_string(buf));
		snprintf(buf, sizeof(buf), "%ldm", c->comp[i].cpu_lim_m);
		json_object_set_new(lim, "cpu", json_string(buf));
		snprintf(buf, sizeof(buf), "%ldMi", c->comp[i].mem_lim_mib);
		json_object_set_new(lim, "memory", json_string(buf));
		json_object_set_new(res, "requests", req);
		json_object_set_new(res, "limits", lim);
		json_object_set_new(v, "resources", res);
		if (c->comp[i].storage_gib > 0) {
			json_t *st = json_object();
			snprintf(buf, sizeof(buf), "%ldGi", c->comp[i].storage_gib);
			json_object_set_new(st, "size", json_string(buf));
			json_object_set_new(v, "storage", st);
		}
		break;
	}
	if (!v)
		v = json_object();
	out = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(v);
	return out;
}

int k3s_render_platform(const char *platform_json, size_t plen, const struct k3s_capacity *c,
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
		values = values_json(c, name);
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
