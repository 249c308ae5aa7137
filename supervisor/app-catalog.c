#include "app-catalog.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define APP_LIST_MAX 512

static int has_chart(const char *apps, const char *chart)
{
	char path[PATH_MAX];

	return snprintf(path, sizeof(path), "%s/%s/Chart.yaml", apps, chart) < (int)sizeof(path) &&
	       access(path, R_OK) == 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "site, webapp": the apps of the catalog, sorted, for the refusal. */
static void list_apps(const char *apps, char *out, size_t cap)
{
	char *names[64];
	size_t n = 0, used = 0;
	struct dirent *de;
	DIR *d = opendir(apps);

	out[0] = '\0';
	while (d && n < sizeof(names) / sizeof(names[0]) && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && has_chart(apps, de->d_name) &&
		    (names[n] = strdup(de->d_name)) != NULL)
			n++;
	if (d)
		closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_name);
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + used, cap - used, "%s%s", i ? ", " : "", names[i]);
		if (w > 0 && (size_t)w < cap - used)
			used += (size_t)w;
		free(names[i]);
	}
}

int app_catalog_require(const char *datadir, const char *chart, struct err *e)
{
	char apps[PATH_MAX], list[APP_LIST_MAX];

	if (snprintf(apps, sizeof(apps), "%s/apps", datadir) >= (int)sizeof(apps))
		return err_set(e, EXIT_RUNTIME, "%s: path too long", datadir);
	if (has_chart(apps, chart))
		return 0;
	list_apps(apps, list, sizeof(list));
	return err_set(e, EXIT_REFUSED, "--app %s: not in the app catalog %s (%s%s)", chart, apps,
		       list[0] ? "apps there: " : "it has no apps", list);
}
