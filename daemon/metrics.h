/* daemon/metrics.h — stitchd's counters and the /metrics page
 * (Prometheus text format 0.0.4). Counters are relaxed atomics bumped by
 * the request threads; rendering reads them without a lock, so a scrape
 * may see one request's counters half-updated, never torn values. */
#ifndef STITCHD_METRICS_H
#define STITCHD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef enum stitchd_receiver { STITCHD_RECV_OTLP_HTTP, STITCHD_RECV_ZIPKIN, STITCHD_RECV_N } stitchd_receiver_t;

typedef enum stitchd_refusal {
    STITCHD_REFUSED_OVERLOAD, /* store queue full, or too many bytes buffered */
    STITCHD_REFUSED_DISK_FULL,
    STITCHD_REFUSED_ERROR,    /* the store failed (EIO, ENOMEM) */
    STITCHD_REFUSED_N
} stitchd_refusal_t;

typedef enum stitchd_endpoint {
    STITCHD_EP_OTLP_TRACES,   /* POST /v1/traces */
    STITCHD_EP_ZIPKIN_SPANS,  /* POST /api/v2/spans on the zipkin port */
    STITCHD_EP_ZIPKIN_QUERY,  /* GET /api/v2/... on the zipkin port */
    STITCHD_EP_QUERY,         /* GET /api/... on the http port */
    STITCHD_EP_HEALTHZ,
    STITCHD_EP_METRICS,
    STITCHD_EP_OTHER,         /* 404s, 405s */
    STITCHD_EP_N
} stitchd_endpoint_t;

void stitchd_metrics_init(void);
/* spans in a decoded request: accepted (acknowledged), rejected (invalid,
 * left out: partial success); received = accepted + rejected + refused */
void stitchd_metrics_spans(stitchd_receiver_t r, uint64_t accepted, uint64_t rejected);
/* decoded spans that were not stored (the request got 503/500) */
void stitchd_metrics_refused(stitchd_receiver_t r, stitchd_refusal_t why, uint64_t spans);
void stitchd_metrics_request(stitchd_endpoint_t ep, int status, double seconds);
void stitchd_metrics_body_bytes(stitchd_receiver_t r, uint64_t wire, uint64_t decoded);

/* The page, malloc'd (caller frees); NULL when out of memory. */
char *stitchd_metrics_render(stitch_store_t *store, size_t *len);
/* More families for the page: fn(arg) returns malloc'd Prometheus text (or
 * NULL), appended after the built-in ones. Up to 4; register before the
 * listeners start (not thread-safe against rendering). */
void stitchd_metrics_add_source(char *(*fn)(void *arg), void *arg);

#endif
