/* Progress of a long byte stream (bundle verify/extract): a redrawn bar with
 * bytes, rate and ETA when stderr is a terminal, a plain line every few
 * seconds otherwise (journal, CI logs), nothing when quiet. */
#ifndef OUTPOST_PROGRESS_H
#define OUTPOST_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

enum progress_mode { PROGRESS_QUIET, PROGRESS_LINES, PROGRESS_BAR };

struct progress {
	enum progress_mode mode;
	const char *what;
	uint64_t total;
	double start, last; /* monotonic seconds */
	int drawn;
};

/* mode from the environment: quiet wins, then isatty(stderr). */
void progress_begin(struct progress *p, const char *what, uint64_t total, int quiet);
void progress_update(struct progress *p, uint64_t done);
void progress_end(struct progress *p, uint64_t done, int ok);

/* Pure: "1.2 GiB / 2.0 GiB  210 MiB/s  ETA 0:04" (with a bar when width > 0). */
void progress_format(char *buf, size_t cap, uint64_t done, uint64_t total, double elapsed,
		     int bar_width);

#endif
