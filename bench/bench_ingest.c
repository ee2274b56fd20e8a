/* bench/bench_ingest.c — stitch's load generator for stitchd (or any OTLP/HTTP
 * receiver), and the benchmark of stitchd's ingest and query paths.
 *
 * Each connection is a thread with one libcurl handle (keep-alive) that
 * POSTs ExportTraceServiceRequests (protobuf) of --batch spans: traces of
 * --trace-spans spans across five services, unique random trace ids, ~10
 * attributes and one event per span (~420 bytes encoded), times around
 * now, values varied per request (so compression sees realistic data).
 * Requests are built with stitch's own encoder (wire/wire.h, ~0.3 µs/span,
 * a small share of one core at the target rate).
 *
 * Without --endpoint it starts build/bin/stitchd itself (free loopback
 * ports, a temporary data directory), measures, and reports stitchd's peak
 * RSS and bytes per span on disk too. With --query-checks it then measures
 * trace-by-id and search latencies through the query API.
 *
 * Figures: acknowledged spans/s, request latency p50/p99, refused (429/503)
 * requests; see bench/RESULTS.md for the commands used there. */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stitch/stitch.h"
#include "wire/wire.h"

#include "bench/gen.h"

#define MAX_BATCH GEN_MAX_BATCH
#define RESERVOIR 1024

struct opts {
    const char *endpoint;   /* OTLP traces URL */
    const char *query;      /* query API base URL */
    double seconds;
    long total;             /* stop after this many acknowledged spans (0 = by time) */
    int connections, batch, trace_spans, query_checks;
    const char *stitchd;
};

static struct opts O = {NULL, NULL, 10, 0, 4, 512, 8, 0, NULL};
static atomic_long acked, refused, failed, requests;
static atomic_int stop;

struct reservoir {
    pthread_mutex_t mu;
    uint8_t ids[RESERVOIR][16];
    char users[RESERVOIR][24];
    long seen;
} R = {.mu = PTHREAD_MUTEX_INITIALIZER};

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

#define xs gen_xs

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct gen {
    gen_t sp; /* the spans of the next request */
    stitch_buf_t out;
    double *lat;
    size_t nlat, caplat;
};

/* A fresh request in g->out (bench/gen.h makes the spans). */
static int build_request(struct gen *g)
{
    gen_fill(&g->sp, O.batch, O.trace_spans, wall_ns());
    stitch_buf_reset(&g->out);
    return stitch_wire_otlp_proto_encode(g->sp.ptrs, (size_t)O.batch, &g->out);
}

static void remember(struct gen *g)
{
    /* reservoir sampling of (trace id, user) pairs for the query checks */
    pthread_mutex_lock(&R.mu);
    for (int i = 0; i < O.batch; i += O.trace_spans) {
        long n = R.seen++;
        long slot = n < RESERVOIR ? n : (long)(xs(&g->sp.rng) % (uint64_t)(n + 1));
        if (slot < RESERVOIR) {
            memcpy(R.ids[slot], g->sp.spans[i].ctx.trace_id, 16);
            const stitch_value_t *u = &g->sp.spans[i].attrs[6].value;
            snprintf(R.users[slot], sizeof R.users[slot], "%.*s", (int)u->len, u->u.str);
        }
    }
    pthread_mutex_unlock(&R.mu);
}

static size_t sink(char *p, size_t s, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return s * n;
}

static void *conn_main(void *arg)
{
    struct gen *g = arg;
    CURL *h = curl_easy_init();
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    curl_easy_setopt(h, CURLOPT_URL, O.endpoint);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
    while (!atomic_load(&stop)) {
        if (O.total && atomic_load(&acked) >= O.total)
            break;
        if (build_request(g) != 0) {
            fprintf(stderr, "bench_ingest: encoding failed\n");
            break;
        }
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, g->out.data);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)g->out.len);
        double t0 = now_s();
        CURLcode rc = curl_easy_perform(h);
        double t1 = now_s();
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        atomic_fetch_add(&requests, 1);
        if (rc == CURLE_OK && code == 200) {
            atomic_fetch_add(&acked, O.batch);
            remember(g);
            if (g->nlat == g->caplat) {
                g->caplat = g->caplat ? g->caplat * 2 : 4096;
                g->lat = realloc(g->lat, g->caplat * sizeof *g->lat);
            }
            g->lat[g->nlat++] = (t1 - t0) * 1e3;
        } else if (rc == CURLE_OK && (code == 429 || code == 503)) {
            atomic_fetch_add(&refused, 1);
            usleep(50000); /* a real client honours Retry-After; keep the pressure on */
        } else {
            atomic_fetch_add(&failed, 1);
            if (rc != CURLE_OK)
                usleep(100000);
        }
    }
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    return NULL;
}

/* ---- stitchd, when the benchmark starts it ---------------------------------------- */

static pid_t daemon_pid;
static char data_dir[256], ready_path[300];

static long peak_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kb = atol(line + 6);
    fclose(f);
    return kb;
}

