/* fuzz_otlp_json: stitch_wire_otlp_json_decode on the raw input; what it accepts
 * must re-encode with stitch_wire_otlp_json_encode and decode again to the same
 * spans (wire_round_trip.h). */
#include "wire_round_trip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_wire_round_trip(data, size, stitch_wire_otlp_json_decode, stitch_wire_otlp_json_encode);
    return 0;
}
