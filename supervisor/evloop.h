/* sd-event helpers shared by the supervising process and its worker. */
#ifndef OUTPOST_EVLOOP_H
#define OUTPOST_EVLOOP_H

#include <stdint.h>

#include <systemd/sd-event.h>

/* Fires `src` (a one-shot timer) `usec` (clock.h) from now, replacing any earlier time. */
void evloop_rearm(sd_event_source *src, uint64_t usec);

/* Calls fn(ud) when `path` (an SQLite file: its -wal and -shm count) is
 * written, by watching its directory with inotify. Returns 0 or a negative
 * errno; *out is the held source. */
int evloop_watch_file(sd_event *ev, sd_event_source **out, const char *path,
		      void (*fn)(void *ud), void *ud);

#endif
