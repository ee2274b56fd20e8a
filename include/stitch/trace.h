/* stitch/trace.h — tracer provider, tracers and spans (the OpenTelemetry
 * trace data model), and the span-processor seam through which ended spans
 * leave the SDK.
 *
 * Life of a span: stitch_span_start() asks the provider's sampler; a span
 * that is not recorded costs a few nanoseconds and still carries its
 * context (ids, sampled flag off) to children and downstream services.
 * A recorded span collects attributes, events, links and a status, and on
 * stitch_span_end() is handed to every processor of the provider. The
 * processors own it from then on and give it back with stitch_span_release().
 * Spans come from per-thread pools: no malloc per span in steady state.
 *
 * Thread safety: providers, tracers and processors are thread-safe. A span
 * may be used from any thread, but from one thread at a time; it may end on
 * another thread than the one that started it. */
#ifndef STITCH_TRACE_H
#define STITCH_TRACE_H

#include <stdio.h>

#include "common.h"
#include "context.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct stitch_provider stitch_provider_t;
typedef struct stitch_tracer stitch_tracer_t;
typedef struct stitch_sampler stitch_sampler_t;     /* sampler.h */
typedef struct stitch_processor stitch_processor_t;

typedef enum stitch_span_kind { /* numbers as in OTLP */
    STITCH_SPAN_KIND_INTERNAL = 1,
    STITCH_SPAN_KIND_SERVER = 2,
    STITCH_SPAN_KIND_CLIENT = 3,
    STITCH_SPAN_KIND_PRODUCER = 4,
    STITCH_SPAN_KIND_CONSUMER = 5,
} stitch_span_kind_t;

typedef enum stitch_status_code { /* numbers as in OTLP */
    STITCH_STATUS_UNSET = 0,
    STITCH_STATUS_OK = 1,
    STITCH_STATUS_ERROR = 2,
} stitch_status_code_t;

/* ---- limits (OpenTelemetry's names and defaults) ------------------------- */

typedef struct stitch_limits {
    uint32_t attribute_count;        /* OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, 128 */
    uint32_t attribute_value_length; /* OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT, 0 = unlimited */
    uint32_t event_count;            /* OTEL_SPAN_EVENT_COUNT_LIMIT, 128 */
    uint32_t link_count;             /* OTEL_SPAN_LINK_COUNT_LIMIT, 128 */
    uint32_t event_attribute_count;  /* OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT, 128 */
    uint32_t link_attribute_count;   /* OTEL_LINK_ATTRIBUTE_COUNT_LIMIT, 128 */
} stitch_limits_t;

/* OpenTelemetry's defaults, overridden by the OTEL_* variables above (and
 * the general OTEL_ATTRIBUTE_COUNT_LIMIT / OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT)
 * when `use_env` is true. */
STITCH_EXTERN void stitch_limits_default(stitch_limits_t *out, bool use_env);

/* ---- provider -------------------------------------------------------------- */

typedef struct stitch_provider_opts {
    /* Resource attributes set by code. Merged, lowest precedence first:
     * SDK defaults (telemetry.sdk.*, service.name=unknown_service:<program>),
     * these, OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME. Copied. */
    const stitch_attr_t *resource;
    size_t nresource;
    /* The sampler; the provider takes ownership. NULL: from
     * OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (default
     * parentbased_always_on), or parentbased_always_on with `no_env`. */
    stitch_sampler_t *sampler;
    /* NULL: OpenTelemetry's defaults (with OTEL_* overrides unless no_env). */
    const stitch_limits_t *limits;
    /* Ignore every OTEL_* / STITCH_* variable. */
    bool no_env;
} stitch_provider_opts_t;

/* Create a provider. `opts` may be NULL. On failure *out is NULL and an
 * error code is returned (STITCH_ENOMEM, or STITCH_EINVAL for a resource
 * attribute in `opts` without a key). A malformed OTEL_* variable is not a
 * failure: as the OpenTelemetry specification asks, it is reported through
 * the logger (stitch_set_logger) and its default is used. */
STITCH_EXTERN STITCH_NODISCARD int stitch_provider_new(stitch_provider_t **out,
                                                       const stitch_provider_opts_t *opts);
/* Add a processor; the provider takes ownership. Processors see spans in
 * the order they were added. Add them before starting spans. */
STITCH_EXTERN int stitch_provider_add_processor(stitch_provider_t *p, stitch_processor_t *proc);
/* Ask every processor to export what it holds; 0 or STITCH_ETIMEDOUT. */
STITCH_EXTERN int stitch_provider_force_flush(stitch_provider_t *p, uint32_t timeout_ms);
/* Flush and shut down every processor; spans started afterwards are not
 * recorded. Idempotent. 0 or STITCH_ETIMEDOUT. */
STITCH_EXTERN int stitch_provider_shutdown(stitch_provider_t *p, uint32_t timeout_ms);
/* Shut down (if not yet done) and free, with its tracers, sampler and
 * processors. Every span of this provider must have ended. NULL is fine. */
STITCH_EXTERN void stitch_provider_free(stitch_provider_t *p);

