/* propagation/b3.c — Zipkin B3: the single `b3` header and the X-B3-*
 * headers (openzipkin/b3-propagation).
 *
 * Invariant: a B3 context is all or nothing — any malformed field (upper
 * case, wrong length, all-zero id, trailing '-', unknown sampling state)
 * invalidates the whole context; a 64-bit trace id is stored left-padded
 * with zeros to 128 bits. Debug implies sampled.
 *
 * Hand-written, fixed-position parsing like traceparent: tiny grammar, hot
 * path, no library for it. */
#include <string.h>

#include "propagation/internal.h"

/* A 16- or 32-char lower-hex trace id, padded to 16 bytes. */
static bool trace_id(const char *s, size_t n, uint8_t out[16])
{
    memset(out, 0, 16);
    if (n == 32)
        return stitch__unhex(s, 16, out, true) == STITCH_OK &&
               !(stitch__zero8(out) && stitch__zero8(out + 8));
    if (n == 16)
        return stitch__unhex(s, 8, out + 8, true) == STITCH_OK && !stitch__zero8(out + 8);
    return false;
}

static bool span_id(const char *s, size_t n, uint8_t out[8])
{
    return n == 16 && stitch__unhex(s, 8, out, true) == STITCH_OK && !stitch__zero8(out);
}

static void set_sampling(stitch_decoded_t *d, int sampled, bool debug)
{
    d->debug = debug;
    d->sampled = (int8_t)(debug ? 1 : sampled);
    d->flags = d->sampled == 1 ? STITCH_FLAG_SAMPLED : 0;
}

int stitch__decode_b3_single(const stitch_carrier_t *c, stitch_decoded_t *d)
{
    memset(d, 0, sizeof *d);
    d->sampled = -1;
    size_t len;
    const char *s = stitch__cget(c, "b3", 0, &len);
    if (!s)
        return STITCH_ENOTFOUND;
    stitch__trim(&s, &len);
    if (len == 1) { /* a lone sampling state: a decision without ids */
        if (s[0] != '0' && s[0] != '1' && s[0] != 'd')
            return stitch__decode_fail(d, "b3 sampling state must be 0, 1 or d");
        set_sampling(d, s[0] != '0', s[0] == 'd');
        d->valid = true;
        return STITCH_OK;
    }
    const char *dash = memchr(s, '-', len);
    size_t tl = dash ? (size_t)(dash - s) : len;
    if (!dash || !trace_id(s, tl, d->trace_id))
        return stitch__decode_fail(d, "b3 trace id must be 16 or 32 lower-case hex digits, not all zero");
    size_t pos = tl + 1;
    if (len - pos < 16 || !span_id(s + pos, 16, d->span_id) ||
        (len - pos > 16 && s[pos + 16] != '-'))
        return stitch__decode_fail(d, "b3 span id must be 16 lower-case hex digits, not all zero");
    pos += 16;
    int sampled = -1;
    bool debug = false;
    if (pos < len) {
        pos++; /* the '-' checked above */
        if (pos == len)
            return stitch__decode_fail(d, "b3 header ends with '-'");
        char st = s[pos++];
        if ((st != '0' && st != '1' && st != 'd') || (pos < len && s[pos] != '-'))
            return stitch__decode_fail(d, "b3 sampling state must be 0, 1 or d");
        sampled = st != '0';
        debug = st == 'd';
        if (pos < len) {
            pos++;
            if (pos == len)
                return stitch__decode_fail(d, "b3 header ends with '-'");
            if (!span_id(s + pos, len - pos, d->parent_span_id))
                return stitch__decode_fail(d, "b3 parent span id must be 16 lower-case hex digits, not all zero");
            d->has_parent = true;
        }
    }
    set_sampling(d, sampled, debug);
    d->has_ids = true;
    d->valid = true;
    return STITCH_OK;
}

static const char *get_trim(const stitch_carrier_t *c, const char *name, size_t *len)
{
    const char *v = stitch__cget(c, name, 0, len);
    if (v)
        stitch__trim(&v, len);
    return v;
}

int stitch__decode_b3_multi(const stitch_carrier_t *c, stitch_decoded_t *d)
{
    memset(d, 0, sizeof *d);
    d->sampled = -1;
    size_t tl, sl, pl, ml, fl;
    const char *t = get_trim(c, "x-b3-traceid", &tl);
    const char *s = get_trim(c, "x-b3-spanid", &sl);
    const char *p = get_trim(c, "x-b3-parentspanid", &pl);
    const char *m = get_trim(c, "x-b3-sampled", &ml);
    const char *f = get_trim(c, "x-b3-flags", &fl);
    if (!t && !s && !p && !m && !f)
        return STITCH_ENOTFOUND;
    int sampled = -1;
    bool debug = false;
    if (m) {
        /* "true"/"false" predate the spec; still seen from old clients */
        if ((ml == 1 && m[0] == '1') || stitch__strieq(m, ml, "true"))
            sampled = 1;
        else if ((ml == 1 && m[0] == '0') || stitch__strieq(m, ml, "false"))
            sampled = 0;
        else
            return stitch__decode_fail(d, "X-B3-Sampled must be 0 or 1");
    }
    if (f) {
        if (fl == 1 && f[0] == '1')
            debug = true;
        else if (!(fl == 1 && f[0] == '0'))
            return stitch__decode_fail(d, "X-B3-Flags must be 1 (debug) or 0");
    }
    if (t || s || p) {
        if (!t || !s)
            return stitch__decode_fail(d, "X-B3-TraceId and X-B3-SpanId must both be present");
        if (!trace_id(t, tl, d->trace_id))
            return stitch__decode_fail(d, "X-B3-TraceId must be 16 or 32 lower-case hex digits, not all zero");
        if (!span_id(s, sl, d->span_id))
            return stitch__decode_fail(d, "X-B3-SpanId must be 16 lower-case hex digits, not all zero");
        if (p) {
            if (!span_id(p, pl, d->parent_span_id))
                return stitch__decode_fail(d, "X-B3-ParentSpanId must be 16 lower-case hex digits, not all zero");
            d->has_parent = true;
        }
        d->has_ids = true;
    }
    set_sampling(d, sampled, debug);
    d->valid = true;
    return STITCH_OK;
}

int stitch__inject_b3(const stitch_ctx_t *ctx, const stitch_carrier_t *c, bool multi)
{
    const stitch_span_ctx_t *sc = &ctx->span;
    if (!stitch_span_ctx_valid(sc))
        return STITCH_OK;
    char smp[2] = {stitch_span_ctx_sampled(sc) ? '1' : '0', '\0'};
    if (!multi) {
        /* {trace}-{span}-{sampled}: OpenTelemetry never sends the parent */
        char b[32 + 1 + 16 + 2 + 1];
        stitch__hex(sc->trace_id, 16, b);
        b[32] = '-';
        stitch__hex(sc->span_id, 8, b + 33);
        b[49] = '-';
        b[50] = smp[0];
        b[51] = '\0';
        return stitch__cset(c, "b3", b);
    }
    char t[33], s[17];
    stitch_trace_id_hex(sc->trace_id, t);
    stitch_span_id_hex(sc->span_id, s);
    int rc = stitch__cset(c, "x-b3-traceid", t);
    if (rc == STITCH_OK)
        rc = stitch__cset(c, "x-b3-spanid", s);
    if (rc == STITCH_OK)
        rc = stitch__cset(c, "x-b3-sampled", smp);
    return rc;
}
