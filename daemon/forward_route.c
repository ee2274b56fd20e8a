/* daemon/forward_route.c — which back instance owns a trace: rendezvous
 * (highest-random-weight) hashing of the trace id against each instance's
 * identity (a hash of its URL as configured). Every router given the same
 * list makes the same choice, whatever the list's order; removing an
 * instance moves only its own traces, adding one moves ~1/N of them to it.
 * Pure functions: no state, no locks (tests/unit/test_sampling_policy.c). */
#include <string.h>

#include "daemon/forward.h"

uint64_t router_seed(const char *url)
{
    uint64_t h = 14695981039346656037ull;
    for (const char *c = url; *c; c++)
        h = (h ^ (uint8_t)*c) * 1099511628211ull;
    return h;
}

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

size_t router_pick(const router_t *r, const uint8_t trace_id[16])
{
    uint64_t a, b;
    memcpy(&a, trace_id, 8);
    memcpy(&b, trace_id + 8, 8);
    uint64_t t = mix(a ^ mix(b));
    size_t best = 0;
    uint64_t best_w = 0;
    for (size_t i = 0; i < r->n; i++) {
        uint64_t w = mix(t ^ r->seed[i]);
        if (i == 0 || w > best_w) {
            best = i;
            best_w = w;
        }
    }
    return best;
}

