/* wire/decode/arena.c — the decode batch's arena: a chunked bump allocator,
 * reset per request, with a hard maximum per request.
 * Invariant: `used` is the sum of the (aligned) sizes handed out since the
 * last reset and never exceeds `max` when max != 0; chunks survive resets,
 * so a receiver in steady state mallocs nothing per request. */
#include <stdlib.h>
#include <string.h>

#include "wire/decode/internal.h"

#define CHUNK_MIN (64 * 1024)
#define ALIGN STITCH_WIRE_ALIGN /* struct stitch_wire_chunk is in internal.h */

struct stitch_wire_tsref {
    struct stitch_wire_tsref *next;
    stitch_tracestate_t *ts;
};

void stitch_wire_batch_init(stitch_wire_batch_t *b, size_t max_bytes)
{
    memset(b, 0, sizeof *b);
    b->max = max_bytes;
}

static void drop_tracestates(stitch_wire_batch_t *b)
{
    for (struct stitch_wire_tsref *r = b->tstates; r; r = r->next)
        stitch_tracestate_unref(r->ts);
    b->tstates = NULL;
}

void stitch_wire_batch_reset(stitch_wire_batch_t *b)
{
    drop_tracestates(b);
    for (struct stitch_wire_chunk *c = b->chunks; c; c = c->next)
        c->pos = 0;
    b->cur = b->chunks;
    b->used = 0;
    b->limit_hit = 0;
    b->spans = NULL;
    b->nspans = b->capspans = 0;
}

void stitch_wire_batch_free(stitch_wire_batch_t *b)
{
    drop_tracestates(b);
    struct stitch_wire_chunk *c = b->chunks;
    while (c) {
        struct stitch_wire_chunk *n = c->next;
        free(c);
        c = n;
    }
    size_t max = b->max;
    stitch_wire_batch_init(b, max);
}

void *stitch_wire_batch_alloc(stitch_wire_batch_t *b, size_t n)
{
    if (n > SIZE_MAX / 2)
        return NULL;
    n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (n == 0)
        n = ALIGN;
    if (b->max && (n > b->max || b->used > b->max - n)) {
        b->limit_hit = 1;
        return NULL;
    }
    /* The current chunk, or a later one kept from earlier requests; chunks
     * skipped here stay unused until the next reset (a bounded waste). */
    while (b->cur && b->cur->size - b->cur->pos < n)
        b->cur = b->cur->next;
    if (!b->cur) {
        size_t sz = n > CHUNK_MIN ? n : CHUNK_MIN;
        struct stitch_wire_chunk *c = malloc(sizeof *c + sz);
        if (!c)
            return NULL;
        c->size = sz;
        c->pos = 0;
        c->next = NULL;
        /* append at the tail so reuse after reset walks them in order */
        struct stitch_wire_chunk **tail = &b->chunks;
        while (*tail)
            tail = &(*tail)->next;
        *tail = c;
        b->cur = c;
    }
    void *p = b->cur->data + b->cur->pos;
    b->cur->pos += n;
    b->used += n;
    return p;
}

char *stitch_wire_dup(stitch_wire_batch_t *b, const char *s, size_t n)
{
    char *d = stitch_wire_batch_alloc(b, n + 1);
    if (d) {
        if (n)
            memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

void *stitch_wire_calloc(stitch_wire_batch_t *b, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = stitch_wire_batch_alloc(b, n * size);
    if (p && n)
        memset(p, 0, n * size);
    return p;
}

int stitch_wire_tracestate(stitch_wire_batch_t *b, const char *s, size_t n,
                           const stitch_tracestate_t **out)
{
    *out = NULL;
    if (!n)
        return 0;
    struct stitch_wire_tsref *r = stitch_wire_batch_alloc(b, sizeof *r);
    if (!r)
        return b->limit_hit ? STITCH_ELIMIT : STITCH_ENOMEM;
    stitch_tracestate_t *ts = NULL;
    int rc = stitch_tracestate_parse(s, n, &ts);
    if (rc == STITCH_ENOMEM)
        return rc;
    if (rc || !ts)
        return 0; /* invalid: dropped, as W3C asks of a receiver */
    r->ts = ts;
    r->next = b->tstates;
    b->tstates = r;
    *out = ts;
    return 0;
}

int stitch_wire_reserve_spans(stitch_wire_batch_t *b, size_t n)
{
    if (b->capspans - b->nspans >= n)
        return 0;
    size_t cap = b->nspans + n;
    if (cap < 2 * b->capspans)
        cap = 2 * b->capspans;
    stitch_span_data_t *s = stitch_wire_calloc(b, cap, sizeof *s);
    if (!s)
        return b->limit_hit ? STITCH_ELIMIT : STITCH_ENOMEM;
    if (b->nspans)
        memcpy(s, b->spans, b->nspans * sizeof *s);
    b->spans = s;
    b->capspans = cap;
    return 0;
}
