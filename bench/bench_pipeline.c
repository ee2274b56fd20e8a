/* bench/bench_pipeline.c — the whole export path under load: one producing
 * thread ends sampled spans (start + 3 attributes + end) into the batch
 * processor, whose thread encodes them as OTLP and POSTs them to a local
 * sink (a libmicrohttpd server in this process that reads each body and
 * answers 200, as a collector that keeps up would).
 *
 * Reported:
 *   app_ns        the producing thread's cost per span (ns), unpaced (the
 *                 exporter cannot keep up, so most of these spans are dropped)
 *   app_ns_paced  the same at RATE spans/s, while the exporter keeps up
 *   export_cpu_ns the exporter thread's CPU time per span (encode + HTTP),
 *                 from CLOCK_THREAD_CPUTIME_ID around each export call
 *   paced run     RATE spans/s for SECONDS s: spans produced, exported,
 *                 dropped, and the process's peak resident memory (VmHWM)
 *
 * --sink MODE puts the collector in a fault (issue 9), to show that the
 * application thread keeps its speed whatever the collector does:
 *   healthy  answers 200 at once (the default)
 *   down     nothing listens: connections are refused
 *   hang     reads each request and never answers (exports time out)
 *   garbage  answers 200 with a body that is not a protobuf message
 *   500      answers 500 (not retried)
 *   503      answers 503 (retried with backoff until the export timeout)
 * In the fault modes each export may take up to 1 s (the exporter's
 * timeout), the unpaced runs are not flushed between them (the queue stays
 * as full as the collector leaves it) and the counters show the failures.
 *
 * Usage: bench_pipeline [--rate N] [--seconds S] [--json] [--gzip] [--queue N]
 *                       [--sink healthy|down|hang|garbage|500|503]
 * (--queue: OTEL_BSP_MAX_QUEUE_SIZE; default 2048) */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stitch/export.h"
#include "stitch/stitch.h"

static atomic_ullong sink_bytes, sink_requests;

enum mode { M_HEALTHY, M_DOWN, M_HANG, M_GARBAGE, M_500, M_503 };
static const char *mode_names[] = {"healthy", "down", "hang", "garbage", "500", "503"};
static enum mode mode = M_HEALTHY;

/* M_HANG: each request's thread waits here until the end of the run. */
static pthread_mutex_t hang_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hang_cv = PTHREAD_COND_INITIALIZER;
static bool hang_release;

