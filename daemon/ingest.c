/* daemon/ingest.c — decode slots and the hand-off to the store.
 * A request decodes into a slot's batch and keeps the slot until the
 * pipeline (pipeline.c: tail sampler, store, forwarders) has taken the
 * records (they point into the batch's arena; whoever keeps them longer
 * copies them). Invariant: at most cfg.ingest_concurrency slots exist, so the
 * memory decoding can take is bounded by ingest_concurrency × arena_max
 * however many connections are open; a slot whose arena grew past
 * SLOT_KEEP_BYTES for one huge request gives that memory back. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/log.h"
#include "daemon/stitchd.h"

#define SLOT_KEEP_BYTES (32u << 20)
/* The arena cap per request, in bytes per body byte. Typical spans take ~2
 * (the direct protobuf decoder: ~960 B of records for ~430 B on the wire,
 * bench/RESULTS.md); the cap leaves room for bodies of many tiny attributes
 * (a 4-byte KeyValue becomes a 32-byte record plus its strings). JSON is
 * smaller per input byte. */
#define ARENA_PER_BODY_BYTE 10

int stitchd_ingest_init(stitchd_t *d)
{
    pthread_mutex_init(&d->slot_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->slot_cv, &ca);
    pthread_condattr_destroy(&ca);
    uint64_t am = d->cfg.max_body * ARENA_PER_BODY_BYTE;
    d->arena_max = am > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)am;
    d->nslots = (size_t)d->cfg.ingest_concurrency;
    d->slots = calloc(d->nslots, sizeof *d->slots);
    if (!d->slots)
        return -1;
    for (size_t i = 0; i < d->nslots; i++) {
        stitch_wire_batch_init(&d->slots[i].batch, d->arena_max);
        d->slots[i].next = d->free_slots;
        d->free_slots = &d->slots[i];
    }
    return 0;
}

void stitchd_ingest_free(stitchd_t *d)
{
    if (!d->slots)
        return;
    for (size_t i = 0; i < d->nslots; i++) {
        stitch_wire_batch_free(&d->slots[i].batch);
        free(d->slots[i].ptrs);
    }
    free(d->slots);
    d->slots = NULL;
    pthread_mutex_destroy(&d->slot_mu);
    pthread_cond_destroy(&d->slot_cv);
}

stitchd_slot_t *stitchd_slot_get(stitchd_t *d, unsigned timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&d->slot_mu);
    while (!d->free_slots)
        if (pthread_cond_timedwait(&d->slot_cv, &d->slot_mu, &dl) == ETIMEDOUT)
            break;
    stitchd_slot_t *s = d->free_slots;
    if (s)
        d->free_slots = s->next;
    pthread_mutex_unlock(&d->slot_mu);
    return s;
}

void stitchd_slot_put(stitchd_t *d, stitchd_slot_t *s)
{
    if (s->batch.used > SLOT_KEEP_BYTES)
        stitch_wire_batch_free(&s->batch);
    else
        stitch_wire_batch_reset(&s->batch);
    pthread_mutex_lock(&d->slot_mu);
    s->next = d->free_slots;
    d->free_slots = s;
    pthread_cond_signal(&d->slot_cv);
    pthread_mutex_unlock(&d->slot_mu);
}

int stitchd_slot_append(stitchd_t *d, stitchd_slot_t *s)
{
    size_t n = s->batch.nspans;
    if (!n)
        return 0;
    if (n > s->cap) {
        size_t cap = s->cap ? s->cap : 512;
        while (cap < n)
            cap *= 2;
        const stitch_span_data_t **p = realloc(s->ptrs, cap * sizeof *p);
        if (!p)
            return STITCH_ENOMEM;
        s->ptrs = p;
        s->cap = cap;
    }
    for (size_t i = 0; i < n; i++)
        s->ptrs[i] = &s->batch.spans[i];
    return stitchd_pipeline_append(d, s->ptrs, n);
}
