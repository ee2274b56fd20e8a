/* fuzz_baggage: the W3C baggage header. The whole input is parsed as one
 * header value; it is also split into header lines for stitch_extract
 * with the baggage propagator. Invariant: parsed baggage formats and
 * re-parses to the same entries (when it fits the 8192-byte limit). */
#include "fuzz_util.h"

static void same_entries(const stitch_baggage_t *a, const stitch_baggage_t *b)
{
    size_t n = stitch_baggage_count(a);
    FUZZ_CHECK(stitch_baggage_count(b) == n);
    for (size_t i = 0; i < n; i++) {
        stitch_baggage_entry_t x, y;
        FUZZ_CHECK(stitch_baggage_at(a, i, &x) == 0 && stitch_baggage_at(b, i, &y) == 0);
        FUZZ_CHECK(x.key_len == y.key_len && !memcmp(x.key, y.key, x.key_len));
        FUZZ_CHECK(x.value_len == y.value_len && !memcmp(x.value, y.value, x.value_len));
        FUZZ_CHECK(x.metadata_len == y.metadata_len &&
                   !memcmp(x.metadata, y.metadata, x.metadata_len));
        FUZZ_CHECK(stitch_baggage_get(a, x.key) != NULL);
    }
}

static void baggage_direct(const uint8_t *data, size_t size)
{
    stitch_baggage_t *bg = NULL, *bg2 = NULL;
    size_t dropped = 0;
    if (stitch_baggage_parse((const char *)data, size, &bg, &dropped) != 0)
        return;
    FUZZ_CHECK(stitch_baggage_count(bg) <= STITCH_BAGGAGE_MAX_MEMBERS);
    size_t need = stitch_baggage_format(bg, NULL, 0);
    FUZZ_CHECK((need == 0) == (bg == NULL));
    if (bg && need <= STITCH_BAGGAGE_MAX_BYTES) {
        char *buf = malloc(need + 1);
        FUZZ_CHECK(buf != NULL);
        FUZZ_CHECK(stitch_baggage_format(bg, buf, need + 1) == need);
        FUZZ_CHECK(buf[need] == '\0');
        size_t dropped2 = 0;
        FUZZ_CHECK(stitch_baggage_parse(buf, need, &bg2, &dropped2) == 0);
        FUZZ_CHECK(dropped2 == 0);
        same_entries(bg, bg2);
        free(buf);
    }
    /* copy-on-write: removing the first key gives one entry fewer */
    if (bg) {
        stitch_baggage_entry_t e;
        stitch_baggage_t *smaller = NULL;
        FUZZ_CHECK(stitch_baggage_at(bg, 0, &e) == 0);
        FUZZ_CHECK(stitch_baggage_remove(bg, e.key, &smaller) == 0);
        FUZZ_CHECK(stitch_baggage_count(smaller) + 1 == stitch_baggage_count(bg));
        stitch_baggage_unref(smaller);
    }
    stitch_baggage_unref(bg2);
    stitch_baggage_unref(bg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    baggage_direct(data, size);
    fz_carrier_t *c = fz_carrier_from_lines(data, size);
    stitch_ctx_t ctx = STITCH_CTX_INIT;
    int rc = stitch_extract(stitch_propagator_get(STITCH_PROP_BAGGAGE), &c->c, &ctx);
    FUZZ_CHECK(rc == 0 || rc == STITCH_ENOTFOUND);
    if (ctx.baggage) {
        fz_carrier_t *out = fz_carrier_new();
        FUZZ_CHECK(stitch_inject(stitch_propagator_get(STITCH_PROP_BAGGAGE), &ctx, &out->c) == 0);
        fz_carrier_free(out);
    }
    stitch_ctx_release(&ctx);
    fz_decode_all(&c->c);
    fz_carrier_free(c);
    return 0;
}
