/* The I/O half of `outpost reset`: each step of the plan, run with what the
 * machine has (systemctl, ip, iptables-save/-restore, umount2, nftw). A step
 * never stops the run: its outcome is recorded and the next one starts. */
#include "reset.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "run.h"
#include "util.h"

#define TEXT_MAX (4 << 20)

/* Test hook, as in install.c: with OUTPOST_TEST_CRASH_AT=N the process
 * SIGKILLs itself at the Nth crash point (before each step, and after the
 * first entry each removal deletes), so tests can interrupt every step
 * rather than hope a timed kill lands in one. */
static unsigned crash_points;

static void crash_point(void)
{
	util_test_crash_point(&crash_points);
}

static int outcome(struct reset_result *r, enum reset_outcome o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int outcome(struct reset_result *r, enum reset_outcome o, const char *fmt, ...)
{
	va_list ap;

	r->outcome = o;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
	return 0;
}

static int have(const char *prog)
{
	char argv0[64];
	char *const argv[] = { "sh", "-c", argv0, NULL };
	int status;
	struct err e = { 0 };

	snprintf(argv0, sizeof(argv0), "command -v %s >/dev/null", prog);
	return run_argv(argv, NULL, 0, &status, &e) == 0 && status == 0;
}

static void stop_units(struct reset_result *r)
{
	char *const argv[] = { "systemctl", "stop", "outpost.service", "outpost-install.service",
			       "outpost-backup.timer", NULL };
	struct err e = { 0 };
	int status;

	if (!have("systemctl"))
		return (void)outcome(r, RESET_SKIPPED, "systemctl not found");
	if (run_argv(argv, NULL, 0, &status, &e) < 0)
		return (void)outcome(r, RESET_FAILED, "%s", e.msg);
	/* 5: a unit that is not loaded, which is what a second run finds. */
	if (status != 0 && status != 5)
		return (void)outcome(r, RESET_FAILED, "systemctl stop exited %d", status);
	outcome(r, RESET_OK, "stopped");
}

static void reload_units(struct reset_result *r)
{
	char *const argv[] = { "systemctl", "daemon-reload", NULL };
	struct err e = { 0 };

	if (!have("systemctl"))
		return (void)outcome(r, RESET_SKIPPED, "systemctl not found");
	if (run_argv(argv, NULL, 0, NULL, &e) < 0)
		return (void)outcome(r, RESET_FAILED, "%s", e.msg);
	outcome(r, RESET_OK, "reloaded");
}

/* KillMode=process leaves the shims running when outpost.service stops (so
 * a supervisor restart keeps the pods); k3s's killall kills those whose
 * program lies in k3s's data directory, and so does this. */
static void kill_shims(struct reset_result *r)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int killed = 0, failed = 0;

	if (!d)
		return (void)outcome(r, RESET_FAILED, "/proc: %s", strerror(errno));
	while ((de = readdir(d))) {
		char link[300], exe[PATH_MAX];
		ssize_t len;
		const char *base;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(link, sizeof(link), "/proc/%s/exe", de->d_name);
		if ((len = readlink(link, exe, sizeof(exe) - 1)) < 0)
			continue;
		exe[len] = '\0';
		base = strrchr(exe, '/') + 1;
		if (strncmp(exe, "/var/lib/rancher/k3s/data/", 26) ||
		    strncmp(base, "containerd-shim", 15))
			continue;
		if (kill((pid_t)atoi(de->d_name), SIGKILL) == 0 || errno == ESRCH)
			killed++;
		else
			failed++;
	}
	closedir(d);
	if (failed)
		return (void)outcome(r, RESET_FAILED, "%d shim(s) could not be killed", failed);
	outcome(r, RESET_OK, "%d killed", killed);
}

struct umount_ctx {
	int done, failed, first_errno;
	char first[256];
};

static void umount_one(const char *path, void *arg)
{
	struct umount_ctx *c = arg;

	/* MNT_DETACH: a busy mount (a dying pod's) still leaves the tree now. */
	if (umount2(path, MNT_DETACH) == 0 || errno == EINVAL || errno == ENOENT) {
		c->done++;
		return;
	}
	if (!c->failed++) {
		c->first_errno = errno;
		snprintf(c->first, sizeof(c->first), "%s", path);
	}
}

static void unmount_under(const char *dir, struct reset_result *r)
{
	struct umount_ctx c = { 0 };
	char *text = NULL;
	size_t len;
	struct err e = { 0 };

	if (util_read_file("/proc/self/mountinfo", TEXT_MAX, &text, &len, &e) < 0)
		return (void)outcome(r, RESET_FAILED, "%s", e.msg);
	reset_mounts_pick(text, dir, umount_one, &c);
	free(text);
	if (c.failed)
		return (void)outcome(r, RESET_FAILED, "%d of %d: %s: %s", c.failed,
				     c.done + c.failed, c.first, strerror(c.first_errno));
	outcome(r, RESET_OK, "%d unmounted", c.done);
}

