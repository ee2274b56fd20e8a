/* sdk/ids.c — trace and span ids, and their hex form.
 *
 * Ids come from a per-thread wyrand generator (a 64-bit Weyl sequence
 * through a 128-bit multiply; it passes BigCrush and PractRand) seeded from
 * the kernel (getrandom). It is inlined into the span path (sdk/internal.h):
 * three ids cost about as much as one xoshiro256** call did, which matters
 * for unsampled spans whose whole budget is a few nanoseconds.
 * Invariants: an id is never all zeros; a forked child never repeats its
 * parent's ids (the pthread_atfork child handler bumps a generation that
 * every thread's generator checks, so the surviving thread reseeds). */
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "sdk/internal.h"

__thread struct stitch__rng stitch__tl_rng __attribute__((tls_model("initial-exec")));
atomic_uint stitch__fork_gen = 1;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
    atomic_fetch_add(&stitch__fork_gen, 1);
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

void stitch__rng_seed(void)
{
    struct stitch__rng *r = &stitch__tl_rng;
    pthread_once(&atfork_once, install_atfork);
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
        /* No entropy yet (very early boot) or no getrandom: mix what
         * differs between processes and threads. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        x ^= (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)r;
        seed ^= splitmix64(&x);
    }
    r->s = seed;
    r->gen = atomic_load(&stitch__fork_gen);
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

/* The hex codec itself is static inline in sdk/internal.h ("hex" section). */

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
