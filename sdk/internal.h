/* sdk/internal.h — what the files of libstitch share and an instrumented
 * program never sees: the layout of the objects behind the opaque public
 * handles, and the library-internal helpers (prefix stitch__). */
#ifndef STITCH_SDK_INTERNAL_H
#define STITCH_SDK_INTERNAL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>

#include "stitch/common.h"
#include "stitch/context.h"
#include "stitch/export.h"
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

/* The OpenTelemetry "key=value,key2=value2" list of OTEL_RESOURCE_ATTRIBUTES
 * and OTEL_EXPORTER_OTLP_HEADERS: members split on ',', spaces and tabs
 * around keys and values trimmed, values percent-decoded, empty members
 * skipped. The whole list is checked before fn sees any member (the
 * specification discards a malformed variable whole); then fn is called
 * for each member in order with the decoded value (not NUL-terminated,
 * valid for the call). Returns 0; STITCH_EINVAL with a reason in `why`
 * (no member was passed to fn); STITCH_ENOMEM; or fn's first non-zero
 * result, which stops the walk. */
typedef int (*stitch__kv_fn)(void *arg, const char *key, size_t klen, const char *val, size_t vlen);
int stitch__kv_list_parse(const char *s, stitch__kv_fn fn, void *arg, char *why, size_t whylen);

/* ---- ids.c ---- */
/* The per-thread id generator (wyrand), seeded from getrandom() and
 * reseeded after a fork. Never blocks, never allocates. */
struct stitch__rng {
    uint64_t s;
    unsigned gen; /* stitch__fork_gen when seeded */
};
extern __thread struct stitch__rng stitch__tl_rng __attribute__((tls_model("initial-exec")));
extern atomic_uint stitch__fork_gen;
void stitch__rng_seed(void);

static inline uint64_t stitch__rand64(void)
{
    struct stitch__rng *r = &stitch__tl_rng;
    if (STITCH_UNLIKELY(r->gen != atomic_load_explicit(&stitch__fork_gen, memory_order_relaxed)))
        stitch__rng_seed();
    r->s += 0xa0761d6478bd642full;
    unsigned __int128 t = (unsigned __int128)r->s * (r->s ^ 0xe7037ed1a0b428dbull);
    return (uint64_t)(t >> 64) ^ (uint64_t)t;
}

/* Fill new non-zero ids. */
static inline void stitch__new_span_id(uint8_t out[8])
{
    uint64_t a;
    do
        a = stitch__rand64();
    while (STITCH_UNLIKELY(!a));
    memcpy(out, &a, 8);
}

static inline void stitch__new_trace_id(uint8_t out[16])
{
    uint64_t a, b;
    do {
        a = stitch__rand64();
        b = stitch__rand64();
    } while (STITCH_UNLIKELY(!(a | b)));
    memcpy(out, &a, 8);
    memcpy(out + 8, &b, 8);
}
bool stitch__all_zero(const uint8_t *p, size_t n);

/* ---- hex (ids.c) ----
 * The library's one hex codec, used by ids.c and by every propagation
 * format (traceparent, b3, jaeger, percent-escapes). Hand-written: the
 * grammar is two fixed character ranges, no Debian library offers it, and
 * it is the hot path of every extract/inject. It works on 16 characters at
 * once with GNU C vector extensions (SSE2 on x86-64, NEON on arm64, plain
 * integer code elsewhere; the library already needs GNU C for __thread and
 * __int128) and is always inlined, so a fixed-width caller gets straight-
 * line code: a trace id is 2 vector steps. The out-of-line table loop it
 * replaces was a quarter of traceparent extract; in bench_propagation
 * (callgrind) the hex work of one traceparent went from ~390 to ~180
 * instructions (extract) and from ~240 to ~90 (inject), and inject from
 * 31 to 20 ns. */

#if defined(__GNUC__)
#define STITCH__HEX_INLINE static inline __attribute__((always_inline))
#else
#define STITCH__HEX_INLINE static inline
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define STITCH__LE64(x) __builtin_bswap64(x)
#define STITCH__BIG_ENDIAN 1
#else
#define STITCH__LE64(x) (x)
#define STITCH__BIG_ENDIAN 0
#endif

typedef uint8_t stitch__u8x16 __attribute__((vector_size(16)));
typedef uint16_t stitch__u16x8 __attribute__((vector_size(16)));
typedef uint64_t stitch__u64x2 __attribute__((vector_size(16)));
typedef uint8_t stitch__u8x8 __attribute__((vector_size(8)));

