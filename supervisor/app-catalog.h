/* The installed app catalog as the CLI sees it: the apps a tenant may name
 * with --app are the <datadir>/apps/<chart>/Chart.yaml the reconciler reads
 * (reconcile-catalog.c). */
#ifndef OUTPOST_APP_CATALOG_H
#define OUTPOST_APP_CATALOG_H

#include "err.h"

/* 0 when `chart` is in the catalog; else EXIT_REFUSED naming the catalog's
 * directory and the apps there. */
int app_catalog_require(const char *datadir, const char *chart, struct err *e);

#endif
