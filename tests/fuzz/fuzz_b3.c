/* fuzz_b3: B3 single-header (`b3`) and multi-header (X-B3-*) propagation.
 * The input is a list of header lines. Invariant: a context extracted by
 * either propagator, injected and extracted again, keeps its ids and
 * sampled bit; stitch_decode agrees with itself in every format. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_carrier_t *c = fz_carrier_from_lines(data, size);
    fz_round_trip(stitch_propagator_get(STITCH_PROP_B3), &c->c);
    fz_round_trip(stitch_propagator_get(STITCH_PROP_B3MULTI), &c->c);
    /* the decoder and the extractor agree on validity */
    stitch_decoded_t d;
    stitch_ctx_t ctx = STITCH_CTX_INIT;
    int drc = stitch_decode(STITCH_FORMAT_B3, &c->c, &d);
    int erc = stitch_extract(stitch_propagator_get(STITCH_PROP_B3), &c->c, &ctx);
    size_t len;
    if (drc == 0 && d.has_ids && !fz_get(c, "x-b3-traceid", 0, &len)) {
        /* b3 extract falls back to X-B3-*: compare only when those are absent */
        FUZZ_CHECK(erc == 0);
        FUZZ_CHECK(!memcmp(d.trace_id, ctx.span.trace_id, 16) &&
                   !memcmp(d.span_id, ctx.span.span_id, 8));
    }
    stitch_decoded_release(&d);
    stitch_ctx_release(&ctx);
    fz_decode_all(&c->c);
    fz_carrier_free(c);
    return 0;
}
