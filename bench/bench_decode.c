/* bench/bench_decode.c — what decoding a request costs stitchd's receiver.
 *
 * The batch of bench_wire (512 realistic spans: random ids, 10 attributes of
 * mixed types, 1 event with 2 attributes, two scopes) is encoded once by
 * the wire/ encoders, then decoded again and again into one batch that is
 * reset per request. The cases take turns within each run (so a busy
 * machine slows them alike); figures are medians of RUNS runs of ITERS
 * requests, in MB/s of input, spans/s and ns per span:
 *   otlp_proto         stitch_wire_otlp_proto_decode (the direct decoder:
 *                      one pass into span records)
 *   otlp_proto_pbc     stitch_wire_otlp_proto_decode_pbc (the reference:
 *                      protobuf-c unpack into the batch arena, then
 *                      conversion to span records)
 *   proto_unpack_arena the unpack alone, same arena (no conversion)
 *   proto_unpack_malloc the unpack alone with protobuf-c's default malloc
 *                      allocator, freed per request (what the arena replaces)
 *   otlp_json          stitch_wire_otlp_json_decode (jansson DOM + conversion)
 *   jansson_parse      json_loadb + json_decref of the same body alone
 *   zipkin_json        stitch_wire_zipkin_json_decode
 * Each decoder's result is checked (span count, no rejections) before timing.
 *
 * Usage: bench_decode [--runs N] [--iters N] [--spans N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "bench/spans.h"
#include "stitch/stitch.h"
#include "wire/decode.h"
#include "wire/wire.h"

static int RUNS = 15;
static int ITERS = 20;
static size_t NSPANS = 512;

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest Request;

enum { C_PROTO, C_PROTO_PBC, C_UNPACK_ARENA, C_UNPACK_MALLOC, C_JSON, C_JANSSON, C_ZIPKIN, NCASES };
static const char *case_names[NCASES] = {"otlp_proto", "otlp_proto_pbc", "proto_unpack_arena",
                                         "proto_unpack_malloc", "otlp_json", "jansson_parse", "zipkin_json"};

static void *arena_alloc(void *d, size_t n) { return stitch_wire_batch_alloc(d, n); }
static void arena_free(void *d, void *p) { (void)d, (void)p; }

/* 0, or -1 when the decode failed or lost spans */
static int decode(int c, stitch_wire_batch_t *b, const stitch_buf_t *in)
{
    stitch_wire_error_t err;
    stitch_wire_batch_reset(b);
    switch (c) {
    case C_PROTO:
        return stitch_wire_otlp_proto_decode(b, in->data, in->len, &err) || b->nspans != NSPANS ? -1 : 0;
    case C_PROTO_PBC:
        return stitch_wire_otlp_proto_decode_pbc(b, in->data, in->len, &err) || b->nspans != NSPANS ? -1 : 0;
    case C_UNPACK_ARENA: {
        ProtobufCAllocator al = {arena_alloc, arena_free, b};
        return opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(&al, in->len, in->data)
                   ? 0 : -1;
    }
    case C_UNPACK_MALLOC: {
        Request *r = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, in->len, in->data);
        if (!r)
            return -1;
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(r, NULL);
        return 0;
    }
    case C_JANSSON: {
        json_t *j = json_loadb((const char *)in->data, in->len, JSON_ALLOW_NUL, NULL);
        json_decref(j);
        return j ? 0 : -1;
    }
    case C_JSON:
        return stitch_wire_otlp_json_decode(b, in->data, in->len, &err) || b->nspans != NSPANS ? -1 : 0;
    default:
        return stitch_wire_zipkin_json_decode(b, in->data, in->len, &err) || b->nspans != NSPANS ? -1 : 0;
    }
}

int main(int argc, char **argv)
{
    stitch_provider_t *p;
    const stitch_span_data_t **spans = bench_start("bench_decode", argc, argv, &RUNS, &ITERS, &NSPANS, &p);
    stitch_buf_t proto = STITCH_BUF_INIT(0), json = STITCH_BUF_INIT(0), zipkin = STITCH_BUF_INIT(0);
    if (stitch_wire_otlp_proto_encode(spans, NSPANS, &proto) || stitch_wire_otlp_json_encode(spans, NSPANS, &json) ||
        stitch_wire_zipkin_json_encode(spans, NSPANS, &zipkin)) {
        fprintf(stderr, "bench_decode: cannot encode the batch\n");
        return 1;
    }
    const stitch_buf_t *inputs[NCASES] = {&proto, &proto, &proto, &proto, &json, &json, &zipkin};

    stitch_wire_batch_t b;
    stitch_wire_batch_init(&b, 256u << 20);
    printf("# bench_decode: %zu spans per request, median of %d runs x %d requests\n", NSPANS, RUNS, ITERS);
    printf("# %-20s %9s %12s %9s %11s %12s\n", "decoder", "MB/s", "spans/s", "ns/span", "bytes/span",
           "arena B/span");
    double *r = malloc(sizeof(double) * (size_t)RUNS * NCASES);
    size_t arena[NCASES];
    for (int c = 0; c < NCASES; c++) {
        if (decode(c, &b, inputs[c])) {
            fprintf(stderr, "bench_decode: %s failed\n", case_names[c]);
            return 1;
        }
        arena[c] = b.used;
    }
    for (int k = 0; k < RUNS; k++)
        for (int c = 0; c < NCASES; c++) {
            double t0 = now_s();
            for (int it = 0; it < ITERS; it++)
                if (decode(c, &b, inputs[c])) {
                    fprintf(stderr, "bench_decode: %s failed\n", case_names[c]);
                    return 1;
                }
            r[c * RUNS + k] = (now_s() - t0) / (double)ITERS; /* seconds per request */
        }
    for (int c = 0; c < NCASES; c++) {
        double *rc = r + c * RUNS;
        qsort(rc, (size_t)RUNS, sizeof *rc, cmp_double);
        double med = rc[RUNS / 2];
        printf("%-22s %9.1f %12.0f %9.1f %11.1f %12.1f\n", case_names[c], (double)inputs[c]->len / med / 1e6,
               (double)NSPANS / med, med * 1e9 / (double)NSPANS, (double)inputs[c]->len / (double)NSPANS,
               c == C_UNPACK_MALLOC || c == C_JANSSON ? 0.0 : (double)arena[c] / (double)NSPANS);
    }
    free(r);
    stitch_wire_batch_free(&b);
    stitch_buf_free(&proto);
    stitch_buf_free(&json);
    stitch_buf_free(&zipkin);
    free(spans);
    stitch_provider_free(p);
    return 0;
}
