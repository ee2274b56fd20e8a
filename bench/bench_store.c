/* bench/bench_store.c — the embedded store (store/): append throughput with
 * group commit (1 and 2 appending threads, batches of 512 spans from
 * bench/gen.h, the load generator's spans: traces of 8 spans over 5
 * services, unique random ids, ~10 attributes and an event each, values
 * varied per span), bytes per span on disk once compacted, and
 * trace-by-id / search latencies (p50, p99) over what was loaded.
 *
 * Each run loads a fresh store in a temporary directory:
 *   append      spans/s acknowledged by stitch_store_append (compaction runs
 *               in the background meanwhile, as in stitchd)
 *   drained     spans/s including compacting what was left in the head
 *   store cpu   process CPU (user + sys) per span over load + drain, minus
 *               the generator's own (measured alone at start)
 *   bytes/span  the SQLite file (+ WAL) after compaction, / spans
 *   trace       stitch_store_get_trace of a random stored trace
 *   search      service=cart-service + tag user.id=<the user of a stored
 *               cart-service span> + min duration 1 ms
 *   search_svc  service=cart-service, limit 20 (what a UI opens with)
 * Medians over runs.
 *
 * Usage: bench_store [--spans N] [--threads T] [--runs R] [--queries Q] [--sync-full] */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/gen.h"
#include "bench/spans.h"
#include "store/internal.h"
#include "store/store.h"

#define BATCH 512

static size_t NSPANS = 1000000;
static int THREADS = 1, RUNS = 3, QUERIES = 200;
static bool SYNC_FULL = false;
#define TRACE_SPANS 8
#define CART_POS 2 /* span 2 of a trace is cart-service's (gen.h: service k % 5) */

/* What the queries look for: per trace (global number), its id and the
 * user.id of its cart-service span. */
static uint8_t (*TIDS)[16];
static char (*USERS)[16];
static uint64_t T0; /* the load's clock: batch b "arrives" at T0 + b x 1.28 ms (400 k spans/s) */

typedef struct worker {
    stitch_store_t *s;
    size_t from, to; /* span numbers, multiples of BATCH */
    int failures;
} worker_t;

static void *append_main(void *arg)
{
    worker_t *w = arg;
    gen_t *g = malloc(sizeof *g);
    if (!g)
        exit(1);
    g->rng = 0x9E3779B97F4A7C15ull * (w->from / BATCH + 1) | 1;
    for (size_t i = w->from; i < w->to; i += BATCH) {
        size_t n = w->to - i < BATCH ? w->to - i : BATCH;
        gen_fill(g, (int)n, TRACE_SPANS, T0 + (uint64_t)(i / BATCH) * 1280000ull);
        for (size_t j = 0; j < n; j += TRACE_SPANS) {
            size_t t = (i + j) / TRACE_SPANS;
            memcpy(TIDS[t], g->spans[j].ctx.trace_id, 16);
            if (j + CART_POS < n) {
                const stitch_value_t *u = &g->spans[j + CART_POS].attrs[6].value;
                snprintf(USERS[t], sizeof USERS[t], "%.*s", (int)u->len, u->u.str);
            }
        }
        int rc;
        while ((rc = stitch_store_append(w->s, g->ptrs, n)) == STITCH_EBUSY)
            ;
        if (rc)
            w->failures++;
    }
    free(g);
    return NULL;
}

typedef struct figures {
    double pages, summaries, freepct;
    double cpu; /* µs of process CPU (user + sys) per span, load + drain, minus the generator */
    double append, drained, bytes, trace50, trace99, search50, search99, svc50, svc99;
} figures_t;

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec * 1e-6;
}

static double GEN_US; /* the generator's own CPU per span (measured at start) */

static double gen_cost(void)
{
    gen_t *g = malloc(sizeof *g);
    if (!g)
        exit(1);
    g->rng = 12345;
    double c0 = cpu_s();
    for (int i = 0; i < 400; i++)
        gen_fill(g, BATCH, TRACE_SPANS, T0 + (uint64_t)i * 1280000ull);
    double us = (cpu_s() - c0) * 1e6 / (400.0 * BATCH);
    free(g);
    return us;
}

