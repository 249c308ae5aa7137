/* See backup-keycloak.h. */
#include "backup-keycloak.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backup-tar.h"
#include "run.h"

int backup_keycloak_check(const struct backup_keycloak *k, struct err *e)
{
	if (k->kcsh && (k->kcsh[0] != '/' || access(k->kcsh, X_OK) < 0))
		return err_set(e, EXIT_USAGE, "--keycloak '%s': the absolute path of an executable kc.sh", k->kcsh);
	return 0;
}

int backup_keycloak_dump(const struct backup_keycloak *k, const char *dst, struct err *e)
{
	char work[4200];
	char *const argv[] = { (char *)k->kcsh, "export", "--dir", work, "--users", "realm_file", NULL };

	if (backup_tar_workdir(dst, work, sizeof(work), e) < 0)
		return -1;
	return backup_tar_workdone(work, run_argv(argv, NULL, 0, NULL, e) < 0 || backup_tar_pack(work, NULL, dst, e) < 0 ? -1 : 0, e);
}

static int realm_file(const char *name)
{
	size_t n = strlen(name);

	return !strchr(name, '/') && n > 5 && !strcmp(name + n - 5, ".json");
}

int backup_keycloak_verify(const char *src, struct err *e)
{
	return backup_tar_verify(src, realm_file, e);
}

int backup_keycloak_restore(const struct backup_keycloak *k, const char *src, struct err *e)
{
	char work[4200];
	char *const argv[] = { (char *)k->kcsh, "import", "--dir", work, "--override", "true", NULL };

	if (backup_tar_workdir(src, work, sizeof(work), e) < 0)
		return -1;
	return backup_tar_workdone(work, backup_tar_unpack(src, work, e) < 0 || run_argv(argv, NULL, 0, NULL, e) < 0 ? -1 : 0, e);
}
