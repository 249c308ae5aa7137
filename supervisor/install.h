/* outpost install / rollback: a verified bundle becomes a release directory
 * (/var/lib/outpost/releases/<version>), and activating a release places its
 * files where k3s expects them, each atomically. The install record
 * (/var/lib/outpost/install.json) makes a rerun a no-op, lets an interrupted
 * install resume, and remembers the previous release for rollback. */
#ifndef OUTPOST_INSTALL_H
#define OUTPOST_INSTALL_H

#include <stddef.h>

#include "err.h"
#include "manifest.h"

#define INSTALL_STATE_DIR "var/lib/outpost"
#define INSTALL_RECORD "var/lib/outpost/install.json"
#define INSTALL_RELEASES "var/lib/outpost/releases"

enum install_outcome {
	INSTALL_INSTALLED,
	INSTALL_UPGRADED,
	INSTALL_DOWNGRADED,
	INSTALL_RESUMED,
	INSTALL_ALREADY,
};

struct install;

/* Locks the root's state directory and verifies the bundle's signature; no
 * payload is read yet. `keys` NULL means <root>/etc/outpost/trusted-keys. */
int install_begin(const char *root, const char *bundle, const char *keys, struct install **out,
		  struct err *e);
const struct manifest *install_manifest(const struct install *in);
/* 1 when the record says exactly this bundle is installed (a rerun is a no-op). */
int install_is_current(const struct install *in);
/* Refuses (exit 3, before anything is written) a bundle whose version is
 * older than the installed release's, or whose Outpost package is older than
 * the one dpkg has installed, unless `allow_downgrade`. Versions are ordered
 * as dpkg orders them (debver.h). Resuming an interrupted install is never a
 * downgrade. */
int install_check_order(const struct install *in, int allow_downgrade, struct err *e);
/* Extracts (unless this release is already on disk), activates, records. */
int install_commit(struct install *in, int quiet, enum install_outcome *outcome, struct err *e);
void install_end(struct install *in);

/* The Outpost package (role outpost-package) of the live release under
 * `root`: 1 with its path in the release directory, 0 when the live release
 * carries none or an install is half-done. */
int install_live_package(const char *root, char *path, size_t cap, struct err *e);

/* Activates the previous release; `version` gets its name. */
int install_rollback(const char *root, char version[65], struct err *e);

#endif