/* The resource's attributes; owned by the provider. */
STITCH_EXTERN const stitch_attr_t *stitch_provider_resource(const stitch_provider_t *p, size_t *n);

/* The tracer for an instrumentation scope (library name and version, either
 * may be NULL). The same pointer comes back for the same pair; it is owned
 * by the provider. NULL only when out of memory. */
STITCH_EXTERN stitch_tracer_t *stitch_tracer(stitch_provider_t *p, const char *scope_name,
                                             const char *scope_version);

/* A process-wide provider for code that cannot be handed one (adapters).
 * Not owned by the global slot: the caller frees it after resetting the
 * slot to NULL. stitch_global_tracer() returns a tracer of the global
 * provider, or a tracer that records nothing when none is set. */
STITCH_EXTERN void stitch_set_global_provider(stitch_provider_t *p);
STITCH_EXTERN stitch_provider_t *stitch_global_provider(void);
STITCH_EXTERN stitch_tracer_t *stitch_global_tracer(const char *scope_name, const char *scope_version);

/* ---- spans -------------------------------------------------------------------- */

/* A link to another span (a batch's messages, a retried request). On input
 * `dropped_attrs` is ignored. */
typedef struct stitch_link {
    stitch_span_ctx_t ctx;
    const stitch_tracestate_t *tracestate; /* may be NULL */
    const stitch_attr_t *attrs;
    uint32_t nattrs;
    uint32_t dropped_attrs;
} stitch_link_t;

typedef struct stitch_span_opts {
    stitch_span_kind_t kind;       /* 0 means INTERNAL */
    /* The parent. NULL: the thread's current context. An explicit context
     * with no valid span (e.g. STITCH_CTX_INIT) makes a root span. */
    const stitch_ctx_t *parent;
    uint64_t start_ns;             /* Unix time in ns; 0 = now */
    /* Attributes known at start; samplers see them. Copied. */
    const stitch_attr_t *attrs;
    size_t nattrs;
    /* Links known at start; samplers see them. Copied. */
    const stitch_link_t *links;
    size_t nlinks;
} stitch_span_opts_t;

/* Start a span. `opts` may be NULL (an INTERNAL child of the current
 * context, starting now). Never returns NULL: a span that is not recorded
 * (sampled out, provider shut down, out of memory) is a cheap span that
 * still carries a context. `name` is copied. */
STITCH_EXTERN stitch_span_t *stitch_span_start(stitch_tracer_t *t, const char *name,
                                               const stitch_span_opts_t *opts);

/* Attributes. Setting a key again replaces its value. Past the attribute
 * count limit the attribute is dropped, counted, and STITCH_ELIMIT returned;
 * values longer than the length limit are truncated (at a UTF-8 boundary).
 * On a span that is not recording these do nothing and return 0. Keys and
 * values are copied. */
STITCH_EXTERN int stitch_span_set_str(stitch_span_t *s, const char *key, const char *val);
STITCH_EXTERN int stitch_span_set_strn(stitch_span_t *s, const char *key, const char *val, size_t len);
STITCH_EXTERN int stitch_span_set_int(stitch_span_t *s, const char *key, int64_t val);
STITCH_EXTERN int stitch_span_set_double(stitch_span_t *s, const char *key, double val);
STITCH_EXTERN int stitch_span_set_bool(stitch_span_t *s, const char *key, bool val);
/* Any value type, arrays included. */
STITCH_EXTERN int stitch_span_set_attr(stitch_span_t *s, const stitch_attr_t *attr);
STITCH_EXTERN int stitch_span_set_attrs(stitch_span_t *s, const stitch_attr_t *attrs, size_t n);

/* An event at `time_ns` (Unix ns; 0 = now). Past the event limit the event is
 * dropped, counted, and STITCH_ELIMIT returned. */
STITCH_EXTERN int stitch_span_add_event(stitch_span_t *s, const char *name, uint64_t time_ns,
                                        const stitch_attr_t *attrs, size_t nattrs);
/* A link added after start (samplers did not see it). */
STITCH_EXTERN int stitch_span_add_link(stitch_span_t *s, const stitch_link_t *link);

/* Status: ERROR (with an optional message) or OK. OK is final: later calls
 * are ignored; UNSET is ignored; a message is kept only with ERROR. */
STITCH_EXTERN void stitch_span_set_status(stitch_span_t *s, stitch_status_code_t code,
                                          const char *message);
/* An "exception" event with exception.type / exception.message /
 * exception.stacktrace (each may be NULL). Does not set the status. */
STITCH_EXTERN int stitch_span_record_exception(stitch_span_t *s, const char *type,
                                               const char *message, const char *stacktrace);
STITCH_EXTERN int stitch_span_update_name(stitch_span_t *s, const char *name);

STITCH_EXTERN bool stitch_span_is_recording(const stitch_span_t *s);
/* The span's own context (ids and flags). */
STITCH_EXTERN stitch_span_ctx_t stitch_span_context(const stitch_span_t *s);
/* A context whose span is `s`, with s's tracestate and the baggage of
 * `base` (NULL: the thread's current baggage). Release it when done. */
