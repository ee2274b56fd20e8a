/* fuzz_store_page: st_page_decode (store/page.c, the store's columnar page
 * decoder, which reads bytes from disk) on the raw input. Invariants: it
 * accepts or returns STITCH_EPARSE / ELIMIT / ENOMEM with nothing appended;
 * what it accepts re-encodes with st_page_encode and decodes again to the
 * same spans (compared as OTLP/JSON text); the batches are freed
 * (LeakSanitizer checks the arena and the tracestate references).
 *
 * The codec is compiled in from its sources (page.c and bloom.c need only
 * libstitch and stitch_wire_decode, which every fuzz target links), so the
 * target does not depend on SQLite or zstd. Seeds in corpus/store_page/
 * are pages written by the encoder (see tests/unit/test_store_page.c). */
#include "fuzz_util.h"
#include "store/bloom.c"
#include "store/page.c"
#include "wire/wire.h"

#define FZ_ARENA_MAX (16u << 20)

static char *json_of(const stitch_span_data_t *d, int *rc)
{
    stitch_buf_t b = STITCH_BUF_INIT(0);
    *rc = stitch_wire_otlp_json_encode(&d, 1, &b);
    if (stitch_buf_append(&b, "", 1))
        abort();
    return (char *)b.data;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stitch_wire_batch_t b, b2;
    stitch_wire_batch_init(&b, FZ_ARENA_MAX);
    int rc = st_page_decode(&b, data, size);
    FUZZ_CHECK(rc == 0 || rc == STITCH_EPARSE || rc == STITCH_ELIMIT || rc == STITCH_ENOMEM);
    if (rc) {
        FUZZ_CHECK(b.nspans == 0);
    } else {
        const stitch_span_data_t **ptrs = malloc((b.nspans + 1) * sizeof *ptrs);
        FUZZ_CHECK(ptrs != NULL);
        for (size_t i = 0; i < b.nspans; i++)
            ptrs[i] = &b.spans[i];
        st_page_enc_t *e = st_page_enc_new();
        FUZZ_CHECK(e != NULL);
        stitch_buf_t out = STITCH_BUF_INIT(0);
        FUZZ_CHECK(st_page_encode(e, ptrs, b.nspans, &out) == 0);
        stitch_wire_batch_init(&b2, 0);
        int rc2 = st_page_decode(&b2, out.data, out.len);
        if (rc2 != 0 || b2.nspans != b.nspans)
            fprintf(stderr, "re-decode: rc %d, %zu spans of %zu\n", rc2, b2.nspans, b.nspans);
        FUZZ_CHECK(rc2 == 0 && b2.nspans == b.nspans);
        for (size_t i = 0; i < b.nspans; i++) {
            int r1, r2;
            char *x = json_of(&b.spans[i], &r1), *y = json_of(&b2.spans[i], &r2);
            if (r1 != r2 || strcmp(x, y))
                fprintf(stderr, "span %zu differs:\n%s\n%s\n", i, x, y);
            FUZZ_CHECK(r1 == r2 && !strcmp(x, y));
            free(x);
            free(y);
        }
        stitch_wire_batch_free(&b2);
        stitch_buf_free(&out);
        st_page_enc_free(e);
        free(ptrs);
    }
    stitch_wire_batch_free(&b);
    return 0;
}
