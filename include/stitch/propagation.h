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


/* ---- traceparent, low level --------------------------------------------- */

#define STITCH_TRACEPARENT_LEN 55 /* "00-" 32 "-" 16 "-" 2 */

/* Parse a traceparent header value (surrounding spaces/tabs allowed) into
 * `out` (ids and flags; `remote` is left 0). Version 00 must be exactly 55
 * characters; a higher version may carry more `-`-separated fields; version
 * ff, upper-case hex and all-zero ids are rejected. 0 or STITCH_EINVAL
 * (`out` is then unspecified). Never allocates. */
STITCH_EXTERN int stitch_traceparent_parse(const char *s, size_t len, stitch_span_ctx_t *out);
/* Write "00-<trace>-<span>-<flags>" and a NUL into `out`; returns 55. Only
 * the flag bits Level 2 defines (0x01 sampled, 0x02 random) are written. */
STITCH_EXTERN size_t stitch_traceparent_format(const stitch_span_ctx_t *c,
                                               char out[STITCH_TRACEPARENT_LEN + 1]);

/* ---- tracestate ------------------------------------------------------------
 * All functions accept NULL for "empty". New objects are returned with one
 * reference that the caller owns (drop it with stitch_tracestate_unref). The
 * input objects are never modified. */

#define STITCH_TRACESTATE_MAX_MEMBERS 32

/* Parse a tracestate header value. Empty list members (and OWS around
 * commas) are skipped. *out is NULL when the list is empty. STITCH_EINVAL
 * for a malformed member, a duplicate key or more than 32 members (the W3C
 * rule is to drop the whole header then); STITCH_ENOMEM. */
STITCH_EXTERN int stitch_tracestate_parse(const char *s, size_t len, stitch_tracestate_t **out);
/* The value of `key`: *len bytes owned by `ts`, NOT NUL-terminated (it
 * points into the header string, so use *len), or NULL when absent. */
STITCH_EXTERN const char *stitch_tracestate_get(const stitch_tracestate_t *ts, const char *key,
                                                size_t *len);
STITCH_EXTERN size_t stitch_tracestate_count(const stitch_tracestate_t *ts);
/* The i-th member, left to right, as pointers into `ts` (not NUL-terminated).
 * 0 or STITCH_ENOTFOUND when i >= count. */
STITCH_EXTERN int stitch_tracestate_member(const stitch_tracestate_t *ts, size_t i,
                                           stitch_str_t *key, stitch_str_t *value);
/* A new tracestate with `key=value` as the left-most member and any older
 * member with that key removed (what a service that updates its own entry
 * must send). When that makes 33 members the right-most one is dropped.
 * STITCH_EINVAL for a bad key or value (then *out is NULL), STITCH_ENOMEM. */
STITCH_EXTERN STITCH_NODISCARD int stitch_tracestate_put(const stitch_tracestate_t *ts,
                                                         const char *key, const char *value,
                                                         stitch_tracestate_t **out);
/* A new tracestate without `key` (*out is NULL when nothing remains; a new
 * reference to `ts` when the key is absent). STITCH_ENOMEM. */
STITCH_EXTERN STITCH_NODISCARD int stitch_tracestate_delete(const stitch_tracestate_t *ts,
                                                            const char *key,
                                                            stitch_tracestate_t **out);

/* ---- baggage ---------------------------------------------------------------
 * Immutable, copy-on-write: set/remove return a new object (one reference,
 * owned by the caller) and leave the input alone. NULL is the empty
 * baggage. Values are stored decoded; percent-encoding happens on the wire. */

#define STITCH_BAGGAGE_MAX_MEMBERS 180
#define STITCH_BAGGAGE_MAX_BYTES 8192

typedef struct stitch_baggage_entry {
    const char *key;      /* NUL-terminated, owned by the baggage */
    const char *value;    /* decoded; may contain any byte except NUL */
    const char *metadata; /* properties after the first ';', "" when none */
    size_t key_len, value_len, metadata_len;
} stitch_baggage_entry_t;

/* Set `key` (a token as in RFC 7230) to `value`; `metadata` (may be NULL)
 * is kept as is. An existing entry keeps its position; a new one is
 * appended. STITCH_EINVAL for a bad key or metadata, STITCH_ELIMIT when the
 * result would pass 180 members or 8192 bytes on the wire, STITCH_ENOMEM;
 * *out is NULL on error. */
