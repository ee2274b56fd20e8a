/* sdk/simple.c — the simple span processor: each span is exported
 * synchronously on the thread that ends it (tests, debugging, the console).
 *
 * Invariant: calls into the exporter are serialized by one mutex, so an
 * exporter sees one thread at a time; every span is released exactly once,
 * exported or not (after shutdown it is released without exporting). */
#include <pthread.h>
#include <stdlib.h>

#include "sdk/span.h"

#define SIMPLE_EXPORT_TIMEOUT_MS 30000u

struct simple {
    pthread_mutex_t lock;
    stitch_exporter_t *exp;
    bool shut; /* under lock */
};

static void simple_on_end(void *self, stitch_span_t *span)
{
    struct simple *sp = self;
    const stitch_span_data_t *d = stitch_span_data(span);
    pthread_mutex_lock(&sp->lock);
    if (!sp->shut)
        (void)sp->exp->ops->export_spans(sp->exp->self, &d, 1, SIMPLE_EXPORT_TIMEOUT_MS);
    pthread_mutex_unlock(&sp->lock); /* the exporter logs its failures */
    stitch_span_release(span);
}

static int simple_flush(void *self, uint32_t timeout_ms)
{
    struct simple *sp = self;
    int rc = STITCH_OK;
    pthread_mutex_lock(&sp->lock);
    if (!sp->shut && sp->exp->ops->force_flush)
        rc = sp->exp->ops->force_flush(sp->exp->self, timeout_ms);
    pthread_mutex_unlock(&sp->lock);
    return rc;
}

static int simple_shutdown(void *self, uint32_t timeout_ms)
{
    struct simple *sp = self;
    int rc = STITCH_OK;
    pthread_mutex_lock(&sp->lock);
    if (!sp->shut) {
        sp->shut = true;
        if (sp->exp->ops->shutdown)
            rc = sp->exp->ops->shutdown(sp->exp->self, timeout_ms);
    }
    pthread_mutex_unlock(&sp->lock);
    return rc;
}

static void simple_destroy(void *self)
{
    struct simple *sp = self;
    stitch_exporter_free(sp->exp);
    pthread_mutex_destroy(&sp->lock);
    free(sp);
}

static const stitch_processor_ops_t simple_ops = {
    .on_end = simple_on_end,
    .force_flush = simple_flush,
    .shutdown = simple_shutdown,
    .destroy = simple_destroy,
};

stitch_processor_t *stitch_simple_processor_new(stitch_exporter_t *exp)
{
    if (!exp)
        return NULL;
    struct simple *sp = calloc(1, sizeof *sp);
    if (!sp) {
        stitch_exporter_free(exp);
        return NULL;
    }
    pthread_mutex_init(&sp->lock, NULL);
    sp->exp = exp;
    stitch_processor_t *p = stitch_processor_new(&simple_ops, sp);
    if (!p)
        simple_destroy(sp);
    return p;
}
