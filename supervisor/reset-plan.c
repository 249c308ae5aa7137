/* The pure half of `outpost reset`: the plan and the filters over the text
 * of iptables-save, `nft list tables`, `ip -o link` and mountinfo. No I/O here. */
#include "reset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What k3s, its kubelet and its CNI leave on disk, relative to the root
 * (k3s's own uninstall script removes the same), then Outpost's units. */
static const char *const k3s_paths[] = {
	"etc/rancher",
	"var/lib/rancher",
	"var/lib/kubelet",
	"var/lib/cni",
	"run/k3s",
	"run/flannel",
	"usr/local/bin/k3s",
	"etc/systemd/system/outpost.service", /* placed by the bundle's unit role */
	"etc/systemd/system/outpost.service.d",
	"etc/systemd/system/outpost-install.service.d",
	"etc/systemd/system/outpost-backup.service",
	"etc/systemd/system/outpost-backup.timer",
	"etc/systemd/system/multi-user.target.wants/outpost.service",
	"etc/systemd/system/timers.target.wants/outpost-backup.timer",
};

/* Unmounted before anything is removed, so removal never meets a mount. */
static const char *const mount_dirs[] = { "var/lib/kubelet", "var/lib/rancher", "run/k3s",
					  "run/netns" };

static int add(struct reset_step *s, size_t *n, enum reset_kind kind, const char *root,
	       const char *rel, const char *label)
{
	const char *sep = root[strlen(root) - 1] == '/' ? "" : "/";
	int len;

	s[*n].kind = kind;
	s[*n].label = label;
	if (!rel)
		len = snprintf(s[*n].arg, sizeof(s[*n].arg), "%s", "");
	else if (kind == RESET_FIREWALL)
		len = snprintf(s[*n].arg, sizeof(s[*n].arg), "%s", rel);
	else
		len = snprintf(s[*n].arg, sizeof(s[*n].arg), "%s%s%s", root, sep, rel);
	if (len < 0 || (size_t)len >= sizeof(s[*n].arg))
		return -ENAMETOOLONG;
	(*n)++;
	return 0;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

int reset_plan(const struct reset_opts *o, struct reset_step **out)
{
	size_t cap = 8 + NELEM(mount_dirs) + NELEM(k3s_paths), n = 0;
	struct reset_step *s = calloc(cap, sizeof(*s));
	int rc = 0;

	if (!s)
		return -ENOMEM;
	rc |= add(s, &n, RESET_STOP_UNITS, o->root, NULL, "stop outpost.service and k3s");
	rc |= add(s, &n, RESET_KILL_SHIMS, o->root, NULL, "stop the pods' containerd shims");
	for (size_t i = 0; i < NELEM(mount_dirs); i++)
		rc |= add(s, &n, RESET_UNMOUNT, o->root, mount_dirs[i], "unmount");
	rc |= add(s, &n, RESET_DELETE_LINKS, o->root, NULL, "delete CNI and flannel interfaces");
	rc |= add(s, &n, RESET_FIREWALL, o->root, "iptables", "remove k3s's IPv4 rules and chains");
	rc |= add(s, &n, RESET_FIREWALL, o->root, "ip6tables", "remove k3s's IPv6 rules and chains");
	rc |= add(s, &n, RESET_NFTABLES, o->root, NULL, "remove kube-proxy's and flannel's nftables tables");
	for (size_t i = 0; i < NELEM(k3s_paths); i++)
		rc |= add(s, &n, RESET_REMOVE, o->root, k3s_paths[i], "remove");
	rc |= add(s, &n, RESET_REMOVE_STATE, o->root, "var/lib/outpost",
		  o->keep_state ? "remove Outpost's records (keep backups/, state file, CA)"
				: "remove Outpost's records and state (keep backups/)");
	rc |= add(s, &n, RESET_RELOAD_UNITS, o->root, NULL, "reload systemd's units");
	if (rc) {
		free(s);
		return -ENAMETOOLONG;
	}
	*out = s;
	return (int)n;
}

/* Copies the next line of *text (without its newline, cut at cap - 1) into
 * `line` and moves *text past it. Returns the bytes consumed, 0 at the end. */
static size_t next_line(const char **text, char *line, size_t cap)
{
	const char *nl = strchr(*text, '\n');
	size_t len = nl ? (size_t)(nl - *text) : strlen(*text), used = len + (nl ? 1 : 0);

	snprintf(line, cap, "%.*s", (int)len, *text);
	*text += used;
	return used;
}

int reset_firewall_line_is_k3s(const char *line)
{
	/* Same test as k3s-killall.sh: grep -v KUBE- | grep -v CNI- | grep -iv flannel. */
	if (line[0] == '*' || !strncmp(line, "COMMIT", 6) || line[0] == '#')
		return 0;
	if (strstr(line, "KUBE-") || strstr(line, "CNI-"))
		return 1;
	for (const char *p = line; *p; p++)
		if (!strncasecmp(p, "flannel", 7))
			return 1;
	return 0;
}

int reset_firewall_filter(const char *in, char *out, size_t cap)
{
	size_t used = 0;
	int dropped = 0;

	char line[8192];
	size_t len;

	for (const char *start = in; (len = next_line(&in, line, sizeof(line))); start = in) {
		if (reset_firewall_line_is_k3s(line)) {
			dropped++;
			continue;
		}
		if (used + len + 1 > cap)
			return -ENOSPC;
		memcpy(out + used, start, len);
		used += len;
	}
	if (cap == 0)
		return -ENOSPC;
	out[used] = '\0';
	return dropped;
}

int reset_links_pick(const char *text, void (*fn)(const char *name, void *arg), void *arg)
{
	static const char *const named[] = { "cni0", "flannel.1", "flannel-v6.1", "flannel-wg",
					     "kube-ipvs0" };
	int count = 0;

	char line[2048];

	while (next_line(&text, line, sizeof(line))) {
		char name[64];
		const char *p;
		size_t nlen;
		int pick = 0;

		/* "7: vethab12@if2: <BROADCAST,...> mtu 1450 ... master cni0 state UP ..." */
		if (!(p = strstr(line, ": ")))
			continue;
		p += 2;
		nlen = strcspn(p, "@:");
		if (nlen == 0 || nlen >= sizeof(name))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)nlen, p);
		for (size_t i = 0; i < NELEM(named); i++)
			pick |= !strcmp(name, named[i]);
		pick |= strstr(line, " master cni0 ") != NULL;
		if (pick) {
			fn(name, arg);
			count++;
		}
	}
	return count;
}

