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
 * it is the hot path of every extract/inject. static inline and SWAR (8
 * characters per 64-bit word, no table) so the fixed-width callers get it
 * unrolled: a trace id is 4 word steps instead of 32 table lookups. As an
 * out-of-line table loop it was a quarter of traceparent extract; inlined
 * SWAR, bench_propagation's traceparent extract went from 416 to ~70
 * instructions of parsing (the rest is the carrier's lookups). */

static inline uint64_t stitch__load_le64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}
static inline void stitch__store_le64(char *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(p, &v, 8);
}

#define STITCH__B01 0x0101010101010101ULL
#define STITCH__B80 0x8080808080808080ULL

/* 0x80 in each byte of v that is in [lo, hi]; exact for bytes < 0x80. */
static inline uint64_t stitch__bytes_in(uint64_t v, unsigned lo, unsigned hi)
{
    return (v + STITCH__B01 * (0x80 - lo)) & ~(v + STITCH__B01 * (0x7f - hi)) & STITCH__B80;
}

/* 8 hex characters (little-endian word `v`, first character lowest) to 4
 * bytes (first byte lowest). Ors a non-zero value into *bad for any
 * character that is not hex (or upper case, when `lower_only`). */
static inline uint32_t stitch__unhex8(uint64_t v, bool lower_only, uint64_t *bad)
{
    uint64_t ok = stitch__bytes_in(v, '0', '9') | stitch__bytes_in(v, 'a', 'f');
    if (!lower_only)
        ok |= stitch__bytes_in(v, 'A', 'F');
    *bad |= (~ok | v) & STITCH__B80; /* v's high bits: bytes_in is exact only below 0x80 */
    /* nibble = low 4 bits, + 9 for a letter (bit 6 set) */
    uint64_t nib = (v & STITCH__B01 * 0x0f) + ((v >> 6) & STITCH__B01) * 9;
    uint64_t x = ((nib << 4) | (nib >> 8)) & 0x00ff00ff00ff00ffULL;
    x = (x | (x >> 8)) & 0x0000ffff0000ffffULL;
    return (uint32_t)(x | (x >> 16));
}

/* Parse 2n hex chars into n bytes; lower-case only when `lower_only`.
 * 0 or STITCH_EINVAL (`out` is then unspecified). Reads exactly 2n bytes. */
static inline int stitch__unhex(const char *in, size_t n, uint8_t *out, bool lower_only)
{
    uint64_t bad = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t w = stitch__unhex8(stitch__load_le64(in + 2 * i), lower_only, &bad);
        for (int j = 0; j < 4; j++) /* merged into one store by the compiler */
            out[i + j] = (uint8_t)(w >> 8 * j);
    }
    if (i < n) { /* 1..3 bytes left: pad the word with '0's */
        uint64_t v = STITCH__B01 * '0';
        for (size_t j = 0; j < 2 * (n - i); j++)
            v = (v & ~(0xffULL << 8 * j)) | (uint64_t)(uint8_t)in[2 * i + j] << 8 * j;
        uint32_t w = stitch__unhex8(v, lower_only, &bad);
        for (size_t j = 0; i + j < n; j++)
            out[i + j] = (uint8_t)(w >> 8 * j);
    }
    return bad ? STITCH_EINVAL : STITCH_OK;
}

/* 4 bytes (first byte lowest) to 8 lower-case hex characters (first
 * character lowest). */
static inline uint64_t stitch__hex8(uint32_t b)
{
    uint64_t t = b;
    t = (t | t << 16) & 0x0000ffff0000ffffULL;
    t = (t | t << 8) & 0x00ff00ff00ff00ffULL;
    uint64_t nib = ((t >> 4) & 0x000f000f000f000fULL) | ((t & 0x000f000f000f000fULL) << 8);
    uint64_t letter = ((nib + STITCH__B01 * 6) >> 4) & STITCH__B01; /* 1 where nib >= 10 */
    return nib + STITCH__B01 * '0' + letter * ('a' - '0' - 10);
}

/* Lower-case hex of n bytes into out (2n chars, no NUL). */
static inline void stitch__hex(const uint8_t *in, size_t n, char *out)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t b = (uint32_t)in[i] | (uint32_t)in[i + 1] << 8 | (uint32_t)in[i + 2] << 16 |
                     (uint32_t)in[i + 3] << 24;
        stitch__store_le64(out + 2 * i, stitch__hex8(b));
    }
    if (i < n) {
        uint32_t b = 0;
        for (size_t j = 0; i + j < n; j++)
            b |= (uint32_t)in[i + j] << 8 * j;
        uint64_t c = stitch__hex8(b);
        for (size_t j = 0; j < 2 * (n - i); j++)
            out[2 * i + j] = (char)(c >> 8 * j);
    }
}

#undef STITCH__B01
#undef STITCH__B80

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
