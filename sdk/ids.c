/* sdk/ids.c — trace and span ids, and their hex form.
 *
 * Ids come from a per-thread xoshiro256** generator seeded from the kernel
 * (getrandom), so making one costs a few instructions and no lock.
 * Invariants: an id is never all zeros; a forked child never repeats its
 * parent's ids (the pthread_atfork child handler reseeds the only thread
 * that survives the fork, and a generation counter makes every other
 * thread-local state reseed lazily). */
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "sdk/internal.h"

struct rng {
    uint64_t s[4];
    unsigned gen; /* fork generation this state was seeded in */
};

static __thread struct rng tl_rng __attribute__((tls_model("initial-exec")));
static atomic_uint fork_gen = 1;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
    atomic_fetch_add(&fork_gen, 1);
}

static void install_atfork(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, unsigned gen)
{
    uint64_t seed[4] = {0};
    ssize_t got = getrandom(seed, sizeof seed, GRND_NONBLOCK);
    if (got != (ssize_t)sizeof seed) {
        /* No entropy yet (very early boot) or no getrandom: mix what
         * differs between processes and threads; still never repeats a
         * sibling's stream in practice. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        x ^= (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)r;
        for (int i = 0; i < 4; i++)
            seed[i] ^= splitmix64(&x);
    }
    if (!(seed[0] | seed[1] | seed[2] | seed[3]))
        seed[0] = 1; /* xoshiro's one forbidden state */
    memcpy(r->s, seed, sizeof seed);
    r->gen = gen;
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* The calling thread's generator, (re)seeded when new or after a fork. */
static inline struct rng *rng_get(void)
{
    struct rng *r = &tl_rng;
    unsigned gen = atomic_load_explicit(&fork_gen, memory_order_relaxed);
    if (STITCH_UNLIKELY(r->gen != gen)) {
        pthread_once(&atfork_once, install_atfork);
        rng_seed(r, atomic_load(&fork_gen));
    }
    return r;
}

static inline uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t stitch__rand64(void)
{
    return rng_next(rng_get());
}

void stitch__new_trace_id(uint8_t out[16])
{
    struct rng *r = rng_get();
    uint64_t a, b;
    do {
        a = rng_next(r);
        b = rng_next(r);
    } while (!(a | b));
    memcpy(out, &a, 8);
    memcpy(out + 8, &b, 8);
}

void stitch__new_span_id(uint8_t out[8])
{
    struct rng *r = rng_get();
    uint64_t a;
    do
        a = rng_next(r);
    while (!a);
    memcpy(out, &a, 8);
}

bool stitch__all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

bool stitch_span_ctx_valid(const stitch_span_ctx_t *c)
{
    return c && !stitch__all_zero(c->trace_id, 16) && !stitch__all_zero(c->span_id, 8);
}

static const char hexdigits[] = "0123456789abcdef";

void stitch__hex(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdigits[in[i] >> 4];
        out[2 * i + 1] = hexdigits[in[i] & 15];
    }
}

/* 0 for a non-hex character, else value + 1, plus 32 for an upper-case one. */
static const int8_t unhex_tab[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 43, ['B'] = 44, ['C'] = 45, ['D'] = 46, ['E'] = 47, ['F'] = 48,
};

int stitch__unhex(const char *in, size_t n, uint8_t *out, bool lower_only)
{
    unsigned bad = 0;
    for (size_t i = 0; i < n; i++) {
        int hi = unhex_tab[(uint8_t)in[2 * i]], lo = unhex_tab[(uint8_t)in[2 * i + 1]];
        /* 0 = not hex; >16 = upper case */
        bad |= (hi == 0) | (lo == 0);
        if (lower_only)
            bad |= (hi > 16) | (lo > 16);
        out[i] = (uint8_t)((((hi - 1) & 15) << 4) | ((lo - 1) & 15));
    }
    return bad ? STITCH_EINVAL : STITCH_OK;
}

void stitch_trace_id_hex(const uint8_t id[16], char out[33])
{
    stitch__hex(id, 16, out);
    out[32] = '\0';
}

void stitch_span_id_hex(const uint8_t id[8], char out[17])
{
    stitch__hex(id, 8, out);
    out[16] = '\0';
}

int stitch_trace_id_parse(const char *hex, size_t len, uint8_t out[16])
{
    if (!hex || len != 32)
        return STITCH_EINVAL;
    return stitch__unhex(hex, 16, out, false);
}

int stitch_span_id_parse(const char *hex, size_t len, uint8_t out[8])
{
    if (!hex || len != 16)
        return STITCH_EINVAL;
    return stitch__unhex(hex, 8, out, false);
}
