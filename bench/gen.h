/* bench/gen.h — the realistic span generator shared by bench_ingest (the
 * OTLP/HTTP load generator) and bench_store (the embedded store): traces of
 * `trace_spans` spans across five services, unique random trace and span
 * ids, ~10 attributes and one event per span (~420 bytes as OTLP protobuf),
 * times around `now_ns`, and values varied per span (user ids, peers,
 * ports, URLs, totals, durations), so that compression and search see data
 * shaped like production traffic rather than one batch repeated.
 *
 * Header-only (static functions): each bench is one .c file. Not
 * thread-safe per generator: one gen_t per thread, gen_init() once. */
#ifndef STITCH_BENCH_GEN_H
#define STITCH_BENCH_GEN_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "stitch/stitch.h"

#define GEN_MAX_BATCH 4096
#define GEN_NSVC 5

static const char *gen_svc_names[GEN_NSVC] = {"frontend", "api-gateway", "cart-service", "product-service",
                                              "inventory-service"};
static const char *gen_svc_ops[GEN_NSVC][3] = {
    {"POST /cart/add", "GET /", "GET /product/{id}"},
    {"POST /cart/add", "GET /api/products", "POST /api/checkout"},
    {"addItem", "getCart", "checkout"},
    {"getProduct", "listProducts", "SELECT products"},
    {"process cart.events", "reserveStock", "releaseStock"},
};
static stitch_attr_t gen_svc_res[GEN_NSVC][4];
static const stitch_scope_info_t gen_scope = {"stitch-bench", "0.1.0"};

/* The spans of one request and the memory they point into. */
typedef struct gen_spans {
    uint64_t rng; /* xorshift state: seed with a nonzero value */
    stitch_span_data_t spans[GEN_MAX_BATCH];
    const stitch_span_data_t *ptrs[GEN_MAX_BATCH];
    stitch_attr_t attrs[GEN_MAX_BATCH][10];
    stitch_event_t ev[GEN_MAX_BATCH];
    stitch_attr_t evattrs[GEN_MAX_BATCH][1];
    char str[GEN_MAX_BATCH][3][80];
} gen_t;

static inline uint64_t gen_xs(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* The services' resources; call once before gen_fill. */
static inline void gen_init(void)
{
    for (int s = 0; s < GEN_NSVC; s++) {
        gen_svc_res[s][0] = stitch_attr_str("service.name", gen_svc_names[s]);
        gen_svc_res[s][1] = stitch_attr_str("service.version", "1.4.2");
        gen_svc_res[s][2] = stitch_attr_str("deployment.environment.name", "production");
        gen_svc_res[s][3] = stitch_attr_str("host.name", "node-7f9c6d-x2x9");
    }
}

/* Fill g->spans[0 .. batch) (and g->ptrs) with fresh spans: traces of
 * trace_spans spans (span k of a trace is the child of span k-1 and belongs
 * to service k % 5), starting ~60 ms before now_ns. 1 <= trace_spans <=
 * batch <= GEN_MAX_BATCH. Attribute 6 of each span is user.id. */
static inline void gen_fill(gen_t *g, int batch, int trace_spans, uint64_t now)
{
    static const char *methods[] = {"GET", "POST", "PUT", "DELETE"};
    for (int i = 0; i < batch; i++) {
        stitch_span_data_t *d = &g->spans[i];
        memset(d, 0, sizeof *d);
        int k = i % trace_spans; /* position in its trace */
        if (k == 0) {
            uint64_t a = gen_xs(&g->rng), b = gen_xs(&g->rng);
            memcpy(d->ctx.trace_id, &a, 8);
            memcpy(d->ctx.trace_id + 8, &b, 8);
        } else {
            memcpy(d->ctx.trace_id, g->spans[i - 1].ctx.trace_id, 16);
            memcpy(d->parent_span_id, g->spans[i - 1].ctx.span_id, 8);
        }
        uint64_t sid = gen_xs(&g->rng) | 1;
        memcpy(d->ctx.span_id, &sid, 8);
        d->ctx.flags = 1;
        int svc = k % GEN_NSVC;
        d->name = gen_svc_ops[svc][gen_xs(&g->rng) % 3];
        d->kind = k == 0 ? STITCH_SPAN_KIND_SERVER : (k & 1) ? STITCH_SPAN_KIND_CLIENT : STITCH_SPAN_KIND_SERVER;
        uint64_t dur = 100000 + gen_xs(&g->rng) % 50000000;
        d->start_ns = now - 60000000ull + (uint64_t)k * 1000000ull + gen_xs(&g->rng) % 1000;
        d->end_ns = d->start_ns + dur;
        char *user = g->str[i][0], *peer = g->str[i][1], *url = g->str[i][2];
        snprintf(user, 80, "user-%u", (unsigned)(gen_xs(&g->rng) % 100000));
        snprintf(peer, 80, "10.0.%u.%u", (unsigned)(gen_xs(&g->rng) % 256), (unsigned)(gen_xs(&g->rng) % 256));
        snprintf(url, 80, "http://%.4s:8080/cart/items?s=%08x", gen_svc_names[svc], (unsigned)gen_xs(&g->rng));
        stitch_attr_t *a = g->attrs[i];
        a[0] = stitch_attr_str("http.request.method", methods[gen_xs(&g->rng) % 4]);
        a[1] = stitch_attr_str("http.route", d->name);
        a[2] = stitch_attr_str("url.full", url);
        a[3] = stitch_attr_int("http.response.status_code", (gen_xs(&g->rng) % 20) ? 200 : 503);
        a[4] = stitch_attr_str("network.peer.address", peer);
        a[5] = stitch_attr_int("network.peer.port", 1024 + (int64_t)(gen_xs(&g->rng) % 60000));
        a[6] = stitch_attr_str("user.id", user);
        a[7] = stitch_attr_int("cart.items", (int64_t)(gen_xs(&g->rng) % 20));
        a[8] = stitch_attr_double("cart.total", (double)(gen_xs(&g->rng) % 100000) / 100.0);
        a[9] = stitch_attr_bool("cache.hit", gen_xs(&g->rng) & 1);
        d->attrs = a;
        d->nattrs = 10;
        g->evattrs[i][0] = stitch_attr_int("cache.size", (int64_t)(gen_xs(&g->rng) % 4096));
        g->ev[i] = (stitch_event_t){d->start_ns + 20000, "cache lookup", g->evattrs[i], 1, 0};
        d->events = &g->ev[i];
        d->nevents = 1;
        if (gen_xs(&g->rng) % 20 == 0) {
            d->status = STITCH_STATUS_ERROR;
            d->status_message = "upstream unavailable";
        } else {
            d->status_message = "";
        }
        d->resource = gen_svc_res[svc];
        d->nresource = 4;
        d->scope = &gen_scope;
        g->ptrs[i] = d;
    }
}

#endif
