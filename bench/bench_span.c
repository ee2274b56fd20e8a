/* bench/bench_span.c — the cost of spans on the application thread.
 *
 * Figures (ns per operation, median of RUNS runs of ITERS operations):
 *   sampled     start + 3 attributes (str, int, bool) + end of a recorded,
 *               sampled span, handed to a processor that releases it at once
 *   sampled_0   start + end of a recorded span, no attributes
 *   unsampled   start + end of a span the sampler drops (always_off)
 *   batched     like `sampled`, through the batch processor (default queue) to
 *               an exporter that discards: the app thread's pipeline cost
 *   child       like `sampled`, as the child of a current span (scope push)
 *   scope       stitch_scope_push + stitch_scope_pop of a span
 *   now         one reading of the SDK's clock (stitch_now_ns: TSC + conversion)
 *   gettime     one clock_gettime(CLOCK_REALTIME), for comparison
 * With --threads 2 the same loops run on two threads at once and each
 * thread's median is printed.
 *
 * Usage: bench_span [--threads N] [--runs N] [--iters N] [--case NAME] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stitch/stitch.h"

static int RUNS = 15;
static long ITERS = 1000000;

static void release_now(void *self, stitch_span_t *s)
{
    (void)self;
    stitch_span_release(s);
}

static const stitch_processor_ops_t release_ops = {.on_end = release_now};

/* An exporter that accepts every batch at once: with the batch processor
 * it measures the application thread's side of the pipeline (queueing, and
 * reusing spans that the exporter thread released on the other core). */
static int discard(void *self, const stitch_span_data_t *const *spans, size_t n, uint32_t t)
{
    (void)self, (void)spans, (void)n, (void)t;
    return 0;
}

static const stitch_exporter_ops_t discard_ops = {.export_spans = discard};

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

typedef void (*loop_fn)(stitch_tracer_t *t, long n);

static void loop_sampled(stitch_tracer_t *t, long n)
{
    for (long i = 0; i < n; i++) {
        stitch_span_t *s = stitch_span_start(t, "GET /cart", NULL);
        stitch_span_set_str(s, "http.request.method", "GET");
        stitch_span_set_int(s, "http.response.status_code", 200);
        stitch_span_set_bool(s, "cache.hit", true);
        stitch_span_end(s);
    }
}

static void loop_sampled0(stitch_tracer_t *t, long n)
{
    for (long i = 0; i < n; i++)
        stitch_span_end(stitch_span_start(t, "GET /cart", NULL));
}

static void loop_child(stitch_tracer_t *t, long n)
{
    stitch_span_t *root = stitch_span_start(t, "root", NULL);
    stitch_scope_t sc = stitch_scope_push(root);
    loop_sampled(t, n);
    stitch_scope_pop(sc);
    stitch_span_end(root);
}

static void loop_now(stitch_tracer_t *t, long n)
{
    (void)t;
    uint64_t sink = 0;
    for (long i = 0; i < n; i++)
        sink += stitch_now_ns();
    if (sink == 42)
        puts("");
}

static void loop_gettime(stitch_tracer_t *t, long n)
{
    (void)t;
    struct timespec ts;
    uint64_t sink = 0;
    for (long i = 0; i < n; i++) {
        clock_gettime(CLOCK_REALTIME, &ts);
        sink += (uint64_t)ts.tv_nsec;
    }
    if (sink == 42)
        puts("");
}

static void loop_scope(stitch_tracer_t *t, long n)
{
    stitch_span_t *s = stitch_span_start(t, "scoped", NULL);
    for (long i = 0; i < n; i++) {
        stitch_scope_t sc = stitch_scope_push(s);
        stitch_scope_pop(sc);
    }
    stitch_span_end(s);
}

struct job {
    const char *name;
    loop_fn fn;
    stitch_tracer_t *tracer;
    double median_ns;
};

