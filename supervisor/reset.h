/* outpost reset: the machine back to how it was before `outpost install`.
 * The plan (which steps, in which order) and the text filters are pure and
 * tested by table (tests/check_reset.c); reset_run() is the I/O edge. Every
 * step is idempotent (a missing thing is success) and every step runs even
 * when an earlier one failed, so a second run, or a run after a killed one,
 * finishes what the first could not. */
#ifndef OUTPOST_RESET_H
#define OUTPOST_RESET_H

#include <stddef.h>

#include "err.h"

enum reset_kind {
	RESET_STOP_UNITS,   /* systemctl stop outpost.service outpost-install.service */
	RESET_KILL_SHIMS,   /* SIGKILL the pods' containerd shims k3s started */
	RESET_UNMOUNT,      /* every mount under arg (deepest first) */
	RESET_DELETE_LINKS, /* cni0, flannel.*, kube-ipvs0, the veths enslaved to cni0 */
	RESET_FIREWALL,     /* arg = "iptables" or "ip6tables": KUBE-/CNI-/FLANNEL rules and chains */
	RESET_NFTABLES,     /* the native nftables tables of kube-proxy and flannel */
	RESET_REMOVE,       /* arg: a file or directory tree (never crosses a mount) */
	RESET_REMOVE_STATE, /* arg: the state directory, all but backups/ (and the state file) */
	RESET_RELOAD_UNITS, /* systemctl daemon-reload: forget the removed unit files */
};

struct reset_step {
	enum reset_kind kind;
	char arg[4096];
	const char *label; /* static: what the table shows */
};

struct reset_opts {
	const char *root; /* "/" or an absolute prefix */
	int keep_state;   /* keep <root>/var/lib/outpost/state.db (and its -wal/-shm) */
	int host;         /* touch the network (links, firewall); set when root is "/" */
};

/* The steps for `o`, in order; *out is malloc'ed. Returns the count or -errno. */
int reset_plan(const struct reset_opts *o, struct reset_step **out);

/* 1 when a line of iptables-save output belongs to k3s or its CNI (a chain
 * declaration or a rule naming KUBE-*, CNI-* or flannel), the way k3s's own
 * killall script decides; 0 for everything else (tables, COMMIT, foreign rules). */
int reset_firewall_line_is_k3s(const char *line);

/* Writes to `out` (cap bytes) the iptables-save text `in` without k3s's
 * lines. Returns the number of lines dropped, or -ENOSPC. */
int reset_firewall_filter(const char *in, char *out, size_t cap);

/* From `ip -o link show` text, the names of k3s's links: cni0, flannel.1,
 * flannel-v6.1, flannel-wg, kube-ipvs0 and every link whose master is cni0.
 * Calls fn(name, arg) for each; returns how many. */
int reset_links_pick(const char *ip_link_text, void (*fn)(const char *name, void *arg), void *arg);

/* From `nft list tables` text ("table ip kube-proxy" lines), the tables
 * kube-proxy's nftables mode and flannel's EnableNFTables make: kube-proxy
 * (ip, ip6), flannel-ipv4 (ip) and flannel-ipv6 (ip6). Calls fn(family,
 * name, arg) for each; returns how many. */
int reset_nft_tables_pick(const char *nft_text,
			  void (*fn)(const char *family, const char *name, void *arg), void *arg);

/* From /proc/self/mountinfo text, the mount points at or under `dir`
 * (octal escapes decoded), deepest first. Calls fn(path, arg) for each;
 * returns how many. */
int reset_mounts_pick(const char *mountinfo, const char *dir,
		      void (*fn)(const char *path, void *arg), void *arg);

enum reset_outcome { RESET_OK, RESET_SKIPPED, RESET_FAILED };

struct reset_result {
	enum reset_outcome outcome;
	char detail[512];
};

/* Runs every step of the plan, never stopping early; results[i] gets step
 * i's outcome. Returns the number of failed steps. */
int reset_run(const struct reset_opts *o, const struct reset_step *steps, size_t n,
	      struct reset_result *results);

#endif
