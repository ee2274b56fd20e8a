/* sdk/internal.h — what the files of libstitch share and an instrumented
 * program never sees: the layout of the objects behind the opaque public
 * handles, and the library-internal helpers (prefix stitch__). */
#ifndef STITCH_SDK_INTERNAL_H
#define STITCH_SDK_INTERNAL_H

#include <stdarg.h>
#include <stdatomic.h>

#include "stitch/common.h"
#include "stitch/context.h"
#include "stitch/sampler.h"
#include "stitch/trace.h"

#if defined(__GNUC__)
#define STITCH_LIKELY(x) __builtin_expect(!!(x), 1)
#define STITCH_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define STITCH_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define STITCH_LIKELY(x) (x)
#define STITCH_UNLIKELY(x) (x)
#define STITCH_PRINTF(a, b)
#endif

/* A sampler is an ops table and its state (sampler.h). */
struct stitch_sampler {
    const stitch_sampler_ops_t *ops;
    void *self;
};

/* ---- util.c ---- */
/* Log through the user's callback (stitch_set_logger), or to stderr for
 * warnings and errors when STITCH_LOG=stderr; silent otherwise. */
void stitch__log(stitch_log_level_t level, const char *fmt, ...) STITCH_PRINTF(2, 3);
/* getenv() that treats an empty value as unset; NULL when unset. */
const char *stitch__getenv(const char *name);
/* Case-insensitive ASCII comparison of `a` (length n) with NUL-terminated `b`. */
bool stitch__strieq(const char *a, size_t n, const char *b);

/* ---- ids.c ---- */
/* Per-thread xoshiro256** seeded from getrandom(); reseeded in a forked
 * child. Never blocks, never allocates. */
uint64_t stitch__rand64(void);
/* Fill new non-zero ids. */
void stitch__new_trace_id(uint8_t out[16]);
void stitch__new_span_id(uint8_t out[8]);
/* Lower-case hex of n bytes into out (2n chars, no NUL). */
void stitch__hex(const uint8_t *in, size_t n, char *out);
/* Parse 2n hex chars; lower-case only when `lower_only`. 0 or STITCH_EINVAL. */
int stitch__unhex(const char *in, size_t n, uint8_t *out, bool lower_only);
bool stitch__all_zero(const uint8_t *p, size_t n);

/* ---- clock.c ---- */
/* Unix time in ns (TSC-based where the TSC is invariant). */
uint64_t stitch__now_ns(void);
/* Monotonic ns, for intervals (rate limits, timeouts). */
uint64_t stitch__mono_ns(void);

/* ---- sampler.c ---- */
/* Parse exactly n bytes as a plain decimal number ("0.25", "-1e3"), in the
 * C locale whatever the program's locale. 0, or STITCH_EINVAL for anything
 * else (spaces, hex, inf, nan, trailing junk, more than 63 bytes). */
int stitch__parse_double(const char *s, size_t n, double *out);

#endif
