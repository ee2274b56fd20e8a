/* daemon/forward.h — agent mode: stitchd sends what it accepted (after its
 * own tail sampling, if any) to other collectors over OTLP/HTTP, and
 * trace-aware routing over several of them.
 *
 * A forwarder owns one upstream: a bounded in-memory buffer of OTLP
 * protobuf requests, and a thread that sends them in batches (gzip, retry
 * with backoff and Retry-After through libstitch's HTTP transport,
 * sdk/http.c). A span is acknowledged to its client once it is in the
 * buffer; when the buffer is full, forwarder_push() says STITCH_EBUSY and
 * the receiver answers 503 + Retry-After, so nothing is dropped silently.
 * In memory only, what is in the buffer is lost if the process is killed
 * (SIGKILL, crash, power): on SIGTERM it gets --shutdown-timeout to drain.
 * With a spool directory (--forward-spool, forward_spool.c) every push is
 * on disk (fdatasync) before it returns, and what is left at exit or after
 * a crash is sent after the next start (at least once: an upstream that
 * got a batch but whose answer was lost gets it again).
 *
 * A router holds one forwarder per back instance and picks one per trace
 * id by rendezvous (highest-random-weight) hashing: every span of a trace
 * goes to the same instance, and adding or removing one of N instances
 * moves only the traces that instance gains or loses (~1/N). */
#ifndef STITCHD_FORWARD_H
#define STITCHD_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stitch/trace.h"

typedef struct forwarder forwarder_t;

typedef struct forwarder_opts {
    const char *url;         /* full URL; "/v1/traces" is appended to a bare host */
    bool gzip;
    uint64_t buffer_bytes;   /* most encoded bytes waiting */
    uint64_t batch_spans;    /* send when this many spans wait ... */
    uint64_t batch_delay_ns; /* ... or the oldest waited this long */
    uint64_t timeout_ns;     /* one send, retries included; then back off and try again */
    const char *spool_dir;   /* NULL/"" = memory only; else the buffer is also on disk there */
} forwarder_opts_t;

/* Start a forwarder. 0, or -1 with a message in err. */
int forwarder_new(forwarder_t **out, const forwarder_opts_t *o, char *err, size_t errlen);
/* Queue one encoded ExportTraceServiceRequest of `nspans` spans (copied).
 * 0, or STITCH_EBUSY when it does not fit the buffer, STITCH_EIO when the
 * spool cannot be written (nothing queued either way). */
int forwarder_push(forwarder_t *f, const uint8_t *p, size_t len, size_t nspans);
/* Encode records and queue them: 0, STITCH_EBUSY, STITCH_ENOMEM. */
int forwarder_push_spans(forwarder_t *f, const stitch_span_data_t *const *spans, size_t n);
/* Would `len` more bytes fit now? (A hint: another thread may fill it.) */
bool forwarder_has_room(forwarder_t *f, size_t len);
/* Send what is buffered for up to `drain_ns`, then stop and free; what is
 * left is logged and counted as lost. NULL is fine. */
void forwarder_free(forwarder_t *f, uint64_t drain_ns);
const char *forwarder_url(const forwarder_t *f);

/* ---- routing ---- */

typedef struct router {
    forwarder_t **fw;
    uint64_t *seed; /* a hash of each URL: the instance's identity */
    size_t n;
} router_t;

/* The index of the instance that owns this trace (n > 0). */
size_t router_pick(const router_t *r, const uint8_t trace_id[16]);
/* Split spans by owner and queue each part: 0, or STITCH_EBUSY when an
 * owner's buffer had no room (checked for all before anything is queued,
 * so a 503 rarely leaves a part queued), STITCH_ENOMEM. */
int router_push(router_t *r, const stitch_span_data_t *const *spans, size_t n);
/* Seed for a URL (FNV-1a of the string). */
uint64_t router_seed(const char *url);

/* Prometheus text for these forwarders (malloc'd, or NULL). `role` is
 * "forward" or "route". */
char *forwarder_metrics(forwarder_t *const *fw, size_t n, const char *role);

#endif
