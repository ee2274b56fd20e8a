/* propagation/internal.h — what the propagation files share: the layout of
 * the immutable tracestate and baggage objects, the per-format decoders the
 * propagators are built on, and small carrier/text helpers (prefix stitch__).
 *
 * Invariant: a tracestate or baggage object is one malloc'd block (header,
 * index, then the strings) that never changes after it is published; only
 * its reference count moves. */
#ifndef STITCH_PROPAGATION_INTERNAL_H
#define STITCH_PROPAGATION_INTERNAL_H

#include <stdatomic.h>
#include <string.h>

#include "sdk/internal.h"
#include "stitch/propagation.h"

/* One tracestate member, as offsets into the object's string. */
struct stitch__ts_member {
    uint16_t koff, klen;
    uint16_t voff, vlen;
};

struct stitch_tracestate {
    atomic_uint refs;
    uint32_t n;   /* members */
    uint32_t len; /* strlen of the normalized "k=v,k2=v2" */
    /* struct stitch__ts_member m[n]; then char str[len + 1] */
    struct stitch__ts_member m[];
};

static inline const char *stitch__ts_str(const struct stitch_tracestate *ts)
{
    return (const char *)&ts->m[ts->n];
}

/* Accumulates tracestate members from one or more header values (repeated
 * headers join with ','), then builds the object with a single malloc. The
 * member slices point into the callers' strings until finish. */
typedef struct stitch__ts_builder {
    uint32_t n;
    uint32_t total; /* bytes of the normalized string, commas included */
    bool bad;       /* a malformed member, a duplicate or > 32 members */
    /* Set by stitch__ts_add when the members are the normalized string
     * verbatim (one header without OWS or empty members): finish copies
     * flat[0..total) at once. NULL otherwise. */
    const char *flat;
    struct {
        const char *k, *v;
        uint16_t klen, vlen;
    } m[STITCH_TRACESTATE_MAX_MEMBERS];
} stitch__ts_builder_t;

void stitch__ts_begin(stitch__ts_builder_t *b);
/* Add the members of one header value, validating them in the same pass.
 * Sets b->bad on a malformed member. */
void stitch__ts_add(stitch__ts_builder_t *b, const char *s, size_t len);
/* *out = the object (NULL when empty). STITCH_EINVAL when b->bad,
 * STITCH_ENOMEM. */
int stitch__ts_finish(stitch__ts_builder_t *b, stitch_tracestate_t **out);
bool stitch__ts_key_ok(const char *k, size_t n);
bool stitch__ts_value_ok(const char *v, size_t n);

struct stitch_baggage {
    atomic_uint refs;
    uint32_t n;
    stitch_baggage_entry_t e[]; /* then the strings */
};

/* Parse the baggage header values vals[0..nvals) into a new object merged
 * over `base` (entries of later values win; base is not modified). *out is
 * NULL when the result is empty. Counts dropped members in *dropped. */
int stitch__baggage_parse_values(const stitch_baggage_t *base, const stitch_str_t *vals,
                                 size_t nvals, stitch_baggage_t **out, size_t *dropped);
/* A new object with `add` entries (key, value, metadata as given; value
 * already decoded) set over `base`. Limits apply; excess is dropped and
 * counted in *dropped (may be NULL). */
int stitch__baggage_merge(const stitch_baggage_t *base, const stitch_baggage_entry_t *add,
                          size_t nadd, stitch_baggage_t **out, size_t *dropped);

/* ---- text helpers (text.c) ---- */
static inline bool stitch__ows(char c)
{
    return c == ' ' || c == '\t';
}
/* Trim spaces and tabs on both sides. */
static inline void stitch__trim(const char **s, size_t *n)
{
    const char *p = *s;
    size_t len = *n;
    while (len && stitch__ows(p[0])) {
        p++;
        len--;
    }
    while (len && stitch__ows(p[len - 1]))
        len--;
    *s = p;
    *n = len;
}
/* RFC 7230 tchar. */
bool stitch__is_tchar(unsigned char c);
/* Percent-decode in[0..n) into out (at least n bytes). Returns the decoded
 * length, or -1 for a malformed escape. */
long stitch__pct_decode(const char *in, size_t n, char *out);
/* Percent-encode every byte outside `keep` (a 256-entry table, 1 = literal)
 * into out when it fits in cap. Returns the encoded length. */
size_t stitch__pct_encode(const char *in, size_t n, const uint8_t keep[256], char *out,
                          size_t cap);
extern const uint8_t stitch__baggage_octet[256];

/* The idx-th value of header `name` (lower case), or NULL. */
static inline const char *stitch__cget(const stitch_carrier_t *c, const char *name, size_t idx,
                                       size_t *len)
{
    if (!c || !c->get)
        return NULL;
    size_t l = 0;
    const char *v = c->get(c->self, name, idx, &l);
    *len = v ? l : 0;
    return v;
}
static inline int stitch__cset(const stitch_carrier_t *c, const char *name, const char *value)
{
    return (c && c->set) ? c->set(c->self, name, value) : STITCH_EINVAL;
}

/* ---- per-format decoders (w3c.c, b3.c, jaeger.c) ----
 * Each fills `d` (zeroed first) and returns 0, STITCH_EINVAL with d->error,
 * STITCH_ENOTFOUND or STITCH_ENOMEM — the contract of stitch_decode(). The
 * W3C one parses tracestate only when `want_ts`. */
/* Reset *d to "invalid, with this error message" and return STITCH_EINVAL. */
static inline int stitch__decode_fail(stitch_decoded_t *d, const char *msg)
{
    memset(d, 0, sizeof *d);
    d->sampled = -1;
    d->error = msg;
    return STITCH_EINVAL;
}

int stitch__decode_w3c(const stitch_carrier_t *c, stitch_decoded_t *d, bool want_ts);
int stitch__decode_b3_single(const stitch_carrier_t *c, stitch_decoded_t *d);
int stitch__decode_b3_multi(const stitch_carrier_t *c, stitch_decoded_t *d);
int stitch__decode_jaeger(const stitch_carrier_t *c, stitch_decoded_t *d);

/* stitch_extract's W3C step: the same checks as stitch__decode_w3c, but
 * the span context goes straight into out->span (remote = 1) and the
 * tracestate reference into out->tracestate; `out` is untouched unless a
 * valid traceparent is found (then true). */
bool stitch__extract_w3c(const stitch_carrier_t *c, stitch_ctx_t *out);
int stitch__inject_w3c(const stitch_ctx_t *ctx, const stitch_carrier_t *c);
int stitch__inject_b3(const stitch_ctx_t *ctx, const stitch_carrier_t *c, bool multi);
int stitch__inject_jaeger(const stitch_ctx_t *ctx, const stitch_carrier_t *c);
int stitch__inject_baggage(const stitch_ctx_t *ctx, const stitch_carrier_t *c);
/* Jaeger uberctx-* headers merged over *bg (replaced by a new reference when
 * any were found; the old one is *not* released — the caller decides). */
int stitch__extract_jaeger_baggage(const stitch_carrier_t *c, stitch_baggage_t **bg);
int stitch__inject_jaeger_baggage(const stitch_ctx_t *ctx, const stitch_carrier_t *c);

static inline bool stitch__zero8(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v == 0;
}

/* Hex of a 64- or 128-bit id that may be shorter than full width (Jaeger):
 * 1..2n hex digits, either case, left-padded. 0 or STITCH_EINVAL. */
int stitch__unhex_padded(const char *s, size_t len, uint8_t *out, size_t n);

#endif
