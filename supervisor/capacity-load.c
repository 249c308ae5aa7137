/* Where the capacity figures come from: charts/capacity.json, a profile file,
 * or the host itself. */
#include "capacity.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <jansson.h>

#include "util.h"

#define JSON_FILE_MAX (1 << 20)

static json_t *load_json(const char *path, struct err *e)
{
	json_error_t jerr;
	char *text;
	json_t *root;

	if (util_read_file(path, JSON_FILE_MAX, &text, NULL, e) < 0)
		return NULL;
	root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!root)
		err_set(e, EXIT_RUNTIME, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
	else if (!json_is_object(root)) {
		err_set(e, EXIT_RUNTIME, "%s: must hold a JSON object", path);
		json_decref(root);
		root = NULL;
	}
	return root;
}

/* A non-negative integer member; `path` and `where` name it in the message. */
static int get_num(json_t *obj, const char *key, bool required, int64_t *out, const char *path,
		   const char *where, struct err *e)
{
	json_t *v = json_object_get(obj, key);

	*out = 0;
	if (!v && !required)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return err_set(e, EXIT_RUNTIME, "%s: %s%s%s: must be a non-negative integer", path,
			       where, *where ? "." : "", key);
	*out = json_integer_value(v);
	return 0;
}

static int get_res(json_t *obj, const char *path, const char *where, struct capacity_res *r,
		   struct err *e)
{
	if (!json_is_object(obj))
		return err_set(e, EXIT_RUNTIME, "%s: %s: missing or not an object", path, where);
	return get_num(obj, "cpu_millicores", true, &r->cpu_m, path, where, e) < 0 ||
			       get_num(obj, "memory_mib", true, &r->memory_mib, path, where, e) < 0 ||
			       get_num(obj, "disk_gib", true, &r->disk_gib, path, where, e) < 0
		       ? -1 : 0;
}

static int get_component(json_t *c, const char *name, const char *path,
			 struct capacity_component *out, struct err *e)
{
	char where[64];

	snprintf(where, sizeof(where), "platform.%s", name);
	if (!json_is_object(c))
		return err_set(e, EXIT_RUNTIME, "%s: %s: not an object", path, where);
	if (strlen(name) >= sizeof(out->name))
		return err_set(e, EXIT_RUNTIME, "%s: %s: name too long", path, where);
	snprintf(out->name, sizeof(out->name), "%s", name);
	if (get_num(c, "cpu_request_millicores", true, &out->request.cpu_m, path, where, e) < 0 ||
	    get_num(c, "memory_request_mib", true, &out->request.memory_mib, path, where, e) < 0 ||
	    get_num(c, "cpu_limit_millicores", true, &out->limit.cpu_m, path, where, e) < 0 ||
	    get_num(c, "memory_limit_mib", true, &out->limit.memory_mib, path, where, e) < 0 ||
	    get_num(c, "storage_gib", true, &out->request.disk_gib, path, where, e) < 0)
		return -1;
	out->limit.disk_gib = out->request.disk_gib;
	return 0;
}

/* reserved.k3s.includes names the k3s-packaged add-ons (metrics-server...)
 * whose requests the k3s reservation must cover; an add-on that outgrows it
 * must raise the reservation, not silently eat into the tenants' share. */
static int check_k3s_parts(json_t *k3s, const char *path, const struct capacity_res *whole,
			   struct err *e)
{
	json_t *parts = json_object_get(k3s, "includes");
	struct capacity_res sum = { 0 }, one;
	const char *name;
	json_t *c;

	if (!parts)
		return 0;
	if (!json_is_object(parts))
		return err_set(e, EXIT_RUNTIME, "%s: reserved.k3s.includes: not an object", path);
	json_object_foreach(parts, name, c) {
		char where[96];

		snprintf(where, sizeof(where), "reserved.k3s.includes.%s", name);
		if (!json_is_object(c))
			return err_set(e, EXIT_RUNTIME, "%s: %s: not an object", path, where);
		if (get_num(c, "cpu_millicores", true, &one.cpu_m, path, where, e) < 0 ||
		    get_num(c, "memory_mib", true, &one.memory_mib, path, where, e) < 0)
			return -1;
		sum.cpu_m += one.cpu_m;
		sum.memory_mib += one.memory_mib;
	}
	if (sum.cpu_m > whole->cpu_m || sum.memory_mib > whole->memory_mib)
		return err_set(e, EXIT_RUNTIME,
			       "%s: reserved.k3s.includes: %lldm CPU and %lld MiB exceed the reservation "
			       "(%lldm, %lld MiB)",
			       path, (long long)sum.cpu_m, (long long)sum.memory_mib,
			       (long long)whole->cpu_m, (long long)whole->memory_mib);
	return 0;
}