int reset_nft_tables_pick(const char *text,
			  void (*fn)(const char *family, const char *name, void *arg), void *arg)
{
	static const struct {
		const char *family, *name;
	} tables[] = {
		{ "ip", "kube-proxy" },
		{ "ip6", "kube-proxy" },
		{ "ip", "flannel-ipv4" },
		{ "ip6", "flannel-ipv6" },
	};
	char line[512], family[16], name[256], extra;
	int count = 0;

	while (next_line(&text, line, sizeof(line))) {
		/* Exactly "table FAMILY NAME": anything else is not a table line. */
		if (sscanf(line, "table %15s %255s %c", family, name, &extra) != 2)
			continue;
		for (size_t i = 0; i < NELEM(tables); i++) {
			if (!strcmp(family, tables[i].family) && !strcmp(name, tables[i].name)) {
				fn(family, name, arg);
				count++;
			}
		}
	}
	return count;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

static int under(const char *path, const char *dir)
{
	size_t d = strlen(dir);

	while (d > 1 && dir[d - 1] == '/')
		d--;
	return !strncmp(path, dir, d) && (path[d] == '\0' || path[d] == '/');
}

static int deeper_first(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t lx = strlen(x), ly = strlen(y);

	return (lx < ly) - (lx > ly);
}

int reset_mounts_pick(const char *mountinfo, const char *dir,
		      void (*fn)(const char *path, void *arg), void *arg)
{
	char **found = NULL;
	size_t n = 0, cap = 0;

	char line[8192], mp[4096];

	while (next_line(&mountinfo, line, sizeof(line))) {
		/* id parent major:minor root mountpoint ... : the fifth field. */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		unescape(mp);
		if (!under(mp, dir))
			continue;
		if (n == cap) {
			char **g = realloc(found, (cap = cap ? cap * 2 : 16) * sizeof(*g));
			if (!g)
				break;
			found = g;
		}
		if (!(found[n] = strdup(mp)))
			break;
		n++;
	}
	/* Longest path first: a child mount goes before its parent. A path
	 * mounted twice appears twice, and is unmounted twice. */
	if (n) /* qsort wants a non-NULL base even for no items */
		qsort(found, n, sizeof(*found), deeper_first);
	for (size_t i = 0; i < n; i++) {
		fn(found[i], arg);
		free(found[i]);
	}
	free(found);
	return (int)n;
}