static long long dir_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    long long total = 0;
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d))) {
        char p[600];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode))
            total += (long long)st.st_blocks * 512;
    }
    closedir(d);
    return total;
}

/* Reads "otlp-http=HOST:PORT" and "http=HOST:PORT" lines of stitchd's ready file. */
static int start_stitchd(char *otlp_url, char *query_url, size_t len)
{
    snprintf(data_dir, sizeof data_dir, "/tmp/stitch-bench-XXXXXX");
    if (!mkdtemp(data_dir))
        return -1;
    snprintf(ready_path, sizeof ready_path, "%s/ready", data_dir);
    char data[300];
    snprintf(data, sizeof data, "%s/data", data_dir);
    daemon_pid = fork();
    if (daemon_pid == 0) {
        execl(O.stitchd, "stitchd", "--data", data, "--otlp-http", "127.0.0.1:0", "--zipkin", "off",
              "--http", "127.0.0.1:0", "--ready-file", ready_path, "--log-level", "warn", (char *)NULL);
        perror("exec stitchd");
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(ready_path, "r");
        if (f) {
            char line[128];
            otlp_url[0] = query_url[0] = '\0';
            while (fgets(line, sizeof line, f)) {
                line[strcspn(line, "\r\n")] = '\0';
                if (!strncmp(line, "otlp-http=", 10))
                    snprintf(otlp_url, len, "http://%s/v1/traces", line + 10);
                else if (!strncmp(line, "http=", 5))
                    snprintf(query_url, len, "http://%s", line + 5);
            }
            fclose(f);
            if (otlp_url[0] && query_url[0])
                return 0;
        }
        int st;
        if (waitpid(daemon_pid, &st, WNOHANG) == daemon_pid)
            return -1;
        usleep(50000);
    }
    return -1;
}

static void stop_stitchd(void)
{
    if (daemon_pid <= 0)
        return;
    kill(daemon_pid, SIGTERM);
    int st;
    waitpid(daemon_pid, &st, 0);
    daemon_pid = 0;
}

/* ---- query checks ------------------------------------------------------------------ */

struct body {
    size_t n;
};
static size_t count_body(char *p, size_t s, size_t n, void *arg)
{
    (void)p;
    ((struct body *)arg)->n += s * n;
    return s * n;
}

/* GET url n times (fmt gets the sample index); p50/p99 in ms. */
static void time_queries(CURL *h, const char *what, int n, void (*make)(char *, size_t, int))
{
    double *lat = calloc((size_t)n, sizeof *lat);
    size_t bytes = 0;
    int ok = 0, bad = 0;
    for (int i = 0; i < n; i++) {
        char url[1024];
        make(url, sizeof url, i);
        struct body b = {0};
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        double t0 = now_s();
        CURLcode rc = curl_easy_perform(h);
        double t1 = now_s();
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        if (rc == CURLE_OK && code == 200 && b.n > 40)
            lat[ok++] = (t1 - t0) * 1e3;
        else
            bad++;
        bytes += b.n;
    }
    qsort(lat, (size_t)ok, sizeof *lat, cmp_double);
    if (ok)
        printf("%-34s %5d ok %3d failed  p50 %7.2f ms  p99 %7.2f ms  (%.0f bytes/answer)\n", what,
               ok, bad, lat[ok / 2], lat[(ok * 99) / 100 < ok ? (ok * 99) / 100 : ok - 1],
               (double)bytes / n);
    else
        printf("%-34s all %d failed\n", what, bad);
    free(lat);
}

static char qbase[256];
static long nres;

static void trace_url(char *url, size_t len, int i)
{
    char hex[33];
    stitch_trace_id_hex(R.ids[(long)i % nres], hex);
    snprintf(url, len, "%s/api/traces/%s", qbase, hex);
}

static void search_url(char *url, size_t len, int i)
{
    uint64_t now_us = wall_ns() / 1000;
    snprintf(url, len,
             "%s/api/traces?service=frontend&tags=%%7B%%22user.id%%22%%3A%%22%s%%22%%7D"
             "&minDuration=1ms&start=%llu&end=%llu&limit=20",
             qbase, R.users[(long)(i * 7) % nres], (unsigned long long)(now_us - 3600000000ull),
             (unsigned long long)now_us);
}

