/* daemon/stitchd.h — what the parts of the stitchd program share (not a
 * public header: nothing outside daemon/ includes it). One stitchd_t lives
 * in main(); the HTTP layer (server.c) turns requests into calls of the
 * receivers (recv_otlp.c, recv_zipkin.c) and of the query side (api.c),
 * each of which fills a stitchd_resp_t that server.c sends. */
#ifndef STITCHD_STITCHD_H
#define STITCHD_STITCHD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/config.h"
#include "daemon/forward.h"
#include "daemon/metrics.h"
#include "daemon/query.h"
#include "store/store.h"
#include "wire/decode.h"

struct MHD_Daemon;
struct MHD_Connection;

/* The listeners, one MHD daemon each. */
typedef enum stitchd_listener_kind {
    STITCHD_L_OTLP_HTTP,
    STITCHD_L_ZIPKIN,
    STITCHD_L_HTTP,
    STITCHD_L_N
} stitchd_listener_kind_t;

/* A response to send. `body` is malloc'd (server.c frees it) or NULL. */
typedef struct stitchd_resp {
    int status;
    const char *content_type; /* static */
    char *body;
    size_t len;
    unsigned retry_after;     /* seconds; 0 = no Retry-After header */
    const char *allow;        /* Allow header for 405, static */
    int gzipped;              /* set by the server when it compressed body */
    /* more headers: name, value, name, value, ... (static strings), ended by
     * the first NULL name; the web UI's (daemon/ui.c) */
    const char *headers[16];
} stitchd_resp_t;

/* A decode slot: a batch (arena) and the pointer array store_append wants.
 * At most cfg.ingest_concurrency requests hold one, which bounds the
 * memory decoding takes whatever the number of connections. */
typedef struct stitchd_slot {
    struct stitchd_slot *next;
    stitch_wire_batch_t batch;
    const stitch_span_data_t **ptrs;
    size_t cap;
} stitchd_slot_t;

typedef struct stitchd {
    stitchd_config_t cfg;
    stitch_store_t *store;
    atomic_bool ready;      /* the store is open and the receivers listen */
    atomic_bool stopping;   /* SIGTERM seen: answer Connection: close */
    atomic_long inflight;   /* requests between their headers and their end */
    /* bytes of request bodies held in memory (wire and inflated), across
     * all connections, and the most allowed before new bodies get 503 */
    atomic_uint_fast64_t buffered;
    uint64_t buffered_max;
    /* decode slots */
    pthread_mutex_t slot_mu;
    pthread_cond_t slot_cv;
    stitchd_slot_t *free_slots;
    stitchd_slot_t *slots;
    size_t nslots;
    size_t arena_max;
    /* the pipeline (pipeline.c): tail sampler, forwarder, router; each NULL
     * or empty when not configured. store is NULL with --storage none. */
    struct sampler *sampler;
    forwarder_t *forwarder;
    router_t router;
    /* listeners */
    struct MHD_Daemon *mhd[STITCHD_L_N];
    stitchd_addr_t bound[STITCHD_L_N]; /* with the real port */
} stitchd_t;

/* ---- responses (server.c) ---- */
/* {"code":N,"message":"..."} as application/json (Zipkin port, generic) */
void stitchd_resp_json_error(stitchd_resp_t *r, int status, const char *msg);
/* Jaeger's error envelope (the HTTP port's shape) */
void stitchd_resp_jaeger_error(stitchd_resp_t *r, int status, const char *msg);
/* a copy of s as the body */
void stitchd_resp_text(stitchd_resp_t *r, int status, const char *content_type, const char *s);

/* ---- listeners (server.c) ---- */
/* With --tls-cert/--tls-key: whether libmicrohttpd has TLS and takes the
 * certificate and key (parsed, and the key the certificate's). 0 (also
 * without TLS), or -1 with the reason in err. */
int stitchd_server_check_tls(const stitchd_config_t *cfg, char *err, size_t errlen);
/* Bind and start every listener that is not off. 0, or -1 after logging. */
int stitchd_server_start(stitchd_t *d);
/* Stop accepting new connections (quiesce); in-flight requests go on. */
void stitchd_server_quiesce(stitchd_t *d);
/* Close every connection and join the threads. */
void stitchd_server_stop(stitchd_t *d);

/* ---- decode slots and the store (ingest.c) ---- */
int stitchd_ingest_init(stitchd_t *d);
void stitchd_ingest_free(stitchd_t *d);
/* Wait up to timeout_ms for a slot; NULL when none came free. */
stitchd_slot_t *stitchd_slot_get(stitchd_t *d, unsigned timeout_ms);
void stitchd_slot_put(stitchd_t *d, stitchd_slot_t *s);
/* Every span in the slot's batch into the pipeline (pipeline.c): tail
 * sampling, then the store and/or the forwarders. 0 = acknowledge
 * (stored durably, accepted into a forwarder's buffer, or held for a
 * tail-sampling decision); STITCH_EBUSY / STITCH_ENOSPC / other = refuse. */
int stitchd_slot_append(stitchd_t *d, stitchd_slot_t *s);

/* ---- the pipeline (pipeline.c) ---- */
/* Start the sampler and forwarders the configuration asks for. 0, or -1
 * after logging. Takes d->cfg.tail. */
int stitchd_pipeline_start(stitchd_t *d);
/* Decide and deliver what the sampler holds, drain the forwarders (up to
 * --shutdown-timeout), stop them. Before the store closes. */
void stitchd_pipeline_stop(stitchd_t *d);
/* The spans of one request into the pipeline; see stitchd_slot_append. */
int stitchd_pipeline_append(stitchd_t *d, const stitch_span_data_t *const *spans, size_t n);

/* ---- receivers ---- */
/* `body` is the (inflated) request body; `json` the request's encoding. */
void recv_otlp_handle(stitchd_t *d, const uint8_t *body, size_t n, bool json, stitchd_resp_t *r);
/* An error answer in OTLP's shape (google.rpc.Status in the encoding). */
void recv_otlp_error(stitchd_resp_t *r, bool json, int status, const char *msg);
void recv_zipkin_handle(stitchd_t *d, const uint8_t *body, size_t n, stitchd_resp_t *r);

/* ---- the query side (api.c) ---- */
/* GET on the HTTP port: /healthz, /metrics, /api/... Fills r always. */
void api_http_get(stitchd_t *d, struct MHD_Connection *c, const char *path, stitchd_resp_t *r,
                  stitchd_endpoint_t *ep);
/* GET /api/v2/... on the Zipkin port. */
void api_zipkin_get(stitchd_t *d, struct MHD_Connection *c, const char *path, stitchd_resp_t *r);

#endif
