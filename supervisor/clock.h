/* The one monotonic clock of the program. Everything that measures an
 * interval or schedules a deadline reads it here, in microseconds, the unit
 * of sd-event's timers; callers that show or budget milliseconds divide. */
#ifndef OUTPOST_CLOCK_H
#define OUTPOST_CLOCK_H

#include <stdint.h>

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC UINT64_C(1000000)

/* CLOCK_MONOTONIC in microseconds. */
uint64_t clock_mono_us(void);

#endif
