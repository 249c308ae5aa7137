#include "preflight.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "table.h"
#include "util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

const int preflight_ports[PREFLIGHT_PORTS] = { 6443, 80, 443 };

const char *preflight_status_name(enum preflight_status s)
{
	return s == PREFLIGHT_PASS ? "pass" : s == PREFLIGHT_WARN ? "warn" : "fail";
}

static struct preflight_result *add(struct preflight_result *out, size_t cap, size_t *n,
				    const char *check, enum preflight_status s)
{
	static struct preflight_result spill;
	struct preflight_result *r = *n < cap ? &out[(*n)++] : &spill;

	r->check = check;
	r->status = s;
	r->detail[0] = '\0';
	return r;
}

/* fail when the platform does not fit, warn below the reference profile. */
static enum preflight_status grade(int64_t have, int64_t free, int64_t ref)
{
	return free < 0 ? PREFLIGHT_FAIL : have >= ref ? PREFLIGHT_PASS : PREFLIGHT_WARN;
}

size_t preflight_evaluate(const struct preflight_facts *f, const struct capacity_budget *b,
			  struct preflight_result *out, size_t cap)
{
	struct capacity_report rep = { 0 };
	struct capacity_res total = { f->cpus * 1000, f->mem_mib, f->disk_free_gib };
	struct preflight_result *r;
	size_t n = 0;

	/* The install-time question is the platform alone (no tenants yet). */
	capacity_compute(b, &total, &rep);
	r = add(out, cap, &n, "cpu", grade(total.cpu_m, rep.free_request.cpu_m, b->reference.cpu_m));
	snprintf(r->detail, sizeof(r->detail), "%ld cores; reserved + platform need %lldm, profile is %lldm",
		 f->cpus, (long long)(total.cpu_m - rep.free_request.cpu_m), (long long)b->reference.cpu_m);
	r = add(out, cap, &n, "memory",
		grade(total.memory_mib, rep.free_request.memory_mib, b->reference.memory_mib));
	snprintf(r->detail, sizeof(r->detail), "%ld MiB; reserved + platform need %lld MiB, profile is %lld MiB",
		 f->mem_mib, (long long)(total.memory_mib - rep.free_request.memory_mib),
		 (long long)b->reference.memory_mib);
	r = add(out, cap, &n, "disk",
		grade(total.disk_gib, rep.free_request.disk_gib, b->reference.disk_gib));
	snprintf(r->detail, sizeof(r->detail), "%ld GiB free at %.120s; reserved + platform need %lld GiB",
		 f->disk_free_gib, f->disk_path, (long long)(total.disk_gib - rep.free_request.disk_gib));
	r = add(out, cap, &n, "cgroup v2", f->cgroup2 ? PREFLIGHT_PASS : PREFLIGHT_FAIL);
	snprintf(r->detail, sizeof(r->detail), "%s",
		 f->cgroup2 ? "unified hierarchy at /sys/fs/cgroup"
			    : "/sys/fs/cgroup is not cgroup2: boot with systemd.unified_cgroup_hierarchy=1");
	r = add(out, cap, &n, "overlay", f->overlay ? PREFLIGHT_PASS : PREFLIGHT_FAIL);
	snprintf(r->detail, sizeof(r->detail), "%s",
		 f->overlay ? "overlay file system available"
			    : "no overlay file system: containerd's snapshotter needs it (modprobe overlay)");
	r = add(out, cap, &n, "br_netfilter", f->br_netfilter ? PREFLIGHT_PASS : PREFLIGHT_FAIL);
	snprintf(r->detail, sizeof(r->detail), "%s",
		 f->br_netfilter ? "available"
				 : "module not found: pod traffic through the bridge would bypass iptables");
	r = add(out, cap, &n, "swap", f->swap_kib ? PREFLIGHT_WARN : PREFLIGHT_PASS);
	if (f->swap_kib)
		snprintf(r->detail, sizeof(r->detail),
			 "%ld MiB of swap on: memory limits and eviction get fuzzy (swapoff -a)",
			 f->swap_kib / 1024);
	else
		snprintf(r->detail, sizeof(r->detail), "off");
	r = add(out, cap, &n, "default route", f->default_route ? PREFLIGHT_PASS : PREFLIGHT_FAIL);
	snprintf(r->detail, sizeof(r->detail), "%s",
		 f->default_route ? "present"
				  : "none: k3s needs one even offline; add a dummy: ip link add dummy0 type dummy; "
				    "ip addr add 203.0.113.254/31 dev dummy0; ip link set dummy0 up; "
				    "ip route add default via 203.0.113.255 dev dummy0 metric 1000");
	for (int i = 0; i < PREFLIGHT_PORTS; i++) {
		r = add(out, cap, &n, i == 0 ? "port 6443" : i == 1 ? "port 80" : "port 443",
			f->port_busy[i] ? PREFLIGHT_FAIL : PREFLIGHT_PASS);
		snprintf(r->detail, sizeof(r->detail), "%s",
			 f->port_busy[i] ? "in use by another program" : "free");
	}
	{
		/* 2024-01-01: anything earlier is an unset clock (certificates
		 * issued now would look expired to every other machine). */
		const time_t floor = 1704067200;
		enum preflight_status s = PREFLIGHT_PASS;
		if (f->now < floor)
			s = PREFLIGHT_FAIL;
		else if (f->not_before && f->now + 86400 < f->not_before)
			s = PREFLIGHT_WARN;
		r = add(out, cap, &n, "clock", s);
		snprintf(r->detail, sizeof(r->detail), "%s",
			 s == PREFLIGHT_FAIL ? "before 2024: set the clock (certificates depend on it)"
			 : s == PREFLIGHT_WARN ? "more than a day before the bundle was built: check the clock"
					       : "plausible");
	}
	return n;
}

