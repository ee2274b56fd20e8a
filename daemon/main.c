/* daemon/main.c — stitchd: read the configuration, open the store, start
 * the pipeline (tail sampler, forwarders) and the listeners, and wait for
 * SIGINT/SIGTERM to stop in order: stop accepting, let requests in flight
 * finish (up to --shutdown-timeout), close the connections, decide what the
 * tail sampler holds and drain the forwarders (up to --shutdown-timeout),
 * close the store (which writes what it buffers), exit 0. Exit 2 for a bad
 * configuration, 1 when start-up fails.
 * Invariant: SIGINT/SIGTERM are blocked in every thread and taken by
 * sigwait() here, so no handler ever runs inside a request. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/log.h"
#include "daemon/stitchd.h"

#ifndef STITCH_VERSION
#define STITCH_VERSION "0.0.0"
#endif

static const char *const names[STITCHD_L_N] = {"otlp-http", "zipkin", "http"};

/* The bound addresses, one "name=addr" line each, written to a temporary
 * file and renamed so a reader never sees half of it. */
static int write_ready_file(const stitchd_t *d)
{
    const char *path = d->cfg.ready_file;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    for (int k = 0; k < STITCHD_L_N; k++) {
        char a[300];
        fprintf(f, "%s=%s\n", names[k], stitchd_addr_str(&d->bound[k], a, sizeof a));
    }
    if (fclose(f) || rename(tmp, path)) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* 127.0.0.0/8 or ::1 (bound[] holds numeric addresses) */
static int loopback(const char *host)
{
    return !strncmp(host, "127.", 4) || !strcmp(host, "::1") || !strncmp(host, "::ffff:127.", 11);
}

/* One warning when a listener is reachable beyond this machine without
 * what protects it: spans and queries travel in clear text without TLS,
 * and anyone who reaches the port may send or read spans without tokens. */
static void warn_exposed(const stitchd_t *d)
{
    char exposed[1024] = "", missing[128] = "";
    size_t o = 0;
    bool need_ingest = false, need_query = false;
    for (int k = 0; k < STITCHD_L_N; k++) {
        const stitchd_addr_t *a = &d->bound[k];
        if (a->off || loopback(a->host))
            continue;
        bool ingest = k != STITCHD_L_HTTP && !d->cfg.ingest_tokens.n;
        bool query = k != STITCHD_L_OTLP_HTTP && !d->cfg.query_tokens.n;
        if (!ingest && !query && d->cfg.tls_cert_pem)
            continue;
        need_ingest |= ingest;
        need_query |= query;
        char as[300];
        int w = snprintf(exposed + o, sizeof exposed - o, "%s%s=%s", o ? "," : "", names[k],
                         stitchd_addr_str(a, as, sizeof as));
        if (w > 0 && (size_t)w < sizeof exposed - o)
            o += (size_t)w;
    }
    if (!o)
        return;
    snprintf(missing, sizeof missing, "%s%s%s%s%s", need_ingest ? "ingest-token-file" : "",
             need_ingest && need_query ? "," : "", need_query ? "query-token-file" : "",
             (need_ingest || need_query) && !d->cfg.tls_cert_pem ? "," : "",
             d->cfg.tls_cert_pem ? "" : "tls-cert");
    char qe[1100];
    st_log(ST_LOG_WARN, "main",
           "listening beyond loopback without access control: whoever reaches these ports can "
           "send or read spans, or see them in transit (docs/OPERATIONS.md)",
           "listeners=%s missing=%s", st_log_q(qe, sizeof qe, exposed), missing);
}

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static stitchd_t d; /* large (paths); static keeps it off the stack */
    int rc = stitchd_config_load(&d.cfg, argc, argv);
    if (rc == STITCHD_CONFIG_EXIT_OK)
        return 0;
    if (rc != STITCHD_CONFIG_RUN)
        return 2;
    st_log_set_level((st_log_level_t)d.cfg.log_level);
    char err[512] = "";
    if (stitchd_server_check_tls(&d.cfg, err, sizeof err)) {
        fprintf(stderr, "stitchd: %s\n", err); /* a configuration error, like a bad flag */
        stitchd_config_free(&d.cfg);
        return 2;
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by every thread started below */
    signal(SIGPIPE, SIG_IGN);

    char q[4200];
    st_log(ST_LOG_INFO, "main", "starting", "version=%s data=%s sync=%s storage=%s pid=%ld",
           STITCH_VERSION, st_log_q(q, sizeof q, d.cfg.data), d.cfg.sync_full ? "full" : "normal",
           d.cfg.no_store ? "none" : d.cfg.storage == STITCHD_STORAGE_CLICKHOUSE ? "clickhouse" : "embedded",
           (long)getpid());
    stitchd_metrics_init();

    stitch_store_opts_t so = {
        .dir = d.cfg.data,
        .sync_full = d.cfg.sync_full,
        .retention_ns = d.cfg.retention_ns,
        .max_disk_bytes = d.cfg.max_disk,
        .min_free_bytes = d.cfg.min_free,
        .max_queue_spans = (size_t)d.cfg.queue_spans,
    };
    if (d.cfg.storage == STITCHD_STORAGE_CLICKHOUSE) {
        so.engine = "clickhouse";
        so.clickhouse_url = d.cfg.clickhouse_url;
        so.clickhouse_database = d.cfg.clickhouse_database;
        so.clickhouse_cluster = d.cfg.clickhouse_cluster[0] ? d.cfg.clickhouse_cluster : NULL;
    }
    int src = d.cfg.no_store ? 0 : stitch_store_open(&d.store, &so, err, sizeof err);
    if (src) {
        char qe[300];
        st_log(ST_LOG_ERROR, "store", "cannot open the store", "%s=%s error=%s",
               so.engine ? "clickhouse_url" : "data",
               st_log_q(q, sizeof q, so.engine ? d.cfg.clickhouse_url : d.cfg.data),
               st_log_q(qe, sizeof qe, err[0] ? err : stitch_strerror(src)));
        return 1;
    }
    if (stitchd_ingest_init(&d)) {
        st_log(ST_LOG_ERROR, "main", "out of memory", NULL);
        stitch_store_close(d.store);
        return 1;
    }
    if (stitchd_pipeline_start(&d)) {
        stitchd_pipeline_stop(&d);
        stitch_store_close(d.store);
        stitchd_ingest_free(&d);
        stitchd_config_free(&d.cfg);
        return 1;
    }
    /* bodies in memory: room for every decode slot's body twice (wire and
     * inflated) plus as many again waiting, at least 256 MiB */
    d.buffered_max = d.cfg.max_body * 4 * (d.cfg.ingest_concurrency < 4 ? 4 : d.cfg.ingest_concurrency);
    if (d.buffered_max < (256ull << 20))
        d.buffered_max = 256ull << 20;
    if (stitchd_server_start(&d)) {
        stitchd_server_stop(&d);
        stitchd_pipeline_stop(&d);
        stitch_store_close(d.store);
        stitchd_ingest_free(&d);
        return 1;
    }
    warn_exposed(&d);
    atomic_store(&d.ready, true);
    if (d.cfg.ready_file[0] && write_ready_file(&d)) {
        char qe[300];
        st_log(ST_LOG_ERROR, "main", "cannot write the ready file", "path=%s error=%s",
               st_log_q(q, sizeof q, d.cfg.ready_file), st_log_q(qe, sizeof qe, strerror(errno)));
    }
    st_log(ST_LOG_INFO, "main", "ready", NULL);

    int sig = 0;
    for (;;) {
        if (sigwait(&set, &sig))
            continue;
        if (sig == SIGHUP) {
            st_log(ST_LOG_INFO, "main", "SIGHUP ignored (restart to change settings)", NULL);
            continue;
        }
        break;
    }
    st_log(ST_LOG_INFO, "main", "shutting down", "signal=%s", sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&d.stopping, true);
    stitchd_server_quiesce(&d);
    double deadline = mono() + (double)d.cfg.shutdown_timeout_ns / 1e9;
    while (atomic_load(&d.inflight) > 0 && mono() < deadline) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    long left = atomic_load(&d.inflight);
    if (left > 0)
        st_log(ST_LOG_WARN, "main", "requests still in flight at the shutdown timeout",
               "requests=%ld", left);
    stitchd_server_stop(&d);
    stitchd_pipeline_stop(&d); /* held traces decided, forwarders drained */
    stitch_store_close(d.store);
    stitchd_ingest_free(&d);
    stitchd_config_free(&d.cfg);
    if (d.cfg.ready_file[0])
        unlink(d.cfg.ready_file);
    st_log(ST_LOG_INFO, "main", "stopped", NULL);
    return 0;
}