static int list_links(char **text, struct err *e)
{
	char *const argv[] = { "ip", "-o", "link", "show", NULL };

	if (!(*text = malloc(TEXT_MAX)))
		return -ENOMEM;
	return run_argv(argv, *text, TEXT_MAX, NULL, e);
}

static void delete_link(const char *name, void *arg)
{
	char *const argv[] = { "ip", "link", "delete", (char *)name, NULL };
	struct err e = { 0 };
	int status;

	/* Deleting a veth takes its peer with it, so a later name may be gone:
	 * the list taken afterwards is what decides. */
	run_argv(argv, NULL, 0, &status, &e);
	(*(int *)arg)++;
}

static void count_link(const char *name, void *arg)
{
	(void)name;
	(*(int *)arg)++;
}

static void delete_links(struct reset_result *r)
{
	struct err e = { 0 };
	char *text = NULL;
	int tried = 0, left = 0;

	if (!have("ip"))
		return (void)outcome(r, RESET_SKIPPED, "ip not found");
	if (list_links(&text, &e) < 0)
		goto fail;
	reset_links_pick(text, delete_link, &tried);
	free(text);
	if (list_links(&text, &e) < 0)
		goto fail;
	reset_links_pick(text, count_link, &left);
	free(text);
	if (left)
		return (void)outcome(r, RESET_FAILED, "%d interface(s) still there", left);
	outcome(r, RESET_OK, "%d deleted", tried);
	return;
fail:
	free(text);
	outcome(r, RESET_FAILED, "%s", e.msg[0] ? e.msg : strerror(ENOMEM));
}

/* iptables-save, drop k3s's lines, iptables-restore: a restored table is
 * flushed and loses the chains the text no longer declares, so k3s's chains
 * go and everything else is put back as it was (k3s-killall.sh does the same). */
static void firewall(const char *tool, struct reset_result *r)
{
	char save[32], restore[32], tmp[] = "/tmp/outpost-reset-XXXXXX";
	char *in = NULL, *out = NULL;
	struct err e = { 0 };
	int dropped, fd = -1;

	snprintf(save, sizeof(save), "%s-save", tool);
	snprintf(restore, sizeof(restore), "%s-restore", tool);
	if (!have(save) || !have(restore))
		return (void)outcome(r, RESET_SKIPPED, "%s not found", save);
	{
		char *const argv[] = { save, NULL };

		if (!(in = malloc(TEXT_MAX)) || !(out = malloc(TEXT_MAX)))
			goto nomem;
		if (run_argv(argv, in, TEXT_MAX, NULL, &e) < 0)
			goto fail;
	}
	if ((dropped = reset_firewall_filter(in, out, TEXT_MAX)) < 0) {
		snprintf(e.msg, sizeof(e.msg), "%s output too large", save);
		goto fail;
	}
	if (dropped == 0) {
		outcome(r, RESET_OK, "none found");
		goto done;
	}
	if ((fd = mkstemp(tmp)) < 0 || write(fd, out, strlen(out)) != (ssize_t)strlen(out)) {
		snprintf(e.msg, sizeof(e.msg), "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	{
		char *const argv[] = { restore, tmp, NULL };

		if (run_argv(argv, NULL, 0, NULL, &e) < 0)
			goto fail;
	}
	outcome(r, RESET_OK, "%d line(s) removed", dropped);
	goto done;
nomem:
	snprintf(e.msg, sizeof(e.msg), "%s", strerror(ENOMEM));
fail:
	outcome(r, RESET_FAILED, "%s", e.msg);
done:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(in);
	free(out);
}

/* nftw gives no context pointer; a reset is single-threaded. */
static struct {
	int removed, failed, first_errno;
	char first[256];
} rm_ctx;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) == 0 || errno == ENOENT) {
		if (rm_ctx.removed++ == 0)
			crash_point();
	} else if (!rm_ctx.failed++) {
		rm_ctx.first_errno = errno;
		snprintf(rm_ctx.first, sizeof(rm_ctx.first), "%s", path);
	}
	return 0; /* go on: the rest of the tree still goes */
}

/* FTW_MOUNT: a mount the unmount step could not remove is not walked into
 * (removing through a bind mount deletes the host's files); its directory
 * stays, and the step fails naming it. */