static int parse_budget(json_t *root, const char *path, struct capacity_budget *b, struct err *e)
{
	json_t *reserved = json_object_get(root, "reserved");
	json_t *ev = json_object_get(reserved, "eviction");
	json_t *platform = json_object_get(root, "platform");
	json_t *ratio = json_object_get(json_object_get(root, "overcommit"), "limits_ratio");
	int64_t nodefs, imagefs;
	const char *name;
	json_t *c;

	memset(b, 0, sizeof(*b));
	if (get_res(json_object_get(root, "reference_profile"), path, "reference_profile",
		    &b->reference, e) < 0 ||
	    get_res(json_object_get(reserved, "system"), path, "reserved.system", &b->system, e) < 0 ||
	    get_res(json_object_get(reserved, "k3s"), path, "reserved.k3s", &b->k3s, e) < 0 ||
	    check_k3s_parts(json_object_get(reserved, "k3s"), path, &b->k3s, e) < 0)
		return -1;
	if (!json_is_object(ev))
		return err_set(e, EXIT_RUNTIME, "%s: reserved.eviction: missing", path);
	if (get_num(ev, "memory_mib", true, &b->eviction_memory_mib, path, "reserved.eviction", e) < 0 ||
	    get_num(ev, "nodefs_percent", true, &nodefs, path, "reserved.eviction", e) < 0 ||
	    get_num(ev, "imagefs_percent", false, &imagefs, path, "reserved.eviction", e) < 0)
		return -1;
	if (nodefs > 100 || imagefs > 100)
		return err_set(e, EXIT_RUNTIME, "%s: reserved.eviction: percentages above 100", path);
	b->eviction_disk_percent = nodefs > imagefs ? nodefs : imagefs;
	if (!json_is_object(platform))
		return err_set(e, EXIT_RUNTIME, "%s: platform: missing or not an object", path);
	json_object_foreach(platform, name, c) {
		if (b->nplatform == CAPACITY_PLATFORM_MAX)
			return err_set(e, EXIT_RUNTIME, "%s: platform: more than %d components", path,
				       CAPACITY_PLATFORM_MAX);
		if (get_component(c, name, path, &b->platform[b->nplatform++], e) < 0)
			return -1;
	}
	if (!json_is_number(ratio) || json_number_value(ratio) < 1.0)
		return err_set(e, EXIT_RUNTIME, "%s: overcommit.limits_ratio: must be a number >= 1",
			       path);
	b->limits_ratio = json_number_value(ratio);
	return 0;
}

int capacity_budget_load(const char *datadir, struct capacity_budget *b, struct err *e)
{
	char *path = util_path_join(datadir, "capacity.json");
	json_t *root;
	int rc = -1;

	if (!path)
		return err_errno(e, ENOMEM, "capacity budget");
	if ((root = load_json(path, e)))
		rc = parse_budget(root, path, b, e);
	json_decref(root);
	free(path);
	return rc < 0 ? err_prefix(e, "capacity budget") : 0;
}

int capacity_profile_load(const char *file, struct capacity_profile *p, struct err *e)
{
	json_t *root = load_json(file, e);
	const char *key;
	json_t *v;
	int rc;

	memset(p, 0, sizeof(*p));
	if (!root)
		return err_prefix(e, "profile");
	json_object_foreach(root, key, v) {
		if (strcmp(key, "cpu_millicores") && strcmp(key, "memory_mib") && strcmp(key, "disk_gib") &&
		    strcmp(key, "comment")) {
			err_set(e, EXIT_RUNTIME, "profile: %s: unknown key '%.64s' (expected "
				"cpu_millicores, memory_mib, disk_gib)", file, key);
			json_decref(root); /* owns `key` */
			return -1;
		}
	}
	rc = get_res(root, file, "", &p->total, e);
	json_decref(root);
	if (rc < 0)
		return err_prefix(e, "profile");
	snprintf(p->source, sizeof(p->source), "%s", file);
	return 0;
}

static int meminfo_mib(int64_t *out, struct err *e)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	long long kib = -1;

	if (!f)
		return err_errno(e, errno, "profile: open /proc/meminfo");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %lld kB", &kib) == 1)
			break;
	fclose(f);
	if (kib < 0)
		return err_set(e, EXIT_RUNTIME, "profile: /proc/meminfo has no MemTotal");
	*out = kib / 1024;
	return 0;
}

/* statvfs of `dir`, or of its nearest existing parent (the state directory may
 * not exist before the first tenant is added). */
static int disk_gib(const char *dir, int64_t *out, struct err *e)
{
	char buf[PATH_MAX];
	struct statvfs vfs;

	snprintf(buf, sizeof(buf), "%s", dir);
	while (statvfs(buf, &vfs) < 0) {
		char *slash = strrchr(buf, '/');
		if (errno != ENOENT || !slash)
			return err_errno(e, errno, "profile: statvfs %s", buf);
		if (slash == buf)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	*out = (int64_t)((unsigned long long)vfs.f_blocks * vfs.f_frsize >> 30);
	return 0;
}

int capacity_profile_detect(const char *dir, struct capacity_profile *p, struct err *e)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	memset(p, 0, sizeof(*p));
	if (cores < 1)
		return err_errno(e, errno, "profile: count processors");
	p->total.cpu_m = (int64_t)cores * 1000;
	if (meminfo_mib(&p->total.memory_mib, e) < 0 || disk_gib(dir, &p->total.disk_gib, e) < 0)
		return -1;
	snprintf(p->source, sizeof(p->source), "detected");
	return 0;
}

int capacity_profile_get(const char *file, const char *dir, struct capacity_profile *p,
			 struct err *e)
{
	if (file && *file)
		return capacity_profile_load(file, p, e);
	return capacity_profile_detect(dir, p, e);
}
