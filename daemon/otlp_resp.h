/* daemon/otlp_resp.h — the bodies the OTLP/HTTP receiver answers with, in
 * the request's encoding (protobuf or JSON), as the OTLP specification
 * asks: ExportTraceServiceResponse on 200 (empty unless some spans were
 * rejected), google.rpc.Status on 4xx/5xx. wire/ has only the decoder of
 * the response (the SDK reads it); the encoders live here because only
 * stitchd writes these messages. */
#ifndef STITCHD_OTLP_RESP_H
#define STITCHD_OTLP_RESP_H

#include <stdbool.h>
#include <stdint.h>

#include "wire/wire.h"

/* gRPC status codes used in google.rpc.Status.code */
enum {
    STITCHD_GRPC_INVALID_ARGUMENT = 3,
    STITCHD_GRPC_RESOURCE_EXHAUSTED = 8,
    STITCHD_GRPC_INTERNAL = 13,
    STITCHD_GRPC_UNAVAILABLE = 14,
    STITCHD_GRPC_UNIMPLEMENTED = 12,
    STITCHD_GRPC_UNAUTHENTICATED = 16,
};

/* ExportTraceServiceResponse; rejected == 0 writes the empty message
 * (protobuf: no bytes; JSON: {}). 0 or STITCH_ENOMEM / STITCH_ELIMIT. */
int stitchd_otlp_export_response(stitch_buf_t *out, bool json, int64_t rejected, const char *msg);
/* google.rpc.Status { int32 code = 1; string message = 2; } */
int stitchd_otlp_status(stitch_buf_t *out, bool json, int code, const char *msg);

#endif
