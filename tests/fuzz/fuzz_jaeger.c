/* fuzz_jaeger: Jaeger propagation, uber-trace-id and uberctx-* baggage
 * (which needs the carrier's keys callback). The input is a list of header
 * lines. Invariant: an extracted context survives inject + extract with
 * its ids, sampled bit and number of baggage entries. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_carrier_t *c = fz_carrier_from_lines(data, size);
    const stitch_propagator_t *p = stitch_propagator_get(STITCH_PROP_JAEGER);
    fz_round_trip(p, &c->c);

    stitch_ctx_t a = STITCH_CTX_INIT;
    (void)stitch_extract(p, &c->c, &a); /* baggage is read even without ids */
    if (a.baggage) {
        fz_carrier_t *out = fz_carrier_new();
        FUZZ_CHECK(stitch_inject(p, &a, &out->c) == 0);
        stitch_ctx_t b = STITCH_CTX_INIT;
        (void)stitch_extract(p, &out->c, &b);
        FUZZ_CHECK(stitch_baggage_count(a.baggage) == stitch_baggage_count(b.baggage));
        stitch_ctx_release(&b);
        fz_carrier_free(out);
    }
    stitch_ctx_release(&a);

    /* a carrier without a keys callback: uberctx-* cannot be listed */
    stitch_carrier_t nokeys = c->c;
    nokeys.keys = NULL;
    stitch_ctx_t n = STITCH_CTX_INIT;
    (void)stitch_extract(p, &nokeys, &n);
    stitch_ctx_release(&n);

    fz_decode_all(&c->c);
    fz_carrier_free(c);
    return 0;
}
