/* Aligned text tables for human output (tenant list, capacity, status, preflight). */
#ifndef OUTPOST_TABLE_H
#define OUTPOST_TABLE_H

#include <stdio.h>

struct table;

/* `ncols` headers; a header starting with '>' is right-aligned (the '>' is not printed). */
struct table *table_new(int ncols, const char *const *headers);
/* Adds one row of exactly ncols already formatted cells (copied). Returns 0 or -ENOMEM. */
int table_add_row(struct table *t, const char *const *cells);
void table_print(const struct table *t, FILE *out);
void table_free(struct table *t);

#endif
