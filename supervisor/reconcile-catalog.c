#include "reconcile-catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "err.h"
#include "util.h"

/* The top-level `version:` of a Chart.yaml, or NULL. */
static char *chart_yaml_version(const char *path)
{
	char *text = NULL, *version = NULL;
	size_t len = 0;
	struct err e = { 0 };
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, want = 0, key = 1;

	if (util_read_file(path, 1 << 20, &text, &len, &e) < 0)
		return NULL;
	if (!yaml_parser_initialize(&p)) {
		free(text);
		return NULL;
	}
	yaml_parser_set_input_string(&p, (unsigned char *)text, len);
	while (!version && yaml_parser_parse(&p, &ev)) {
		yaml_event_type_t t = ev.type;
		if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT) {
			if (depth == 1)
				key = 1; /* a nested value ends the pair */
			depth++;
		} else if (t == YAML_MAPPING_END_EVENT || t == YAML_SEQUENCE_END_EVENT) {
			depth--;
		} else if (t == YAML_SCALAR_EVENT && depth == 1) {
			const char *v = (const char *)ev.data.scalar.value;
			if (key)
				want = !strcmp(v, "version");
			else if (want)
				version = strdup(v);
			key = !key;
		}
		yaml_event_delete(&ev);
		if (t == YAML_STREAM_END_EVENT)
			break;
	}
	yaml_parser_delete(&p);
	free(text);
	return version;
}

const char *catalog_version(struct catalog *cat, const char *datadir, const char *chart)
{
	struct catalog_chart *c;
	char *rel, *path;

	for (size_t i = 0; i < cat->n; i++)
		if (!strcmp(cat->charts[i].chart, chart))
			return cat->charts[i].version;
	c = realloc(cat->charts, (cat->n + 1) * sizeof(*c));
	if (!c)
		return NULL;
	cat->charts = c;
	c = &cat->charts[cat->n];
	c->chart = strdup(chart);
	if (!c->chart)
		return NULL;
	rel = NULL;
	path = NULL;
	if (asprintf(&rel, "apps/%s/Chart.yaml", chart) >= 0)
		path = util_path_join(datadir, rel);
	free(rel);
	c->version = path ? chart_yaml_version(path) : NULL;
	free(path);
	cat->n++;
	return c->version;
}


void catalog_free(struct catalog *cat)
{
	for (size_t i = 0; i < cat->n; i++) {
		free(cat->charts[i].chart);
		free(cat->charts[i].version);
	}
	free(cat->charts);
	cat->charts = NULL;
	cat->n = 0;
}
