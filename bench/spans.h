/* bench/spans.h — what the wire benchmarks share: a realistic batch of
 * ended spans (~10 attributes and one event each, two scopes, one resource,
 * fixed seed so every run encodes the same bytes) and the timing helpers. */
#ifndef STITCH_BENCH_SPANS_H
#define STITCH_BENCH_SPANS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stitch/stitch.h"

/* A provider *pp whose memory processor (returned) holds nspans ended spans. */
static stitch_processor_t *make_batch(stitch_provider_t **pp, size_t nspans)
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
    stitch_processor_t *mem = stitch_memory_processor_new(nspans);
    stitch_provider_add_processor(*pp, mem);
    stitch_tracer_t *t1 = stitch_tracer(*pp, "stitch-microhttpd", "0.1.0");
    stitch_tracer_t *t2 = stitch_tracer(*pp, "cart.store", "1.4.2");
    static const char *routes[] = {"/cart", "/cart/items", "/cart/checkout", "/cart/{id}"};
    static const char *methods[] = {"GET", "POST", "PUT", "DELETE"};
    srand(42);
    for (size_t i = 0; i < nspans; i++) {
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

/* The common start of the wire benchmarks: read --runs/--iters/--spans
 * into runs, iters and nspans (exit 2 with a usage line on anything else),
 * build the batch, and return its span data (free() it; *pp owns the spans). */
static const stitch_span_data_t **bench_start(const char *prog, int argc, char **argv, int *runs,
                                              int *iters, size_t *nspans, stitch_provider_t **pp)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            *runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc)
            *iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--spans") && i + 1 < argc)
            *nspans = (size_t)atol(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--runs N] [--iters N] [--spans N]\n", prog);
            exit(2);
        }
    }
    if (*runs < 1 || *iters < 1 || *nspans < 1) {
        fprintf(stderr, "%s: bad arguments\n", prog);
        exit(2);
    }
    stitch_processor_t *mem = make_batch(pp, *nspans);
    if (!mem || stitch_memory_processor_count(mem) != *nspans) {
        fprintf(stderr, "%s: cannot build the batch\n", prog);
        exit(1);
    }
    const stitch_span_data_t **spans = malloc(*nspans * sizeof *spans);
    if (!spans)
        exit(1);
    for (size_t i = 0; i < *nspans; i++)
        spans[i] = stitch_memory_processor_get(mem, i);
    return spans;
}

#endif