static void *run_job(void *arg)
{
    struct job *j = arg;
    double *r = malloc(sizeof(double) * (size_t)RUNS);
    j->fn(j->tracer, ITERS / 10); /* warm the pools and the clock */
    for (int k = 0; k < RUNS; k++) {
        double t0 = now_s();
        j->fn(j->tracer, ITERS);
        r[k] = (now_s() - t0) * 1e9 / (double)ITERS;
    }
    qsort(r, (size_t)RUNS, sizeof *r, cmp_double);
    j->median_ns = r[RUNS / 2];
    free(r);
    return NULL;
}

static stitch_provider_t *make_provider(stitch_sampler_t *sampler)
{
    stitch_provider_t *p;
    stitch_provider_opts_t o = {.sampler = sampler, .no_env = true};
    if (stitch_provider_new(&p, &o) != 0) {
        fprintf(stderr, "bench_span: cannot create a provider\n");
        exit(1);
    }
    stitch_provider_add_processor(p, stitch_processor_new(&release_ops, NULL));
    return p;
}

int main(int argc, char **argv)
{
    int threads = 1;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            RUNS = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc)
            ITERS = atol(argv[++i]);
        else if (!strcmp(argv[i], "--case") && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_span [--threads N] [--runs N] [--iters N] [--case NAME]\n");
            return 2;
        }
    }
    if (threads < 1 || threads > 64 || RUNS < 1 || ITERS < 10) {
        fprintf(stderr, "bench_span: bad arguments\n");
        return 2;
    }
    stitch_provider_t *on = make_provider(stitch_sampler_always_on());
    stitch_provider_t *off = make_provider(stitch_sampler_always_off());
    stitch_tracer_t *ton = stitch_tracer(on, "bench", "1");
    stitch_provider_t *bat;
    stitch_provider_opts_t bo = {.sampler = stitch_sampler_always_on(), .no_env = true};
    if (stitch_provider_new(&bat, &bo) != 0)
        return 1;
    stitch_batch_opts_t bopts;
    stitch_batch_opts_default(&bopts, false);
    bopts.max_queue_size = 2048; /* the default */
    stitch_processor_t *bproc =
        stitch_batch_processor_new(stitch_exporter_new(&discard_ops, NULL), &bopts);
    stitch_provider_add_processor(bat, bproc);
    stitch_tracer_t *tbat = stitch_tracer(bat, "bench", "1");
    stitch_tracer_t *toff = stitch_tracer(off, "bench", "1");
    struct {
        const char *name;
        loop_fn fn;
        stitch_tracer_t *t;
    } cases[] = {
        {"sampled", loop_sampled, ton},
        {"sampled_0", loop_sampled0, ton},
        {"batched", loop_sampled, tbat},
        {"unsampled", loop_sampled0, toff},
        {"child", loop_child, ton},
        {"scope", loop_scope, ton},
        {"now", loop_now, ton},
        {"gettime", loop_gettime, ton},
    };
    printf("# bench_span: %d thread(s), median of %d runs x %ld ops, ns/op\n", threads, RUNS, ITERS);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct job jobs[64];
        pthread_t tid[64];
        if (only && strcmp(only, cases[c].name) != 0)
            continue;
        for (int k = 0; k < threads; k++) {
            jobs[k] = (struct job){cases[c].name, cases[c].fn, cases[c].t, 0};
            pthread_create(&tid[k], NULL, run_job, &jobs[k]);
        }
        printf("%-10s", cases[c].name);
        for (int k = 0; k < threads; k++) {
            pthread_join(tid[k], NULL);
            printf(" %7.1f", jobs[k].median_ns);
        }
        printf("\n");
    }
    stitch_batch_stats_t bst;
    if (stitch_batch_processor_stats(bproc, &bst) == 0 && bst.dropped)
        printf("# batched: %llu of %llu spans dropped\n", (unsigned long long)bst.dropped,
               (unsigned long long)(bst.queued + bst.dropped));
    stitch_provider_free(bat);
    stitch_provider_free(on);
    stitch_provider_free(off);
    return 0;
}