STITCH_EXTERN STITCH_NODISCARD int stitch_baggage_set(const stitch_baggage_t *bg, const char *key,
                                                      const char *value, const char *metadata,
                                                      stitch_baggage_t **out);
/* Without `key`; *out NULL when nothing remains. STITCH_ENOMEM. */
STITCH_EXTERN STITCH_NODISCARD int stitch_baggage_remove(const stitch_baggage_t *bg,
                                                         const char *key, stitch_baggage_t **out);
/* The decoded value of `key` (owned by `bg`), or NULL. */
STITCH_EXTERN const char *stitch_baggage_get(const stitch_baggage_t *bg, const char *key);
STITCH_EXTERN size_t stitch_baggage_count(const stitch_baggage_t *bg);
/* The i-th entry in insertion order. 0 or STITCH_ENOTFOUND. */
STITCH_EXTERN int stitch_baggage_at(const stitch_baggage_t *bg, size_t i,
                                    stitch_baggage_entry_t *out);
/* Parse a `baggage` header value. Malformed members are dropped one by one
 * (counted in *dropped, may be NULL), as are members past the limits.
 * *out is NULL when nothing valid remains. 0 or STITCH_ENOMEM. */
STITCH_EXTERN int stitch_baggage_parse(const char *s, size_t len, stitch_baggage_t **out,
                                       size_t *dropped);
/* The header value ("k=v;meta,k2=v2", values percent-encoded) written to
 * buf with a NUL when it fits in `cap`. Returns the length it needs without
 * the NUL (like snprintf), 0 for empty baggage. */
STITCH_EXTERN size_t stitch_baggage_format(const stitch_baggage_t *bg, char *buf, size_t cap);

/* ---- decoding one format (diagnostics, the `stitch headers decode` tool) --
 * Unlike stitch_extract this tells *why* a header is unusable and keeps
 * what the wire said (a deferred sampling decision, B3's debug flag and
 * parent id). */

typedef enum stitch_format {
    STITCH_FORMAT_W3C = 0,     /* traceparent + tracestate */
    STITCH_FORMAT_B3 = 1,      /* b3 single header */
    STITCH_FORMAT_B3MULTI = 2, /* X-B3-* */
    STITCH_FORMAT_JAEGER = 3,  /* uber-trace-id */
    STITCH_FORMAT_BAGGAGE = 4, /* W3C baggage */
} stitch_format_t;

typedef struct stitch_decoded {
    bool valid;
    bool has_ids;        /* false for a B3 sampling-only header */
    bool has_parent;     /* B3 / Jaeger parent span id present and non-zero */
    bool debug;          /* B3 `d` / X-B3-Flags: 1 / Jaeger flag 2 */
    int8_t sampled;      /* 1, 0, or -1 when the headers defer the decision */
    uint8_t flags;       /* the W3C trace-flags this maps to (debug -> sampled) */
    uint8_t trace_id[16]; /* 64-bit B3/Jaeger ids are left-padded with zeros */
    uint8_t span_id[8];
    uint8_t parent_span_id[8];
    /* W3C: the valid tracestate, or NULL (absent/invalid). BAGGAGE: the
     * entries kept. Counted references; stitch_decoded_release drops them. */
    stitch_tracestate_t *tracestate;
    stitch_baggage_t *baggage;
    size_t dropped;      /* BAGGAGE: malformed or over-limit members dropped */
    const char *error;   /* static English text when !valid, else NULL */
} stitch_decoded_t;

/* Decode format `f` from `c` into `out` (overwritten). 0 when the format's
 * headers are present and valid, STITCH_EINVAL when present and invalid
 * (out->error says why), STITCH_ENOTFOUND when absent, STITCH_ENOMEM. For
 * BAGGAGE, any malformed member makes it STITCH_EINVAL but the good ones
 * are still in out->baggage. */
STITCH_EXTERN int stitch_decode(stitch_format_t f, const stitch_carrier_t *c,
                                stitch_decoded_t *out);
/* Drop the references `d` holds. */
STITCH_EXTERN void stitch_decoded_release(stitch_decoded_t *d);

#ifdef __cplusplus
}
#endif
#endif
