/* sdk/clock.c — the SDK's clock: Unix time in ns for span timestamps.
 *
 * clock_gettime costs ~27 ns on a KVM guest and a span needs two reads, so
 * where the CPU has an invariant TSC (x86-64 with constant+nonstop TSC) we
 * read the TSC (~11 ns) and convert: ns = base_ns + (tsc - base_tsc) * mult
 * >> 32. The conversion is calibrated against CLOCK_MONOTONIC over a growing
 * interval and re-anchored to CLOCK_REALTIME every second, so NTP steps
 * and frequency error never accumulate. Until the first calibration
 * interval (50 ms) has passed, and where there is no invariant TSC, the
 * clock falls back to clock_gettime. STITCH_CLOCK=gettime forces the
 * fallback.
 *
 * Invariant: readers never block; the calibration is published through a
 * seqlock, written by whichever thread finds it stale (a try-lock keeps it
 * to one writer at a time). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sdk/clock.h"
#include "sdk/internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <x86intrin.h>
#define HAVE_TSC 1
#else
#define HAVE_TSC 0
#endif

#define CALIB_FIRST_NS 50000000ull /* first calibration after 50 ms */
#define REANCHOR_NS 1000000000ull  /* re-anchor every second */

struct calib {
    uint64_t base_tsc;
    uint64_t base_ns;   /* realtime at base_tsc */
    uint64_t mult;      /* ns per tick << 32 */
    uint64_t max_delta; /* ticks after which the anchor is stale */
};

/* The published calibration. Each word is a relaxed atomic: a reader that
 * races the writer gets a torn copy, which the sequence check discards,
 * instead of a C11 data race (undefined, and reported by TSan). */
struct calib_shared {
    _Atomic uint64_t base_tsc, base_ns, mult, max_delta;
};

/* Read on every clock reading by every thread, written once a second: it
 * gets cache lines of its own, so that no lock or counter that another
 * thread writes often can share (and keep stealing) its line. */
static _Alignas(64) struct {
    atomic_uint seq;
    struct calib_shared c;
    int tsc_ok;
    uint64_t t0_tsc, t0_mono; /* start of the frequency measurement */
    uint64_t t0_real;
    _Alignas(64) pthread_mutex_t lock; /* on its own line: writers only */
    pthread_once_t once;
    char pad_[64 - sizeof(pthread_once_t)];
} clk = {.lock = PTHREAD_MUTEX_INITIALIZER, .once = PTHREAD_ONCE_INIT};

static uint64_t gettime_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t stitch__mono_ns(void)
{
    return gettime_ns(CLOCK_MONOTONIC);
}

static inline uint64_t read_tsc(void)
{
#if HAVE_TSC
    return __rdtsc();
#else
    return 0;
#endif
}

static int have_invariant_tsc(void)
{
#if HAVE_TSC
    unsigned a, b, c, d;
    if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
        return 0;
    __get_cpuid(0x80000007u, &a, &b, &c, &d);
    return (d >> 8) & 1; /* invariant TSC */
#else
    return 0;
#endif
}

static void clock_init(void)
{
    const char *force = getenv("STITCH_CLOCK");
    clk.tsc_ok = have_invariant_tsc() && !(force && strcmp(force, "gettime") == 0);
    clk.t0_tsc = read_tsc();
    clk.t0_mono = gettime_ns(CLOCK_MONOTONIC);
    clk.t0_real = gettime_ns(CLOCK_REALTIME);
}

/* Measure the TSC frequency over [t0, now] and anchor to the wall clock.
 * Called with clk.lock held. */
static void calibrate(void)
{
    uint64_t tsc = read_tsc();
    uint64_t mono = gettime_ns(CLOCK_MONOTONIC);
    uint64_t real = gettime_ns(CLOCK_REALTIME);
    uint64_t dt = tsc - clk.t0_tsc, dn = mono - clk.t0_mono;
    if (dn < CALIB_FIRST_NS || dt == 0)
        return;
    uint64_t mult = (uint64_t)(((unsigned __int128)dn << 32) / dt);
    struct calib c = {
        .base_tsc = tsc,
        .base_ns = real,
        .mult = mult,
        .max_delta = (uint64_t)(((unsigned __int128)REANCHOR_NS << 32) / mult),
    };
    atomic_fetch_add_explicit(&clk.seq, 1, memory_order_acq_rel); /* odd: writing */
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&clk.c.base_tsc, c.base_tsc, memory_order_relaxed);
    atomic_store_explicit(&clk.c.base_ns, c.base_ns, memory_order_relaxed);
    atomic_store_explicit(&clk.c.mult, c.mult, memory_order_relaxed);
    atomic_store_explicit(&clk.c.max_delta, c.max_delta, memory_order_relaxed);
    atomic_fetch_add_explicit(&clk.seq, 1, memory_order_release); /* even: done */
}