STITCH_EXTERN void stitch_ctx_from_span(stitch_ctx_t *out, const stitch_span_t *s,
                                        const stitch_ctx_t *base);

/* End the span now / at `end_ns` (Unix ns). The span is handed to the
 * processors and `s` must not be used after this returns. Ending twice
 * is a bug the SDK cannot always detect. */
STITCH_EXTERN void stitch_span_end(stitch_span_t *s);
STITCH_EXTERN void stitch_span_end_at(stitch_span_t *s, uint64_t end_ns);

/* Unix time in ns from the SDK's clock (the clock spans use). */
STITCH_EXTERN uint64_t stitch_now_ns(void);

/* ---- reading ended spans (processors and exporters) ------------------------- */

typedef struct stitch_event {
    uint64_t time_ns;
    const char *name;
    const stitch_attr_t *attrs;
    uint32_t nattrs;
    uint32_t dropped_attrs;
} stitch_event_t;

typedef struct stitch_scope_info {
    const char *name;    /* "" when not given */
    const char *version; /* "" when not given */
} stitch_scope_info_t;

/* Everything a span recorded. All pointers are owned by the span and live
 * until its last stitch_span_release(). */
typedef struct stitch_span_data {
    stitch_span_ctx_t ctx;
    uint8_t parent_span_id[8];      /* all zero for a root span */
    bool parent_remote;
    const stitch_tracestate_t *tracestate;
    const char *name;
    stitch_span_kind_t kind;
    uint64_t start_ns, end_ns;      /* Unix ns */
    const stitch_attr_t *attrs;
    uint32_t nattrs, dropped_attrs;
    const stitch_event_t *events;
    uint32_t nevents, dropped_events;
    const stitch_link_t *links;
    uint32_t nlinks, dropped_links;
    stitch_status_code_t status;
    const char *status_message;     /* "" unless ERROR with a message */
    const stitch_attr_t *resource;
    uint32_t nresource;
    const stitch_scope_info_t *scope;
} stitch_span_data_t;

STITCH_EXTERN const stitch_span_data_t *stitch_span_data(const stitch_span_t *s);
/* Look an attribute up by key; NULL when absent. */
STITCH_EXTERN const stitch_value_t *stitch_span_data_attr(const stitch_span_data_t *d, const char *key);

/* ---- processors ------------------------------------------------------------------ */

typedef struct stitch_processor_ops {
    /* Called on the starting thread for every recorded span; may be NULL.
     * The span is writable here. */
    void (*on_start)(void *self, stitch_span_t *span);
    /* Called on the ending thread with a reference the processor now owns:
     * it must call stitch_span_release(span) exactly once, now or later,
     * on any thread. Must not block. */
    void (*on_end)(void *self, stitch_span_t *span);
    int (*force_flush)(void *self, uint32_t timeout_ms); /* may be NULL */
    int (*shutdown)(void *self, uint32_t timeout_ms);    /* may be NULL */
    void (*destroy)(void *self);                         /* may be NULL */
} stitch_processor_ops_t;

/* Wrap a user processor. `ops` must outlive it (usually static const). */
STITCH_EXTERN stitch_processor_t *stitch_processor_new(const stitch_processor_ops_t *ops, void *self);
/* Free a processor that was never added to a provider. */
STITCH_EXTERN void stitch_processor_free(stitch_processor_t *p);

/* Give back a span received in on_end. */
STITCH_EXTERN void stitch_span_release(stitch_span_t *s);

/* An in-memory processor for tests and debugging: keeps up to `max_spans`
 * ended spans (0 = 65536), counts the ones that did not fit. */
STITCH_EXTERN stitch_processor_t *stitch_memory_processor_new(size_t max_spans);
/* The spans it holds, in end order; pointers live until the next clear. */
STITCH_EXTERN size_t stitch_memory_processor_count(stitch_processor_t *p);
STITCH_EXTERN const stitch_span_data_t *stitch_memory_processor_get(stitch_processor_t *p, size_t i);
STITCH_EXTERN uint64_t stitch_memory_processor_dropped(stitch_processor_t *p);
STITCH_EXTERN void stitch_memory_processor_clear(stitch_processor_t *p);

/* A processor that writes each ended span as one line of text to `out`
 * (NULL = stdout), synchronously: for development, like OpenTelemetry's
 * console exporter. The stream is borrowed and must outlive the provider. */
STITCH_EXTERN stitch_processor_t *stitch_console_processor_new(FILE *out);

/* ---- logging --------------------------------------------------------------------- */

typedef enum stitch_log_level {
    STITCH_LOG_ERROR = 0,
    STITCH_LOG_WARN = 1,
    STITCH_LOG_INFO = 2,
    STITCH_LOG_DEBUG = 3,
} stitch_log_level_t;

/* The SDK never prints by itself unless told to: with no callback it stays
 * silent, except that STITCH_LOG=stderr sends warnings and errors to
 * standard error. `fn` may be called from any thread. */
typedef void (*stitch_log_fn)(void *arg, stitch_log_level_t level, const char *msg);
STITCH_EXTERN void stitch_set_logger(stitch_log_fn fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif
