#ifndef OUTPOST_RECONCILE_CATALOG_H
#define OUTPOST_RECONCILE_CATALOG_H

#include <stddef.h>

/* The app catalog: <datadir>/apps/<chart>/Chart.yaml gives a chart's
 * version. Each chart is read once and remembered for the reconciler's life. */
struct catalog_chart {
	char *chart;
	char *version; /* NULL: the chart is not in the catalog */
};

struct catalog {
	struct catalog_chart *charts;
	size_t n;
};

/* The chart's version, or NULL when it is not in the catalog (or memory ran out). */
const char *catalog_version(struct catalog *cat, const char *datadir, const char *chart);
void catalog_free(struct catalog *cat);

#endif
