/* propagation/w3c.c — W3C Trace Context Level 2 (traceparent + tracestate)
 * and the W3C baggage header on a carrier.
 *
 * Invariant: extracting a context with no tracestate never allocates, and a
 * non-empty tracestate costs exactly one malloc (the builder collects member
 * slices from every tracestate header on the stack first).
 *
 * traceparent is a fixed-width grammar, so it is checked by position with a
 * lookup-table hex decoder rather than a general parser: this is the hot
 * path of every incoming request (goal: under 25 ns). */
#include <stdlib.h>
#include <string.h>

#include "propagation/internal.h"

/* 0 or STITCH_EINVAL with *err set; `s` already trimmed. */
static int parse_tp(const char *s, size_t len, stitch_span_ctx_t *out, const char **err)
{
    uint8_t ver;
    if (len < STITCH_TRACEPARENT_LEN) {
        *err = "traceparent too short";
        return STITCH_EINVAL;
    }
    if (s[2] != '-' || !stitch__unhex_lc(s, 1, &ver)) {
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
    if (!(stitch__unhex_lc(s + 3, 16, out->trace_id) & stitch__unhex_lc(s + 36, 8, out->span_id) &
          stitch__unhex_lc(s + 53, 1, &fl))) {
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
    out->remote = 0;
    return STITCH_OK;
}

int stitch_traceparent_parse(const char *s, size_t len, stitch_span_ctx_t *out)
{
    const char *err;
    if (!s || !out)
        return STITCH_EINVAL;
    stitch__trim(&s, &len);
    return parse_tp(s, len, out, &err);
}

size_t stitch_traceparent_format(const stitch_span_ctx_t *c, char out[STITCH_TRACEPARENT_LEN + 1])
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
    return STITCH_TRACEPARENT_LEN;
}

int stitch__decode_w3c(const stitch_carrier_t *c, stitch_decoded_t *d, bool want_ts)
{
    memset(d, 0, sizeof *d);
    size_t len;
    const char *v = stitch__cget(c, "traceparent", 0, &len);
    if (!v)
        return STITCH_ENOTFOUND;
    size_t len2;
    if (stitch__cget(c, "traceparent", 1, &len2)) {
        d->error = "repeated traceparent header";
        return STITCH_EINVAL;
    }
    stitch__trim(&v, &len);
    stitch_span_ctx_t sc;
    if (parse_tp(v, len, &sc, &d->error) != 0)
        return STITCH_EINVAL;
    d->valid = true;
    d->has_ids = true;
    memcpy(d->trace_id, sc.trace_id, 16);
    memcpy(d->span_id, sc.span_id, 8);
    d->flags = sc.flags;
    d->sampled = (sc.flags & STITCH_FLAG_SAMPLED) ? 1 : 0;
    if (!want_ts)
        return STITCH_OK;
    const char *ts = stitch__cget(c, "tracestate", 0, &len);
    if (!ts)
        return STITCH_OK;
    stitch__ts_builder_t b;
    stitch__ts_begin(&b);
    for (size_t i = 1; ts && !b.bad; i++) {
        stitch__ts_add(&b, ts, len);
        ts = stitch__cget(c, "tracestate", i, &len);
    }
    /* An invalid tracestate is dropped; the traceparent stays good. Out of
     * memory likewise only loses the tracestate. */
    (void)stitch__ts_finish(&b, &d->tracestate);
    return STITCH_OK;
}

int stitch__inject_w3c(const stitch_ctx_t *ctx, const stitch_carrier_t *c)
{
    if (!stitch_span_ctx_valid(&ctx->span))
        return STITCH_OK;
    char tp[STITCH_TRACEPARENT_LEN + 1];
    stitch_traceparent_format(&ctx->span, tp);
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
