/* stitch/context.h — trace context: the ids that travel between services,
 * the W3C tracestate and baggage that travel with them, and the "current"
 * context of a thread.
 *
 * Two ways to carry context inside a process:
 *  - implicitly, per thread: stitch_scope_push() makes a span (or an
 *    extracted context) current; spans started without an explicit parent
 *    become its children; stitch_scope_pop() restores the previous one.
 *  - explicitly, as a value: a stitch_ctx_t is a small caller-owned struct
 *    that can be stored with a request and handed to another thread or a
 *    later callback (event loops), then passed as a span's parent or pushed
 *    as a scope there.
 *
 * stitch_ctx_t holds references to immutable, reference-counted tracestate
 * and baggage objects (NULL when empty, which is the common case and costs
 * nothing). Copy it with stitch_ctx_copy() and drop it with
 * stitch_ctx_release(); a plain struct assignment shares the references
 * without counting them, which is fine only while the source outlives the
 * copy. */
#ifndef STITCH_CONTEXT_H
#define STITCH_CONTEXT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STITCH_FLAG_SAMPLED 0x01u /* W3C trace-flags bit 0 */

/* The immutable identity of a span, as propagated. A value type: copy it
 * freely. Invalid (e.g. "no parent") when the trace id or the span id is
 * all zeros. */
typedef struct stitch_span_ctx {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t flags;     /* W3C trace-flags; STITCH_FLAG_SAMPLED */
    uint8_t remote;    /* 1 when extracted from a carrier */
    uint8_t _pad[6];
} stitch_span_ctx_t;

STITCH_EXTERN bool stitch_span_ctx_valid(const stitch_span_ctx_t *c);
static inline bool stitch_span_ctx_sampled(const stitch_span_ctx_t *c)
{
    return (c->flags & STITCH_FLAG_SAMPLED) != 0;
}

/* Lower-case hex of ids. `out` gets 32 (trace) or 16 (span) characters and a
 * terminating NUL. */
STITCH_EXTERN void stitch_trace_id_hex(const uint8_t id[16], char out[33]);
STITCH_EXTERN void stitch_span_id_hex(const uint8_t id[8], char out[17]);
/* Parse exactly 32 / 16 hex characters (either case). 0 or STITCH_EINVAL.
 * All-zero ids parse (they are syntactically fine) but are not valid ids. */
STITCH_EXTERN int stitch_trace_id_parse(const char *hex, size_t len, uint8_t out[16]);
STITCH_EXTERN int stitch_span_id_parse(const char *hex, size_t len, uint8_t out[8]);

/* ---- tracestate (W3C) ---------------------------------------------------
 * An immutable, validated list of `key=value` members, reference-counted.
 * Created by the propagators (propagation.h) or stitch_tracestate_parse(). */
typedef struct stitch_tracestate stitch_tracestate_t;

/* Take / drop a reference. Both accept NULL. Thread-safe. */
STITCH_EXTERN stitch_tracestate_t *stitch_tracestate_ref(const stitch_tracestate_t *ts);
STITCH_EXTERN void stitch_tracestate_unref(stitch_tracestate_t *ts);
/* The header value, e.g. "vendor=x,other=y"; NUL-terminated, owned by `ts`.
 * "" for NULL. */
STITCH_EXTERN const char *stitch_tracestate_str(const stitch_tracestate_t *ts, size_t *len);

/* ---- baggage (W3C) ------------------------------------------------------
 * An immutable list of name/value entries, reference-counted; see
 * propagation.h for building and reading it. */
typedef struct stitch_baggage stitch_baggage_t;

STITCH_EXTERN stitch_baggage_t *stitch_baggage_ref(const stitch_baggage_t *bg);
STITCH_EXTERN void stitch_baggage_unref(stitch_baggage_t *bg);

/* ---- explicit context ---------------------------------------------------- */

typedef struct stitch_ctx {
    stitch_span_ctx_t span;            /* invalid when there is no span */
    stitch_tracestate_t *tracestate;   /* counted reference or NULL */
    stitch_baggage_t *baggage;         /* counted reference or NULL */
} stitch_ctx_t;

#define STITCH_CTX_INIT {{{0}, {0}, 0, 0, {0}}, NULL, NULL}

/* dst = src, taking new references. `dst` is overwritten without being
 * released first; release it before reusing it. */
STITCH_EXTERN void stitch_ctx_copy(stitch_ctx_t *dst, const stitch_ctx_t *src);
/* Drop the references `c` holds and reset it to STITCH_CTX_INIT. */
STITCH_EXTERN void stitch_ctx_release(stitch_ctx_t *c);
/* Replace c's baggage with `bg` (a new reference is taken; `bg` may be NULL). */
STITCH_EXTERN void stitch_ctx_set_baggage(stitch_ctx_t *c, const stitch_baggage_t *bg);

/* ---- the thread's current context ---------------------------------------- */

typedef struct stitch_span stitch_span_t; /* see trace.h */

/* A token returned by the push functions; pass it to stitch_scope_pop().
 * Popping a token also pops any scope pushed after it and not popped. */
typedef struct stitch_scope {
    uint32_t depth;
} stitch_scope_t;

/* Make `span` the thread's current span until the matching pop. The
 * current baggage is kept. `span` must stay alive (not ended) while it is
 * current; if it is ended first, stitch_current_span() returns NULL for it
 * but its context stays current until the pop. */
STITCH_EXTERN stitch_scope_t stitch_scope_push(stitch_span_t *span);
/* Make an explicit context current (e.g. one extracted from a request, or
 * handed over from another thread). References are taken. */
STITCH_EXTERN stitch_scope_t stitch_scope_push_ctx(const stitch_ctx_t *ctx);
/* Restore what was current before the push that returned `tok`. */
STITCH_EXTERN void stitch_scope_pop(stitch_scope_t tok);

/* The span made current by the innermost stitch_scope_push(), or NULL when
 * the innermost scope is an explicit context or there is none. The pointer
 * is borrowed. */
STITCH_EXTERN stitch_span_t *stitch_current_span(void);
/* Copy the thread's current context into `out` (new references; release it
 * with stitch_ctx_release). An empty context when nothing is current. */
STITCH_EXTERN void stitch_ctx_current(stitch_ctx_t *out);
/* The current context without taking references: valid only until the
 * thread's next push or pop. Never NULL. */
STITCH_EXTERN const stitch_ctx_t *stitch_ctx_current_borrow(void);

#ifdef __cplusplus
}
#endif
#endif