static enum MHD_Result sink(void *cls, struct MHD_Connection *c, const char *url,
                            const char *method, const char *version, const char *data,
                            size_t *size, void **req_cls)
{
    (void)cls, (void)url, (void)method, (void)version, (void)data;
    static int marker;
    if (*req_cls == NULL) {
        *req_cls = &marker;
        return MHD_YES;
    }
    if (*size) {
        atomic_fetch_add(&sink_bytes, *size);
        *size = 0;
        return MHD_YES;
    }
    atomic_fetch_add(&sink_requests, 1);
    if (mode == M_HANG) {
        pthread_mutex_lock(&hang_mu);
        while (!hang_release)
            pthread_cond_wait(&hang_cv, &hang_mu);
        pthread_mutex_unlock(&hang_mu);
        return MHD_NO;
    }
    static const char garbage[] = "\x0a\xff\xff\xff\xff\x0fnot a protobuf message";
    unsigned status = mode == M_500 ? 500 : mode == M_503 ? 503 : 200;
    struct MHD_Response *r = mode == M_GARBAGE
        ? MHD_create_response_from_buffer(sizeof garbage - 1, (void *)garbage,
                                          MHD_RESPMEM_PERSISTENT)
        : MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* A loopback port nothing listens on: bound, then closed. */
static unsigned dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    unsigned port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* An exporter that measures the CPU its inner exporter uses per span. */
struct timed {
    stitch_exporter_t *inner;
    atomic_ullong cpu_ns, spans;
};

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int timed_export(void *self, const stitch_span_data_t *const *spans, size_t n, uint32_t t)
{
    struct timed *tm = self;
    uint64_t c0 = thread_cpu_ns();
    int rc = stitch_exporter_export(tm->inner, spans, n, t);
    atomic_fetch_add(&tm->cpu_ns, thread_cpu_ns() - c0);
    atomic_fetch_add(&tm->spans, n);
    return rc;
}

static void timed_destroy(void *self)
{
    struct timed *tm = self;
    stitch_exporter_free(tm->inner);
}

static const stitch_exporter_ops_t timed_ops = {.export_spans = timed_export,
                                                .destroy = timed_destroy};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

static inline void one_span(stitch_tracer_t *t)
{
    stitch_span_t *s = stitch_span_start(t, "GET /cart", NULL);
    stitch_span_set_str(s, "http.request.method", "GET");
    stitch_span_set_int(s, "http.response.status_code", 200);
    stitch_span_set_bool(s, "cache.hit", true);
    stitch_span_end(s);
}

int main(int argc, char **argv)
{
    double rate = 1e6, seconds = 10;
    bool json = false, gzip = false;
    long queue = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rate") && i + 1 < argc)
            rate = atof(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--gzip"))
            gzip = true;
        else if (!strcmp(argv[i], "--queue") && i + 1 < argc)
            queue = atol(argv[++i]);
        else if (!strcmp(argv[i], "--sink") && i + 1 < argc) {
            const char *m = argv[++i];
            size_t k = 0;
            while (k < sizeof mode_names / sizeof mode_names[0] && strcmp(m, mode_names[k]))
                k++;
            if (k == sizeof mode_names / sizeof mode_names[0]) {
                fprintf(stderr, "bench_pipeline: --sink wants healthy, down, hang, garbage, 500 "
                        "or 503\n");
                return 2;
            }
            mode = (enum mode)k;
        } else {
            fprintf(stderr, "usage: bench_pipeline [--rate N] [--seconds S] [--json] [--gzip] "
                    "[--queue N] [--sink healthy|down|hang|garbage|500|503]\n");
            return 2;
        }
    }
    struct MHD_Daemon *d = NULL;
    unsigned port;
    if (mode == M_DOWN) {
        port = dead_port();
    } else {
        /* hang: a thread per connection, so that waiting threads block only themselves */
        unsigned flags = mode == M_HANG
            ? MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION
            : MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
        d = MHD_start_daemon(flags, 0, NULL, NULL, sink, NULL, MHD_OPTION_CONNECTION_LIMIT, 64u,
                             MHD_OPTION_END);
        port = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port : 0;
    }
    if (!port) {
        fprintf(stderr, "bench_pipeline: cannot start the sink\n");
        return 1;
    }
    bool healthy = mode == M_HEALTHY || mode == M_GARBAGE;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/traces", port);

    stitch_otlp_opts_t oo = STITCH_OTLP_OPTS_INIT;
    oo.endpoint = url;
    oo.protocol = json ? STITCH_OTLP_HTTP_JSON : STITCH_OTLP_HTTP_PROTOBUF;
    oo.gzip = gzip;
    oo.no_env = true;
    if (!healthy)
        oo.timeout_ms = 1000;
    stitch_exporter_t *otlp;
    if (stitch_otlp_exporter_new(&otlp, &oo) != 0) {
        fprintf(stderr, "bench_pipeline: cannot create the exporter\n");
        return 1;
    }
    struct timed tm = {.inner = otlp};
    stitch_batch_opts_t bo;
    stitch_batch_opts_default(&bo, false);
    if (queue > 0)
        bo.max_queue_size = (uint32_t)queue;
    stitch_provider_t *p;
    stitch_provider_opts_t po = {.sampler = stitch_sampler_always_on(), .no_env = true};
    if (stitch_provider_new(&p, &po) != 0)
        return 1;
    stitch_processor_t *batch = stitch_batch_processor_new(stitch_exporter_new(&timed_ops, &tm), &bo);
    stitch_provider_add_processor(p, batch);
    stitch_tracer_t *t = stitch_tracer(p, "bench", "1");

    printf("# bench_pipeline: OTLP %s%s to a local sink (%s); batch %u, queue %u\n",
           json ? "http/json" : "http/protobuf", gzip ? " + gzip" : "", mode_names[mode],
           bo.max_export_batch_size, bo.max_queue_size);

    /* 1. unpaced: the producing thread's cost per span, 5 runs of 200k */
    double r[5];
    for (int k = 0; k < 5; k++) {
        double t0 = now_s();
        for (int i = 0; i < 200000; i++)
            one_span(t);
        r[k] = (now_s() - t0) * 1e9 / 200000;
        if (healthy)
            stitch_provider_force_flush(p, 30000);
    }
    for (int a = 0; a < 5; a++)
        for (int b = a + 1; b < 5; b++)
            if (r[b] < r[a]) {
                double x = r[a];
                r[a] = r[b];
                r[b] = x;
            }
    stitch_batch_stats_t st0;
    stitch_batch_processor_stats(batch, &st0);
    printf("app_ns          %7.1f  (median of 5 runs of 200000 spans; so far dropped %llu, "
           "exported %llu, failed %llu)\n", r[2], (unsigned long long)st0.dropped,
           (unsigned long long)st0.exported, (unsigned long long)st0.failed);
    printf("export_cpu_ns   %7.1f  (exporter thread CPU per span handed to the exporter)\n",
           tm.spans ? (double)tm.cpu_ns / (double)tm.spans : 0.0);

    /* 2. paced: RATE spans/s for SECONDS s, in bursts of 1000 spans whose
     * CPU time is measured (the producing thread's cost while the exporter
     * drains; CPU time, so that being preempted by the exporter or the sink
     * on this 2-core machine is not counted); between bursts it sleeps. */
    atomic_store(&tm.cpu_ns, 0);
    atomic_store(&tm.spans, 0);
    unsigned long long total = (unsigned long long)(rate * seconds), made = 0;
    double t0 = now_s(), in_bursts = 0;
    while (made < total) {
        uint64_t c0 = thread_cpu_ns();
        for (int i = 0; i < 1000 && made < total; i++, made++)
            one_span(t);
        in_bursts += (double)(thread_cpu_ns() - c0) * 1e-9;
        double b1 = now_s();
        double due = t0 + (double)made / rate;
        if (due > b1) {
            struct timespec ts = {0, (long)((due - b1) * 1e9)};
            nanosleep(&ts, NULL);
        }
    }
    double took = now_s() - t0;
    if (healthy)
        stitch_provider_force_flush(p, 30000);
    stitch_batch_stats_t st;
    stitch_batch_processor_stats(batch, &st);
    printf("paced           %llu spans in %.2f s (%.0f/s): exported %llu, dropped %llu, failed %llu\n",
           made, took, (double)made / took, (unsigned long long)(st.exported - st0.exported),
           (unsigned long long)(st.dropped - st0.dropped),
           (unsigned long long)(st.failed - st0.failed));
    printf("app_ns_paced    %7.1f  (producing thread, while the exporter drains)\n",
           in_bursts * 1e9 / (double)made);
    printf("export_cpu_ns   %7.1f  (paced run)\n",
           tm.spans ? (double)tm.cpu_ns / (double)tm.spans : 0.0);
    printf("sink            %llu requests, %.1f MB\n", (unsigned long long)sink_requests,
           (double)sink_bytes / 1e6);
    printf("peak_rss_kb     %ld\n", peak_rss_kb());
    pthread_mutex_lock(&hang_mu);
    hang_release = true;
    pthread_cond_broadcast(&hang_cv);
    pthread_mutex_unlock(&hang_mu);
    (void)stitch_provider_shutdown(p, healthy ? 30000 : 2000);
    stitch_provider_free(p);
    if (d)
        MHD_stop_daemon(d);
    return 0;
}
