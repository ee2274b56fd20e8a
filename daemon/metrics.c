/* daemon/metrics.c — counters and their Prometheus rendering (metrics.h).
 * Invariant: every counter only grows; names and labels are fixed here,
 * and docs/stitchd.md lists them. */
#include "daemon/textbuf.h"
#include "daemon/metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef STITCH_VERSION
#define STITCH_VERSION "0.0.0"
#endif

static const char *const recv_names[STITCHD_RECV_N] = {"otlp_http", "zipkin"};
static const char *const refusal_names[STITCHD_REFUSED_N] = {"overload", "disk_full", "error"};
static const char *const ep_names[STITCHD_EP_N] = {"otlp_traces", "zipkin_spans", "zipkin_query",
                                                   "query",       "healthz",      "metrics",
                                                   "other"};
static const char *const class_names[5] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
/* seconds; latencies of a durable append sit around a millisecond or two */
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                 0.05,   0.1,   0.25,   0.5,   1,    2.5, 5, 10};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

typedef struct hist {
    _Atomic uint64_t b[NBUCKETS]; /* non-cumulative; summed when rendered */
    _Atomic uint64_t count;
    _Atomic uint64_t sum_ns;
} hist_t;

static struct {
    _Atomic uint64_t accepted[STITCHD_RECV_N], rejected[STITCHD_RECV_N];
    _Atomic uint64_t refused[STITCHD_RECV_N][STITCHD_REFUSED_N];
    _Atomic uint64_t wire_bytes[STITCHD_RECV_N], decoded_bytes[STITCHD_RECV_N];
    hist_t lat[STITCHD_EP_N][5];
    double start_time;
} m;

static struct {
    char *(*fn)(void *);
    void *arg;
} sources[4];
static int nsources;

void stitchd_metrics_add_source(char *(*fn)(void *arg), void *arg)
{
    if (nsources < 4) {
        sources[nsources].fn = fn;
        sources[nsources].arg = arg;
        nsources++;
    }
}

#define ADD(x, n) atomic_fetch_add_explicit(&(x), (n), memory_order_relaxed)
#define GET(x) atomic_load_explicit(&(x), memory_order_relaxed)

