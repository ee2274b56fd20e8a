/* fuzz_otlp_response: stitch_wire_otlp_response_decode, the exporter's
 * reading of an ExportTraceServiceResponse, as protobuf and as JSON.
 * Invariants: on success the message is NUL-terminated inside its buffer
 * (also a 1-byte one) and nothing is written past it; on STITCH_EPARSE
 * *rejected is 0 and msg is "" (wire/otlp_response.c). */
#include "fuzz_util.h"
#include "wire/wire.h"

static void one(const uint8_t *data, size_t size, bool json, size_t msglen)
{
    char msg[64];
    memset(msg, 'x', sizeof msg);
    int64_t rejected = -7;
    int rc = stitch_wire_otlp_response_decode(data, size, json, &rejected, msg, msglen);
    FUZZ_CHECK(rc == 0 || rc == STITCH_EPARSE);
    FUZZ_CHECK(memchr(msg, '\0', msglen) != NULL);
    FUZZ_CHECK(msg[msglen] == 'x'); /* nothing written past msglen */
    if (rc == STITCH_EPARSE)
        FUZZ_CHECK(rejected == 0 && msg[0] == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size, false, 63);
    one(data, size, false, 1);
    one(data, size, true, 63);
    one(data, size, true, 1);
    return 0;
}
