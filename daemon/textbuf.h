/* daemon/textbuf.h — a growing text buffer written with printf formats: how
 * stitchd renders /metrics (its own counters, the tail sampler's and the
 * forwarders' parts). Invariant: after an allocation failure `oom` is set
 * and every later write does nothing; the caller frees `p` either way. */
#ifndef STITCHD_TEXTBUF_H
#define STITCHD_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct st_text {
    char *p; /* NUL-terminated once anything was written */
    size_t len, cap;
    bool oom;
} st_text_t;

void st_text_printf(st_text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A Prometheus metric's "# HELP name help" and "# TYPE name type" lines. */
void st_text_metric_head(st_text_t *t, const char *name, const char *type, const char *help);

#endif