static void one_run(figures_t *f)
{
    char tmpl[] = "/tmp/stitch-bench-store-XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir)
        exit(1);
    stitch_store_opts_t o = {.dir = dir, .sync_full = SYNC_FULL};
    stitch_store_t *s;
    char err[256];
    if (stitch_store_open(&s, &o, err, sizeof err)) {
        fprintf(stderr, "open: %s\n", err);
        exit(1);
    }
    worker_t w[8];
    pthread_t th[8];
    double t0 = now_s(), c0 = cpu_s();
    size_t per = (NSPANS / THREADS + BATCH - 1) / BATCH * BATCH;
    for (int i = 0; i < THREADS; i++) {
        size_t from = per * (size_t)i, to = from + per > NSPANS ? NSPANS : from + per;
        w[i] = (worker_t){s, from, to, 0};
        pthread_create(&th[i], NULL, append_main, &w[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        if (w[i].failures) {
            fprintf(stderr, "append failures\n");
            exit(1);
        }
    }
    double t1 = now_s();
    if (stitch__store_compact_now(s))
        exit(1);
    double t2 = now_s();
    f->cpu = (cpu_s() - c0) * 1e6 / (double)NSPANS - GEN_US;
    f->append = (double)NSPANS / (t1 - t0);
    f->drained = (double)NSPANS / (t2 - t0);
    stitch_store_close(s); /* checkpoints the WAL */
    char path[256], cmd[300];
    snprintf(path, sizeof path, "%s/stitch.db", dir);
    FILE *fp = fopen(path, "rb");
    fseek(fp, 0, SEEK_END);
    f->bytes = (double)ftell(fp) / (double)NSPANS;
    fclose(fp);
    {
        /* where the bytes are: compressed pages, summaries, free pages */
        sqlite3 *db;
        sqlite3_stmt *st;
        if (sqlite3_open(path, &db) == SQLITE_OK &&
            sqlite3_prepare_v2(db,
                               "SELECT (SELECT sum(length(data)) FROM page), (SELECT sum(length(summary)) FROM block),"
                               " (SELECT freelist_count FROM pragma_freelist_count),"
                               " (SELECT page_count FROM pragma_page_count)",
                               -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW) {
            f->pages = (double)sqlite3_column_int64(st, 0) / (double)NSPANS;
            f->summaries = (double)sqlite3_column_int64(st, 1) / (double)NSPANS;
            f->freepct = 100.0 * (double)sqlite3_column_int64(st, 2) / (double)sqlite3_column_int64(st, 3);
            sqlite3_finalize(st);
        }
        sqlite3_close(db);
    }
    if (stitch_store_open(&s, &o, err, sizeof err))
        exit(1);

    double *lat = malloc((size_t)(QUERIES > 10 ? QUERIES : 10) * sizeof *lat);
    srand(1234);
    for (int q = 0; q < QUERIES; q++) {
        uint64_t i = ((uint64_t)rand() << 16 ^ (uint64_t)rand()) % (NSPANS / TRACE_SPANS);
        const uint8_t *tid = TIDS[i];
        stitch_store_result_t r;
        stitch_store_result_init(&r);
        double a = now_s();
        int rc = stitch_store_get_trace(s, tid, &r);
        lat[q] = (now_s() - a) * 1e3;
        if (rc || r.ntraces != 1 || r.traces[0].count != TRACE_SPANS) {
            fprintf(stderr, "trace %llu not found\n", (unsigned long long)i);
            exit(1);
        }
        stitch_store_result_free(&r);
    }
    f->trace50 = pct(lat, QUERIES, 0.5);
    f->trace99 = pct(lat, QUERIES, 0.99);
    int nq = QUERIES / 4 > 10 ? QUERIES / 4 : 10;
    for (int q = 0; q < nq; q++) {
        uint64_t i = ((uint64_t)rand() << 16 ^ (uint64_t)rand()) % (NSPANS / TRACE_SPANS);
        stitch_store_tag_t tag = {"user.id", USERS[i]};
        stitch_store_query_t qq = {.service = "cart-service", .kind = -1, .tags = &tag, .ntags = 1,
                                   .duration_min_ns = 1000000, .limit = 20};
        stitch_store_result_t r;
        stitch_store_result_init(&r);
        double a = now_s();
        if (stitch_store_search(s, &qq, &r))
            exit(1);
        lat[q] = (now_s() - a) * 1e3;
        stitch_store_result_free(&r);
    }
    f->search50 = pct(lat, nq, 0.5);
    f->search99 = pct(lat, nq, 0.99);
    for (int q = 0; q < nq; q++) {
        stitch_store_query_t qq = {.service = "cart-service", .kind = -1, .limit = 20};
        stitch_store_result_t r;
        stitch_store_result_init(&r);
        double a = now_s();
        if (stitch_store_search(s, &qq, &r) || r.ntraces != 20)
            exit(1);
        lat[q] = (now_s() - a) * 1e3;
        stitch_store_result_free(&r);
    }
    f->svc50 = pct(lat, nq, 0.5);
    f->svc99 = pct(lat, nq, 0.99);
    free(lat);
    stitch_store_close(s);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

#define MED(field)                                                                                 \
    do {                                                                                           \
        for (int i = 0; i < RUNS; i++)                                                             \
            v[i] = f[i].field;                                                                     \
        med.field = pct(v, RUNS, 0.5);                                                             \
    } while (0)

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--spans") && i + 1 < argc)
            NSPANS = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            THREADS = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            RUNS = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--queries") && i + 1 < argc)
            QUERIES = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--sync-full"))
            SYNC_FULL = true;
        else {
            fprintf(stderr, "usage: bench_store [--spans N] [--threads T] [--runs R] [--queries Q] [--sync-full]\n");
            return 2;
        }
    }
    if (NSPANS < BATCH || THREADS < 1 || THREADS > 8 || RUNS < 1 || RUNS > 32 || QUERIES < 1) {
        fprintf(stderr, "bench_store: bad arguments\n");
        return 2;
    }
    (void)bench_start; /* spans.h's argument parser: ours takes other flags */
    (void)make_batch;  /* spans.h's batch repeats its values: gen.h varies them */
    NSPANS = NSPANS / BATCH * BATCH;
    gen_init();
    TIDS = calloc(NSPANS / TRACE_SPANS, sizeof *TIDS);
    USERS = calloc(NSPANS / TRACE_SPANS, sizeof *USERS);
    if (!TIDS || !USERS)
        return 1;
    T0 = st_now_ns() - 3600ull * 1000000000ull;
    GEN_US = gen_cost();
    figures_t f[32], med;
    double v[32];
    for (int r = 0; r < RUNS; r++) {
        one_run(&f[r]);
        fprintf(stderr, "run %d: append %.0f/s drained %.0f/s cpu %.2f us/span %.1f B/span trace p50 %.2f ms search p50 %.2f ms\n", r,
                f[r].append, f[r].drained, f[r].cpu, f[r].bytes, f[r].trace50, f[r].search50);
    }
    MED(append);
    MED(drained);
    MED(cpu);
    MED(bytes);
    MED(trace50);
    MED(trace99);
    MED(search50);
    MED(search99);
    MED(svc50);
    MED(svc99);
    MED(pages);
    MED(summaries);
    MED(freepct);
    printf("spans %zu, threads %d, sync %s, median of %d runs\n", NSPANS, THREADS, SYNC_FULL ? "full" : "normal",
           RUNS);
    printf("append      %10.0f spans/s\n", med.append);
    printf("drained     %10.0f spans/s (incl. compacting the rest of the head)\n", med.drained);
    printf("store cpu   %10.2f us/span (user + sys of load + drain, minus the generator's %.2f)\n", med.cpu, GEN_US);
    printf("disk        %10.1f bytes/span (pages %.1f, summaries %.1f, free pages %.0f %% of the file)\n",
           med.bytes, med.pages, med.summaries, med.freepct);
    printf("trace       p50 %.2f ms  p99 %.2f ms\n", med.trace50, med.trace99);
    printf("search      p50 %.2f ms  p99 %.2f ms  (service + tag + min duration)\n", med.search50, med.search99);
    printf("search_svc  p50 %.2f ms  p99 %.2f ms  (service only, limit 20)\n", med.svc50, med.svc99);
    free(TIDS);
    free(USERS);
    return 0;
}
