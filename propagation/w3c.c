/* propagation/w3c.c — W3C Trace Context Level 2 (traceparent + tracestate)
 * and the W3C baggage header on a carrier.
 *
 * Invariant: extracting a context with no tracestate never allocates, and a
 * non-empty tracestate costs exactly one malloc (the builder collects member
 * slices from every tracestate header on the stack first).
 *
 * traceparent is a fixed-width grammar, so it is checked by position with
 * the inline SWAR hex decoder (sdk/internal.h) rather than a general parser:
 * this is the hot path of every incoming request (goal: under 25 ns). The
 * extract path (stitch__extract_w3c) parses straight into the caller's
 * context; the decode struct is only filled for stitch_decode(). */
#include <stdlib.h>
#include <string.h>

#include "propagation/internal.h"

/* 0 or STITCH_EINVAL with *err set; `s` already trimmed. Fills the ids
 * and flags of *out (`remote` and `_pad` are left alone). */
static inline int parse_tp(const char *s, size_t len, stitch_span_ctx_t *out, const char **err)
{
    uint8_t ver;
    if (STITCH_UNLIKELY(len < STITCH_TRACEPARENT_LEN)) {
        *err = "traceparent too short";
        return STITCH_EINVAL;
    }
    if (s[2] != '-' || stitch__unhex(s, 1, &ver, true) != STITCH_OK) {
        *err = "traceparent version is not 2 lower-case hex digits";
        return STITCH_EINVAL;
    }
    if (ver == 0xff) {
        *err = "traceparent version ff is invalid";
        return STITCH_EINVAL;
    }
    /* Version 00 is exactly 55 chars; a later version may append fields,
     * but only after a '-' (so "...-01." is still invalid). */
    if (len != STITCH_TRACEPARENT_LEN && (ver == 0 || s[STITCH_TRACEPARENT_LEN] != '-')) {
        *err = ver == 0 ? "traceparent version 00 must be 55 characters"
                        : "traceparent has trailing characters after the flags";
        return STITCH_EINVAL;
    }
    if (s[35] != '-' || s[52] != '-') {
        *err = "traceparent fields have the wrong lengths";
        return STITCH_EINVAL;
    }
    uint8_t fl;
    if ((stitch__unhex(s + 3, 16, out->trace_id, true) | stitch__unhex(s + 36, 8, out->span_id, true) |
         stitch__unhex(s + 53, 1, &fl, true)) != STITCH_OK) {
        *err = "traceparent has a character that is not lower-case hex";
        return STITCH_EINVAL;
    }
    if (stitch__zero8(out->trace_id) && stitch__zero8(out->trace_id + 8)) {
        *err = "traceparent trace id is all zeros";
        return STITCH_EINVAL;
    }
    if (stitch__zero8(out->span_id)) {
        *err = "traceparent parent id is all zeros";
        return STITCH_EINVAL;
    }
    out->flags = fl;
    return STITCH_OK;
}

int stitch_traceparent_parse(const char *s, size_t len, stitch_span_ctx_t *out)
{
    const char *err;
    if (!s || !out)
        return STITCH_EINVAL;
    stitch__trim(&s, &len);
    int rc = parse_tp(s, len, out, &err);
    out->remote = 0;
    return rc;
}

static inline void format_tp(const stitch_span_ctx_t *c, char out[STITCH_TRACEPARENT_LEN + 1])
{
    /* Level 2 defines bit 0 (sampled) and bit 1 (random trace id); other
     * bits are unknown to us and must not be forwarded under version 00. */
    uint8_t fl = c->flags & 0x03;
    out[0] = '0';
    out[1] = '0';
    out[2] = '-';
    stitch__hex(c->trace_id, 16, out + 3);
    out[35] = '-';
    stitch__hex(c->span_id, 8, out + 36);
    out[52] = '-';
    stitch__hex(&fl, 1, out + 53);
    out[55] = '\0';
}

size_t stitch_traceparent_format(const stitch_span_ctx_t *c, char out[STITCH_TRACEPARENT_LEN + 1])
{
    format_tp(c, out);
    return STITCH_TRACEPARENT_LEN;
}

