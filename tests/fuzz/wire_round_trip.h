/* tests/fuzz/wire_round_trip.h — the body of the three span-decoder
 * targets. Invariants: the decoder's result and its error report agree;
 * whatever it accepted re-encodes with the matching encoder without error;
 * and the re-encoding decodes again to the same number of spans with none
 * rejected. The batches are freed (LeakSanitizer checks the arena and the
 * tracestate references). */
#ifndef FUZZ_WIRE_ROUND_TRIP_H
#define FUZZ_WIRE_ROUND_TRIP_H

#include "fuzz_util.h"
#include "wire/decode.h"
#include "wire/wire.h"

typedef int (*fz_decode_fn)(stitch_wire_batch_t *, const uint8_t *, size_t, stitch_wire_error_t *);
typedef int (*fz_encode_fn)(const stitch_span_data_t *const *, size_t, stitch_buf_t *);

#define FZ_ARENA_MAX (4u << 20)

static inline void fz_wire_round_trip(const uint8_t *data, size_t size, fz_decode_fn dec,
                                      fz_encode_fn enc)
{
    stitch_wire_batch_t b, b2;
    stitch_wire_error_t err;
    stitch_wire_batch_init(&b, FZ_ARENA_MAX);
    int rc = dec(&b, data, size, &err);
    FUZZ_CHECK(rc >= 0 || rc == STITCH_EPARSE || rc == STITCH_ELIMIT || rc == STITCH_ENOMEM);
    FUZZ_CHECK(memchr(err.msg, '\0', sizeof err.msg) != NULL);
    if (rc < 0) {
        FUZZ_CHECK(err.code == rc && b.nspans == 0);
    } else {
        FUZZ_CHECK((uint32_t)rc == err.rejected);
        const stitch_span_data_t **ptrs = malloc((b.nspans + 1) * sizeof *ptrs);
        FUZZ_CHECK(ptrs != NULL);
        for (size_t i = 0; i < b.nspans; i++)
            ptrs[i] = &b.spans[i];
        stitch_buf_t out = STITCH_BUF_INIT(0);
        FUZZ_CHECK(enc(ptrs, b.nspans, &out) == 0);
        stitch_wire_batch_init(&b2, 0);
        int rc2 = dec(&b2, out.data ? out.data : (const uint8_t *)"", out.len, &err);
        if (rc2 != 0 || b2.nspans != b.nspans)
            fprintf(stderr, "re-decode: rc %d, %zu spans of %zu: %s\n", rc2, b2.nspans, b.nspans,
                    err.msg);
        FUZZ_CHECK(rc2 == 0 && b2.nspans == b.nspans);
        stitch_wire_batch_free(&b2);
        stitch_buf_free(&out);
        free(ptrs);
    }
    /* the batch is reusable after a reset, also after a failed decode */
    stitch_wire_batch_reset(&b);
    (void)dec(&b, data, size, NULL);
    stitch_wire_batch_free(&b);
}

#endif
