/* wire/decode.h — the receiving half of wire/: OTLP protobuf, OTLP JSON and
 * Zipkin v2 JSON decoded into span records (stitch_span_data_t, the same
 * record the SDK hands its exporters), so stitchd can re-encode them with
 * wire.h's encoders and everything after the receiver sees one model.
 *
 * Built into the static library stitch_wire_decode (protobuf-c + jansson),
 * never into libstitch: the SDK must not depend on either.
 *
 * Invariant: every pointer in a decoded record (names, attribute keys and
 * values, arrays, events, links, status message, resource, scope) points
 * into the batch's arena and lives until the next reset or free; the
 * tracestates are counted references the batch drops at reset/free. Spans
 * of one ResourceSpans (one Zipkin localEndpoint) share one resource array,
 * spans of one ScopeSpans one scope, so the encoders group them back.
 *
 * Error model: a decoder returns
 *   0    every span was decoded;
 *   > 0  that many spans were invalid (bad or all-zero ids, end before
 *        start, kind or status code out of range) and left out; the rest
 *        are in the batch; err->msg names the first one (OTLP: answer 200
 *        with partial_success);
 *   < 0  STITCH_EPARSE (the document is malformed: answer 400 with
 *        err->msg), STITCH_ELIMIT (the arena's maximum was reached: 413),
 *        STITCH_ENOMEM. The spans this call appended are dropped (the
 *        arena memory they used is reclaimed at the next reset).
 * With err == NULL the rejected count is not reported (0 comes back).
 * Decoders append to the batch; reset it between requests. Not thread-safe:
 * one batch per receiving thread. Library-internal: not installed. */
#ifndef STITCH_WIRE_DECODE_H
#define STITCH_WIRE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "stitch/trace.h"

/* What went wrong, for a 400 body. `offset` is a byte offset in the input
 * when known (JSON syntax errors), else SIZE_MAX. `msg` starts with the
 * field path when there is one, e.g.
 * "resourceSpans[0].scopeSpans[0].spans[2].traceId: 30 hex digits, expected 32". */
typedef struct stitch_wire_error {
    int code;          /* 0, or the STITCH_E* code returned */
    uint32_t rejected; /* spans left out as invalid */
    size_t offset;
    char msg[160];     /* NUL-terminated, possibly cut; "" when nothing to say */
} stitch_wire_error_t;

struct stitch_wire_chunk; /* arena.c */
struct stitch_wire_tsref;

/* Decoded spans and the arena that owns all they point to. Fields are
 * read-only for callers except through the functions below. */
typedef struct stitch_wire_batch {
    stitch_span_data_t *spans; /* in the arena */
    size_t nspans, capspans;
    /* arena: chunks kept across resets (no malloc per request in steady
     * state); `used` counts bytes handed out since the last reset and may
     * not pass `max` (0 = unbounded) */
    struct stitch_wire_chunk *chunks, *cur;
    size_t used, max;
    int limit_hit;                   /* set when an allocation hit `max` */
    struct stitch_wire_tsref *tstates; /* tracestates to unref at reset */
} stitch_wire_batch_t;

/* `max_bytes`: the most arena memory one request may use (0 = unbounded);
 * a decode past it fails with STITCH_ELIMIT. Never fails: memory comes on
 * first use. */
void stitch_wire_batch_init(stitch_wire_batch_t *b, size_t max_bytes);
/* Forget every span (pointers into the batch die), keep the arena's chunks. */
void stitch_wire_batch_reset(stitch_wire_batch_t *b);
/* Free everything; `b` may be re-initialised. */
void stitch_wire_batch_free(stitch_wire_batch_t *b);
/* n bytes from the arena, 16-byte aligned; NULL past the maximum (sets
 * limit_hit) or when out of memory. */
void *stitch_wire_batch_alloc(stitch_wire_batch_t *b, size_t n);

/* ExportTraceServiceRequest, protobuf (application/x-protobuf), read in
 * one pass straight into records (strings copied into the arena). For
 * malformed input err->offset is the byte where decoding stopped. */
int stitch_wire_otlp_proto_decode(stitch_wire_batch_t *b, const uint8_t *p, size_t n,
                                  stitch_wire_error_t *err);
/* The same through protobuf-c's generated unpack (with the arena as its
 * allocator) and a conversion: the reference that the decoder above is
 * tested and benchmarked against (docs/wire.md). Same return code, records
 * and error report for every input, except that a malformed document's
 * message names no position, and that it needs several times more arena
 * memory, so it reaches STITCH_ELIMIT sooner. */
int stitch_wire_otlp_proto_decode_pbc(stitch_wire_batch_t *b, const uint8_t *p, size_t n,
                                      stitch_wire_error_t *err);
/* ExportTraceServiceRequest, OTLP/JSON (application/json), with the
 * leniency real clients need: lowerCamelCase or snake_case keys, hex ids in
 * either case, 64-bit integers as strings or numbers, enums as integers or
 * names, unknown fields ignored. Parsed by jansson (a transient DOM, freed
 * before returning); inputs longer than the arena's maximum, or nested
 * deeper than 64, are refused before parsing. */
int stitch_wire_otlp_json_decode(stitch_wire_batch_t *b, const uint8_t *p, size_t n,
                                 stitch_wire_error_t *err);
/* A Zipkin v2 JSON list of spans (POST /api/v2/spans); the mapping back to
 * OpenTelemetry is in docs/wire.md ("Decoding"). */
int stitch_wire_zipkin_json_decode(stitch_wire_batch_t *b, const uint8_t *p, size_t n,
                                   stitch_wire_error_t *err);

#endif