/* The one traceparent of `c` into *sc (ids and flags) and, when `ts` is not
 * NULL, its tracestate headers into *ts (NULL when absent or invalid: an
 * invalid tracestate, or running out of memory, only loses the tracestate).
 * 0, STITCH_ENOTFOUND, or STITCH_EINVAL with *err set (then *ts is not
 * touched). */
static inline int read_w3c(const stitch_carrier_t *c, stitch_span_ctx_t *sc,
                           stitch_tracestate_t **ts, const char **err)
{
    size_t len;
    const char *v = stitch__cget(c, "traceparent", 0, &len);
    if (!v)
        return STITCH_ENOTFOUND;
    size_t len2;
    if (STITCH_UNLIKELY(stitch__cget(c, "traceparent", 1, &len2) != NULL)) {
        *err = "repeated traceparent header";
        return STITCH_EINVAL;
    }
    stitch__trim(&v, &len);
    if (parse_tp(v, len, sc, err) != STITCH_OK)
        return STITCH_EINVAL;
    if (!ts)
        return STITCH_OK;
    *ts = NULL;
    const char *t = stitch__cget(c, "tracestate", 0, &len);
    if (!t)
        return STITCH_OK;
    stitch__ts_builder_t b;
    stitch__ts_begin(&b);
    for (size_t i = 1; t && !b.bad; i++) {
        stitch__ts_add(&b, t, len);
        t = stitch__cget(c, "tracestate", i, &len);
    }
    (void)stitch__ts_finish(&b, ts); /* EINVAL / ENOMEM: *ts stays NULL */
    return STITCH_OK;
}

int stitch__decode_w3c(const stitch_carrier_t *c, stitch_decoded_t *d, bool want_ts)
{
    memset(d, 0, sizeof *d);
    stitch_span_ctx_t sc;
    int rc = read_w3c(c, &sc, want_ts ? &d->tracestate : NULL, &d->error);
    if (rc != STITCH_OK)
        return rc;
    d->valid = true;
    d->has_ids = true;
    memcpy(d->trace_id, sc.trace_id, 16);
    memcpy(d->span_id, sc.span_id, 8);
    d->flags = sc.flags;
    d->sampled = (sc.flags & STITCH_FLAG_SAMPLED) ? 1 : 0;
    return STITCH_OK;
}

bool stitch__extract_w3c(const stitch_carrier_t *c, stitch_ctx_t *out)
{
    stitch_span_ctx_t sc;
    stitch_tracestate_t *ts;
    const char *err;
    if (read_w3c(c, &sc, &ts, &err) != STITCH_OK)
        return false;
    sc.remote = 1;
    memset(sc._pad, 0, sizeof sc._pad);
    out->span = sc;
    out->tracestate = ts; /* the reference moves to `out` */
    return true;
}

int stitch__inject_w3c(const stitch_ctx_t *ctx, const stitch_carrier_t *c)
{
    const stitch_span_ctx_t *sc = &ctx->span;
    /* stitch_span_ctx_valid, inlined */
    if ((stitch__zero8(sc->trace_id) && stitch__zero8(sc->trace_id + 8)) ||
        stitch__zero8(sc->span_id))
        return STITCH_OK;
    char tp[STITCH_TRACEPARENT_LEN + 1];
    format_tp(sc, tp);
    int rc = stitch__cset(c, "traceparent", tp);
    if (rc == STITCH_OK && ctx->tracestate && ctx->tracestate->n)
        rc = stitch__cset(c, "tracestate", stitch__ts_str(ctx->tracestate));
    return rc;
}

int stitch__inject_baggage(const stitch_ctx_t *ctx, const stitch_carrier_t *c)
{
    if (!ctx->baggage || !ctx->baggage->n)
        return STITCH_OK;
    char stackbuf[1024];
    size_t need = stitch_baggage_format(ctx->baggage, stackbuf, sizeof stackbuf);
    if (need < sizeof stackbuf)
        return stitch__cset(c, "baggage", stackbuf);
    char *buf = malloc(need + 1);
    if (!buf)
        return STITCH_ENOMEM;
    (void)stitch_baggage_format(ctx->baggage, buf, need + 1);
    int rc = stitch__cset(c, "baggage", buf);
    free(buf);
    return rc;
}