int preflight_print(const struct preflight_result *r, size_t n, FILE *out)
{
	static const char *const hdr[] = { "CHECK", "RESULT", "DETAIL" };
	struct table *t = table_new(3, hdr);
	int fails = 0;

	for (size_t i = 0; i < n; i++) {
		const char *cells[] = { r[i].check, preflight_status_name(r[i].status), r[i].detail };
		if (t)
			table_add_row(t, cells);
		fails += r[i].status == PREFLIGHT_FAIL;
	}
	if (t)
		table_print(t, out);
	table_free(t);
	return fails;
}

/* ---- gathering: the only part that looks at the machine ---- */

static long meminfo_kib(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	long v = 0;
	size_t klen = strlen(key);

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static int file_has_word(const char *path, const char *word)
{
	FILE *f = fopen(path, "re");
	char line[512];
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, word) != NULL;
	fclose(f);
	return found;
}

/* Loaded, built in, or installable as a module for the running kernel. */
static int module_available(const char *sysfs, const char *ko)
{
	struct utsname u;
	char path[PATH_MAX];

	if (access(sysfs, F_OK) == 0)
		return 1;
	if (uname(&u) < 0)
		return 0;
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin", u.release);
	if (file_has_word(path, ko))
		return 1;
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", u.release);
	if (file_has_word(path, ko))
		return 1;
	return 0;
}

static int default_route(void)
{
	FILE *f = fopen("/proc/net/route", "re");
	char line[256], ifname[64];
	unsigned long dest, mask;
	int found = 0;

	if (f) {
		while (!found && fgets(line, sizeof(line), f))
			if (sscanf(line, "%63s %lx %*x %*x %*d %*d %*d %lx", ifname, &dest, &mask) == 3)
				found = dest == 0 && mask == 0;
		fclose(f);
	}
	f = fopen("/proc/net/ipv6_route", "re");
	if (f) {
		while (!found && fgets(line, sizeof(line), f))
			found = !strncmp(line, "00000000000000000000000000000000 00 ", 36) &&
				!strstr(line, " lo\n");
		fclose(f);
	}
	return found;
}

/* A listening TCP socket on the port (IPv4 or IPv6), from /proc/net/tcp*:
 * binding to find out would need root for ports below 1024. */
static int port_listening(int port)
{
	static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	int busy = 0;

	for (size_t i = 0; i < ARRAY_SIZE(files) && !busy; i++) {
		FILE *f = fopen(files[i], "re");
		char line[512], local[128];
		unsigned st;
		if (!f)
			continue;
		while (!busy && fgets(line, sizeof(line), f)) {
			char *colon;
			if (sscanf(line, "%*d: %127s %*s %x", local, &st) != 2)
				continue;
			colon = strrchr(local, ':');
			busy = colon && st == 0x0A && strtol(colon + 1, NULL, 16) == port;
		}
		fclose(f);
	}
	return busy;
}

void preflight_gather(const char *root, struct preflight_facts *f)
{
	struct statfs sfs;
	struct statvfs vfs;
	char path[PATH_MAX];

	struct capacity_profile prof;
	struct err ignored;

	memset(f, 0, sizeof(*f));
	if (capacity_profile_detect("/", &prof, &ignored) == 0) {
		f->cpus = (long)(prof.total.cpu_m / 1000);
		f->mem_mib = (long)prof.total.memory_mib;
	}
	f->swap_kib = meminfo_kib("SwapTotal");
	/* The data directory may not exist yet: measure its nearest existing parent. */
	snprintf(path, sizeof(path), "%s/var/lib/rancher", strcmp(root, "/") ? root : "");
	for (;;) {
		if (statvfs(path, &vfs) == 0) {
			f->disk_free_gib = (long)((unsigned long long)vfs.f_bavail * vfs.f_frsize >> 30);
			break;
		}
		char *slash = strrchr(path, '/');
		if (!slash || slash == path) {
			snprintf(path, sizeof(path), "/");
			if (statvfs(path, &vfs) == 0)
				f->disk_free_gib = (long)((unsigned long long)vfs.f_bavail * vfs.f_frsize >> 30);
			break;
		}
		*slash = '\0';
	}
	snprintf(f->disk_path, sizeof(f->disk_path), "%.255s", path);
	f->cgroup2 = statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
	f->overlay = file_has_word("/proc/filesystems", "overlay") ||
		     module_available("/sys/module/overlay", "overlay.ko");
	f->br_netfilter = module_available("/sys/module/br_netfilter", "br_netfilter.ko") ||
			  access("/proc/sys/net/bridge/bridge-nf-call-iptables", F_OK) == 0;
	f->default_route = default_route();
	for (int i = 0; i < PREFLIGHT_PORTS; i++)
		f->port_busy[i] = port_listening(preflight_ports[i]);
	f->now = time(NULL);
}