static void search_svc_url(char *url, size_t len, int i)
{
    (void)i;
    uint64_t now_us = wall_ns() / 1000;
    snprintf(url, len, "%s/api/traces?service=cart-service&minDuration=40ms&start=%llu&end=%llu&limit=20",
             qbase, (unsigned long long)(now_us - 3600000000ull), (unsigned long long)now_us);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_ingest [--endpoint OTLP_URL [--query URL]] [--stitchd PATH]\n"
            "                    [--seconds S] [--total SPANS] [--connections N] [--batch N]\n"
            "                    [--trace-spans N] [--query-checks N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--endpoint"))
            O.endpoint = v;
        else if (!strcmp(a, "--query"))
            O.query = v;
        else if (!strcmp(a, "--stitchd"))
            O.stitchd = v;
        else if (!strcmp(a, "--seconds"))
            O.seconds = atof(v);
        else if (!strcmp(a, "--total"))
            O.total = atol(v);
        else if (!strcmp(a, "--connections"))
            O.connections = atoi(v);
        else if (!strcmp(a, "--batch"))
            O.batch = atoi(v);
        else if (!strcmp(a, "--trace-spans"))
            O.trace_spans = atoi(v);
        else if (!strcmp(a, "--query-checks"))
            O.query_checks = atoi(v);
        else
            usage();
    }
    if (O.connections < 1 || O.connections > 256 || O.batch < 1 || O.batch > MAX_BATCH ||
        O.trace_spans < 1 || O.trace_spans > O.batch || O.seconds <= 0)
        usage();
    gen_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char otlp[256], query[256];
    if (!O.endpoint) {
        static char self[512];
        if (!O.stitchd) {
            ssize_t n = readlink("/proc/self/exe", self, sizeof self - 16);
            if (n <= 0)
                usage();
            self[n] = '\0';
            strcpy(strrchr(self, '/') + 1, "stitchd");
            O.stitchd = self;
        }
        if (start_stitchd(otlp, query, sizeof otlp) != 0) {
            fprintf(stderr, "bench_ingest: cannot start %s\n", O.stitchd);
            stop_stitchd();
            return 1;
        }
        O.endpoint = otlp;
        O.query = query;
    }

    struct gen *gens = calloc((size_t)O.connections, sizeof *gens);
    pthread_t *th = calloc((size_t)O.connections, sizeof *th);
    for (int i = 0; i < O.connections; i++) {
        gens[i].sp.rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1) ^ wall_ns();
        gens[i].out = (stitch_buf_t)STITCH_BUF_INIT(0);
    }
    double t0 = now_s();
    for (int i = 0; i < O.connections; i++)
        pthread_create(&th[i], NULL, conn_main, &gens[i]);
    while (now_s() - t0 < (O.total ? 3600 : O.seconds)) {
        if (O.total && atomic_load(&acked) >= O.total)
            break;
        usleep(20000);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < O.connections; i++)
        pthread_join(th[i], NULL);
    double el = now_s() - t0;

    size_t nl = 0;
    for (int i = 0; i < O.connections; i++)
        nl += gens[i].nlat;
    double *lat = malloc((nl + 1) * sizeof *lat);
    size_t k = 0;
    for (int i = 0; i < O.connections; i++) {
        memcpy(lat + k, gens[i].lat, gens[i].nlat * sizeof *lat);
        k += gens[i].nlat;
    }
    qsort(lat, nl, sizeof *lat, cmp_double);
    size_t req_bytes = gens[0].out.len;
    printf("ingest: %d connections, batches of %d spans (%zu bytes, %.0f B/span), traces of %d spans\n",
           O.connections, O.batch, req_bytes, (double)req_bytes / O.batch, O.trace_spans);
    printf("ingest: %ld spans acknowledged in %.1f s = %.0f spans/s; %ld requests, %ld refused (429/503), %ld failed\n",
           atomic_load(&acked), el, (double)atomic_load(&acked) / el, atomic_load(&requests),
           atomic_load(&refused), atomic_load(&failed));
    if (nl)
        printf("ingest: request latency p50 %.2f ms  p99 %.2f ms\n", lat[nl / 2],
               lat[(nl * 99) / 100 < nl ? (nl * 99) / 100 : nl - 1]);
    free(lat);

    if (O.query_checks > 0 && O.query) {
        usleep(1500000); /* let the store settle: blocks cut from the head */
        snprintf(qbase, sizeof qbase, "%s", O.query);
        nres = R.seen < RESERVOIR ? R.seen : RESERVOIR;
        if (nres > 0) {
            CURL *h = curl_easy_init();
            curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
            time_queries(h, "query: trace by id", O.query_checks, trace_url);
            time_queries(h, "query: service+tag+duration search", O.query_checks, search_url);
            time_queries(h, "query: service+duration search", O.query_checks / 4 + 1, search_svc_url);
            curl_easy_cleanup(h);
        }
    }
    if (daemon_pid > 0) {
        long rss = peak_rss_kb(daemon_pid);
        stop_stitchd();
        char data[300];
        snprintf(data, sizeof data, "%s/data", data_dir);
        long long bytes = dir_bytes(data);
        printf("stitchd: peak RSS %.1f MB; data dir %.1f MB after shutdown = %.1f bytes/span\n",
               rss / 1024.0, bytes / 1048576.0, atomic_load(&acked) ? (double)bytes / atomic_load(&acked) : 0);
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", data_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_ingest: could not remove %s\n", data_dir);
    }
    for (int i = 0; i < O.connections; i++) {
        free(gens[i].lat);
        stitch_buf_free(&gens[i].out);
    }
    free(gens);
    free(th);
    curl_global_cleanup();
    return 0;
}
