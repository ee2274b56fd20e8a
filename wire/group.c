/* wire/group.c — put a batch of spans in OTLP's nesting order: by
 * resource, then by instrumentation scope, first appearance first.
 * Invariant: the output is a permutation of the input (every span exactly
 * once), stable inside each (resource, scope) group. One malloc per batch;
 * hashing is skipped while consecutive spans share their pair (the common
 * case: one provider, few tracers). */
#include <stdlib.h>
#include <string.h>

#include "wire/internal.h"

struct slot {
    const void *a, *b; /* key; a == NULL and b == NULL marks a free slot */
    uint32_t n;        /* resource length, part of the key */
    uint32_t val;
};

static size_t slot_find(struct slot *t, size_t mask, const void *a, uint32_t n, const void *b,
                        int *found)
{
    uintptr_t h = ((uintptr_t)a * 0x9E3779B97F4A7C15ull) ^ ((uintptr_t)b * 0xC2B2AE3D27D4EB4Full) ^ n;
    size_t i = (size_t)(h >> 17) & mask;
    for (;;) {
        struct slot *s = &t[i];
        if (!s->a && !s->b && s->val == UINT32_MAX) {
            *found = 0;
            return i;
        }
        if (s->a == a && s->b == b && s->n == n) {
            *found = 1;
            return i;
        }
        i = (i + 1) & mask;
    }
}

int stitch_wire_group_spans(stitch_wire_grouped_t *b, const stitch_span_data_t *const *spans,
                            size_t n)
{
    memset(b, 0, sizeof *b);
    size_t tcap = 16;
    while (tcap < 2 * n)
        tcap *= 2;
    /* layout (8-byte aligned parts first):
     * spans[n] | tmp groups[n] | res table[tcap] | pair table[tcap] | groups[n] | gid[n] */
    size_t sz = n * sizeof(void *) + 2 * n * sizeof(stitch_wire_group_t) +
                2 * tcap * sizeof(struct slot) + n * sizeof(uint32_t);
    char *mem = malloc(sz ? sz : 1);
    if (!mem)
        return STITCH_ENOMEM;
    b->mem_ = mem;
    b->spans = (const stitch_span_data_t **)(void *)mem;
    stitch_wire_group_t *tmp = (stitch_wire_group_t *)(void *)(mem + n * sizeof(void *));
    struct slot *rtab = (struct slot *)(void *)(tmp + n);
    struct slot *ptab = rtab + tcap;
    b->groups = (stitch_wire_group_t *)(void *)(ptab + tcap);
    uint32_t *gid = (uint32_t *)(void *)(b->groups + n);
    for (size_t i = 0; i < 2 * tcap; i++)
        rtab[i] = (struct slot){NULL, NULL, 0, UINT32_MAX};

    size_t ngroups = 0;
    uint32_t nres = 0;
    const void *last_r = NULL, *last_s = NULL;
    uint32_t last_n = 0, last_g = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        const stitch_span_data_t *d = spans[i];
        if (last_g != UINT32_MAX && d->resource == last_r && d->nresource == last_n &&
            (const void *)d->scope == last_s) {
            gid[i] = last_g;
            tmp[last_g].count++;
            continue;
        }
        int found;
        /* A NULL key with val UINT32_MAX means "free": give NULL pointers a
         * stand-in address so an empty resource or scope is still a key. */
        static const char null_key;
        const void *rk = d->resource ? (const void *)d->resource : &null_key;
        const void *sk = d->scope ? (const void *)d->scope : &null_key;
        size_t pi = slot_find(ptab, tcap - 1, rk, d->nresource, sk, &found);
        uint32_t g;
        if (found) {
            g = ptab[pi].val;
        } else {
            size_t ri = slot_find(rtab, tcap - 1, rk, d->nresource, NULL, &found);
            if (!found)
                rtab[ri] = (struct slot){rk, NULL, d->nresource, nres++};
            g = (uint32_t)ngroups++;
            tmp[g] = (stitch_wire_group_t){d, rtab[ri].val, 0, 0};
            ptab[pi] = (struct slot){rk, sk, d->nresource, g};
        }
        tmp[g].count++;
        gid[i] = g;
        last_r = d->resource;
        last_n = d->nresource;
        last_s = d->scope;
        last_g = g;
    }

    /* Order groups by resource ordinal (stable: groups were numbered in
     * first-seen order), then lay the spans out group after group. The
     * group's `start` is first its rank, then its offset. */
    uint32_t *rank = (uint32_t *)(void *)rtab; /* the tables are no longer needed: */
    uint32_t *cnt = rank + n;                  /* 2*tcap slots hold far more than 2n+1 */
    memset(cnt, 0, (nres + 1) * sizeof *cnt);
    for (size_t g = 0; g < ngroups; g++)
        cnt[tmp[g].res + 1]++;
    for (uint32_t r = 0; r < nres; r++)
        cnt[r + 1] += cnt[r];
    for (size_t g = 0; g < ngroups; g++)
        rank[g] = cnt[tmp[g].res]++;
    size_t off = 0;
    for (size_t g = 0; g < ngroups; g++)
        b->groups[rank[g]] = tmp[g];
    for (size_t g = 0; g < ngroups; g++) {
        b->groups[g].start = off;
        off += b->groups[g].count;
        b->groups[g].count = 0;
    }
    for (size_t i = 0; i < n; i++) {
        stitch_wire_group_t *gr = &b->groups[rank[gid[i]]];
        b->spans[gr->start + gr->count++] = spans[i];
    }
    b->ngroups = ngroups;
    return 0;
}

void stitch_wire_grouped_free(stitch_wire_grouped_t *b)
{
    free(b->mem_);
    memset(b, 0, sizeof *b);
}
