/* The CLI's --json output: one document on stdout, times as RFC 3339 UTC. */
#ifndef OUTPOST_JSONOUT_H
#define OUTPOST_JSONOUT_H

#include <stdint.h>

#include <jansson.h>

#include "err.h"

/* Prints `doc` (consumed; NULL means it could not be built) indented, then a newline. */
int jsonout_print(json_t *doc, struct err *e);
/* Unix seconds as "2026-11-22T03:30:00Z"; JSON null for 0. */
json_t *jsonout_time(int64_t t);

#endif
