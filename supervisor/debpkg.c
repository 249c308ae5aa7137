#include "debpkg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "debver.h"
#include "run.h"

static char *root_opt(char buf[], size_t cap, const char *root)
{
	snprintf(buf, cap, "--root=%s", root);
	return buf;
}

int debpkg_installed(const char *root, char version[DEBPKG_VERSION_MAX], struct err *e)
{
	char rootarg[4200], out[256], *tab;
	char *argv[] = { "dpkg-query", root_opt(rootarg, sizeof(rootarg), root),
			 "--showformat=${db:Status-Status}\t${Version}", "--show", DEBPKG_NAME, NULL };
	int status;

	version[0] = '\0';
	if (run_argv(argv, out, sizeof(out), &status, e) < 0)
		return -1;
	/* Exit 1: no such package, or no dpkg database under the root. */
	if (status != 0)
		return 0;
	tab = strchr(out, '\t');
	if (!tab || strncmp(out, "installed\t", 10))
		return 0; /* removed, half-installed, ...: dpkg --install will settle it */
	if (strlen(tab + 1) >= DEBPKG_VERSION_MAX)
		return err_set(e, EXIT_RUNTIME, "dpkg-query: outpost version '%s' too long", tab + 1);
	snprintf(version, DEBPKG_VERSION_MAX, "%s", tab + 1);
	return 0;
}

static int order_ok(const char *version, const char *have, int allow_downgrade, struct err *e)
{
	if (have[0] && !allow_downgrade && debver_cmp(version, have) < 0)
		return err_set(e, EXIT_REFUSED,
			       "package %s %s is older than the installed %s; pass --allow-downgrade "
			       "to install it",
			       DEBPKG_NAME, version, have);
	return 0;
}

int debpkg_check_order(const char *root, const char *version, int allow_downgrade, struct err *e)
{
	char have[DEBPKG_VERSION_MAX];

	if (debpkg_installed(root, have, e) < 0)
		return -1;
	return order_ok(version, have, allow_downgrade, e);
}

/* The control fields `Package` and `Version`, as dpkg-deb prints them. */
static int check_control(const char *deb, const char *version, struct err *e)
{
	char *argv[] = { "dpkg-deb", "--field", (char *)deb, "Package", "Version", NULL };
	char out[512], want[256];
	int status;

	if (run_argv(argv, out, sizeof(out), &status, e) < 0)
		return -1;
	if (status != 0)
		return err_set(e, EXIT_REFUSED, "%s: not a Debian package (dpkg-deb --field exited %d)",
			       deb, status);
	snprintf(want, sizeof(want), "Package: %s\nVersion: %s\n", DEBPKG_NAME, version);
	if (strcmp(out, want))
		return err_set(e, EXIT_REFUSED,
			       "%s: control data does not say package %s version %s as its name does",
			       deb, DEBPKG_NAME, version);
	return 0;
}

int debpkg_sync(const char *root, const char *deb, int allow_downgrade, int *changed,
		struct err *e)
{
	char version[DEBPKG_VERSION_MAX], have[DEBPKG_VERSION_MAX], rootarg[4200];
	char *argv[] = { "dpkg", root_opt(rootarg, sizeof(rootarg), root), "--install",
			 (char *)deb, NULL };

	*changed = 0;
	if (debver_of_package_file(deb, DEBPKG_NAME, version) < 0)
		return err_set(e, EXIT_REFUSED, "%s: not named %s_<version>_<arch>.deb", deb,
			       DEBPKG_NAME);
	if (check_control(deb, version, e) < 0 || debpkg_installed(root, have, e) < 0)
		return -1;
	if (!strcmp(have, version))
		return 0;
	if (order_ok(version, have, allow_downgrade, e) < 0)
		return -1;
	if (run_argv(argv, NULL, 0, NULL, e) < 0)
		return err_prefix(e, "install package %s %s", DEBPKG_NAME, version);
	*changed = 1;
	return 0;
}