void stitchd_metrics_init(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m.start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void stitchd_metrics_spans(stitchd_receiver_t r, uint64_t accepted, uint64_t rejected)
{
    ADD(m.accepted[r], accepted);
    ADD(m.rejected[r], rejected);
}

void stitchd_metrics_refused(stitchd_receiver_t r, stitchd_refusal_t why, uint64_t spans)
{
    ADD(m.refused[r][why], spans);
}

void stitchd_metrics_body_bytes(stitchd_receiver_t r, uint64_t wire, uint64_t decoded)
{
    ADD(m.wire_bytes[r], wire);
    ADD(m.decoded_bytes[r], decoded);
}

void stitchd_metrics_request(stitchd_endpoint_t ep, int status, double seconds)
{
    int cls = status / 100 - 1;
    if (cls < 0 || cls > 4)
        cls = 4;
    hist_t *h = &m.lat[ep][cls];
    size_t i = 0;
    while (i < NBUCKETS && seconds > buckets[i])
        i++;
    if (i < NBUCKETS)
        ADD(h->b[i], 1);
    ADD(h->count, 1);
    ADD(h->sum_ns, (uint64_t)(seconds * 1e9));
}

/* ---- rendering -------------------------------------------------------------------- */



char *stitchd_metrics_render(stitch_store_t *store, size_t *len)
{
    st_text_t o = {0};
    st_text_metric_head(&o, "stitchd_build_info", "gauge", "Version of stitchd.");
    st_text_printf(&o, "stitchd_build_info{version=\"%s\"} 1\n", STITCH_VERSION);
    st_text_metric_head(&o, "stitchd_start_time_seconds", "gauge", "Start time of stitchd, Unix seconds.");
    st_text_printf(&o, "stitchd_start_time_seconds %.3f\n", m.start_time);

    st_text_metric_head(&o, "stitchd_spans_received_total", "counter",
         "Spans decoded from requests (accepted + rejected + refused).");
    for (int r = 0; r < STITCHD_RECV_N; r++) {
        uint64_t refused = 0;
        for (int w = 0; w < STITCHD_REFUSED_N; w++)
            refused += GET(m.refused[r][w]);
        st_text_printf(&o, "stitchd_spans_received_total{receiver=\"%s\"} %" PRIu64 "\n", recv_names[r],
            GET(m.accepted[r]) + GET(m.rejected[r]) + refused);
    }
    st_text_metric_head(&o, "stitchd_spans_accepted_total", "counter",
         "Spans acknowledged: stored, taken by a forwarder's buffer, or held for tail sampling.");
    for (int r = 0; r < STITCHD_RECV_N; r++)
        st_text_printf(&o, "stitchd_spans_accepted_total{receiver=\"%s\"} %" PRIu64 "\n", recv_names[r],
            GET(m.accepted[r]));
    st_text_metric_head(&o, "stitchd_spans_rejected_total", "counter",
         "Invalid spans left out of a request (OTLP partial success).");
    for (int r = 0; r < STITCHD_RECV_N; r++)
        st_text_printf(&o, "stitchd_spans_rejected_total{receiver=\"%s\"} %" PRIu64 "\n", recv_names[r],
            GET(m.rejected[r]));
    st_text_metric_head(&o, "stitchd_spans_refused_total", "counter",
         "Valid spans not stored: overload (503 + Retry-After), disk_full (503), error (500).");
    for (int r = 0; r < STITCHD_RECV_N; r++)
        for (int w = 0; w < STITCHD_REFUSED_N; w++)
            st_text_printf(&o, "stitchd_spans_refused_total{receiver=\"%s\",reason=\"%s\"} %" PRIu64 "\n",
                recv_names[r], refusal_names[w], GET(m.refused[r][w]));
    st_text_metric_head(&o, "stitchd_request_body_bytes_total", "counter",
         "Request body bytes as sent (wire) and after decompression (decoded).");
    for (int r = 0; r < STITCHD_RECV_N; r++) {
        st_text_printf(&o, "stitchd_request_body_bytes_total{receiver=\"%s\",stage=\"wire\"} %" PRIu64 "\n",
            recv_names[r], GET(m.wire_bytes[r]));
        st_text_printf(&o,
            "stitchd_request_body_bytes_total{receiver=\"%s\",stage=\"decoded\"} %" PRIu64 "\n",
            recv_names[r], GET(m.decoded_bytes[r]));
    }

    st_text_metric_head(&o, "stitchd_http_requests_total", "counter", "HTTP requests answered.");
    for (int e = 0; e < STITCHD_EP_N; e++)
        for (int c = 0; c < 5; c++) {
            uint64_t n = GET(m.lat[e][c].count);
            if (n || c == 1)
                st_text_printf(&o, "stitchd_http_requests_total{endpoint=\"%s\",code=\"%s\"} %" PRIu64 "\n",
                    ep_names[e], class_names[c], n);
        }
    st_text_metric_head(&o, "stitchd_http_request_duration_seconds", "histogram",
         "Time from a request's headers to its response being queued.");
    for (int e = 0; e < STITCHD_EP_N; e++)
        for (int c = 0; c < 5; c++) {
            hist_t *h = &m.lat[e][c];
            uint64_t n = GET(h->count);
            if (!n && c != 1)
                continue;
            uint64_t cum = 0;
            for (size_t i = 0; i < NBUCKETS; i++) {
                cum += GET(h->b[i]);
                st_text_printf(&o,
                    "stitchd_http_request_duration_seconds_bucket{endpoint=\"%s\",code=\"%s\","
                    "le=\"%g\"} %" PRIu64 "\n",
                    ep_names[e], class_names[c], buckets[i], cum);
            }
            st_text_printf(&o,
                "stitchd_http_request_duration_seconds_bucket{endpoint=\"%s\",code=\"%s\","
                "le=\"+Inf\"} %" PRIu64 "\n",
                ep_names[e], class_names[c], n);
            st_text_printf(&o,
                "stitchd_http_request_duration_seconds_sum{endpoint=\"%s\",code=\"%s\"} %.6f\n",
                ep_names[e], class_names[c], (double)GET(h->sum_ns) / 1e9);
            st_text_printf(&o,
                "stitchd_http_request_duration_seconds_count{endpoint=\"%s\",code=\"%s\"} %" PRIu64
                "\n",
                ep_names[e], class_names[c], n);
        }

    if (store) {
        stitch_store_stats_t st;
        memset(&st, 0, sizeof st);
        stitch_store_get_stats(store, &st);
        st_text_metric_head(&o, "stitchd_store_spans_appended_total", "counter",
             "Spans the store acknowledged since start.");
        st_text_printf(&o, "stitchd_store_spans_appended_total %" PRIu64 "\n", st.spans_appended);
        st_text_metric_head(&o, "stitchd_store_spans_duplicate_total", "counter",
             "Spans dropped as already stored (client retries).");
        st_text_printf(&o, "stitchd_store_spans_duplicate_total %" PRIu64 "\n", st.spans_duplicate);
        st_text_metric_head(&o, "stitchd_store_spans", "gauge", "Spans stored (after retention).");
        st_text_printf(&o, "stitchd_store_spans %" PRIu64 "\n", st.spans_stored);
        st_text_metric_head(&o, "stitchd_store_queue_spans", "gauge", "Spans waiting to be written.");
        st_text_printf(&o, "stitchd_store_queue_spans %" PRIu64 "\n", st.queue_spans);
        st_text_metric_head(&o, "stitchd_store_refused_total", "counter",
             "Appends the store refused: busy (queue full) or nospace (disk full).");
        st_text_printf(&o, "stitchd_store_refused_total{reason=\"busy\"} %" PRIu64 "\n", st.refused_busy);
        st_text_printf(&o, "stitchd_store_refused_total{reason=\"nospace\"} %" PRIu64 "\n",
            st.refused_nospace);
        st_text_metric_head(&o, "stitchd_store_blocks", "gauge", "Compressed blocks stored.");
        st_text_printf(&o, "stitchd_store_blocks %" PRIu64 "\n", st.blocks);
        st_text_metric_head(&o, "stitchd_store_disk_bytes", "gauge", "Bytes the store uses on disk.");
        st_text_printf(&o, "stitchd_store_disk_bytes %" PRIu64 "\n", st.disk_bytes);
        st_text_metric_head(&o, "stitchd_store_blocks_dropped_total", "counter",
             "Blocks dropped by retention or --max-disk.");
        st_text_printf(&o, "stitchd_store_blocks_dropped_total %" PRIu64 "\n", st.blocks_dropped);
    }
    for (int i = 0; i < nsources; i++) {
        char *t = sources[i].fn(sources[i].arg);
        if (!t) {
            o.oom = 1;
            break;
        }
        st_text_printf(&o, "%s", t);
        free(t);
    }
    if (o.oom) {
        free(o.p);
        return NULL;
    }
    *len = o.len;
    return o.p;
}
