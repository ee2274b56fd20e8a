/* bench/bench_decode.c — what decoding a request costs stitchd's receiver.
 *
 * The batch of bench_wire (512 realistic spans: random ids, 10 attributes of
 * mixed types, 1 event with 2 attributes, two scopes) is encoded once by
 * the wire/ encoders, then decoded again and again into one batch that is
 * reset per request. Figures are medians of RUNS runs of ITERS requests, in
 * MB/s of input, spans/s and ns per span:
 *   otlp_proto         stitch_wire_otlp_proto_decode (protobuf-c unpack into
 *                      the batch arena, then conversion to span records)
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
#include "stitch/stitch.h"
#include "wire/decode.h"
#include "wire/wire.h"

static int RUNS = 15;
static int ITERS = 20;
static size_t NSPANS = 512;

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest Request;

/* ---- the batch (as bench_wire's) -------------------------------------------------- */

static stitch_processor_t *make_batch(stitch_provider_t **pp)
{
    stitch_attr_t res[] = {
        stitch_attr_str("service.name", "cart"),
        stitch_attr_str("service.version", "1.4.2"),
        stitch_attr_str("deployment.environment.name", "production"),
        stitch_attr_str("host.name", "cart-7f9c6d-x2x9"),
    };
    stitch_provider_opts_t o = {.resource = res, .nresource = 4, .no_env = true};
    if (stitch_provider_new(pp, &o) != 0)
        return NULL;
    stitch_processor_t *mem = stitch_memory_processor_new(NSPANS);
    stitch_provider_add_processor(*pp, mem);
    stitch_tracer_t *t1 = stitch_tracer(*pp, "stitch-microhttpd", "0.1.0");
    stitch_tracer_t *t2 = stitch_tracer(*pp, "cart.store", "1.4.2");
    static const char *routes[] = {"/cart", "/cart/items", "/cart/checkout", "/cart/{id}"};
    static const char *methods[] = {"GET", "POST", "PUT", "DELETE"};
    srand(42);
    for (size_t i = 0; i < NSPANS; i++) {
        char user[32], peer[32], url[96];
        snprintf(user, sizeof user, "user-%d", rand() % 100000);
        snprintf(peer, sizeof peer, "10.0.%d.%d", rand() % 256, rand() % 256);
        const char *route = routes[rand() % 4];
        snprintf(url, sizeof url, "http://cart.internal:8080%s?session=%08x", route, (unsigned)rand());
        uint64_t start = 1764000000000000000ull + (uint64_t)i * 1000003ull + (uint64_t)(rand() % 1000);
        stitch_span_opts_t so = {.kind = (i & 1) ? STITCH_SPAN_KIND_SERVER : STITCH_SPAN_KIND_CLIENT,
                                 .start_ns = start};
        stitch_span_t *s = stitch_span_start((i % 3) ? t1 : t2, route, &so);
        stitch_span_set_str(s, "http.request.method", methods[rand() % 4]);
        stitch_span_set_str(s, "http.route", route);
        stitch_span_set_str(s, "url.full", url);
        stitch_span_set_int(s, "http.response.status_code", (rand() % 10) ? 200 : 503);
        stitch_span_set_str(s, "network.peer.address", peer);
        stitch_span_set_int(s, "network.peer.port", 1024 + rand() % 60000);
        stitch_span_set_str(s, "user.id", user);
        stitch_span_set_int(s, "cart.items", rand() % 20);
        stitch_span_set_double(s, "cart.total", (double)(rand() % 100000) / 100.0);
        stitch_span_set_bool(s, "cache.hit", rand() & 1);
        stitch_attr_t ea[] = {stitch_attr_str("cache.key", user), stitch_attr_int("cache.size", rand() % 4096)};
        stitch_span_add_event(s, "cache lookup", start + 20000, ea, 2);
        if (rand() % 10 == 0)
            stitch_span_set_status(s, STITCH_STATUS_ERROR, "upstream unavailable");
        stitch_span_end_at(s, start + 100000 + (uint64_t)(rand() % 5000000));
    }
    return mem;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum { C_PROTO, C_UNPACK_ARENA, C_UNPACK_MALLOC, C_JSON, C_JANSSON, C_ZIPKIN, NCASES };
static const char *case_names[NCASES] = {"otlp_proto", "proto_unpack_arena", "proto_unpack_malloc",
                                         "otlp_json", "jansson_parse", "zipkin_json"};

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
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            RUNS = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc)
            ITERS = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--spans") && i + 1 < argc)
            NSPANS = (size_t)atol(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_decode [--runs N] [--iters N] [--spans N]\n");
            return 2;
        }
    }
    if (RUNS < 1 || ITERS < 1 || NSPANS < 1) {
        fprintf(stderr, "bench_decode: bad arguments\n");
        return 2;
    }
    stitch_provider_t *p;
    stitch_processor_t *mem = make_batch(&p);
    if (!mem || stitch_memory_processor_count(mem) != NSPANS) {
        fprintf(stderr, "bench_decode: cannot build the batch\n");
        return 1;
    }
    const stitch_span_data_t **spans = malloc(NSPANS * sizeof *spans);
    for (size_t i = 0; i < NSPANS; i++)
        spans[i] = stitch_memory_processor_get(mem, i);
    stitch_buf_t proto = STITCH_BUF_INIT(0), json = STITCH_BUF_INIT(0), zipkin = STITCH_BUF_INIT(0);
    if (stitch_wire_otlp_proto_encode(spans, NSPANS, &proto) || stitch_wire_otlp_json_encode(spans, NSPANS, &json) ||
        stitch_wire_zipkin_json_encode(spans, NSPANS, &zipkin)) {
        fprintf(stderr, "bench_decode: cannot encode the batch\n");
        return 1;
    }
    const stitch_buf_t *inputs[NCASES] = {&proto, &proto, &proto, &json, &json, &zipkin};

    stitch_wire_batch_t b;
    stitch_wire_batch_init(&b, 256u << 20);
    printf("# bench_decode: %zu spans per request, median of %d runs x %d requests\n", NSPANS, RUNS, ITERS);
    printf("# %-20s %9s %12s %9s %11s %12s\n", "decoder", "MB/s", "spans/s", "ns/span", "bytes/span",
           "arena B/span");
    double *r = malloc(sizeof(double) * (size_t)RUNS);
    for (int c = 0; c < NCASES; c++) {
        if (decode(c, &b, inputs[c])) {
            fprintf(stderr, "bench_decode: %s failed\n", case_names[c]);
            return 1;
        }
        size_t arena = b.used;
        for (int k = 0; k < RUNS; k++) {
            double t0 = now_s();
            for (int it = 0; it < ITERS; it++)
                if (decode(c, &b, inputs[c])) {
                    fprintf(stderr, "bench_decode: %s failed\n", case_names[c]);
                    return 1;
                }
            r[k] = (now_s() - t0) / (double)ITERS; /* seconds per request */
        }
        qsort(r, (size_t)RUNS, sizeof *r, cmp_double);
        double med = r[RUNS / 2];
        printf("%-22s %9.1f %12.0f %9.1f %11.1f %12.1f\n", case_names[c], (double)inputs[c]->len / med / 1e6,
               (double)NSPANS / med, med * 1e9 / (double)NSPANS, (double)inputs[c]->len / (double)NSPANS,
               c == C_UNPACK_MALLOC || c == C_JANSSON ? 0.0 : (double)arena / (double)NSPANS);
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
