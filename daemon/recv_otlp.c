/* daemon/recv_otlp.c — the OTLP/HTTP traces receiver: an inflated
 * ExportTraceServiceRequest (protobuf or JSON) → span records → store,
 * answered as the OTLP specification says (otlp.md, "OTLP/HTTP Response"):
 * 200 with an ExportTraceServiceResponse in the request's encoding (with
 * partial_success when the decoder left invalid spans out), 400 for data
 * that does not decode (never retried by clients), 413 past the decode
 * limit, 503 + Retry-After when the store is busy or the disk is full.
 * Every non-200 body is a google.rpc.Status in the request's encoding.
 * Invariant: 200 is sent only after the pipeline (daemon/pipeline.c) took
 * the spans: stored durably, held for a tail-sampling decision, or queued
 * for forwarding — docs/stitchd.md says what a 200 means in each mode. */
#include <stdio.h>
#include <string.h>

#include "daemon/log.h"
#include "daemon/otlp_resp.h"
#include "daemon/stitchd.h"

/* How long a request waits for a decode slot before 503. */
#define SLOT_WAIT_MS 5000
#define DISK_FULL_MSG \
    "stitchd cannot store spans: the disk is full (less than --min-free left for the data directory); retry later"

static const char *ctype(bool json) { return json ? "application/json" : "application/x-protobuf"; }

static int grpc_code_for(int status)
{
    switch (status) {
    case 400: case 413: case 415: return STITCHD_GRPC_INVALID_ARGUMENT;
    case 429: return STITCHD_GRPC_RESOURCE_EXHAUSTED;
    case 404: case 405: return STITCHD_GRPC_UNIMPLEMENTED;
    case 401: return STITCHD_GRPC_UNAUTHENTICATED;
    case 503: return STITCHD_GRPC_UNAVAILABLE;
    default: return STITCHD_GRPC_INTERNAL;
    }
}

void recv_otlp_error(stitchd_resp_t *r, bool json, int status, const char *msg)
{
    stitch_buf_t b = STITCH_BUF_INIT(0);
    r->status = status;
    r->content_type = ctype(json);
    if (stitchd_otlp_status(&b, json, grpc_code_for(status), msg)) {
        stitch_buf_free(&b);
        r->body = NULL;
        r->len = 0;
        return;
    }
    r->body = (char *)b.data;
    r->len = b.len;
}

/* The store's refusals, shared with the Zipkin receiver's wording. */
static void refused(stitchd_resp_t *r, bool json, int rc, size_t nspans)
{
    char msg[200];
    if (rc == STITCH_EBUSY) {
        stitchd_metrics_refused(STITCHD_RECV_OTLP_HTTP, STITCHD_REFUSED_OVERLOAD, nspans);
        recv_otlp_error(r, json, 503, "stitchd is overloaded (its write or forward queue is full); retry later");
        r->retry_after = 1;
    } else if (rc == STITCH_ENOSPC) {
        stitchd_metrics_refused(STITCHD_RECV_OTLP_HTTP, STITCHD_REFUSED_DISK_FULL, nspans);
        recv_otlp_error(r, json, 503, DISK_FULL_MSG);
        r->retry_after = 30;
    } else {
        stitchd_metrics_refused(STITCHD_RECV_OTLP_HTTP, STITCHD_REFUSED_ERROR, nspans);
        snprintf(msg, sizeof msg, "stitchd could not store the spans: %s; retry later",
                 stitch_strerror(rc));
        recv_otlp_error(r, json, 503, msg);
        r->retry_after = 5;
    }
}

void recv_otlp_handle(stitchd_t *d, const uint8_t *body, size_t n, bool json, stitchd_resp_t *r)
{
    stitchd_slot_t *s = stitchd_slot_get(d, SLOT_WAIT_MS);
    if (!s) {
        recv_otlp_error(r, json, 503, "stitchd is overloaded (all decoders busy); retry later");
        r->retry_after = 1;
        return;
    }
    stitch_wire_error_t err;
    memset(&err, 0, sizeof err);
    int rc = json ? stitch_wire_otlp_json_decode(&s->batch, body, n, &err)
                  : stitch_wire_otlp_proto_decode(&s->batch, body, n, &err);
    if (rc < 0) {
        stitchd_slot_put(d, s);
        char msg[240];
        char q[200];
        if (rc == STITCH_EPARSE) {
            snprintf(msg, sizeof msg, "invalid OTLP %s request: %s", json ? "JSON" : "protobuf",
                     err.msg[0] ? err.msg : "malformed");
            recv_otlp_error(r, json, 400, msg);
        } else if (rc == STITCH_ELIMIT) {
            snprintf(msg, sizeof msg,
                     "request too large: its spans need more than %zu bytes decoded (--max-body)",
                     d->arena_max);
            recv_otlp_error(r, json, 413, msg);
        } else {
            recv_otlp_error(r, json, 503, "stitchd is out of memory; retry later");
            r->retry_after = 5;
        }
        st_log(ST_LOG_DEBUG, "otlp", "request refused", "status=%d error=%s", r->status,
               st_log_q(q, sizeof q, msg));
        return;
    }
    size_t nspans = s->batch.nspans;
    int arc = stitchd_slot_append(d, s);
    stitchd_slot_put(d, s);
    if (arc) {
        refused(r, json, arc, nspans);
        char q[200];
        st_log(arc == STITCH_EBUSY ? ST_LOG_DEBUG : ST_LOG_WARN, "otlp", "spans refused",
               "status=%d spans=%zu error=%s", r->status, nspans,
               st_log_q(q, sizeof q, stitch_strerror(arc)));
        return;
    }
    stitchd_metrics_spans(STITCHD_RECV_OTLP_HTTP, nspans, (uint64_t)rc);
    stitch_buf_t b = STITCH_BUF_INIT(0);
    char msg[200] = "";
    if (rc > 0)
        snprintf(msg, sizeof msg, "%d invalid span%s left out: %s", rc, rc == 1 ? "" : "s",
                 err.msg);
    r->status = 200;
    r->content_type = ctype(json);
    if (stitchd_otlp_export_response(&b, json, rc, msg)) {
        stitch_buf_free(&b);
        return; /* stored: an empty 200 still tells the client so */
    }
    r->body = (char *)b.data;
    r->len = b.len;
}
