/* stitch/propagation.h — carrying trace context across process boundaries.
 *
 * A carrier is anything that holds name/value pairs — HTTP request headers,
 * message headers — reached through three callbacks. A propagator reads a
 * context from a carrier (extract) or writes one into it (inject). Formats:
 * W3C traceparent + tracestate (Level 2), W3C baggage, B3 single and multi
 * header, Jaeger uber-trace-id, and a composite of several chosen by
 * OTEL_PROPAGATORS.
 *
 * Propagators are immutable after creation and thread-safe; the built-in
 * ones returned by stitch_propagator_get() are static and never freed. */
#ifndef STITCH_PROPAGATION_H
#define STITCH_PROPAGATION_H

#include "common.h"
#include "context.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Header names passed to the callbacks are lower case. */
typedef struct stitch_carrier {
    void *self;
    /* The idx-th (0-based) value of header `name`, compared without regard
     * to case, with its length in *len; NULL when there are no more. The
     * value must stay valid until the extract call returns. */
    const char *(*get)(void *self, const char *name, size_t idx, size_t *len);
    /* Set header `name` to `value` (replacing any value it has). Both are
     * NUL-terminated and only borrowed for the call. 0 or an error. */
    int (*set)(void *self, const char *name, const char *value);
    /* Call fn for each header name in the carrier (may be NULL when the
     * carrier cannot list them; only Jaeger's uberctx-* baggage needs it). */
    void (*keys)(void *self, void (*fn)(void *arg, const char *name, size_t len), void *arg);
} stitch_carrier_t;

typedef struct stitch_propagator stitch_propagator_t;

typedef enum stitch_propagator_kind {
    STITCH_PROP_TRACECONTEXT = 0, /* "tracecontext": traceparent + tracestate */
    STITCH_PROP_BAGGAGE = 1,      /* "baggage" */
    STITCH_PROP_B3 = 2,           /* "b3": single header b3 (extracts multi too) */
    STITCH_PROP_B3MULTI = 3,      /* "b3multi": X-B3-* headers */
    STITCH_PROP_JAEGER = 4,       /* "jaeger": uber-trace-id, uberctx-* */
} stitch_propagator_kind_t;

/* A built-in propagator; static, never free it. */
STITCH_EXTERN const stitch_propagator_t *stitch_propagator_get(stitch_propagator_kind_t kind);

/* A composite from a comma-separated list of OpenTelemetry names
 * ("tracecontext,baggage,b3,b3multi,jaeger,none"). Extract tries each in
 * order and keeps the first valid span context (baggage merges); inject
 * writes every format. On an unknown name: NULL and STITCH_EINVAL in *err
 * with a message in errbuf (if not NULL). Free with stitch_propagator_free. */
STITCH_EXTERN stitch_propagator_t *stitch_propagator_from_names(const char *names, int *err,
                                                                char *errbuf, size_t errlen);
/* The composite named by OTEL_PROPAGATORS (default "tracecontext,baggage"),
 * built once per process; static, never free it. An invalid variable logs a
 * warning and yields the default. */
STITCH_EXTERN const stitch_propagator_t *stitch_propagator_default(void);
STITCH_EXTERN void stitch_propagator_free(stitch_propagator_t *p);

/* Read a context from `c` into `out` (which is overwritten, not released).
 * Fields the carrier lacks stay as they were in `out`'s initial value — so
 * start from STITCH_CTX_INIT, or from a context whose baggage should be
 * kept. 0 when a valid span context was found, STITCH_ENOTFOUND when none
 * was (baggage may still have been read). */
STITCH_EXTERN int stitch_extract(const stitch_propagator_t *p, const stitch_carrier_t *c,
                                 stitch_ctx_t *out);
/* Write `ctx` into `c`. Formats with nothing to write (invalid span
 * context, empty baggage) write nothing. 0 or the carrier's error. */
STITCH_EXTERN int stitch_inject(const stitch_propagator_t *p, const stitch_ctx_t *ctx,
                                const stitch_carrier_t *c);

#ifdef __cplusplus
}
#endif
#endif
