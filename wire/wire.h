/* wire/wire.h — the wire formats of spans, shared by libstitch's exporters
 * and (later) stitchd's receivers: OTLP protobuf and OTLP JSON
 * (ExportTraceServiceRequest / Response) and Zipkin v2 JSON.
 *
 * Encoders take ended spans as stitch_span_data_t (trace.h) and append to a
 * bounded, growable buffer; they group spans by resource and instrumentation
 * scope (pointer identity: spans of one provider share both). They never
 * print; they fail with STITCH_ENOMEM, or STITCH_ELIMIT when the buffer's
 * maximum size would be exceeded (nothing useful is left in the buffer
 * then; the caller resets it). Library-internal: not installed. */
#ifndef STITCH_WIRE_H
#define STITCH_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stitch/trace.h"

/* A growable byte buffer with a hard maximum (curl's dynbuf idea): appends
 * past `max` fail with STITCH_ELIMIT instead of growing without bound. */
typedef struct stitch_buf {
    uint8_t *data;
    size_t len, cap, max; /* max 0 = SIZE_MAX */
} stitch_buf_t;

#define STITCH_BUF_INIT(maxsize) {NULL, 0, 0, (maxsize)}

int stitch_buf_reserve(stitch_buf_t *b, size_t extra);
int stitch_buf_append(stitch_buf_t *b, const void *p, size_t n);
static inline void stitch_buf_reset(stitch_buf_t *b) { b->len = 0; }
void stitch_buf_free(stitch_buf_t *b);

/* ExportTraceServiceRequest, protobuf encoding (application/x-protobuf),
 * written directly (no protobuf-c at run time; why: wire/otlp_proto.c).
 * n == 0 appends nothing (an empty request). */
int stitch_wire_otlp_proto_encode(const stitch_span_data_t *const *spans, size_t n,
                                  stitch_buf_t *out);
/* ExportTraceServiceRequest, OTLP/JSON encoding (application/json):
 * lowerCamelCase keys, hex ids, enums as integers, 64-bit integers as
 * strings. n == 0 gives {"resourceSpans":[]}. */
int stitch_wire_otlp_json_encode(const stitch_span_data_t *const *spans, size_t n,
                                 stitch_buf_t *out);
/* A Zipkin v2 JSON list of spans, with OpenTelemetry's mapping to Zipkin
 * (kind, localEndpoint.serviceName from the resource's service.name,
 * status → "error" and "otel.status_code" tags, events → annotations;
 * the full table is in docs/wire.md). n == 0 gives []. */
int stitch_wire_zipkin_json_encode(const stitch_span_data_t *const *spans, size_t n,
                                   stitch_buf_t *out);

/* Read an ExportTraceServiceResponse (protobuf, or JSON when `json`): the
 * partial-success rejected count and message (msg gets a NUL-terminated,
 * possibly cut copy). An empty body is a full success. 0 or STITCH_EPARSE. */
int stitch_wire_otlp_response_decode(const uint8_t *p, size_t n, bool json, int64_t *rejected,
                                     char *msg, size_t msglen);

#endif
