/* sdk/processor.c — the span-processor seam, and the in-memory processor
 * used by tests and for debugging.
 *
 * Invariant: a processor owns the reference it gets in on_end and gives it
 * back exactly once with stitch_span_release(); the memory processor keeps
 * its spans until cleared or destroyed, and counts (and releases at once)
 * the spans that do not fit. */
#include <pthread.h>
#include <stdlib.h>

#include "sdk/span.h"

stitch_processor_t *stitch_processor_new(const stitch_processor_ops_t *ops, void *self)
{
    if (!ops || !ops->on_end)
        return NULL;
    stitch_processor_t *p = malloc(sizeof *p);
    if (p) {
        p->ops = ops;
        p->self = self;
    }
    return p;
}

void stitch_processor_free(stitch_processor_t *p)
{
    if (!p)
        return;
    if (p->ops->destroy)
        p->ops->destroy(p->self);
    free(p);
}

/* ---- the in-memory processor ---- */

struct memproc {
    pthread_mutex_t lock;
    stitch_span_t **spans;
    size_t n, cap, max;
    uint64_t dropped;
};

static void mem_on_end(void *self, stitch_span_t *span)
{
    struct memproc *m = self;
    pthread_mutex_lock(&m->lock);
    if (m->n == m->cap && m->cap < m->max) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        if (ncap > m->max)
            ncap = m->max;
        stitch_span_t **ns = realloc(m->spans, ncap * sizeof *ns);
        if (ns) {
            m->spans = ns;
            m->cap = ncap;
        }
    }
    if (m->n < m->cap) {
        m->spans[m->n++] = span;
        span = NULL;
    } else {
        m->dropped++;
    }
    pthread_mutex_unlock(&m->lock);
    if (span)
        stitch_span_release(span);
}

static void mem_clear(struct memproc *m)
{
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n; i++)
        stitch_span_release(m->spans[i]);
    m->n = 0;
    m->dropped = 0;
    pthread_mutex_unlock(&m->lock);
}

static void mem_destroy(void *self)
{
    struct memproc *m = self;
    mem_clear(m);
    free(m->spans);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static const stitch_processor_ops_t mem_ops = {
    .on_end = mem_on_end,
    .destroy = mem_destroy,
};

stitch_processor_t *stitch_memory_processor_new(size_t max_spans)
{
    struct memproc *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    pthread_mutex_init(&m->lock, NULL);
    m->max = max_spans ? max_spans : 65536;
    stitch_processor_t *p = stitch_processor_new(&mem_ops, m);
    if (!p)
        mem_destroy(m);
    return p;
}

static struct memproc *memproc_of(stitch_processor_t *p)
{
    return (p && p->ops == &mem_ops) ? p->self : NULL;
}

size_t stitch_memory_processor_count(stitch_processor_t *p)
{
    struct memproc *m = memproc_of(p);
    if (!m)
        return 0;
    pthread_mutex_lock(&m->lock);
    size_t n = m->n;
    pthread_mutex_unlock(&m->lock);
    return n;
}

const stitch_span_data_t *stitch_memory_processor_get(stitch_processor_t *p, size_t i)
{
    struct memproc *m = memproc_of(p);
    if (!m)
        return NULL;
    pthread_mutex_lock(&m->lock);
    const stitch_span_data_t *d = i < m->n ? stitch_span_data(m->spans[i]) : NULL;
    pthread_mutex_unlock(&m->lock);
    return d;
}

uint64_t stitch_memory_processor_dropped(stitch_processor_t *p)
{
    struct memproc *m = memproc_of(p);
    if (!m)
        return 0;
    pthread_mutex_lock(&m->lock);
    uint64_t d = m->dropped;
    pthread_mutex_unlock(&m->lock);
    return d;
}

void stitch_memory_processor_clear(stitch_processor_t *p)
{
    struct memproc *m = memproc_of(p);
    if (m)
        mem_clear(m);
}