/* 16 characters (in memory order) to 8 bytes; lanes of *bad become
 * non-zero for a character that is not hex (or is upper case when
 * `lower_only`). */
STITCH__HEX_INLINE stitch__u8x8 stitch__unhex16(stitch__u8x16 v, bool lower_only,
                                                stitch__u8x16 *bad)
{
    stitch__u8x16 d = v - '0';
    stitch__u8x16 l = (lower_only ? v : (v | 0x20)) - 'a';
    stitch__u8x16 isd = (stitch__u8x16)(d < 10), isl = (stitch__u8x16)(l < 6);
    *bad |= ~(isd | isl);
    stitch__u16x8 w = (stitch__u16x8)((d & isd) | ((l + 10) & isl));
    /* each 16-bit lane holds two nibbles: first character, second one */
    stitch__u16x8 hi = STITCH__BIG_ENDIAN ? w >> 8 : w & 0xff;
    stitch__u16x8 lo = STITCH__BIG_ENDIAN ? w & 0xff : w >> 8;
    return __builtin_convertvector((hi << 4) | lo, stitch__u8x8);
}

/* Parse 2n hex chars into n bytes; lower-case only when `lower_only`.
 * 0 or STITCH_EINVAL (`out` is then unspecified). Reads exactly 2n bytes. */
STITCH__HEX_INLINE int stitch__unhex(const char *in, size_t n, uint8_t *out, bool lower_only)
{
    stitch__u8x16 bad = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        stitch__u8x16 v;
        memcpy(&v, in + 2 * i, 16);
        stitch__u8x8 r = stitch__unhex16(v, lower_only, &bad);
        memcpy(out + i, &r, 8);
    }
    if (i < n) { /* 1..7 bytes left: the rest of the lanes get '0's */
        const uint64_t zeros = 0x3030303030303030ULL;
        size_t k = 2 * (n - i), k0 = k < 8 ? k : 8;
        uint64_t w[2] = {0, 0}; /* memory order */
        memcpy(&w[0], in + 2 * i, k0);
        memcpy(&w[1], in + 2 * i + k0, k - k0);
        /* pad above the copied bytes (shifts done in little-endian order) */
        w[0] = k0 == 8 ? w[0] : STITCH__LE64(STITCH__LE64(w[0]) | zeros << 8 * k0);
        w[1] = k <= 8 ? zeros : STITCH__LE64(STITCH__LE64(w[1]) | zeros << 8 * (k - 8));
        stitch__u8x8 r = stitch__unhex16((stitch__u8x16)(stitch__u64x2){w[0], w[1]}, lower_only,
                                         &bad);
        memcpy(out + i, &r, n - i);
    }
    uint64_t b[2];
    memcpy(b, &bad, 16);
    return (b[0] | b[1]) ? STITCH_EINVAL : STITCH_OK;
}

/* Lower-case hex of n bytes into out (2n chars, no NUL). */
STITCH__HEX_INLINE void stitch__hex(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i += 8) {
        size_t m = n - i < 8 ? n - i : 8;
        stitch__u8x8 b = {0};
        memcpy(&b, in + i, m);
        stitch__u16x8 w = __builtin_convertvector(b, stitch__u16x8);
        /* first character (high nibble) at the lower address */
        stitch__u16x8 t = STITCH__BIG_ENDIAN ? (w >> 4) << 8 | (w & 15) : (w >> 4) | (w & 15) << 8;
        stitch__u8x16 nib = (stitch__u8x16)t;
        stitch__u8x16 c = nib + '0' + ((stitch__u8x16)(nib > 9) & ('a' - '0' - 10));
        memcpy(out + 2 * i, &c, 2 * m);
    }
}

#undef STITCH__HEX_INLINE
#undef STITCH__LE64
#undef STITCH__BIG_ENDIAN

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

/* ---- batch.c (for tests) ---- */
/* Sleeps of a batch processor's exporter thread, and wakes of it by
 * producers (futex wakes, not counting force_flush and shutdown); 0 for
 * another processor. */
uint64_t stitch__batch_sleeps(stitch_processor_t *p);
uint64_t stitch__batch_wakes(stitch_processor_t *p);

/* ---- exporter.c ---- */
/* An exporter is an ops table and its state (export.h). Processors call
 * ops directly; ops->export_spans is never NULL. */
struct stitch_exporter {
    const stitch_exporter_ops_t *ops;
    void *self;
};

#endif
