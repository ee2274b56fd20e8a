/* fuzz_otlp_proto_equiv: the direct OTLP protobuf decoder and the protobuf-c
 * reference on the same input must agree (tests/unit/wire_dump.h,
 * wire_proto_equiv): return code, error report and every record field, with
 * an unbounded arena; and with an arena maximum, only the reference may run
 * out of room where the direct decoder does not. Any difference aborts with
 * both decodes printed. */
#include "fuzz_util.h"
#include "tests/unit/wire_dump.h"

static void check(const uint8_t *data, size_t size, size_t max)
{
    char *why = NULL;
    if (wire_proto_equiv(data, size, max, &why)) {
        fprintf(stderr, "%s\n", why ? why : "disagree");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size, 0);
    /* a maximum the reference (~7 B of arena per input byte on realistic
     * spans) reaches on a share of inputs, while the direct decoder often
     * does not */
    check(data, size, 512 + 4 * size);
    return 0;
}
