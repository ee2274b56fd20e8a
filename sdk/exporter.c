/* sdk/exporter.c — the exporter seam: a user's (or a built-in) ops table
 * and state behind the opaque stitch_exporter_t that processors own.
 *
 * Invariant: an exporter is freed exactly once, by its owner (a processor,
 * or the caller of stitch_exporter_free when it was never handed over);
 * freeing calls ops->destroy, never ops->shutdown. */
#include <stdlib.h>

#include "sdk/internal.h"

stitch_exporter_t *stitch_exporter_new(const stitch_exporter_ops_t *ops, void *self)
{
    if (!ops || !ops->export_spans)
        return NULL;
    stitch_exporter_t *e = malloc(sizeof *e);
    if (e) {
        e->ops = ops;
        e->self = self;
    }
    return e;
}

void stitch_exporter_free(stitch_exporter_t *e)
{
    if (!e)
        return;
    if (e->ops->destroy)
        e->ops->destroy(e->self);
    free(e);
}

int stitch_exporter_export(stitch_exporter_t *e, const stitch_span_data_t *const *spans, size_t n,
                           uint32_t timeout_ms)
{
    if (!e || (n && !spans))
        return STITCH_EINVAL;
    if (!n)
        return STITCH_OK;
    return e->ops->export_spans(e->self, spans, n, timeout_ms);
}
