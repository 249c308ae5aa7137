/* Outpost's own Debian package, carried by a bundle (role outpost-package) and
 * installed with dpkg under the target root, so an offline machine gets the
 * Outpost a bundle was built with and dpkg keeps track of its files. */
#ifndef OUTPOST_DEBPKG_H
#define OUTPOST_DEBPKG_H

#include "debver.h"
#include "err.h"

#define DEBPKG_NAME "outpost"
#define DEBPKG_ROLE "outpost-package"
#define DEBPKG_VERSION_MAX DEBVER_MAX

/* The version of the outpost package dpkg has installed under `root`, ""
 * when it has none (never installed, removed, or no dpkg database there). */
int debpkg_installed(const char *root, char version[DEBPKG_VERSION_MAX], struct err *e);

/* Refuses (exit 3) a package older than the installed one unless
 * `allow_downgrade`; nothing is run but dpkg-query. */
int debpkg_check_order(const char *root, const char *version, int allow_downgrade, struct err *e);

/* Makes the package file `deb` (named outpost_<version>_<arch>.deb) the installed outpost package
 * under `root`: checks that its control data says outpost and the version of
 * its name, then runs dpkg --install unless that version is installed
 * already. `*changed` says whether dpkg ran. */
int debpkg_sync(const char *root, const char *deb, int allow_downgrade, int *changed,
		struct err *e);

#endif
