/* daemon/recv_zipkin.c — the Zipkin v2 receiver: POST /api/v2/spans, a
 * JSON list of spans → span records (wire/decode: kind, endpoints,
 * annotations, tags, 64- or 128-bit ids) → store → 202 with no body.
 * Zipkin has no partial success, so a list with an invalid span (bad id,
 * negative time, unknown kind) is refused whole with 400 naming the first
 * one, as zipkin-server does: nothing of it is stored, and the client learns
 * of its bug instead of losing spans silently. Errors: 400 for a malformed
 * list or an invalid span, 413 past the decode limit, 503 + Retry-After
 * when the store refuses; their bodies are {"code":N,"message":"..."}.
 * Invariant: 202 only after the pipeline took the spans (as for OTLP). */
#include <stdio.h>
#include <string.h>

#include "daemon/log.h"
#include "daemon/stitchd.h"

#define SLOT_WAIT_MS 5000
#define DISK_FULL_MSG \
    "stitchd cannot store spans: the disk is full (less than --min-free left for the data directory); retry later"

void recv_zipkin_handle(stitchd_t *d, const uint8_t *body, size_t n, stitchd_resp_t *r)
{
    stitchd_slot_t *s = stitchd_slot_get(d, SLOT_WAIT_MS);
    char msg[240];
    if (!s) {
        stitchd_resp_json_error(r, 503, "stitchd is overloaded (all decoders busy); retry later");
        r->retry_after = 1;
        return;
    }
    stitch_wire_error_t err;
    memset(&err, 0, sizeof err);
    int rc = stitch_wire_zipkin_json_decode(&s->batch, body, n, &err);
    if (rc < 0) {
        stitchd_slot_put(d, s);
        if (rc == STITCH_EPARSE) {
            snprintf(msg, sizeof msg, "invalid Zipkin v2 JSON: %s",
                     err.msg[0] ? err.msg : "malformed");
            stitchd_resp_json_error(r, 400, msg);
        } else if (rc == STITCH_ELIMIT) {
            snprintf(msg, sizeof msg,
                     "request too large: its spans need more than %zu bytes decoded (--max-body)",
                     d->arena_max);
            stitchd_resp_json_error(r, 413, msg);
        } else {
            stitchd_resp_json_error(r, 503, "stitchd is out of memory; retry later");
            r->retry_after = 5;
        }
        return;
    }
    if (rc > 0) {
        stitchd_slot_put(d, s);
        stitchd_metrics_spans(STITCHD_RECV_ZIPKIN, 0, (uint64_t)rc);
        snprintf(msg, sizeof msg, "invalid Zipkin v2 span%s (nothing stored): %s", rc > 1 ? "s" : "",
                 err.msg[0] ? err.msg : "invalid span");
        stitchd_resp_json_error(r, 400, msg);
        return;
    }
    size_t nspans = s->batch.nspans;
    int arc = stitchd_slot_append(d, s);
    stitchd_slot_put(d, s);
    if (arc == STITCH_EBUSY) {
        stitchd_metrics_refused(STITCHD_RECV_ZIPKIN, STITCHD_REFUSED_OVERLOAD, nspans);
        stitchd_resp_json_error(r, 503, "stitchd is overloaded (its write or forward queue is full); retry later");
        r->retry_after = 1;
        return;
    }
    if (arc == STITCH_ENOSPC) {
        stitchd_metrics_refused(STITCHD_RECV_ZIPKIN, STITCHD_REFUSED_DISK_FULL, nspans);
        stitchd_resp_json_error(r, 503, DISK_FULL_MSG);
        r->retry_after = 30;
        st_log(ST_LOG_WARN, "zipkin", "spans refused: disk full", "spans=%zu", nspans);
        return;
    }
    if (arc) {
        stitchd_metrics_refused(STITCHD_RECV_ZIPKIN, STITCHD_REFUSED_ERROR, nspans);
        snprintf(msg, sizeof msg, "stitchd could not store the spans: %s; retry later",
                 stitch_strerror(arc));
        stitchd_resp_json_error(r, 503, msg);
        r->retry_after = 5;
        st_log(ST_LOG_WARN, "zipkin", "spans refused", "spans=%zu error=\"%s\"", nspans,
               stitch_strerror(arc));
        return;
    }
    stitchd_metrics_spans(STITCHD_RECV_ZIPKIN, nspans, 0);
    r->status = 202;
    r->content_type = "application/json";
    r->body = NULL;
    r->len = 0;
}
