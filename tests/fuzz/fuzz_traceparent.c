/* fuzz_traceparent: W3C traceparent + tracestate. The input is a list of
 * header lines for stitch_extract (round-tripped through inject) and
 * stitch_decode in every format, and also, whole, a traceparent and a
 * tracestate value for the low-level parsers. Invariants: a parsed
 * traceparent formats and re-parses to the same ids; a parsed tracestate
 * prints and re-parses to the same members. */
#include "fuzz_util.h"

static void traceparent_direct(const uint8_t *data, size_t size)
{
    stitch_span_ctx_t a, b;
    memset(&a, 0, sizeof a);
    if (stitch_traceparent_parse((const char *)data, size, &a) != 0)
        return;
    FUZZ_CHECK(stitch_span_ctx_valid(&a));
    char buf[STITCH_TRACEPARENT_LEN + 1];
    FUZZ_CHECK(stitch_traceparent_format(&a, buf) == STITCH_TRACEPARENT_LEN);
    memset(&b, 0, sizeof b);
    FUZZ_CHECK(stitch_traceparent_parse(buf, STITCH_TRACEPARENT_LEN, &b) == 0);
    FUZZ_CHECK(!memcmp(a.trace_id, b.trace_id, 16) && !memcmp(a.span_id, b.span_id, 8));
    FUZZ_CHECK((a.flags & 0x03) == b.flags);
}

static void tracestate_direct(const uint8_t *data, size_t size)
{
    stitch_tracestate_t *ts = NULL, *ts2 = NULL;
    int rc = stitch_tracestate_parse((const char *)data, size, &ts);
    FUZZ_CHECK(rc == 0 || rc == STITCH_EINVAL || rc == STITCH_ENOMEM);
    if (rc == 0 && ts) {
        size_t n = stitch_tracestate_count(ts), len;
        FUZZ_CHECK(n >= 1 && n <= STITCH_TRACESTATE_MAX_MEMBERS);
        const char *s = stitch_tracestate_str(ts, &len);
        FUZZ_CHECK(stitch_tracestate_parse(s, len, &ts2) == 0);
        FUZZ_CHECK(stitch_tracestate_count(ts2) == n);
        for (size_t i = 0; i < n; i++) {
            stitch_str_t k1, v1, k2, v2;
            FUZZ_CHECK(stitch_tracestate_member(ts, i, &k1, &v1) == 0);
            FUZZ_CHECK(stitch_tracestate_member(ts2, i, &k2, &v2) == 0);
            FUZZ_CHECK(k1.len == k2.len && !memcmp(k1.ptr, k2.ptr, k1.len));
            FUZZ_CHECK(v1.len == v2.len && !memcmp(v1.ptr, v2.ptr, v1.len));
        }
        FUZZ_CHECK(stitch_tracestate_member(ts, n, &(stitch_str_t){0}, &(stitch_str_t){0}) ==
                   STITCH_ENOTFOUND);
    }
    stitch_tracestate_unref(ts2);
    stitch_tracestate_unref(ts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    traceparent_direct(data, size);
    tracestate_direct(data, size);
    fz_carrier_t *c = fz_carrier_from_lines(data, size);
    fz_round_trip(stitch_propagator_get(STITCH_PROP_TRACECONTEXT), &c->c);
    fz_decode_all(&c->c);
    fz_carrier_free(c);
    return 0;
}