/* Read a consistent copy of the calibration; false when there is none. */
static inline bool calib_read(struct calib *out)
{
    for (;;) {
        unsigned s1 = atomic_load_explicit(&clk.seq, memory_order_acquire);
        if (s1 == 0)
            return false;
        if (s1 & 1)
            continue;
        out->base_tsc = atomic_load_explicit(&clk.c.base_tsc, memory_order_relaxed);
        out->base_ns = atomic_load_explicit(&clk.c.base_ns, memory_order_relaxed);
        out->mult = atomic_load_explicit(&clk.c.mult, memory_order_relaxed);
        out->max_delta = atomic_load_explicit(&clk.c.max_delta, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&clk.seq, memory_order_relaxed) == s1)
            return true;
    }
}

static inline uint64_t ticks_to_ns(uint64_t ticks, uint64_t mult)
{
    return (uint64_t)(((unsigned __int128)ticks * mult) >> 32);
}

/* The slow path: initialise, calibrate, re-anchor, or fall back. One
 * clock_gettime per call: its reading both answers and tells whether the
 * first calibration interval has passed. */
static uint64_t now_slow(stitch_clock_t *out)
{
    pthread_once(&clk.once, clock_init);
    uint64_t real = gettime_ns(CLOCK_REALTIME);
    if (clk.tsc_ok && real - clk.t0_real >= CALIB_FIRST_NS &&
        pthread_mutex_trylock(&clk.lock) == 0) {
        calibrate();
        pthread_mutex_unlock(&clk.lock);
    }
    /* Calibrated now, or another thread is re-anchoring: an anchor up to
     * twice its age is still far more consistent with the span's start
     * than the raw wall clock, which may differ by microseconds. */
    struct calib c;
    if (clk.tsc_ok && calib_read(&c)) {
        uint64_t t = read_tsc();
        if (t - c.base_tsc <= 2 * c.max_delta) {
            out->tsc = t;
            out->mult = c.mult;
            return out->ns = c.base_ns + ticks_to_ns(t - c.base_tsc, c.mult);
        }
    }
    out->tsc = 0; /* no TSC reading: durations come from the wall clock */
    return out->ns = real;
}

uint64_t stitch__clock_now(stitch_clock_t *out)
{
    struct calib c;
    if (STITCH_LIKELY(calib_read(&c))) {
        uint64_t t = read_tsc();
        if (STITCH_LIKELY(t - c.base_tsc <= c.max_delta)) {
            out->tsc = t;
            out->mult = c.mult;
            return out->ns = c.base_ns + ticks_to_ns(t - c.base_tsc, c.mult);
        }
    }
    return now_slow(out);
}

uint64_t stitch__clock_since(const stitch_clock_t *start)
{
    if (start->tsc) {
        /* One TSC read and the start's calibration: no seqlock on the way
         * out. Past a second, the current calibration (measured over a
         * longer interval, so more exact) converts the interval. */
        uint64_t t = read_tsc();
        if (t <= start->tsc)
            return start->ns; /* a core whose TSC lags: zero, never negative */
        uint64_t ns = ticks_to_ns(t - start->tsc, start->mult);
        if (STITCH_LIKELY(ns < REANCHOR_NS))
            return start->ns + ns;
        struct calib c;
        if (calib_read(&c))
            return start->ns + ticks_to_ns(t - start->tsc, c.mult);
    }
    stitch_clock_t now;
    uint64_t ns = stitch__clock_now(&now);
    return ns > start->ns ? ns : start->ns;
}

uint64_t stitch__now_ns(void)
{
    stitch_clock_t c;
    return stitch__clock_now(&c);
}

uint64_t stitch_now_ns(void)
{
    return stitch__now_ns();
}
