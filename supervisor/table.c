#include "table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct table {
	int ncols;
	size_t nrows, cap; /* rows[0] is the header row */
	char **cells;      /* nrows * ncols strings */
	int *right;
	size_t *width;
};

static int add_row(struct table *t, const char *const *cells, int header)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **nc = realloc(t->cells, cap * (size_t)t->ncols * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		t->cells = nc;
		t->cap = cap;
	}
	for (int c = 0; c < t->ncols; c++) {
		const char *s = cells[c] ? cells[c] : "";
		if (header && s[0] == '>') {
			t->right[c] = 1;
			s++;
		}
		char *dup = strdup(s);
		if (!dup) {
			while (c-- > 0)
				free(t->cells[t->nrows * (size_t)t->ncols + (size_t)c]);
			return -ENOMEM;
		}
		t->cells[t->nrows * (size_t)t->ncols + (size_t)c] = dup;
		size_t w = strlen(dup);
		if (w > t->width[c])
			t->width[c] = w;
	}
	t->nrows++;
	return 0;
}

struct table *table_new(int ncols, const char *const *headers)
{
	struct table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ncols = ncols;
	t->right = calloc((size_t)ncols, sizeof(*t->right));
	t->width = calloc((size_t)ncols, sizeof(*t->width));
	if (!t->right || !t->width || add_row(t, headers, 1) < 0) {
		table_free(t);
		return NULL;
	}
	return t;
}

int table_add_row(struct table *t, const char *const *cells)
{
	return add_row(t, cells, 0);
}

void table_print(const struct table *t, FILE *out)
{
	for (size_t r = 0; r < t->nrows; r++) {
		for (int c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * (size_t)t->ncols + (size_t)c];
			int last = c == t->ncols - 1;
			int w = (int)t->width[c];
			if (t->right[c])
				fprintf(out, "%*s", w, s);
			else if (last)
				fputs(s, out);
			else
				fprintf(out, "%-*s", w, s);
			fputs(last ? "\n" : "  ", out);
		}
	}
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->cells && i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->right);
	free(t->width);
	free(t);
}