static void remove_tree(const char *path, struct reset_result *r)
{
	memset(&rm_ctx, 0, sizeof(rm_ctx));
	if (nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
		return (void)outcome(r, RESET_FAILED, "%s: %s", path, strerror(errno));
	if (rm_ctx.failed)
		return (void)outcome(r, RESET_FAILED, "%s: %s", rm_ctx.first,
				     strerror(rm_ctx.first_errno));
	outcome(r, RESET_OK, rm_ctx.removed ? "removed" : "not there");
}

static int kept(const char *name, int keep_state)
{
	/* The CA goes with the state: the tenants' certificates it issued are
	 * part of what --keep-state keeps. */
	static const char *const state[] = { "state.db", "state.db-wal", "state.db-shm",
					     "state.db-journal", "ca" };

	if (!strcmp(name, "backups"))
		return 1;
	for (size_t i = 0; keep_state && i < sizeof(state) / sizeof(state[0]); i++)
		if (!strcmp(name, state[i]))
			return 1;
	return 0;
}

static void remove_state(const char *dir, int keep_state, struct reset_result *r)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int removed = 0, failed = 0;
	char first[512] = "";

	if (!d) {
		if (errno == ENOENT)
			return (void)outcome(r, RESET_OK, "not there");
		return (void)outcome(r, RESET_FAILED, "%s: %s", dir, strerror(errno));
	}
	while ((de = readdir(d))) {
		struct reset_result one;
		char path[4096];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    kept(de->d_name, keep_state))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		remove_tree(path, &one);
		if (one.outcome == RESET_FAILED && !failed++)
			snprintf(first, sizeof(first), "%s", one.detail);
		else if (one.outcome == RESET_OK)
			removed++;
	}
	closedir(d);
	if (failed)
		return (void)outcome(r, RESET_FAILED, "%s", first);
	outcome(r, RESET_OK, "%d entr%s removed", removed, removed == 1 ? "y" : "ies");
}

static int list_nft_tables(char **text, struct err *e)
{
	char *const argv[] = { "nft", "list", "tables", NULL };

	if (!(*text = malloc(TEXT_MAX)))
		return -ENOMEM;
	return run_argv(argv, *text, TEXT_MAX, NULL, e);
}

static void delete_nft_table(const char *family, const char *name, void *arg)
{
	char *const argv[] = { "nft", "delete", "table", (char *)family, (char *)name, NULL };
	struct err e = { 0 };
	int status;

	/* The list taken afterwards decides what failed. */
	run_argv(argv, NULL, 0, &status, &e);
	(*(int *)arg)++;
}

static void count_nft_table(const char *family, const char *name, void *arg)
{
	(void)family;
	(void)name;
	(*(int *)arg)++;
}

/* Native nftables (kube-proxy's nftables mode, flannel's EnableNFTables)
 * keep their rules in tables of their own, which iptables-save never shows:
 * the whole table goes, and nothing in any other table is touched. */
static void nftables(struct reset_result *r)
{
	struct err e = { 0 };
	char *text = NULL;
	int tried = 0, left = 0;

	if (!have("nft"))
		return (void)outcome(r, RESET_SKIPPED, "nft not found");
	if (list_nft_tables(&text, &e) < 0)
		goto fail;
	reset_nft_tables_pick(text, delete_nft_table, &tried);
	free(text);
	if (list_nft_tables(&text, &e) < 0)
		goto fail;
	reset_nft_tables_pick(text, count_nft_table, &left);
	free(text);
	if (left)
		return (void)outcome(r, RESET_FAILED, "%d table(s) still there", left);
	if (tried)
		outcome(r, RESET_OK, "%d deleted", tried);
	else
		outcome(r, RESET_OK, "none found");
	return;
fail:
	free(text);
	outcome(r, RESET_FAILED, "%s", e.msg[0] ? e.msg : strerror(ENOMEM));
}

int reset_run(const struct reset_opts *o, const struct reset_step *steps, size_t n,
	      struct reset_result *results)
{
	int failed = 0;

	for (size_t i = 0; i < n; i++) {
		const struct reset_step *s = &steps[i];
		struct reset_result *r = &results[i];
		int processes = s->kind == RESET_STOP_UNITS || s->kind == RESET_KILL_SHIMS ||
				s->kind == RESET_RELOAD_UNITS;
		int network = s->kind == RESET_DELETE_LINKS || s->kind == RESET_FIREWALL ||
			      s->kind == RESET_NFTABLES;

		/* Under --root the services and processes are the host's, never
		 * the prefix's; the network is touched only when asked (--host,
		 * which the tests give inside a network namespace of their own). */
		crash_point();
		if (processes && strcmp(o->root, "/")) {
			outcome(r, RESET_SKIPPED, "not under --root");
			continue;
		}
		if (network && !o->host) {
			outcome(r, RESET_SKIPPED, "under --root: only with --host");
			continue;
		}
		switch (s->kind) {
		case RESET_STOP_UNITS:
			stop_units(r);
			break;
		case RESET_KILL_SHIMS:
			kill_shims(r);
			break;
		case RESET_UNMOUNT:
			unmount_under(s->arg, r);
			break;
		case RESET_DELETE_LINKS:
			delete_links(r);
			break;
		case RESET_FIREWALL:
			firewall(s->arg, r);
			break;
		case RESET_NFTABLES:
			nftables(r);
			break;
		case RESET_REMOVE:
			remove_tree(s->arg, r);
			break;
		case RESET_REMOVE_STATE:
			remove_state(s->arg, o->keep_state, r);
			break;
		case RESET_RELOAD_UNITS:
			reload_units(r);
			break;
		}
		failed += r->outcome == RESET_FAILED;
	}
	return failed;
}
