/* sdk/clock.h — a clock reading that remembers its TSC value, so that a
 * span's end is its start plus a monotonic TSC interval (one cheap read at
 * each end) rather than a second wall-clock reading. */
#ifndef STITCH_SDK_CLOCK_H
#define STITCH_SDK_CLOCK_H

#include <stdint.h>

typedef struct stitch_clock {
    uint64_t ns;  /* Unix time in ns */
    uint64_t tsc; /* TSC at that time; 0 when the reading came from clock_gettime */
    uint64_t mult; /* the calibration (ns per tick << 32) it was converted with */
} stitch_clock_t;

/* Read the clock into *out; returns out->ns. */
uint64_t stitch__clock_now(stitch_clock_t *out);
/* Unix ns now, computed as start + elapsed where possible; never less than
 * start->ns. */
uint64_t stitch__clock_since(const stitch_clock_t *start);

#endif
